"""``reconciler init SEED -o FILE [--force]``: write a desired state from what the estate says.

The seed names the two publishers (each cluster's connection settings and credential references) and
the DHCP servers to read (docs/first-contact.md). ``reconciler.wiring.init`` discovers the rest and
returns commented YAML; this command checks it with the loader (schema and semantic checks) from a
temporary file beside ``FILE`` and moves it into place only when it validates, so a failed run leaves
no file. It reads only; exit 0 written, 1 error. Engine imports stay inside the body.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import typer

__all__ = ["register"]


def init(
    ctx: typer.Context,
    seed: Path = typer.Argument(..., help="Seed YAML: publishers, credential references, DHCP servers."),
    out: Path = typer.Option(..., "--out", "-o", help="Where to write the desired-state YAML."),
    force: bool = typer.Option(False, "--force", help="Overwrite FILE if it exists."),
) -> None:
    """Discover nodes, services, versions and today's option 150 and write a desired state (reads only)."""
    from reconciler.commands.common import global_options
    from reconciler.commands.plan import _fail
    from reconciler.config.loader import load
    from reconciler.errors import ReconcilerError
    from reconciler.render.diagnostics import FileReport, make_console, render_reports
    from reconciler.wiring.init import init_document

    color = global_options(ctx).color
    if out.exists() and not force:
        raise _fail(FileExistsError(f"{out} exists (use --force to overwrite it)"), color)
    try:
        text = init_document(seed, out=out)
    except ReconcilerError as exc:
        raise _fail(exc, color) from exc
    fd, tmp = tempfile.mkstemp(dir=out.resolve().parent, prefix=f".{out.name}.", suffix=".yaml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        result = load(tmp)
        report = FileReport(str(out), tuple(result.diagnostics))
        if result.state is None or not report.valid:
            render_reports(make_console(color=color, stderr=True), [report])
            raise _fail(ValueError("the written document does not validate (a bug: please report it)"), color)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    finally:
        Path(tmp).unlink(missing_ok=True)
    state = result.state
    nodes = sum(len(c.nodes) for c in state.clusters)
    typer.echo(
        f"wrote {out}: {len(state.clusters)} clusters, {nodes} nodes, {len(state.dhcp.scopes)} scopes, "
        f"{len(state.migration.wave_list)} waves; review it, then: reconciler plan {out}"
    )


def register(app: typer.Typer) -> None:
    app.command("init")(init)
