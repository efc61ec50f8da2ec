"""The ``reconciler`` command line: a thin typer app.

Each command group lives in ``reconciler.commands.<name>`` and exposes ``register(app)``; this module
only builds the app, holds the global options (``--no-color``, ``--json``) and maps errors to exit codes.
It is the one place that wires concrete providers to the engine. Heavy libraries (zeep, paramiko,
cryptography) are imported inside command bodies so that ``reconciler --help`` starts fast.

Exit codes: 0 success / no changes, 1 error, invalid input or a usage error (a misspelt option, a
missing argument, an unknown command — as Terraform does), 2 changes present (``--detailed-exitcode``;
nothing else exits 2, so a typo in CI never looks like pending changes), 130 interrupted.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from typing import Any

import typer
from typer._click.exceptions import UsageError
from typer.core import TyperGroup

from reconciler import __version__

__all__ = ["COMMAND_MODULES", "USAGE_EXIT_CODE", "GlobalOptions", "app", "main"]

#: Command modules registered on the app, in help order. Each defines ``register(app: typer.Typer)``.
COMMAND_MODULES: tuple[str, ...] = (
    "reconciler.commands.validate",
    "reconciler.commands.explain",
    "reconciler.commands.inspect",
    "reconciler.commands.plan",
    "reconciler.commands.apply",
    "reconciler.commands.lab",
)


@dataclass(frozen=True, slots=True)
class GlobalOptions:
    """Options given before the command; commands read them from ``ctx.obj``."""

    color: bool = True
    json: bool = False


#: The exit code of a usage error; click's default (2) is reserved for "changes present".
USAGE_EXIT_CODE = 1


class _Group(TyperGroup):
    """The root command group: usage errors exit 1, not click's 2 (see the module docstring)."""

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().make_context(*args, **kwargs)
        except UsageError as exc:
            exc.exit_code = USAGE_EXIT_CODE
            raise

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            exc.exit_code = USAGE_EXIT_CODE
            raise


app = typer.Typer(
    cls=_Group,
    name="reconciler",
    help="Move IP phones between secure (mixed-mode) CUCM clusters, declaratively.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"reconciler {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
    no_color: bool = typer.Option(False, "--no-color", help="Plain text output without colours."),
    json_output: bool = typer.Option(False, "--json", help="Machine-readable JSON output where supported."),
) -> None:
    """Global options."""
    ctx.obj = GlobalOptions(color=not no_color, json=json_output)


for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
