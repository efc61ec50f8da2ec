"""Backoff with jitter, delay hints and the retry loop (style rule 8: retry semantics live in the type)."""

from __future__ import annotations

import pytest

from reconciler.apply.retry import FakeClock, RetryPolicy, backoff_delay, call_with_retry
from reconciler.errors import PermanentError, TemporaryError, UnreachableError

POLICY = RetryPolicy(attempts=4, initial_backoff=2.0, max_backoff=10.0)


@pytest.mark.parametrize(("retry", "base"), [(1, 2.0), (2, 4.0), (3, 8.0), (4, 10.0), (9, 10.0)])
def test_backoff_doubles_up_to_the_cap_with_equal_jitter(retry: int, base: float) -> None:
    err = TemporaryError("503")
    assert backoff_delay(POLICY, retry=retry, error=err, rng=lambda: 0.0) == base / 2
    assert backoff_delay(POLICY, retry=retry, error=err, rng=lambda: 1.0) == base


def test_a_delay_hint_wins_but_is_capped() -> None:
    assert backoff_delay(POLICY, retry=1, error=TemporaryError("503", delay=30.0)) == 30.0
    assert backoff_delay(POLICY, retry=1, error=TemporaryError("503", delay=9999.0)) == POLICY.max_delay_hint


def test_retries_temporary_errors_then_returns() -> None:
    clock = FakeClock()
    errors = [UnreachableError("refused"), TemporaryError("503", delay=5.0)]
    seen: list[tuple[int, float]] = []

    def fn() -> str:
        if errors:
            raise errors.pop(0)
        return "ok"

    result, attempts = call_with_retry(
        fn, policy=POLICY, clock=clock, rng=lambda: 0.5, on_retry=lambda a, e, d: seen.append((a, d))
    )
    assert (result, attempts) == ("ok", 3)
    assert seen == [(2, 1.5), (3, 5.0)]
    assert clock.sleeps == [1.5, 5.0]


def test_gives_up_after_the_allowed_retries() -> None:
    clock = FakeClock()
    calls = []

    def fn() -> None:
        calls.append(1)
        raise TemporaryError("503")

    with pytest.raises(TemporaryError):
        call_with_retry(fn, policy=POLICY, clock=clock)
    assert len(calls) == POLICY.attempts + 1
    assert len(clock.sleeps) == POLICY.attempts


def test_permanent_errors_are_not_retried() -> None:
    clock = FakeClock()
    calls = []

    def fn() -> None:
        calls.append(1)
        raise PermanentError("AXL fault")

    with pytest.raises(PermanentError):
        call_with_retry(fn, policy=POLICY, clock=clock)
    assert calls == [1] and clock.sleeps == []


def test_stop_ends_retrying_at_once() -> None:
    clock = FakeClock()
    with pytest.raises(TemporaryError):
        call_with_retry(
            lambda: (_ for _ in ()).throw(TemporaryError("x")), policy=POLICY, clock=clock, stop=lambda: True
        )
    assert clock.sleeps == []


def test_policy_from_the_schema() -> None:
    from schemas.policy import Retries

    policy = RetryPolicy.from_policy(Retries(attempts=2))
    assert (policy.attempts, policy.initial_backoff, policy.max_backoff) == (2, 2.0, 60.0)
