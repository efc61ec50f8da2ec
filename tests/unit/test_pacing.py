"""``AimdPacer``: additive increase while answers are quick, multiplicative decrease on HTTP 503 or rising
latency, bounded by the policy's ceiling; slots spaced at 1/rate (the reset pacing of wave resets)."""

from __future__ import annotations

from reconciler.wiring.pacing import AimdPacer


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _pacer(clock: Clock, **kw: float) -> AimdPacer:
    return AimdPacer(
        start=kw.pop("start", 4.0), ceiling=kw.pop("ceiling", 10.0), clock=clock, sleep=clock.sleep, **kw
    )


def test_quick_answers_raise_the_rate_up_to_the_ceiling_and_no_further() -> None:
    clock = Clock()
    pacer = _pacer(clock)
    for _ in range(200):
        pacer.record(latency=0.01)
    assert pacer.rate == 10.0 and pacer.summary().peak == 10.0 and pacer.summary().backoffs == 0


def test_slow_start_doubles_the_rate_then_the_increase_is_additive_after_a_backoff() -> None:
    clock = Clock()
    pacer = _pacer(clock, start=4.0, ceiling=1000.0)
    for _ in range(4):
        pacer.record(latency=0.01)
    assert pacer.rate == 8.0, "slow start: one per quick answer (doubles per round)"
    pacer.record(latency=0.01, throttled=True)
    assert pacer.rate == 4.0
    for _ in range(4):
        pacer.record(latency=0.01)
    assert 4.0 < pacer.rate < 8.0, "after a back-off, about `increase` per second"


def test_a_503_halves_the_rate_once_per_cooldown_and_not_below_the_floor() -> None:
    clock = Clock()
    pacer = _pacer(clock, start=8.0)
    pacer.record(latency=0.01, throttled=True)
    pacer.record(latency=0.01, throttled=True)  # an answer already in flight: no second halving
    assert pacer.rate == 4.0
    for _ in range(10):
        clock.now += 2.0
        pacer.record(latency=0.01, throttled=True)
    assert pacer.rate == 0.5 and pacer.summary().throttled == 12


def test_rising_latency_backs_off_like_a_503_but_one_late_answer_does_not() -> None:
    clock = Clock()
    pacer = _pacer(clock, start=8.0)
    pacer.record(latency=0.02)
    pacer.record(latency=0.9)  # one late answer on a busy host: smoothed away
    assert pacer.summary().slow == 0 and pacer.summary().backoffs == 0
    before = pacer.rate
    for _ in range(5):  # latency keeps rising: the smoothed latency crosses the line
        pacer.record(latency=1.0)
    assert pacer.rate == before / 2 and pacer.summary().slow >= 1 and pacer.summary().backoffs == 1


def test_slots_are_spaced_at_one_over_the_rate() -> None:
    clock = Clock()
    pacer = _pacer(clock, start=4.0, ceiling=4.0)
    for _ in range(5):
        pacer.acquire()
    assert clock.slept == [0.25] * 4 and clock.now == 1.0
