"""The ``reconciler`` command line: a thin typer app.

Each command group lives in ``reconciler.commands.<name>`` and exposes ``register(app)``; this module only
builds the app, holds the global options (``--no-color`` or a non-empty ``NO_COLOR``, ``--json``,
``--quiet``, ``--timeout``, shell completion; ``GlobalOptions`` in ``reconciler.commands.common`` also
carries the state directory and the wiring factory) and maps errors to exit codes; help shows readable
metavars (``PATH``, ``FILE...``). Concrete providers reach the commands only through the wiring factory
(``reconciler.wiring.factory``); a test passes its own as ``obj=GlobalOptions(wiring=...)``. Heavy libraries
(zeep, paramiko, cryptography) are imported inside command bodies so that ``reconciler --help`` starts fast.

Exit codes: 0 success / no changes, 1 error, invalid input or a usage error (a misspelt option, a
missing argument, an unknown command — as Terraform does), 2 changes present (``--detailed-exitcode``;
nothing else exits 2, so a typo in CI never looks like pending changes), 130 interrupted.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import replace
from typing import Any

import typer
from typer._click.exceptions import UsageError
from typer.core import TyperGroup

from reconciler import __version__
from reconciler.commands.common import GlobalOptions

__all__ = ["COMMAND_MODULES", "USAGE_EXIT_CODE", "GlobalOptions", "app", "main"]

#: Command modules registered on the app, in help order. Each defines ``register(app: typer.Typer)``.
COMMAND_MODULES: tuple[str, ...] = (
    "reconciler.commands.init",
    "reconciler.commands.validate",
    "reconciler.commands.explain",
    "reconciler.commands.inspect",
    "reconciler.commands.plan",
    "reconciler.commands.apply",
    "reconciler.commands.doctor",
    "reconciler.commands.snapshot",
    "reconciler.commands.rehearse",
    "reconciler.commands.lab",
)


#: The exit code of a usage error; click's default (2) is reserved for "changes present".
USAGE_EXIT_CODE = 1


def _metavar(param: Any) -> str:
    desc = param.type_descriptor
    if getattr(param, "is_flag", False):
        return ""
    if param.param_type_name == "argument":
        name = {"files": "FILE"}.get(str(param.name), str(param.name or "value")).upper()
        return name + ("..." if param.nargs != 1 else "")
    if desc.is_path:
        return "PATH"
    if desc.is_ranged or desc.annotation in (int, float):
        return "N"
    longest = str(max(param.opts, key=len)).lstrip("-")
    return longest.upper().replace("-", "_")


def _readable_metavars(command: Any, ctx: Any) -> None:
    """``--out PATH``, ``--target TARGET``, ``FILE...`` instead of ``<path>``, ``<list[str]>``,
    ``{files}...`` (the Python types typer would show); flags (``--help`` too) show no metavar."""
    help_option = command.get_help_option(ctx)
    if help_option is not None:
        help_option.metavar = ""
    for param in getattr(command, "params", ()):
        if param.metavar is None and hasattr(param, "type_descriptor"):
            param.metavar = _metavar(param)
            if param.param_type_name == "argument":  # typer would print {file} and <list[Path]>
                usage = param.metavar if param.required else f"[{param.metavar}]"
                param._usage_display_name = lambda usage=usage: usage
                param.display_type_rich = lambda ctx: None
    for sub in getattr(command, "commands", {}).values():
        _readable_metavars(sub, ctx)


class _Group(TyperGroup):
    """The root command group: usage errors exit 1, not click's 2 (see the module docstring), and
    help shows readable metavars."""

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        _readable_metavars(self, self.context_class(self, info_name="reconciler"))
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
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish)
    pretty_exceptions_enable=False,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"reconciler {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(  # noqa: PLR0917 - typer maps parameters to options
    ctx: typer.Context,
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
    no_color: bool = typer.Option(False, "--no-color", help="Plain text output without colours."),
    json_output: bool = typer.Option(False, "--json", help="Machine-readable JSON output where supported."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress display while reading."),
    timeout: float | None = typer.Option(
        None,
        "--timeout",
        min=1.0,
        help="Seconds any connection or read may wait, retries of a slow or unreachable endpoint "
        "included (default 90).",
        show_default=False,
    ),
) -> None:
    """Global options."""
    # an embedder or a test may pass GlobalOptions as obj: its state directory and wiring factory stay
    given = ctx.obj if isinstance(ctx.obj, GlobalOptions) else GlobalOptions()
    # https://no-color.org: any non-empty NO_COLOR turns colour off, like --no-color
    ctx.obj = replace(
        given,
        color=not no_color and not os.environ.get("NO_COLOR"),
        json=json_output,
        quiet=quiet,
        timeout=timeout,
    )


for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
