"""README.md stays true: every command of its shell code blocks runs as written.

The commands are read from the README itself (fenced blocks without a language or marked ``sh``/``bash``;
``#`` starts a comment). They run in a scratch repository holding a copy of ``examples/`` (so the lab's
``.reconciler/lab/`` lands there, as it would in the checkout's root) with ``.venv/bin`` first on PATH —
what ``. .venv/bin/activate`` does, which the README's PATH block says to run first. The lab block's
``reconciler lab up`` listens on the default prefix 127.0 unless ``RECONCILER_LAB_PREFIX`` is set (the
README says so); here it is set to a prefix leased from ``tests.loopback``, so the test never collides
with a lab someone started by hand or with another test.

Commands not run, each for a stated reason (the test fails when the README gains a command that is
neither run nor listed here): ``make test`` (it is this suite), ``make demo`` (the same lab, validate,
plan and apply run by tests/e2e/test_lab_migration.py on a leased prefix), ``pipx install .`` (installs
into the user's home from the network).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.loopback import Loopback

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
NOT_RUN = {
    "make demo": "tests/e2e/test_lab_migration.py runs the same steps on a leased prefix",
    "make test": "it is this test suite",
    "pipx install .": "installs into the user's home from the network",
}


def readme_commands() -> list[str]:
    """Every command line of README.md's shell code blocks, in order, comments stripped."""
    text = (ROOT / "README.md").read_text()
    commands: list[str] = []
    for lang, body in re.findall(r"^```(\w*)\n(.*?)^```", text, re.S | re.M):
        if lang not in ("", "sh", "bash", "shell"):
            continue
        for line in body.splitlines():
            command = re.sub(r"\s+#.*$", "", line).strip()
            if command and not command.startswith("#"):
                commands.append(command)
    return commands


def test_readme_lists_the_commands_this_test_knows() -> None:
    commands = readme_commands()
    assert "reconciler lab up --detach" in commands and "reconciler lab down" in commands
    assert set(NOT_RUN) <= set(commands), "a command listed as not run is no longer in the README"
    assert "RECONCILER_LAB_PREFIX" in (ROOT / "README.md").read_text()


def test_every_readme_command_runs_as_written(tmp_path: Path, loopback: Loopback) -> None:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    # a repository root, as the checkout is (credential files may live anywhere inside it)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, timeout=30)
    venv = ROOT / ".venv"
    env = dict(os.environ, NO_COLOR="1", COLUMNS="200", PYTHONPATH=str(ROOT))
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    (tmp_path / ".venv").symlink_to(venv)  # `. .venv/bin/activate` as written, from the working directory
    ran: list[str] = []
    with loopback.lease() as lease:
        env["RECONCILER_LAB_PREFIX"] = lease.prefix
        try:
            for command in readme_commands():
                if command in NOT_RUN:
                    continue
                result = subprocess.run(
                    ["bash", "-c", command],
                    cwd=tmp_path,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=180,
                    check=False,
                )
                assert result.returncode == 0, (
                    f"`{command}` exited {result.returncode}:\n{result.stdout}{result.stderr}"
                )
                ran.append(command)
                if command.startswith("reconciler validate"):
                    assert "warning" not in result.stdout + result.stderr, result.stdout + result.stderr
                if command == "reconciler lab phones":
                    assert result.stdout.count("SEP") >= 100, result.stdout  # "~300 phones"
        finally:
            subprocess.run(
                ["reconciler", "lab", "down"],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                timeout=60,
                check=False,
            )
    assert "reconciler lab up --detach" in ran and "reconciler lab down" in ran
