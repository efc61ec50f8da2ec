"""CLI basics: version and help work without touching any system."""

from __future__ import annotations

import pytest
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


@pytest.mark.parametrize(
    "argv",
    [
        ["--colr", "validate", "x.yaml"],  # misspelt global option
        ["validate"],  # missing argument
        ["frobnicate"],  # unknown command
        ["inspect", "tlv"],  # missing argument of a sub-command
        ["inspect", "tlv", "--bogus", "x"],  # misspelt option of a sub-command
        ["plan", "--parallelism", "0", "x.yaml"],  # out-of-range value
        ["plan", "--detailed-exitcode"],  # missing FILE with --detailed-exitcode: must not look like changes
    ],
)
def test_usage_errors_exit_1_never_2(argv: list[str]) -> None:
    """Exit 2 is reserved for "changes present" (--detailed-exitcode); a typo in CI must not mean that."""
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 1, result.output
