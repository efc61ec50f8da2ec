"""``reconciler plan``, ``show``, ``graph`` and ``drift``.

``plan FILE [-o PLAN] [--json] [--detailed-exitcode] [--target ADDR]... [--exclude ADDR]... [--rollback]``
reads the live estate (the global options' wiring factory, ``open_estate``), builds a ``Plan`` and renders it;
exit 0 = no changes, 1 = error, 2 = changes (with ``--detailed-exitcode``; without it, 0 for changes too).
``--rollback`` plans the reverse migration of the scopes that moved (``reconciler.plan.rollback``).
``show PLAN`` renders a saved plan. ``graph FILE [--format dot|mermaid]`` prints the declaration's graph
without reading live state. ``drift FILE [--json|--junit FILE] [--detailed-exitcode]`` is refresh-only:
exit 0 in sync, 2 drift (with ``--detailed-exitcode``), 1 error. ``plan``, ``show`` and ``drift`` take
``--html FILE`` to also write the change-request report (``reconciler.render.html``; docs/report.md).
Engine imports stay inside the bodies.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import typer

from reconciler.boundedio import MAX_PLAN_BYTES, read_bounded
from reconciler.commands.common import DEFAULT_STATE_DIR, global_options, load_or_exit, reading

__all__ = ["register"]

_STATE_DIR = typer.Option(DEFAULT_STATE_DIR, "--state-dir", help="Directory of state.json.")
_HTML = typer.Option(
    None, "--html", help="Also write the report as one self-contained HTML page to FILE.", metavar="FILE"
)


def _fail(exc: Exception, color: bool) -> typer.Exit:
    from rich.text import Text

    from reconciler.render.diagnostics import make_console

    hint = getattr(exc, "hint", None)
    message = f"error: {exc}" + (f"\n  hint: {hint}" if hint else "")
    make_console(color=color, stderr=True).print(Text(message, style="bold red"))
    return typer.Exit(1)


def _write_report(path: Path, text: str, color: bool) -> None:
    """Write ``text`` to ``path`` whole or not at all (a temp file in the same directory, then rename)."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise _fail(OSError(f"cannot write {path}: {exc.strerror or exc}"), color) from exc


def plan(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Desired-state YAML file.", show_default=False),
    *,
    out: Path | None = typer.Option(None, "-o", "--out", help="Save the plan (JSON) for `apply PLAN`."),
    json_output: bool = typer.Option(False, "--json", help="Print the plan document (docs/plan-format.md)."),
    detailed: bool = typer.Option(
        False, "--detailed-exitcode", help="Exit 0 no changes, 1 error, 2 changes."
    ),
    target: list[str] = typer.Option([], "--target", help="Only this address (prefix) and its dependencies."),
    exclude: list[str] = typer.Option(
        [], "--exclude", help="Leave out this address (prefix) and dependents."
    ),
    parallelism: int = typer.Option(4, "--parallelism", min=1, max=64, help="Concurrent reads."),
    html: Path | None = _HTML,
    state_dir: Path = _STATE_DIR,
    rollback: bool = typer.Option(
        False,
        "--rollback",
        help="Plan the way back: the scopes that moved, back to the source (needs reverse trust live, R11).",
    ),
) -> None:
    """Read live state, diff, order and forecast the migration (never changes anything)."""
    from reconciler.errors import ReconcilerError
    from reconciler.plan.planner import PlanOptions, build_plan
    from reconciler.plan.rollback import build_rollback_plan
    from reconciler.render.diagnostics import make_console
    from reconciler.render.plan import render_plan
    from reconciler.state.store import StateStore

    opts = global_options(ctx, json_flag=json_output).with_state_dir(ctx, state_dir)
    color, as_json = opts.color, opts.json
    loaded = load_or_exit(file, opts)
    options = PlanOptions(targets=tuple(target), excludes=tuple(exclude), parallelism=parallelism)
    progress, timeout = reading(opts)
    try:
        state = StateStore(opts.state_dir).read()
        with (
            progress,
            opts.world().open_estate(
                loaded.desired, parallelism=parallelism, hooks=progress, timeout=timeout
            ) as estate,
        ):
            result = (build_rollback_plan if rollback else build_plan)(
                desired=loaded.desired,
                desired_path=str(file),
                desired_sha256=loaded.sha256,
                estate=estate,
                state=state,
                options=options,
            )
    except ReconcilerError as exc:
        raise _fail(exc, color) from exc
    if out is not None:
        out.write_text(result.to_json())
    if html is not None:
        from reconciler.render.html import plan_page

        _write_report(html, plan_page(result), color)
    if as_json:
        sys.stdout.write(result.to_json())
    else:
        render_plan(make_console(color=color), result)
        if out is not None:
            make_console(color=color).print(f"\nSaved the plan to {out}; run `reconciler apply {out}`.")
    if result.errored:
        raise typer.Exit(1)
    raise typer.Exit(2 if detailed and result.has_changes else 0)


