"""The last mile of the CLI: readable metavars in --help, NO_COLOR honoured, shell completion."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reconciler.cli import app

_COMMANDS = [
    ["validate"],
    ["schema"],
    ["explain"],
    ["inspect", "tlv"],
    ["plan"],
    ["show"],
    ["graph"],
    ["drift"],
    ["apply"],
    ["lab", "up"],
    [],
]


@pytest.mark.parametrize("command", _COMMANDS, ids=lambda c: " ".join(c) or "root")
def test_help_shows_no_python_types(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert not re.search(r"<(bool|path|int|str|list\[|float)", result.output), result.output
    assert not re.search(r"\{[a-z_]+\}", result.output), result.output


def test_help_names_arguments_and_values_readably() -> None:
    plan = CliRunner().invoke(app, ["plan", "--help"], terminal_width=200).output
    assert "Usage: reconciler plan [OPTIONS] FILE" in plan
    assert re.search(r"--out\s+-o\s+PATH", plan)
    validate = CliRunner().invoke(app, ["validate", "--help"], terminal_width=200).output
    assert "Usage: reconciler validate [OPTIONS] FILE..." in validate


def _bad_file(tmp_path: Path) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text("version: 2\n")
    return path


def test_no_color_environment_variable_turns_colour_off(tmp_path: Path) -> None:
    path = str(_bad_file(tmp_path))
    coloured = CliRunner().invoke(app, ["validate", path], color=True, env={"FORCE_COLOR": "1"})
    assert "\x1b[" in coloured.output  # the control: colour is on when forced
    plain = CliRunner().invoke(app, ["validate", path], color=True, env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert plain.exit_code == 1
    assert "\x1b[" not in plain.output
    assert "bad.yaml:1:10: error[schema]" in plain.output


@pytest.mark.parametrize(
    ("shell", "marker"), [("bash", "complete -o"), ("zsh", "#compdef"), ("fish", "complete --command")]
)
def test_shell_completion_scripts(shell: str, marker: str) -> None:
    # typer detects the parent shell; this variable (read at import) lets the test name the shell
    env = {**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "reconciler"), "--show-completion", shell],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert marker in proc.stdout
    assert "_RECONCILER_COMPLETE" in proc.stdout


def test_completion_options_are_offered() -> None:
    output = CliRunner().invoke(app, ["--help"], terminal_width=200).output
    assert "--install-completion" in output and "--show-completion" in output
