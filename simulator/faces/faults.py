"""Run-time fault switches of the faces and the RisPort70 query allowance.

``FaceFaults`` is one mutable, thread-safe switchboard per node (or per router); every face of that node
reads it on each request/command, so ``lab fault ...`` can flip a switch while clients are connected.
``QueryAllowance`` is the cluster-wide "Allowed Device Queries Per Minute" budget shared by the RisPort70
face of every node of a cluster (docs/cucm-domain.md#risport70).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

__all__ = ["FaceFaults", "QueryAllowance"]


class FaceFaults:
    """Latency, AXL write throttle (HTTP 503), dropped SSH sessions, unreachable node."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.latency_s: float = 0.0  # added before every HTTP request / CLI command is answered
        self.axl_write_throttle: bool = False  # AXL writes answer HTTP 503
        self.unreachable: bool = False  # new connections are closed at once
        self._drops = 0

    def drop_next_ssh_commands(self, count: int = 1) -> None:
        """The next ``count`` CLI commands (on any session of this node) lose their session mid-output."""
        with self._lock:
            self._drops = max(0, count)

    def take_ssh_drop(self) -> bool:
        with self._lock:
            if self._drops <= 0:
                return False
            self._drops -= 1
            return True


class QueryAllowance:
    """A sliding one-minute window of RisPort70 queries (default 15 per minute, CUCM maximum 18)."""

    def __init__(self, per_minute: int = 15, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._stamps: deque[float] = deque()
        self.per_minute = per_minute

    def try_consume(self) -> bool:
        """Record one query; False when the window is already full (the query must be refused)."""
        with self._lock:
            now = self._clock()
            while self._stamps and now - self._stamps[0] >= 60.0:
                self._stamps.popleft()
            if len(self._stamps) >= self.per_minute:
                return False
            self._stamps.append(now)
            return True

    def exhaust(self) -> None:
        """Fault injection: use up the current window."""
        with self._lock:
            now = self._clock()
            self._stamps.extend([now] * max(0, self.per_minute - len(self._stamps)))

    def reset(self) -> None:
        with self._lock:
            self._stamps.clear()
