"""Waiting you can see, in process: ``ReadWaiter`` (retries within a time budget, reported through
``ReadHooks``), the progress renderer (one line per phase off a terminal, off with ``--quiet``) and the
RisPort70 pacer's ETA (R13) that the phone listing reports."""

from __future__ import annotations

import io
import time

import pytest
from rich.console import Console

from providers.cucm_serviceability.ris import RisPacer
from reconciler.apply.retry import RetryPolicy
from reconciler.errors import PermanentError, TemporaryError, UnreachableError
from reconciler.live.progress import ReadHooks, ReadPhase, ReadProgress, ReadWait
from reconciler.render.progress import ReadProgressRenderer, describe_progress, describe_wait
from reconciler.wiring.readwait import HINTED_ATTEMPTS, ReadWaiter


class Recorder(ReadHooks):
    def __init__(self) -> None:
        self.waits: list[ReadWait] = []
        self.recovered: list[str] = []

    def read_waiting(self, wait: ReadWait) -> None:
        self.waits.append(wait)

    def read_recovered(self, endpoint: str) -> None:
        self.recovered.append(endpoint)


def _failing(times: int, error: Exception) -> tuple[list[int], object]:
    calls: list[int] = []

    def fn() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise error
        return "answer"

    return calls, fn


def test_unreachable_is_retried_and_each_wait_names_endpoint_attempt_and_next_time() -> None:
    hooks, sleeps = Recorder(), []
    waiter = ReadWaiter(hooks=hooks, policy=RetryPolicy(attempts=3), sleep=sleeps.append, slow_after=60)
    calls, fn = _failing(2, UnreachableError("refused", endpoint="pub (10.0.0.1:8443)"))
    before = time.time()
    assert waiter.read("pub", fn) == "answer"  # type: ignore[arg-type]
    assert len(calls) == 3 and len(sleeps) == 2
    assert [(w.endpoint, w.attempt, w.attempts) for w in hooks.waits] == [
        ("pub (10.0.0.1:8443)", 1, 4),
        ("pub (10.0.0.1:8443)", 2, 4),
    ]
    assert all(w.retry_at is not None and w.retry_at >= before for w in hooks.waits)
    assert hooks.recovered == ["pub"]


def test_retries_end_at_the_attempt_limit_with_the_last_error() -> None:
    waiter = ReadWaiter(policy=RetryPolicy(attempts=2), sleep=lambda s: None, slow_after=60)
    calls, fn = _failing(10, UnreachableError("refused"))
    with pytest.raises(UnreachableError):
        waiter.read("pub", fn)  # type: ignore[arg-type]
    assert len(calls) == 3


def test_a_delay_hint_gets_more_attempts_but_never_past_the_timeout() -> None:
    waiter = ReadWaiter(policy=RetryPolicy(attempts=1), sleep=lambda s: None, slow_after=60, timeout=1000)
    calls, fn = _failing(5, TemporaryError("allowance used up", delay=1.0))
    assert waiter.read("ris", fn) == "answer"  # type: ignore[arg-type]
    assert len(calls) == 6 < HINTED_ATTEMPTS
    short = ReadWaiter(policy=RetryPolicy(attempts=5), sleep=lambda s: None, slow_after=60, timeout=0.1)
    calls, fn = _failing(5, TemporaryError("busy", delay=1.0))
    with pytest.raises(TemporaryError):
        short.read("ris", fn)  # type: ignore[arg-type]
    assert len(calls) == 1  # the first retry would already end after the time budget


def test_permanent_errors_are_not_retried_and_stop_ends_waits() -> None:
    waiter = ReadWaiter(sleep=lambda s: None, slow_after=60)
    calls, fn = _failing(1, PermanentError("bad request"))
    with pytest.raises(PermanentError):
        waiter.read("pub", fn)  # type: ignore[arg-type]
    assert len(calls) == 1
    waiter.stop()
    calls, fn = _failing(1, UnreachableError("refused"))
    with pytest.raises(UnreachableError):
        waiter.read("pub", fn)  # type: ignore[arg-type]
    assert len(calls) == 1


def test_a_read_without_an_answer_is_reported_while_it_waits() -> None:
    hooks = Recorder()
    waiter = ReadWaiter(hooks=hooks, slow_after=0.05)

    def slow() -> str:
        time.sleep(0.3)
        return "late"

    assert waiter.read("pub (10.0.0.1:8443)", slow) == "late"
    assert hooks.waits and hooks.waits[0].retry_at is None and hooks.waits[0].attempt == 1
    assert "no answer for" in describe_wait(hooks.waits[0])
    assert hooks.recovered == ["pub (10.0.0.1:8443)"]


def test_describe_wait_says_it_once_and_describe_progress_counts_honestly() -> None:
    wait = ReadWait(
        endpoint="pub (10.0.0.1:8443)",
        attempt=2,
        attempts=6,
        error="pub (10.0.0.1:8443) is unreachable: cannot connect",
        retry_at=time.time() + 4,
    )
    line = describe_wait(wait)
    assert line.startswith("waiting for pub (10.0.0.1:8443): unreachable: cannot connect; attempt 2 of 6")
    assert line.count("10.0.0.1") == 1 and "next at " in line
    phones = ReadProgress(phase=ReadPhase.PHONES, subject="old", done=2000, total=80000, eta=88.0)
    assert describe_progress(phones) == (
        "phones of old: 2,000 of 80,000 listed, about 1 min 28 s to go (RisPort70 allowance)"
    )
    one = ReadProgress(phase=ReadPhase.TRUST, subject="new", done=1, total=1, finished=True)
    assert describe_progress(one) == "trust stores of new: 1 of 1 node read"


