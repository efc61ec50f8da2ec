"""``AimdPacer``: the rate of AXL resets, adapted to what CUCM answers (additive increase, multiplicative
decrease).

Used by ``reconciler.wiring.reset.ResetProvider``. CUCM throttles AXL writes dynamically: it answers HTTP
503 while its change-notification queue is long (docs/cucm-interfaces.md), so a fixed rate is either
too slow or too aggressive. The pacer hands out send slots at ``rate`` per second; after each answer:

- until the first back-off (slow start, as TCP): every quick answer adds one to the rate, so it
  doubles about every second — a wave of a few hundred phones reaches the ceiling within it;
- after that, quick (the smoothed latency — an exponential average, so that one late answer on a
  busy host does not count — within ``slow_factor`` × the quickest answer seen, plus ``slack``): the
  rate grows by ``increase`` / rate (about ``increase`` per second), up to ``ceiling`` (policy);
- HTTP 503 or rising (smoothed) latency: the rate is multiplied by ``decrease`` (at most once per
  ``cooldown``, so that the answers already in flight do not collapse it), down to ``floor``.

Thread-safe; ``clock`` and ``sleep`` are injectable so unit tests run without waiting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["AimdPacer", "PacingSummary"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PacingSummary:
    """What the pacer did: answers, throttled (503) and slow ones, back-offs, rate at the start, at the
    end and peak."""

    start: float
    answers: int
    throttled: int
    slow: int
    backoffs: int
    rate: float
    peak: float

    def describe(self) -> str:
        return (
            f"paced from {self.start:.1f}/s to {self.rate:.1f}/s at the end (peak {self.peak:.1f}/s); "
            f"{self.throttled} HTTP 503, "
            f"{self.slow} slow answer(s), {self.backoffs} back-off(s)"
        )


class AimdPacer:
    """Send slots at an adaptive rate (module docstring)."""

    def __init__(
        self,
        *,
        start: float,
        ceiling: float,
        floor: float = 0.5,
        increase: float = 4.0,
        decrease: float = 0.5,
        slow_factor: float = 4.0,
        slack: float = 0.25,
        smoothing: float = 0.2,
        cooldown: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.ceiling = max(floor, ceiling)
        self.floor = floor
        self.rate = min(max(start, floor), self.ceiling)
        self.increase = increase
        self.decrease = decrease
        self.slow_factor = slow_factor
        self.slack = slack
        self.smoothing = smoothing
        self._smoothed: float | None = None
        self.cooldown = cooldown
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = clock()
        self._quickest: float | None = None
        self._last_backoff = float("-inf")
        self._answers = self._throttled = self._slow = self._backoffs = 0
        self._peak = self._start = self.rate

    def acquire(self) -> None:
        """Wait for the next send slot."""
        with self._lock:
            now = self._clock()
            at = max(now, self._next)
            self._next = at + 1.0 / self.rate
        if at > now:
            self._sleep(at - now)

    def record(self, *, latency: float, throttled: bool = False) -> None:
        """One answer: its latency and whether it was a throttle (HTTP 503)."""
        with self._lock:
            self._answers += 1
            slow = False
            if not throttled:
                if self._quickest is None or latency < self._quickest:
                    self._quickest = latency
                previous = latency if self._smoothed is None else self._smoothed
                self._smoothed = previous + self.smoothing * (latency - previous)
                slow = self._smoothed > self._quickest * self.slow_factor + self.slack
            self._throttled += int(throttled)
            self._slow += int(slow)
            if throttled or slow:
                now = self._clock()
                if now - self._last_backoff >= self.cooldown:
                    self._last_backoff = now
                    self._backoffs += 1
                    self.rate = max(self.floor, self.rate * self.decrease)
                return
            step = 1.0 if self._backoffs == 0 else self.increase / self.rate  # slow start, then additive
            self.rate = min(self.ceiling, self.rate + step)
            self._peak = max(self._peak, self.rate)

    def summary(self) -> PacingSummary:
        with self._lock:
            return PacingSummary(
                start=self._start,
                answers=self._answers,
                throttled=self._throttled,
                slow=self._slow,
                backoffs=self._backoffs,
                rate=self.rate,
                peak=self._peak,
            )
