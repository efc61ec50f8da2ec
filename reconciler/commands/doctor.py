"""``reconciler doctor FILE [--json] [--bundle FILE] [--slow SECONDS] [--probe-writes]``.

Loads the desired state, runs every read-only check (``reconciler.wiring.doctor``; their progress on
stderr as ``plan`` shows its read, off with ``--quiet``), prints the table
(or the JSON report) and exits 0 when nothing failed, 1 otherwise. ``--bundle`` also writes a support
bundle (zip, secrets scrubbed). docs/first-contact.md explains each check; engine imports stay inside
the body.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

__all__ = ["register"]


def doctor(  # noqa: PLR0917 - typer passes options positionally
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Desired-state YAML whose endpoints to check.", show_default=False),
    json_output: bool = typer.Option(False, "--json", help="The report as JSON."),
    bundle: Path | None = typer.Option(
        None, "--bundle", help="Also write a support bundle (zip, secrets removed) to FILE.", metavar="FILE"
    ),
    slow: float = typer.Option(
        5.0, "--slow", min=0.1, help="A single check slower than this many seconds fails (latency)."
    ),
    probe_writes: bool = typer.Option(
        False,
        "--probe-writes",
        help="Also send one AXL write that names no existing parameter (refused; shows a write throttle).",
    ),
) -> None:
    """Check access and capabilities of every endpoint, changing nothing (exit 0 ok, 1 a check failed)."""
    from reconciler.commands.common import global_options, load_or_exit, reading
    from reconciler.commands.plan import _fail
    from reconciler.wiring.doctor import run_doctor, table_lines, write_bundle

    opts = global_options(ctx, json_flag=json_output)
    color, as_json = opts.color, opts.json
    desired = load_or_exit(file, opts).desired
    progress, _ = reading(opts)  # its checks as a read's progress (stderr; off with --quiet)
    with progress:
        result = run_doctor(desired, slow_s=slow, probe_writes=probe_writes, hooks=progress)
    report = result.report
    if bundle is not None:
        try:
            write_bundle(report, bundle, secrets=result.secrets)
        except OSError as exc:
            raise _fail(OSError(f"cannot write {bundle}: {exc.strerror or exc}"), color) from exc
    if as_json:
        sys.stdout.write(json.dumps(report.to_json(), indent=2) + "\n")
    else:
        for line in table_lines(report):
            typer.echo(line)
        if bundle is not None:
            typer.echo(f"support bundle: {bundle}")
    raise typer.Exit(0 if report.ok else 1)


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)