def _console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=False, no_color=True, width=300), out


def test_off_a_terminal_one_line_per_phase_and_one_per_wait_attempt() -> None:
    console, out = _console()
    with ReadProgressRenderer(console) as renderer:
        renderer.read_progress(ReadProgress(phase=ReadPhase.PHONES, subject="old", done=0, total=None))
        for done in (1000, 2000, 3000):
            renderer.read_progress(
                ReadProgress(phase=ReadPhase.PHONES, subject="old", done=done, total=3000, eta=8.0)
            )
        wait = ReadWait(endpoint="pub", attempt=1, attempts=6, error="refused", retry_at=time.time())
        renderer.read_waiting(wait)
        renderer.read_waiting(wait)  # a second parallel read of the same endpoint, same attempt
    lines = out.getvalue().splitlines()
    assert lines[0] == "phones of old: 1,000 of 3,000 listed, about 8 s to go (RisPort70 allowance)"
    assert len(lines) == 2 and lines[1].startswith("waiting for pub: refused; attempt 1 of 6")


def test_quiet_renders_nothing() -> None:
    console, out = _console()
    with ReadProgressRenderer(console, enabled=False) as renderer:
        renderer.read_progress(ReadProgress(phase=ReadPhase.DHCP, subject="dhcp", done=0, total=4))
        renderer.read_waiting(ReadWait(endpoint="r", attempt=1, attempts=2, error="x", retry_at=0.0))
    assert out.getvalue() == ""


def test_pacer_eta_follows_the_allowance() -> None:
    now = [0.0]
    pacer = RisPacer(per_minute=15, burst=3, clock=lambda: now[0], sleep=lambda s: None)
    assert pacer.eta(3) == 0.0  # the burst is there
    assert pacer.eta(15) == pytest.approx(12 / pacer.rate)  # 12 more tokens at 12 per minute
    assert 59 < pacer.eta(15) < 61


def test_doctor_reports_its_checks_as_read_progress_with_the_check_running_now() -> None:
    from reconciler.wiring.doctor.runner import Doctor

    seen: list[ReadProgress] = []

    class Progress(ReadHooks):
        def read_progress(self, progress: ReadProgress) -> None:
            seen.append(progress)

    doc = Doctor(hooks=Progress())
    doc.run(endpoint="old/pub", check="tcp.https", body=lambda: "before any progress: not reported")
    doc.progress(subject="old", done=0, total=2)
    doc.run(endpoint="old/pub", check="axl", body=lambda: "ok")
    doc.progress(subject="old", done=2, total=2)
    doc.run(endpoint="old/pub", check="late", body=lambda: "after the cluster finished: not reported")
    assert [describe_progress(p) for p in seen] == [
        "checks of old: 0 of 2 nodes done",
        "checks of old: 0 of 2 nodes done; now old/pub axl",
        "checks of old: 2 of 2 nodes done",
    ]
    assert seen[-1].finished and [f.check for f in doc.report.findings] == ["tcp.https", "axl", "late"]
    one = ReadProgress(phase=ReadPhase.CHECKS, subject="DHCP", done=0, total=1)
    assert describe_progress(one) == "checks of DHCP: 0 of 1 server done"


def test_the_renderer_is_silent_outside_its_block_and_each_block_is_a_read_of_its_own() -> None:
    console, out = _console()
    renderer = ReadProgressRenderer(console)
    trust = ReadProgress(phase=ReadPhase.TRUST, subject="new", done=0, total=2)
    renderer.read_progress(trust)  # before the block: nothing
    with renderer:
        renderer.read_progress(trust)
    renderer.read_progress(trust)  # after it (apply's gates read the same estate): nothing
    with renderer:
        renderer.read_progress(trust)  # a second read (apply's stale-plan check) says it again
    assert out.getvalue().splitlines() == ["trust stores of new: 0 of 2 nodes read"] * 2


def test_a_retry_that_would_end_past_the_timeout_is_not_started() -> None:
    """An endpoint that accepts and stays silent fails each attempt only at its wait limit: a retry that
    could take as long again after its pause would end past ``--timeout``, so the read ends now."""
    hooks = Recorder()
    policy = RetryPolicy(attempts=5, initial_backoff=0.0)
    waiter = ReadWaiter(hooks=hooks, policy=policy, sleep=lambda s: None, slow_after=60, timeout=1.0)
    calls: list[int] = []

    def silent() -> str:
        calls.append(1)
        time.sleep(0.3)  # then the transport's read timeout
        raise TemporaryError("no answer within the read timeout")

    with pytest.raises(TemporaryError):
        waiter.read("pub", silent)
    assert len(calls) == 1 and hooks.waits == []  # 0.3 s + the 0.5 s pause + 0.3 s again > 1 s


def test_a_log_shows_each_phase_when_it_starts_and_when_it_finishes() -> None:
    console, out = _console()
    renderer = ReadProgressRenderer(console)
    with renderer:
        renderer.read_progress(ReadProgress(phase=ReadPhase.TRUST, subject="old", done=0, total=3))
        renderer.read_progress(ReadProgress(phase=ReadPhase.TRUST, subject="old", done=2, total=3))
        done = ReadProgress(phase=ReadPhase.TRUST, subject="old", done=3, total=3, finished=True)
        renderer.read_progress(done)
        renderer.read_progress(done)  # said once
        renderer.read_progress(
            ReadProgress(phase=ReadPhase.DHCP, subject="dhcp", done=0, total=0, finished=True)
        )
    assert out.getvalue().splitlines() == [
        "trust stores of old: 0 of 3 nodes read",
        "trust stores of old: 3 of 3 nodes read",
        "DHCP: 0 of 0 scopes read",
    ]
