"""Time for the lab model: a ``Clock`` protocol, a ``ManualClock`` for tests and a ``RealClock`` for the
running lab, plus the ``Scheduler`` that fires timed events (replication, service transitions) in order.

Every timed behaviour of the model (replication lag, service restart durations, TVS cache loading at the
moment TVS reaches Started) is an event on the scheduler. The model settles due events before every public
call, so a test can ``clock.advance(30)`` instead of sleeping, and the real lab sees the same behaviour
against wall-clock time. Called by ``simulator.model.lab`` only.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "ManualClock", "RealClock", "Scheduler"]


@runtime_checkable
class Clock(Protocol):
    """A source of epoch seconds (float)."""

    def now(self) -> float: ...


class RealClock:
    """Wall-clock time (``time.time``); used by ``reconciler lab up``."""

    def now(self) -> float:
        return time.time()


class ManualClock:
    """A virtual clock that only moves when told to; tests use it instead of sleeping."""

    def __init__(self, start: float = 1_750_000_000.0) -> None:
        self._now = float(start)

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        """Move time forward by ``seconds`` (>= 0) and return the new time."""
        if seconds < 0:
            raise ValueError("a manual clock never goes backwards")
        self._now += seconds
        return self._now

    def set(self, when: float) -> None:
        """Jump to ``when`` (not earlier than now)."""
        if when < self._now:
            raise ValueError("a manual clock never goes backwards")
        self._now = float(when)


@dataclass(order=True)
class _Event:
    when: float
    seq: int
    action: Callable[[float], None] = field(compare=False)


class Scheduler:
    """A time-ordered queue of callbacks ``action(when)``; ``settle(now)`` runs every due one in order.

    Ties run in scheduling order. An action may schedule further events; those run in the same settle if
    they are due. Not thread-safe by itself: the lab's lock guards it.
    """

    def __init__(self) -> None:
        self._heap: list[_Event] = []
        self._seq = itertools.count()

    def at(self, when: float, action: Callable[[float], None]) -> None:
        heapq.heappush(self._heap, _Event(when, next(self._seq), action))

    def settle(self, now: float) -> int:
        """Run all events due at or before ``now``; return how many ran."""
        ran = 0
        while self._heap and self._heap[0].when <= now:
            event = heapq.heappop(self._heap)
            event.action(event.when)
            ran += 1
        return ran

    def pending(self) -> int:
        return len(self._heap)

    def next_due(self) -> float | None:
        return self._heap[0].when if self._heap else None
