"""Loopback address prefixes for tests that start a lab: every lab a test starts (``LabRuntime`` in process
or ``reconciler lab up`` in a subprocess) runs on a prefix ``127.N`` that it leases here, so no test
hard-codes a prefix and ``pytest -n 8`` never puts two labs on one address and port.

A lease is an exclusive ``flock`` on ``<tmp>/reconciler-loopback/127.N.lock``: it holds across
pytest-xdist workers and across pytest sessions running at once (several checkouts on one machine), and the
kernel drops it when the process ends, so a killed run leaves nothing to clean up. Leases come from
127.100-127.254; 127.0-127.99 stay for hand-started labs (``lab up`` defaults to 127.0, the benchmarks pick
their own). Each worker starts its scan at a different place and moves on after every lease, so a prefix
that a lab just left is not handed out again at once. Before a prefix is leased, the lab's ports
(``Lease.ports``) are bound once on its first node address; a prefix whose ports something else holds is
skipped, not failed on.

The session fixture ``loopback`` (tests/conftest.py) is the one ``Loopback`` of a worker; it is used by
``tests.contract.lab_fixtures``, ``tests.e2e.labrun`` and the integration tests that run labs.
"""

from __future__ import annotations

import contextlib
import fcntl
import re
import socket
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from simulator.lab.runtime import LabPorts

__all__ = ["FIRST", "LAST", "Lease", "Loopback", "worker_index"]

FIRST, LAST = 100, 254  # the second octets leased to tests
LOCK_DIR = Path(tempfile.gettempdir()) / "reconciler-loopback"


def worker_index(worker: str | None) -> int:
    """0 for a run without xdist (or the controller), N for xdist worker ``gwN``."""
    match = re.fullmatch(r"gw(\d+)", worker or "")
    return int(match.group(1)) if match else 0


@dataclass(frozen=True, slots=True)
class Lease:
    """One leased prefix: the lab listens on ``<prefix>.x.y`` at ``ports``."""

    prefix: str
    ports: LabPorts

    def ip(self, third: int, fourth: int) -> str:
        return f"{self.prefix}.{third}.{fourth}"


def _ports_free(host: str, ports: LabPorts) -> bool:
    for port in (ports.https, ports.tftp_http, ports.ssh):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the lab's servers bind
            try:
                sock.bind((host, port))
            except OSError:
                return False
    return True


class Loopback:
    """Hands out ``Lease``s; one per pytest worker (the ``loopback`` session fixture)."""

    def __init__(
        self,
        *,
        worker: str | None,
        lock_dir: Path = LOCK_DIR,
        ports_free: Callable[[str, LabPorts], bool] = _ports_free,
    ) -> None:
        self._lock_dir = lock_dir
        self._ports_free = ports_free
        self._cursor = (worker_index(worker) * 19) % (LAST - FIRST + 1)
        self._held: dict[str, IO[str]] = {}

    def _try_lock(self, prefix: str) -> IO[str] | None:
        self._lock_dir.mkdir(parents=True, exist_ok=True)
        handle = (self._lock_dir / f"{prefix}.lock").open("a")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return None
        return handle

    def acquire(self) -> Lease:
        """A prefix nobody else holds, with the lab's default ports free on it; ``release`` it after."""
        ports = LabPorts()
        size = LAST - FIRST + 1
        for step in range(size):
            prefix = f"127.{FIRST + (self._cursor + step) % size}"
            handle = self._try_lock(prefix)
            if handle is None:
                continue
            if not self._ports_free(f"{prefix}.10.1", ports):
                handle.close()
                continue
            self._cursor = (self._cursor + step + 1) % size
            self._held[prefix] = handle
            return Lease(prefix=prefix, ports=ports)
        raise RuntimeError(f"every loopback prefix 127.{FIRST}-127.{LAST} is leased ({self._lock_dir})")

    def release(self, lease: Lease) -> None:
        handle = self._held.pop(lease.prefix, None)
        if handle is not None:
            handle.close()  # closing the descriptor drops the flock

    @contextlib.contextmanager
    def lease(self) -> Iterator[Lease]:
        """``with loopback.lease() as lease:`` a prefix for the block."""
        lease = self.acquire()
        try:
            yield lease
        finally:
            self.release(lease)

    def close(self) -> None:
        for handle in self._held.values():
            handle.close()
        self._held.clear()
