"""The executor against in-process fakes: order, retries, stop rules, rolling TVS (R8), waves (R12, R13)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from reconciler.apply.executor import ApplyOptions, EndpointLimits, Executor
from reconciler.apply.hooks import ApplyHooks, ApplyStatus, GateProgress
from reconciler.apply.retry import FakeClock, RetryPolicy
from reconciler.model import Action, Address, Change, Outcome, OutcomeStatus
from reconciler.plan.document import Plan, PlanStep
from reconciler.provider import ApplyResult
from reconciler.state.journal import Journal, RecordKind
from reconciler.state.store import StateStore
from tests.unit.executor_fakes import (
    CERT,
    TARGET_TFTP,
    FakeSystem,
    FakeTrust,
    migration_plan,
    raise_permanent,
    raise_temporary,
    registry,
)


class Recorder(ApplyHooks):
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def step_started(self, *, change: Change, index: int, total: int, attempt: int) -> None:
        self.events.append(("started", str(change.address)))

    def step_retry(self, *, change: Change, attempt: int, error: str, delay: float) -> None:
        self.events.append(("retry", (str(change.address), attempt, delay)))

    def step_finished(self, *, change: Change, outcome: Outcome) -> None:
        self.events.append(("finished", (str(change.address), outcome.status)))

    def wave_gate_progress(self, *, progress: GateProgress) -> None:
        self.events.append(("gate", progress))

    def of(self, kind: str) -> list[Any]:
        return [v for k, v in self.events if k == kind]


def _executor(tmp_path: Path, system: FakeSystem, **kw: Any) -> tuple[Executor, Recorder, FakeClock]:
    clock = kw.pop("clock", FakeClock())
    hooks = Recorder()
    options = kw.pop(
        "options",
        ApplyOptions(parallelism=4, retry=RetryPolicy(attempts=3, initial_backoff=1, max_backoff=8)),
    )
    reg = registry(system, clock=clock, **kw)
    ex = Executor(
        registry=reg,
        store=StateStore(tmp_path / ".reconciler"),
        hooks=hooks,
        options=options,
        clock=clock,
        rng=lambda: 0.5,
    )
    return ex, hooks, clock


def test_full_migration_moves_every_phone_in_rule_order(tmp_path: Path) -> None:
    """R5 → R7/R8 → R12 → R13: every phone ends Registered on a target node, steps start in plan order."""
    system = FakeSystem()
    ex, hooks, _ = _executor(tmp_path, system)
    plan = migration_plan()
    report = ex.apply(plan)
    assert report.status is ApplyStatus.SUCCEEDED, report.message
    expected = [
        OutcomeStatus.UNCHANGED if s.address.kind == "gate" else OutcomeStatus.APPLIED for s in plan.steps
    ]
    assert [o.status for o in report.outcomes] == expected  # a gate checks, it changes nothing
    assert all(p["node"] == "new-sub1" for p in system.data["phones"].values())
    started = hooks.of("started")
    order = [str(s.address) for s in plan.steps]
    for step in plan.steps:  # every dependency finished before the step started
        for dep in step.depends_on:
            assert started.index(str(dep)) < started.index(str(step.address))
    assert started[-1] == "gate.wave2" and set(started) == set(order)
    assert report.stranded == ()
    journal = Journal.read(Path(report.journal or ""))
    assert journal.completed_status == "succeeded"
    assert [r.address for r in journal.steps if r.kind is RecordKind.STARTED] == started


def test_rolling_tvs_restarts_one_at_a_time_and_wait_for_started(tmp_path: Path) -> None:
    """R8: even without depends_on between them, TVS restarts of one cluster never overlap."""
    system = FakeSystem()
    plan = migration_plan(waves=())
    # drop the chain between the TVS steps: the executor itself must keep them one at a time
    trust = tuple(s.address for s in plan.steps if s.address.kind == "trust")
    steps = tuple(
        PlanStep(
            change=s.change,
            provider=s.provider,
            endpoint=s.endpoint,
            depends_on=trust if s.address.kind == "tvs" else (),
        )
        for s in plan.steps
    )
    plan = Plan(**{**_plan_fields(plan), "steps": steps})
    ex, _, _ = _executor(
        tmp_path, system, options=ApplyOptions(parallelism=8, limits=EndpointLimits(default=8))
    )
    report = ex.apply(plan)
    assert report.ok, report.message
    assert system.tvs_max_active == 1
    assert [node for node, _ in system.tvs_restart_log] == ["pub", "sub1", "sub2"]
    assert all(others == () for _, others in system.tvs_restart_log)  # each waited for the previous Started
    assert all(t["status"] == "Started" for t in system.data["tvs"].values())


def _plan_fields(plan: Plan) -> dict[str, Any]:
    return {
        "plan_id": plan.plan_id,
        "created_at": plan.created_at,
        "desired_path": plan.desired_path,
        "desired_sha256": plan.desired_sha256,
        "state_lineage": plan.state_lineage,
        "state_serial": plan.state_serial,
        "steps": plan.steps,
    }


class _Blocking(FakeTrust):
    """Holds each apply until ``expect`` applies overlap (or 5 s pass), recording the peak overlap."""

    def __init__(self, *a: Any, expect: int, total: int, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.expect = expect
        self.total = total
        self.entered = 0
        self.active = 0
        self.peak = 0
        self.cond = threading.Condition()

    def apply(self, change: Change) -> ApplyResult:
        with self.cond:
            self.active += 1
            self.entered += 1
            self.peak = max(self.peak, self.active)
            self.cond.notify_all()
            self.cond.wait_for(lambda: self.active >= self.expect or self.entered == self.total, timeout=5)
        try:
            return super().apply(change)
        finally:
            with self.cond:
                self.active -= 1


def _many_certs_plan(n: int) -> Plan:
    steps = tuple(
        PlanStep(
            change=Change(
                address=Address.of("trust", "old", "CallManager-trust", f"c{i}"),
                action=Action.CREATE,
                after={"sha256": "ab" * 32},
            ),
            provider="cucm_certs",
            endpoint="old",
        )
        for i in range(n)
    )
    return Plan(
        plan_id="p",
        created_at="t",
        desired_path="x",
        desired_sha256="0",
        state_lineage=None,
        state_serial=0,
        steps=steps,
    )


@pytest.mark.parametrize(("parallelism", "endpoint_limit", "bound"), [(2, 8, 2), (8, 3, 3), (1, 8, 1)])
def test_parallelism_and_endpoint_limit_bound_concurrency(
    tmp_path: Path, parallelism: int, endpoint_limit: int, bound: int
) -> None:
    system = FakeSystem()
    system.data["trust"]["CallManager-trust"] = []
    blocking = _Blocking(system, expect=bound, total=9)
    clock = FakeClock()
    ex = Executor(
        registry={"cucm_certs": blocking},
        store=StateStore(tmp_path / ".reconciler"),
        options=ApplyOptions(
            parallelism=parallelism,
            limits=EndpointLimits(default=64, by_provider={"cucm_certs": endpoint_limit}),
        ),
        clock=clock,
    )
    report = ex.apply(_many_certs_plan(9))
    assert report.ok
    assert blocking.peak == bound
    assert len(system.data["trust"]["CallManager-trust"]) == 9


def test_temporary_errors_are_retried_with_backoff_then_succeed(tmp_path: Path) -> None:
    system = FakeSystem()
    addr = f"trust.old.CallManager-trust.{CERT}"
    system.fail[f"apply:{addr}"] = [raise_temporary(), raise_temporary(delay=7.0)]
    ex, hooks, clock = _executor(tmp_path, system)
    report = ex.apply(migration_plan(waves=()))
    assert report.ok
    outcome = report.outcomes[0]
    assert outcome.attempts == 3 and outcome.status is OutcomeStatus.APPLIED
    retries = [r for r in hooks.of("retry") if r[0] == addr]
    assert retries == [
        (addr, 2, 0.75),
        (addr, 3, 7.0),
    ]  # backoff 1 s with jitter 0.5 → 0.75; then the delay hint
    assert 0.75 in clock.sleeps and 7.0 in clock.sleeps


def test_retries_used_up_stop_the_apply(tmp_path: Path) -> None:
    system = FakeSystem()
    addr = f"trust.old.Phone-SAST-trust.{CERT}"
    system.fail[f"apply:{addr}"] = [raise_temporary() for _ in range(10)]
    ex, _, _ = _executor(tmp_path, system)
    report = ex.apply(migration_plan())
    assert report.status is ApplyStatus.FAILED
    failed = next(o for o in report.outcomes if str(o.address) == addr)
    assert failed.status is OutcomeStatus.FAILED and failed.attempts == 4 and failed.error == "TemporaryError"
    assert all(
        o.status is OutcomeStatus.SKIPPED for o in report.outcomes if o.address.kind in ("tvs", "option150")
    )
    assert system.data["option150"]["a"] != TARGET_TFTP


def test_permanent_error_stops_without_retry(tmp_path: Path) -> None:
    system = FakeSystem()
    system.fail["apply:tvs.old.sub1"] = [raise_permanent("service failed to start")]
    ex, hooks, _ = _executor(tmp_path, system)
    report = ex.apply(migration_plan())
    assert report.status is ApplyStatus.FAILED
    failed = next(o for o in report.outcomes if str(o.address) == "tvs.old.sub1")
    assert failed.attempts == 1 and failed.error == "PermanentError"
    assert "service failed to start" in failed.detail and "fix the thing" in failed.detail
    assert "tvs.old.sub2" not in hooks.of("started")
    assert ("apply", "option150.lab-ios.a") not in system.calls
    assert Journal.read(Path(report.journal or "")).completed_status == "failed"


def test_failed_verify_stops_the_apply(tmp_path: Path) -> None:
    """An apply that returns but leaves the system otherwise is a VerificationError (docs/providers.md)."""
    system = FakeSystem()

    class Liar(FakeTrust):
        def apply(self, change: Change) -> ApplyResult:
            return ApplyResult(change=change, changed=True)  # claims success, changes nothing

    clock = FakeClock()
    reg = registry(system, clock=clock)
    reg["cucm_certs"] = Liar(system)
    ex = Executor(registry=reg, store=StateStore(tmp_path / ".reconciler"), clock=clock)
    report = ex.apply(migration_plan())
    assert report.status is ApplyStatus.FAILED
    first = report.outcomes[0]
    assert first.status is OutcomeStatus.FAILED and first.error == "VerificationError"
    assert "verify failed" in first.detail
    assert not any(a == "tvs.old.pub" for _, a in system.calls)


def test_gate_passes_and_waits_for_phones(tmp_path: Path) -> None:
    """R13: the gate polls until the share is on a target node (phones come up after some polls)."""
    system = FakeSystem()
    ex, hooks, clock = _executor(tmp_path, system)
    late = "SEP000000000004"
    original = system.reset_wave

    def slow_reset(wave: str) -> None:
        original(wave)
        if wave == "wave1":
            system.data["phones"][late] = {"status": "UnRegistered", "node": None, "reason": "booting"}

    system.reset_wave = slow_reset  # type: ignore[method-assign]
    original_progress = hooks.wave_gate_progress

    def progress(*, progress: GateProgress) -> None:
        original_progress(progress=progress)
        if progress.wave == "wave1" and progress.polls == 3:
            system.data["phones"][late] = {"status": "Registered", "node": "new-sub2", "reason": ""}

    hooks.wave_gate_progress = progress  # type: ignore[method-assign]
    report = ex.apply(migration_plan())
    assert report.ok, report.message
    wave1 = [p for p in hooks.of("gate") if p.wave == "wave1"]
    assert [p.registered for p in wave1] == [3, 3, 3, 4]
    assert wave1[-1].needed == 4 and wave1[-1].total == 4
    assert clock.sleeps.count(10.0) >= 2  # polled at the poll interval, never in a busy loop


def test_gate_failure_stops_later_waves_and_reports_stranded_phones(tmp_path: Path) -> None:
    """R13: a missed gate stops wave 2; the stranded phones come with RIS and forecast reasons."""
    system = FakeSystem()
    system.bad_phones = {"SEP000000000002", "SEP000000000003"}
    forecast = {"SEP000000000002": "ITL lacks the source TVS certificate (R1)"}
    ex, _, clock = _executor(tmp_path, system, share=0.75, deadline=60.0, forecast=forecast)
    start = clock.monotonic()
    report = ex.apply(migration_plan())
    assert report.status is ApplyStatus.FAILED
    gate = next(o for o in report.outcomes if str(o.address) == "gate.wave1")
    assert gate.status is OutcomeStatus.FAILED and gate.error == "VerificationError"
    assert "2/4" in gate.detail and "R13" in gate.detail
    assert clock.monotonic() - start >= 60.0  # it waited out the deadline
    assert {p.device for p in report.stranded} == system.bad_phones
    by_device = {p.device: p for p in report.stranded}
    assert by_device["SEP000000000002"].forecast == forecast["SEP000000000002"]
    assert by_device["SEP000000000003"].reason == "CTL signer not trusted (R1)"
    assert by_device["SEP000000000003"].status == "UnRegistered"
    assert ("apply", "option150.lab-ios.b") not in system.calls
    assert system.data["option150"]["b"] != TARGET_TFTP
    assert all(
        o.status is OutcomeStatus.SKIPPED
        for o in report.outcomes
        if o.address.parts[-1] in ("wave2", "b", "c")
    )


def test_a_passing_gate_below_100_percent_still_reports_its_stragglers(tmp_path: Path) -> None:
    system = FakeSystem()
    system.bad_phones = {"SEP000000000001"}
    ex, _, _ = _executor(tmp_path, system, share=0.75)
    report = ex.apply(migration_plan())
    assert report.ok
    assert [p.device for p in report.stranded] == ["SEP000000000001"]


def test_cancel_finishes_the_running_step_and_leaves_the_journal_open(tmp_path: Path) -> None:
    """Ctrl-C: no new step starts, the running one is journaled, the apply can be resumed."""
    system = FakeSystem()
    cancel = threading.Event()
    clock = FakeClock()
    reg = registry(system, clock=clock)

    class CancelAfterFirst(ApplyHooks):
        def step_started(self, *, change: Change, index: int, total: int, attempt: int) -> None:
            if index == 0:
                cancel.set()

    ex = Executor(
        registry=reg,
        store=StateStore(tmp_path / ".reconciler"),
        hooks=CancelAfterFirst(),
        options=ApplyOptions(parallelism=1),
        clock=clock,
        cancel=cancel,
    )
    report = ex.apply(migration_plan())
    assert report.status is ApplyStatus.INTERRUPTED
    assert report.outcomes[0].status is OutcomeStatus.APPLIED
    assert all(o.status is OutcomeStatus.SKIPPED for o in report.outcomes[1:])
    journal = Journal.read(Path(report.journal or ""))
    assert journal.completed_status is None
    assert [r.kind for r in journal.steps] == [RecordKind.STARTED, RecordKind.FINISHED]