def show(
    ctx: typer.Context,
    plan_file: Path = typer.Argument(..., help="A plan saved with `plan -o`.", show_default=False),
    json_output: bool = typer.Option(False, "--json", help="Print the plan document."),
    html: Path | None = _HTML,
) -> None:
    """Render a saved plan (to the terminal, as JSON, or as an HTML report with --html)."""
    from reconciler.errors import ReconcilerError
    from reconciler.plan.document import Plan
    from reconciler.render.diagnostics import make_console
    from reconciler.render.plan import render_plan

    opts = global_options(ctx, json_flag=json_output)
    color, as_json = opts.color, opts.json
    try:
        saved = Plan.from_json(read_bounded(plan_file, limit=MAX_PLAN_BYTES))
    except OSError as exc:
        raise _fail(ValueError(f"cannot read {plan_file}: {exc.strerror or exc}"), color) from exc
    except ReconcilerError as exc:
        raise _fail(exc, color) from exc
    if html is not None:
        from reconciler.render.html import plan_page

        _write_report(html, plan_page(saved), color)
    if as_json:
        sys.stdout.write(saved.to_json())
    else:
        render_plan(make_console(color=color), saved)


def graph(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Desired-state YAML file.", show_default=False),
    fmt: str = typer.Option("dot", "--format", help="dot or mermaid (ignored with --json)."),
    json_output: bool = typer.Option(False, "--json", help="Print nodes and edges as one JSON document."),
) -> None:
    """Print the migration's dependency graph (edges labelled with rule ids)."""
    from reconciler.errors import ReconcilerError
    from reconciler.plan.declared import declared_graph

    opts = global_options(ctx, json_flag=json_output)
    color, as_json = opts.color, opts.json
    if fmt not in ("dot", "mermaid"):
        raise _fail(ValueError(f"unknown format {fmt!r}: use dot or mermaid"), color)
    desired = load_or_exit(file, opts).desired
    try:
        g = declared_graph(desired)
        if as_json:
            edges = [
                {"before": str(e.before), "after": str(e.after), "rule": e.rule, "reason": e.reason}
                for e in g.edges()
            ]
            sys.stdout.write(
                json.dumps({"nodes": [str(n) for n in g.nodes()], "edges": edges}, indent=2) + "\n"
            )
        else:
            sys.stdout.write(g.to_dot() if fmt == "dot" else g.to_mermaid())
    except ReconcilerError as exc:
        raise _fail(exc, color) from exc


_CHECKS = (
    "trust present (R4-R6)",
    "replication (R7)",
    "TVS fresh (R8)",
    "parameters (R2)",
    "option 150 (R12)",
    "identities unchanged (R14)",
    "certificate expiry",
)


def drift(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Desired-state YAML file.", show_default=False),
    *,
    json_output: bool = typer.Option(False, "--json", help="Print the drift report as JSON."),
    junit: Path | None = typer.Option(None, "--junit", help="Also write a JUnit XML report to FILE."),
    html: Path | None = _HTML,
    detailed: bool = typer.Option(False, "--detailed-exitcode", help="Exit 0 in sync, 1 error, 2 drift."),
    state_dir: Path = _STATE_DIR,
) -> None:
    """Refresh-only: report what drifted from the declaration and the last apply."""
    from rich.text import Text

    from reconciler.errors import ReconcilerError
    from reconciler.plan.drift import detect
    from reconciler.render.diagnostics import make_console, render_diagnostics
    from reconciler.render.junit import junit_xml
    from reconciler.state.store import StateStore

    opts = global_options(ctx, json_flag=json_output).with_state_dir(ctx, state_dir)
    color, as_json = opts.color, opts.json
    desired = load_or_exit(file, opts).desired
    progress, timeout = reading(opts)
    try:
        state = StateStore(opts.state_dir).read()
        with progress, opts.world().open_estate(desired, hooks=progress, timeout=timeout) as estate:
            report = detect(desired=desired, estate=estate, state=state)
    except ReconcilerError as exc:
        raise _fail(exc, color) from exc
    if junit is not None:
        junit.write_text(junit_xml(report.findings, checks=_CHECKS))
    if html is not None:
        from reconciler.render.html import drift_page

        _write_report(html, drift_page(report, checks=_CHECKS, desired_path=str(file)), color)
    if as_json:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")
    else:
        console = make_console(color=color)
        render_diagnostics(console, report.findings)
        line = f"Drift: {len(report.findings)} finding(s)." if report.drifted else "No drift."
        console.print(Text(line, style="bold"))
    raise typer.Exit(2 if detailed and report.drifted else 0)


def register(app: typer.Typer) -> None:
    app.command("plan")(plan)
    app.command("show")(show)
    app.command("graph")(graph)
    app.command("drift")(drift)
