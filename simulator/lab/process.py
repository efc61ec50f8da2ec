"""Process plumbing of ``reconciler lab up --detach`` / ``lab down``: start the lab in its own session,
wait for its ``ready`` file, find every process of that session in ``/proc``, and stop them all.

Stdlib only (no psutil): ``/proc/<pid>/stat`` gives the state (a zombie counts as gone: an orphaned
lab is reaped by whatever PID 1 is, which in a container may never happen) and the session id (the
detached lab is a session leader, so Kea's daemons share its session). Called by
``reconciler.commands.lab`` and the integration tests.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from reconciler.errors import LabError

__all__ = ["alive", "read_pid", "session_members", "spawn_detached", "stop_session", "wait_ready"]


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, session id) of ``pid`` or None when it does not exist."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "
    return fields[0], int(fields[3])


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def session_members(sid: int) -> list[int]:
    """Live (non-zombie) processes whose session id is ``sid``."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None and stat[1] == sid and stat[0] != "Z":
                out.append(int(entry.name))
    return sorted(out)


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return None


def spawn_detached(
    argv: Sequence[str], *, log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a new session (immune to the terminal's Ctrl-C/hangup), output to ``log``."""
    with open(log, "ab") as handle:
        return subprocess.Popen(
            list(argv),
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
        )


def _tail(log: Path, lines: int = 8) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_ready(proc: subprocess.Popen[bytes], *, ready: Path, log: Path, timeout: float) -> float:
    """Wait until ``ready`` names ``proc``'s pid; seconds waited. ``LabError`` (with the log's tail) when
    the process exits first or ``timeout`` passes (then the process is stopped)."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if ready.exists() and f"pid={proc.pid} " in ready.read_text():
            return time.monotonic() - began
        if proc.poll() is not None:
            raise LabError(f"the lab exited with status {proc.returncode} before it was ready:\n{_tail(log)}")
        time.sleep(0.02)
    stop_session(proc.pid, timeout=5)
    raise LabError(f"the lab was not ready after {timeout:g}s (stopped it):\n{_tail(log)}", hint=f"see {log}")


def stop_session(pid: int, *, timeout: float = 20.0) -> list[int]:
    """SIGTERM ``pid`` and wait; then every other live member of its session gets SIGTERM and, after
    ``timeout``, SIGKILL as a last resort. Returns the pids that needed SIGKILL (normally none)."""
    if alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    killed = []
    for member in session_members(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(member, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while session_members(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    for member in session_members(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(member, signal.SIGKILL)
            killed.append(member)
    return killed
