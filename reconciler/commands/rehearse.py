"""``reconciler rehearse FILE [--snapshot estate.json]``: try the plan on a lab of the estate's shape.

Reads the snapshot (or takes one now, reading the live estate exactly as ``snapshot`` does), turns it
into a lab spec (``reconciler.wiring.rehearse.labspec``), starts that lab with ``reconciler lab up
--detach --spec`` on a free loopback prefix (or ``--prefix``), points FILE's declarations at it, plans
and applies every wave through the same providers, and reports forecast against outcome per wave, then
stops the lab (unless ``--keep``). A plan with errors is reported (its forecast and errors) and not
applied; an apply longer than ``--apply-timeout`` is stopped and the lab's phones at that moment are
the outcome. Exit 0 when every wave went as forecast, 1 otherwise (not applied included) or on error.
``lab_spec_draft`` also serves ``reconciler lab up --from-snapshot``. Engine imports stay inside bodies.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

__all__ = ["lab_spec_draft", "register"]


def lab_spec_draft(*, file: Path, snapshot: Path | None, ctx: typer.Context) -> tuple[Any, Any]:
    """(the ``LabSpecDraft``, the loaded desired state) for FILE and a snapshot (None: take one now)."""
    from reconciler.commands.common import global_options, load_or_exit
    from reconciler.live.snapshot import RecordingEstate, from_document, to_document
    from reconciler.plan.planner import PlanOptions, build_plan
    from reconciler.state.store import StateStore
    from reconciler.wiring.rehearse.labspec import lab_spec_data

    opts = global_options(ctx)
    loaded = load_or_exit(file, opts)
    if snapshot is not None:
        document = json.loads(snapshot.read_text())
    else:
        with opts.world().open_estate(loaded.desired) as estate:
            recording = RecordingEstate(estate)
            state = StateStore(opts.state_dir).read()
            build_plan(desired=loaded.desired, desired_path=str(file), desired_sha256=loaded.sha256,
                       estate=recording, state=state, options=PlanOptions())  # fmt: skip
        import datetime as dt

        document = to_document(recording, source={"taken_at": dt.datetime.now(dt.UTC).isoformat()})
    draft = lab_spec_data(document=document, estate=from_document(document), desired=loaded.desired)
    return draft, loaded


def rehearse(  # noqa: PLR0917 - typer passes options positionally
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Desired-state YAML to rehearse."),
    snapshot: Path | None = typer.Option(
        None, "--snapshot", help="A snapshot (reconciler snapshot -o); default: read the estate now."
    ),
    directory: Path = typer.Option(
        Path(".reconciler/rehearsal"), "--dir", help="Rehearsal directory (lab, spec, plan, state)."
    ),
    prefix: str | None = typer.Option(
        None, "--prefix", help="Lab address prefix 127.N (default: a free one)."
    ),
    keep: bool = typer.Option(
        False, "--keep", help="Leave the lab running (stop: reconciler lab down --dir)."
    ),
    gate_deadline: str = typer.Option(
        "60s", "--gate-deadline", help="Every wave's gate deadline in the lab."
    ),
    restart_seconds: float = typer.Option(1.0, "--restart-seconds", min=0.0, help="Lab service restarts."),
    apply_timeout: float = typer.Option(
        900.0, "--apply-timeout", min=1.0, help="Stop the rehearsal's apply after this many seconds."
    ),
    json_output: bool = typer.Option(False, "--json", help="The report as JSON."),
) -> None:
    """Build a lab from a snapshot, run the plan against it, report forecast against outcome per wave."""
    from reconciler.commands.common import global_options
    from reconciler.commands.plan import _fail
    from reconciler.errors import ReconcilerError
    from reconciler.wiring.rehearse.run import rehearse as run

    opts = global_options(ctx, json_flag=json_output)
    try:
        draft, loaded = lab_spec_draft(file=file, snapshot=snapshot, ctx=ctx)
        migration = loaded.desired.migration
        assert migration is not None  # lab_spec_data refused it otherwise
        result = run(
            spec=draft.spec,
            notes=draft.notes,
            desired_data=_yaml(file),
            base_dir=file.resolve().parent,
            target=migration.target,
            directory=directory.resolve(),
            prefix=prefix,
            keep=keep,
            gate_deadline=gate_deadline,
            restart_seconds=restart_seconds,
            apply_timeout=apply_timeout,
            progress=lambda line: None if opts.json else typer.echo(line, err=True),
        )
    except (ReconcilerError, OSError, ValueError) as exc:
        raise _fail(exc, opts.color) from exc
    if opts.json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        _render(result)
    raise typer.Exit(0 if result.as_forecast else 1)


def _yaml(file: Path) -> Any:
    import yaml

    return yaml.safe_load(file.read_text())


def _render(result: Any) -> None:
    out = sys.stdout
    applied = f"apply exit {result.apply_exit}" if result.applied else "not applied: the plan has errors"
    out.write(f"rehearsal lab {result.prefix} ({result.directory}); plan exit {result.plan_exit}, "
              f"{applied}\n")  # fmt: skip
    for error in result.errors:
        out.write(f"error: {error}\n")
    out.write(f"{'WAVE':<12} {'PHONES':>6} {'ALREADY':>7} {'MOVE':>5} {'STRAND':>6} {'UNKNOWN':>7}"
              f" {'ON TARGET':>9}  RESULT\n")  # fmt: skip
    for w in result.waves:
        rules = f" ({', '.join(w.stranded_rules)})" if w.stranded_rules else ""
        verdict = {None: "not applied", True: "as forecast", False: "NOT as forecast"}[w.as_forecast]
        landed = "-" if w.on_target is None else w.on_target
        out.write(f"{w.wave:<12} {w.phones:>6} {w.already_on_target:>7} {w.move:>5} {w.stranded:>6}"
                  f" {w.unknown:>7} {landed:>9}  {verdict}{rules}\n")  # fmt: skip
    for note in result.notes:
        out.write(f"note: {note}\n")
    if result.kept:
        out.write(f"the lab is still running: reconciler lab down --dir {result.directory}/lab\n")


def register(app: typer.Typer) -> None:
    app.command("rehearse")(rehearse)
