"""Hostile input ends fast, in bounded memory, with FILE:LINE:COL and exit 1 — never a traceback.

Each case runs the real ``reconciler`` command in a subprocess under a 2 GiB address-space cap
(``RLIMIT_AS``) and a wall-clock bound, as a user (or CI) would run it. The inputs are the ones that used
to hang, fill memory or print a Python traceback: billion laughs, chained aliases, a NUL byte, an integer
of 5,000 digits, 50,000 nested brackets, ``/dev/zero`` and a file of several megabytes.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.unit.desired_fixtures import VALID

_CAP = 2 << 30  # 2 GiB
_SECONDS = 15.0  # generous for a loaded 2-core CI machine; each case takes well under a second alone


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (_CAP, _CAP))


def _run(*args: str, cwd: Path) -> tuple[int, str, float]:
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "reconciler", "--no-color", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        preexec_fn=_cap_memory,
        check=False,
    )
    return proc.returncode, proc.stdout + proc.stderr, time.monotonic() - started


def _laughs(levels: int) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels + 1):
        ref = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([ref] * 9)}]")
    return "\n".join(lines) + "\n"


def _chain(n: int) -> str:
    return "\n".join(["a0: &a0 [x]", *(f"a{i}: &a{i} [*a{i - 1}]" for i in range(1, n))]) + "\n"


#: name -> (file content, the LINE:COL the error must name)
CASES: dict[str, tuple[Callable[[], bytes], str]] = {
    "billion-laughs-9-levels": (lambda: _laughs(9).encode(), ":5:"),
    "chained-aliases-2000": (lambda: _chain(2000).encode(), ":64:"),
    "nul-byte": (lambda: b"version: 1\nclusters: \x00\n", ":2:11"),
    "int-of-5000-digits": (lambda: b"version: " + b"9" * 5000 + b"\n", ":1:10"),
    "50000-nested-brackets": (lambda: b"version: " + b"[" * 50_000 + b"]" * 50_000 + b"\n", ":1:"),
    "50000-nested-maps": (lambda: b"version: " + b"{a: " * 50_000 + b"1" + b"}" * 50_000 + b"\n", ":1:"),
    "3-MB-file": (lambda: b"version: 1\n# " + b"x" * 3_000_000 + b"\n", ":1:1"),
    "not-utf8": (lambda: b"version: 1\nname: \xff\n", ":2:7"),
    "impossible-date": (lambda: VALID.replace("version: 1", "version: 2024-13-45").encode(), ":1:10"),
    "huge-scalar": (lambda: b"version: 1\nx: " + b"y" * 100_000 + b"\n", ":2:4"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_desired_state_ends_fast_with_position(name: str, tmp_path: Path) -> None:
    make, where = CASES[name]
    path = tmp_path / "hostile.yaml"
    path.write_bytes(make())
    code, output, seconds = _run("validate", str(path), cwd=tmp_path)
    assert code == 1, output
    assert "Traceback" not in output
    assert f"hostile.yaml{where}" in output, output
    assert "error[" in output
    assert seconds < _SECONDS


@pytest.mark.parametrize("command", [("validate",), ("plan",), ("drift",), ("inspect", "tlv"), ("show",)])
def test_dev_zero_is_refused_by_every_reader(command: tuple[str, ...], tmp_path: Path) -> None:
    code, output, seconds = _run(*command, "/dev/zero", cwd=tmp_path)
    assert code == 1, output
    assert "Traceback" not in output
    assert "limit" in output
    assert seconds < _SECONDS


def test_deeply_nested_json_plan_is_a_clean_error(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    code, output, _ = _run("show", str(path), cwd=tmp_path)
    assert code == 1
    assert "Traceback" not in output
    assert "plan file is not JSON" in output


def test_the_valid_example_still_passes_under_the_cap(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(VALID)
    code, output, seconds = _run("validate", str(path), cwd=tmp_path)
    assert code == 0, output
    assert seconds < _SECONDS
