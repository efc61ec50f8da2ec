"""CLI basics: version and help work without touching any system."""

from __future__ import annotations

from typer.testing import CliRunner

from reconciler import __version__
from reconciler.cli import app


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"reconciler {__version__}"


def test_help_lists_global_options() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "--no-color" in result.output
