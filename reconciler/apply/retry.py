"""Retries of temporary errors with exponential backoff and jitter, and the injectable clock they use.

Used by the executor (``reconciler.apply.executor``) around every provider ``apply``/``verify`` call and by
the gate handler (``reconciler.apply.gates``) for paced RisPort70 polling. Retry semantics live in the
exception type: ``TemporaryError`` is retried — waiting its ``delay`` hint when it gives one (an HTTP
``Retry-After``), else ``initial * 2**(n-1)`` capped at ``max_backoff``, with "equal jitter" (a random
point in the upper half of that interval) so parallel workers do not retry in lock-step; every other
exception propagates at once. Tests inject a ``FakeClock`` so that nothing really sleeps.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from reconciler.errors import TemporaryError

__all__ = [
    "Clock",
    "FakeClock",
    "RetryPolicy",
    "SystemClock",
    "WallClock",
    "backoff_delay",
    "call_with_retry",
]

T = TypeVar("T")


class Clock(Protocol):
    """Monotonic time and sleeping; ``SystemClock`` for real runs, ``FakeClock`` in tests."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class WallClock(Clock, Protocol):
    """A ``Clock`` that also tells the date and time (maintenance windows, ``reconciler.apply.window``)."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real clock. ``sleep`` returns early when ``cancel`` is set (Ctrl-C during a long wait)."""

    def __init__(self, *, cancel: threading.Event | None = None) -> None:
        self._cancel = cancel

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        if self._cancel is None:
            time.sleep(seconds)
        else:
            self._cancel.wait(seconds)


class FakeClock:
    """A clock whose ``sleep`` advances time instantly (thread-safe); records every sleep."""

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        with self._lock:
            return self._now

    def now(self) -> datetime:
        """The fake time as a date: ``start`` is read as seconds since the epoch (UTC)."""
        with self._lock:
            return datetime.fromtimestamp(self._now, UTC)

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self._now += max(seconds, 0.0)

    def advance(self, seconds: float) -> None:
        """Move time forward without recording a sleep (something else took that long)."""
        with self._lock:
            self._now += seconds


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """``attempts`` = retries after the first try (policy.retries.attempts); times in seconds."""

    attempts: int = 5
    initial_backoff: float = 2.0
    max_backoff: float = 60.0
    max_delay_hint: float = 300.0  # a server's delay hint is honoured up to this (never wait forever)

    def __post_init__(self) -> None:
        if self.attempts < 0 or self.initial_backoff < 0 or self.max_backoff < self.initial_backoff:
            raise ValueError(f"invalid retry policy {self!r}")

    @classmethod
    def from_policy(cls, retries: object) -> RetryPolicy:
        """From ``schemas.policy.Retries`` (``attempts``, ``initial_backoff``/``max_backoff`` timedeltas)."""
        initial = getattr(retries, "initial_backoff")  # noqa: B009 - duck-typed: schemas stay optional
        maximum = getattr(retries, "max_backoff")  # noqa: B009
        return cls(
            attempts=int(getattr(retries, "attempts")),  # noqa: B009
            initial_backoff=float(initial.total_seconds()),
            max_backoff=float(maximum.total_seconds()),
        )


def backoff_delay(
    policy: RetryPolicy, *, retry: int, error: TemporaryError, rng: Callable[[], float] = random.random
) -> float:
    """Seconds to wait before retry number ``retry`` (1-based) after ``error``.

    A ``delay`` hint on the error wins (capped at ``max_delay_hint``); otherwise exponential backoff
    capped at ``max_backoff`` with equal jitter: uniformly in ``[base/2, base]``.
    """
    if error.delay is not None:
        return min(max(error.delay, 0.0), policy.max_delay_hint)
    base = min(policy.initial_backoff * (2 ** (retry - 1)), policy.max_backoff)
    return float(base / 2 + rng() * base / 2)


def call_with_retry(
    fn: Callable[[], T],
    *,
    policy: RetryPolicy,
    clock: Clock,
    on_retry: Callable[[int, TemporaryError, float], None] | None = None,
    rng: Callable[[], float] = random.random,
    stop: Callable[[], bool] | None = None,
) -> tuple[T, int]:
    """Call ``fn`` until it returns, retrying ``TemporaryError`` up to ``policy.attempts`` times.

    Returns ``(result, attempts_made)``. ``on_retry(next_attempt, error, delay)`` is called before each
    wait. The last ``TemporaryError`` is re-raised when retries are used up, or when ``stop()`` turns
    true (an interrupted apply does not keep retrying). Other exceptions propagate unchanged.
    """
    attempt = 1
    while True:  # bounded: at most policy.attempts + 1 calls
        try:
            return fn(), attempt
        except TemporaryError as exc:
            if attempt > policy.attempts or (stop is not None and stop()):
                raise
            delay = backoff_delay(policy, retry=attempt, error=exc, rng=rng)
            if on_retry is not None:
                on_retry(attempt + 1, exc, delay)
            clock.sleep(delay)
            attempt += 1
