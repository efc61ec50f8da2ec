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

__all__ = ["ChangeQueue", "FaceFaults", "QueryAllowance"]


class FaceFaults:
    """Latency, AXL write throttle (HTTP 503), dropped SSH sessions, unreachable node."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.latency_s: float = 0.0  # added before every HTTP request / CLI command is answered
        self.axl_write_throttle: bool = False  # AXL writes answer HTTP 503
        self.change_queue: ChangeQueue | None = None  # AXL writes answer 503 while this queue is long
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


class ChangeQueue:
    """CUCM's change-notification backlog as AXL's write throttle sees it: every accepted write adds one
    notification, drained at ``per_second``; while ``limit`` or more are waiting, writes answer HTTP 503
    (docs/cucm-interfaces.md, "AXL write throttle"). Shared by every node of a cluster."""

    def __init__(self, *, limit: int, per_second: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self.limit = max(1, limit)
        self.per_second = max(1e-3, per_second)
        self._length = 0.0
        self._at = clock()
        self.accepted = 0
        self.refused = 0

    def offer(self) -> bool:
        """One write: True (queued) or False (refuse it with HTTP 503)."""
        with self._lock:
            now = self._clock()
            self._length = max(0.0, self._length - (now - self._at) * self.per_second)
            self._at = now
            if self._length >= self.limit:
                self.refused += 1
                return False
            self._length += 1.0
            self.accepted += 1
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
