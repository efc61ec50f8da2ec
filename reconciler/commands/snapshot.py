"""``reconciler snapshot FILE -o estate.json`` and ``reconciler snapshot --schema``.

Builds a plan exactly as ``plan`` does, through a ``reconciler.live.snapshot.RecordingEstate``, and
writes every read and its answer as a versioned JSON document (sanitised: public facts only, no
credentials, no private key; docs/first-contact.md). ``--schema`` prints the document's JSON Schema
(committed as docs/snapshot.schema.json). Reads only; exit 0 written, 1 error. Engine imports stay
inside the body.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import typer

from reconciler.commands.common import DEFAULT_STATE_DIR

__all__ = ["register"]


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
    from reconciler.live.snapshot import RecordingEstate, to_document
    from reconciler.live.snapshot_schema import snapshot_schema
    from reconciler.plan.planner import PlanOptions, build_plan
    from reconciler.state.store import StateStore

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
        state = StateStore(opts.state_dir).read()
        with opts.world().open_estate(desired) as estate:
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
