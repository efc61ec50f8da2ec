"""``reconciler snapshot FILE -o estate.json`` and ``reconciler snapshot --schema``.

Builds a plan exactly as ``plan`` does, through a ``reconciler.live.snapshot.RecordingEstate``, and
writes every read and its answer as a versioned JSON document (sanitised: public facts only, no
credentials, no private key; docs/first-contact.md). A read that fails as a whole (a publisher's AXL,
RisPort70, a DHCP server) does not end it: the recording is tolerant, the document is written with
those reads as ``unknown_reads`` and each is printed with its fix. ``--schema`` prints the document's
JSON Schema (committed as docs/snapshot.schema.json). Reads only; exit 0 written and complete,
2 written but incomplete (``EXIT_INCOMPLETE``), 1 error (nothing written). Engine imports stay inside
the body.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import typer

from reconciler.commands.common import DEFAULT_STATE_DIR

__all__ = ["EXIT_INCOMPLETE", "register"]

#: ``reconciler snapshot`` wrote the document but some reads failed (they are unknown in it).
EXIT_INCOMPLETE = 2


def snapshot(
    ctx: typer.Context,
    file: Path | None = typer.Argument(None, help="Desired-state YAML whose plan's reads to record."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Where to write the snapshot (JSON)."),
    schema: bool = typer.Option(False, "--schema", help="Print the snapshot's JSON Schema and exit."),
    state_dir: Path = typer.Option(DEFAULT_STATE_DIR, "--state-dir", help="Directory of state.json."),
) -> None:
    """Record everything a plan reads from the live estate, sanitised (reads only)."""
    from reconciler.commands.common import global_options, load_or_exit
    from reconciler.commands.plan import _fail, _write_report
    from reconciler.errors import ReconcilerError
    from reconciler.live.refresh import refresh
    from reconciler.live.snapshot import RecordingEstate, to_document
    from reconciler.live.snapshot_schema import snapshot_schema
    from reconciler.live.unknown import fix_for

    if schema:
        sys.stdout.write(json.dumps(snapshot_schema(), indent=2) + "\n")
        return
    opts = global_options(ctx).with_state_dir(ctx, state_dir)
    color = opts.color
    if file is None or out is None:
        raise _fail(ValueError("give FILE and --out (or --schema)"), color)
    loaded = load_or_exit(file, opts)
    desired, sha256 = loaded.desired, loaded.sha256
    try:
        with opts.world().open_estate(desired) as estate:
            recording = RecordingEstate(estate, tolerant=True)
            # every read a plan makes (build_plan = refresh + offline planning); with a failed read
            # the planning would work on empty answers, so only the reads are taken
            refresh(desired, recording)
        source = {
            "desired": {"path": str(file), "sha256": sha256},
            "taken_at": dt.datetime.now(dt.UTC).isoformat(),
        }
        document = to_document(recording, source=source)
    except ReconcilerError as exc:
        raise _fail(exc, color) from exc
    _write_report(out, json.dumps(document, indent=1, sort_keys=True) + "\n", color)
    typer.echo(f"wrote {out}: {len(document['calls'])} reads of the live estate")
    if recording.unknown:
        typer.echo(f"incomplete: {len(recording.unknown)} read(s) failed and are unknown in {out} "
                   "(rehearse refuses it until they are read):", err=True)  # fmt: skip
        for read in recording.unknown:
            typer.echo(f"  {read.describe()}\n    fix: {fix_for(read)}", err=True)
        raise typer.Exit(EXIT_INCOMPLETE)


def register(app: typer.Typer) -> None:
    app.command("snapshot")(snapshot)
