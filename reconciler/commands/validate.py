"""``reconciler validate FILE...`` and ``reconciler schema``.

``validate`` loads each file (YAML, schema, semantic checks) and prints every diagnostic with
``FILE:LINE:COL``; exit 0 when no file has an error, 1 otherwise. It never reads secrets and does not
need the lab's files. ``schema`` prints the JSON Schema of the YAML (for yaml-language-server).
The loader and pydantic are imported inside the command bodies to keep ``reconciler --help`` fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from reconciler.commands.common import global_options

__all__ = ["register"]


def validate(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(..., help="Desired-state YAML files to check.", show_default=False),
) -> None:
    """Check desired-state files: YAML, schema and cross-references (exit 0 valid, 1 invalid)."""
    from reconciler.config.loader import load
    from reconciler.render.diagnostics import FileReport, make_console, render_reports, reports_json

    opts = global_options(ctx)
    color, as_json = opts.color, opts.json
    reports = [FileReport(str(f), tuple(load(f).diagnostics)) for f in files]
    if as_json:
        sys.stdout.write(json.dumps(reports_json(reports), indent=2) + "\n")
    else:
        render_reports(make_console(color=color), reports)
    raise typer.Exit(0 if all(r.valid for r in reports) else 1)


def schema(
    indent: int = typer.Option(2, "--indent", min=0, max=8, help="Indentation of the JSON output."),
) -> None:
    """Print the JSON Schema of the desired-state YAML (point yaml-language-server at it)."""
    from schemas.document import json_schema

    sys.stdout.write(json.dumps(json_schema(), indent=indent or None) + "\n")


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
    app.command("schema")(schema)
