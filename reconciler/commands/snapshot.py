"""``reconciler snapshot FILE -o estate.json`` and ``reconciler snapshot --schema``.

Builds a plan exactly as ``plan`` does, through a ``reconciler.live.snapshot.RecordingEstate``, and
writes every read and its answer as a versioned JSON document (sanitised: public facts only, no
credentials, no private key; docs/first-contact.md). ``--schema`` prints the document's JSON Schema
(committed as docs/snapshot.schema.json). Reads only; exit 0 written, 1 error. Engine imports stay
inside the body.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
from pathlib import Path

import typer

__all__ = ["register"]


def snapshot(
    ctx: typer.Context,
    file: Path | None = typer.Argument(None, help="Desired-state YAML whose plan's reads to record."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Where to write the snapshot (JSON)."),
    schema: bool = typer.Option(False, "--schema", help="Print the snapshot's JSON Schema and exit."),
    state_dir: Path = typer.Option(Path(".reconciler"), "--state-dir", help="Directory of state.json."),
) -> None:
    """Record everything a plan reads from the live estate, sanitised (reads only)."""
    from reconciler.boundedio import MAX_DESIRED_BYTES, read_bounded
    from reconciler.commands.plan import _color_json, _fail, _load, _write_report
    from reconciler.commands.wiring import open_estate
    from reconciler.errors import ReconcilerError
    from reconciler.live.snapshot import RecordingEstate, to_document
    from reconciler.live.snapshot_schema import snapshot_schema
    from reconciler.plan.planner import PlanOptions, build_plan
    from reconciler.state.store import StateStore

    if schema:
        sys.stdout.write(json.dumps(snapshot_schema(), indent=2) + "\n")
        return
    color, as_json = _color_json(ctx, False)
    if file is None or out is None:
        raise _fail(ValueError("give FILE and --out (or --schema)"), color)
    desired = _load(file, color, as_json)
    sha256 = hashlib.sha256(read_bounded(file, limit=MAX_DESIRED_BYTES)).hexdigest()
    try:
        state = StateStore(state_dir).read()
        with open_estate(desired) as estate:
            recording = RecordingEstate(estate)
            build_plan(
                desired=desired,
                desired_path=str(file),
                desired_sha256=sha256,
                estate=recording,
                state=state,
                options=PlanOptions(),
            )
        source = {
            "desired": {"path": str(file), "sha256": sha256},
            "taken_at": dt.datetime.now(dt.UTC).isoformat(),
        }
        document = to_document(recording, source=source)
    except ReconcilerError as exc:
        raise _fail(exc, color) from exc
    _write_report(out, json.dumps(document, indent=1, sort_keys=True) + "\n", color)
    typer.echo(f"wrote {out}: {len(document['calls'])} reads of the live estate")


def register(app: typer.Typer) -> None:
    app.command("snapshot")(snapshot)
