"""RisPort70 as the wave gates see it: one device's ``Registration``, the ``RegistrationReader`` a gate
polls, and ``RisPacer``, the per-cluster query allowance every gate of a cluster shares.

Called by ``reconciler.apply.gates`` (``GateHandler`` polls and paces), ``reconciler.apply.gate_specs``
(``EstateRegistrations`` adapts the estate to a ``RegistrationReader``) and ``reconciler.wiring.gates``
(one ``RisPacer`` per cluster). Never mutates anything and never prints.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from reconciler.apply.retry import Clock
from reconciler.errors import TemporaryError

__all__ = ["REGISTERED", "RISPORT_MAX_DEVICES", "Registration", "RegistrationReader", "RisPacer"]

RISPORT_MAX_DEVICES = 1000  # RisPort70 answers at most 1,000 devices per selectCmDevice query
REGISTERED = "Registered"


@dataclass(frozen=True, slots=True, kw_only=True)
class Registration:
    """What RisPort70 reports for one device: status, the node it is registered to, the reason."""

    device: str
    status: str
    node: str | None = None
    reason: str = ""


class RegistrationReader(Protocol):
    """Reads registrations of devices (one RisPort70 query per call; never mutates).

    Devices RisPort70 does not know are simply absent from the result. Raises ``TemporaryError`` when
    the allowance is used up (``delay`` = when to ask again) and ``PermanentError`` otherwise.
    """

    def registrations(self, devices: Sequence[str]) -> Mapping[str, Registration]: ...


class RisPacer:
    """At most ``per_minute`` queries in any 60-second window (the RisPort70 allowance per cluster).

    Thread-safe; share one pacer per cluster between every gate that queries that cluster.
    """

    WINDOW = 60.0

    def __init__(self, *, per_minute: int, clock: Clock) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.per_minute = per_minute
        self._clock = clock
        self._calls: deque[float] = deque()
        self._lock = threading.Lock()

    def wait_time(self) -> float:
        """Seconds until one more query fits in the window (0 when it fits now)."""
        with self._lock:
            return self._wait_locked(self._clock.monotonic())

    def acquire(self) -> None:
        """Wait (through the clock) until a query fits, then count it."""
        for _ in range(self.per_minute + 2):  # bounded: each wait frees at least one slot
            with self._lock:
                now = self._clock.monotonic()
                wait = self._wait_locked(now)
                if wait <= 0:
                    self._calls.append(now)
                    return
            self._clock.sleep(wait)
        raise TemporaryError("RisPort70 allowance: no query slot became free", endpoint="risport70")

    def _wait_locked(self, now: float) -> float:
        while self._calls and now - self._calls[0] >= self.WINDOW:
            self._calls.popleft()
        if len(self._calls) < self.per_minute:
            return 0.0
        return self._calls[0] + self.WINDOW - now
