"""The state lock: an exclusive ``flock`` on ``state.lock`` that records who holds it (``LockInfo``).

Called by ``reconciler.state.store.StateStore`` (``lock``, ``lock_holder``, ``force_unlock``), through
which the executor, ``plan`` and ``reconciler force-unlock`` use it. A lock that cannot be taken is a
``LockError`` naming the holder and saying whether its process still exists on this host; a lock is
broken only when its holder is gone and the caller names its id (as in Terraform).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import getpass
import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from reconciler.errors import LockError, StateError
from reconciler.state.files import fsync_dir, utc_now

__all__ = ["LockInfo", "StateLock"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LockInfo:
    """Who holds (or last held) the state lock; recorded in the lock file while it is held."""

    lock_id: str
    pid: int
    host: str
    user: str
    command: str
    started_at: str

    def describe(self) -> str:
        return f"{self.user}@{self.host} pid {self.pid} ({self.command!r}, since {self.started_at})"

    def pid_alive(self) -> bool | None:
        """True/False for a holder on this host; None when it ran elsewhere (cannot be checked)."""
        if self.host != socket.gethostname():
            return None
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


class StateLock:
    """The lock file ``path`` in the state ``directory`` (created 0700 when the lock is first taken)."""

    def __init__(self, *, directory: Path, path: Path) -> None:
        self.directory = directory
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this process holds the lock through this object now."""
        return self._fd is not None

    @contextlib.contextmanager
    def hold(self, *, timeout: float, command: str, poll: float = 0.1) -> Iterator[LockInfo]:
        """Hold the exclusive lock, waiting up to ``timeout`` seconds; yields our ``LockInfo``.

        Raises ``LockError`` naming the holder (and saying whether its process still exists).
        """
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:  # bounded by the deadline
            fd = self._try_lock()
            if fd is not None:
                break
            if time.monotonic() >= deadline:
                raise self._error(timeout)
            time.sleep(poll)
        info = LockInfo(
            lock_id=str(uuid.uuid4()),
            pid=os.getpid(),
            host=socket.gethostname(),
            user=_user(),
            command=command,
            started_at=utc_now(),
        )
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(asdict(info)).encode(), 0)
            os.fsync(fd)
            self._fd = fd
            yield info
        finally:
            self._fd = None
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)  # an empty lock file means "nobody holds it"
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def holder(self) -> LockInfo | None:
        """The holder recorded in the lock file, or None when the file is empty/absent."""
        try:
            raw = self.path.read_text()
        except FileNotFoundError:
            return None
        try:
            data: Any = json.loads(raw) if raw.strip() else None
            return None if data is None else LockInfo(**data)
        except (ValueError, TypeError, RecursionError):
            return None

    def force_unlock(self, lock_id: str) -> None:
        """Break a lock whose holder is gone (never while its process lives on this host).

        Removes the lock file; a process still holding the old file keeps nothing but a dead inode, and
        new lockers use a fresh file. ``lock_id`` must match the holder's id (a nonce, as in Terraform).
        """
        holder = self.holder()
        if holder is None:
            raise LockError(f"{self.path}: no lock is recorded; nothing to unlock")
        if holder.lock_id != lock_id:
            raise LockError(f"lock id {lock_id!r} does not match the holder's id {holder.lock_id!r}")
        if holder.pid_alive():
            raise LockError(
                f"state lock is held by a running process: {holder.describe()}",
                hint=f"stop process {holder.pid} (or let it finish) instead of forcing the lock",
            )
        self.path.unlink(missing_ok=True)
        fsync_dir(self.directory)

    def _try_lock(self) -> int | None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return None
            raise StateError(f"{self.path}: cannot lock ({exc.strerror})") from exc
        try:  # force_unlock may have removed the file we opened: lock the new one instead
            same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
        except FileNotFoundError:
            same = False
        if not same:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
            return None
        return fd

    def _error(self, timeout: float) -> LockError:
        holder = self.holder()
        if holder is None:
            return LockError(
                f"state lock {self.path} is held by another process (not yet recorded) after "
                f"waiting {timeout:g}s",
                hint="retry, or raise --lock-timeout",
            )
        alive = holder.pid_alive()
        message = f"state lock {self.path} is held by {holder.describe()}; waited {timeout:g}s"
        if alive is False:
            return LockError(
                f"{message}. That process no longer exists on this host: a child it left behind still "
                "holds the lock file open (find it with `fuser -v " + str(self.path) + "`)",
                hint=f"stop that child, or run `reconciler force-unlock {holder.lock_id}`",
            )
        where = "" if alive else f" (on host {holder.host}; its process cannot be checked from here)"
        return LockError(
            message + where,
            hint="wait for it to finish and retry, raise --lock-timeout, or stop that process",
        )


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())
