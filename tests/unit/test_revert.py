"""A wave whose gate fails (R13) under each ``on_failure`` policy, against the executor's in-process fakes:
``revert`` restores option 150, resets back the phones not on the target and gates on them being on the
source, reporting every phone's fate; ``stop`` leaves the wave; ``continue`` goes on with the next wave.
A crash at any point of a revert is resumed to the same end (the journal decides that the wave reverts).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.apply.executor import ApplyOptions, Executor
from reconciler.apply.hooks import ApplyHooks, ApplyStatus, PhoneFate
from reconciler.apply.resume import find_resumable
from reconciler.apply.retry import FakeClock
from reconciler.model import Change, Outcome, OutcomeStatus
from reconciler.plan.document import Plan
from reconciler.state.journal import Journal
from reconciler.state.store import StateStore
from tests.unit.executor_fakes import (
    PHONES,
    SOURCE_TFTP,
    TARGET_TFTP,
    Crash,
    CrashingProvider,
    FakeSystem,
    migration_plan,
    registry,
)

BAD = {"SEP000000000002", "SEP000000000003"}  # wave1 phones that cannot register on the target


class Starts(ApplyHooks):
    def __init__(self, crash_at: str | None = None, point: str = "started") -> None:
        self.started: list[str] = []
        self.crash_at = crash_at
        self.point = point

    def step_started(self, *, change: Change, index: int, total: int, attempt: int) -> None:
        self.started.append(str(change.address))
        if self.point == "started" and str(change.address) == self.crash_at:
            raise Crash("killed after the started record")

    def step_finished(self, *, change: Change, outcome: Outcome) -> None:
        if self.point == "finished" and str(change.address) == self.crash_at:
            raise Crash("killed after the finished record")


def _run(
    system: FakeSystem,
    directory: Path,
    plan: Plan,
    *,
    hooks: ApplyHooks | None = None,
    resume: Path | None = None,
    wrap: dict[str, Any] | None = None,
) -> Any:
    clock = FakeClock()
    reg = registry(system, clock=clock, deadline=60.0)
    for kind, make in (wrap or {}).items():
        reg[kind] = make(reg[kind])
    ex = Executor(
        registry=reg,
        store=StateStore(directory),
        hooks=hooks,
        options=ApplyOptions(parallelism=2),
        clock=clock,
    )
    return ex.apply(plan, resume=resume)


def _assert_reverted(system: FakeSystem, report: Any) -> None:
    assert report.status is ApplyStatus.FAILED
    assert "gate.wave1 failed" in report.message
    assert system.data["option150"]["a"] == SOURCE_TFTP  # restored to the value the plan read (R13)
    assert system.data["option150"]["b"] == SOURCE_TFTP  # wave2 never started
    fates = {p.device: p.fate for p in report.phones}
    assert set(fates) == set(PHONES["a"])
    assert {d for d, f in fates.items() if f is PhoneFate.REVERTED} == BAD
    assert {d for d, f in fates.items() if f is PhoneFate.MOVED} == set(PHONES["a"]) - BAD
    assert report.stranded == ()  # every phone is on one cluster or the other
    for phone in BAD:
        assert system.data["phones"][phone]["node"] == "old-sub1"
    for phone in (*PHONES["b"], *PHONES["c"]):
        assert system.data["phones"][phone]["node"] == "old-sub1"


def test_failed_gate_reverts_its_wave_and_reports_each_phone(tmp_path: Path) -> None:
    system = FakeSystem()
    system.bad_phones = set(BAD)
    hooks = Starts()
    report = _run(system, tmp_path / ".reconciler", migration_plan(on_failure="revert"), hooks=hooks)
    _assert_reverted(system, report)
    revert = ["restore.lab-ios.a", "revert-reset.wave1", "revert-gate.wave1"]
    assert hooks.started[-3:] == revert
    assert not [a for a in hooks.started if a.endswith(("wave2", ".b", ".c"))]
    by_address = {str(o.address): o for o in report.outcomes}
    assert by_address["revert-gate.wave1"].status is OutcomeStatus.UNCHANGED
    assert "2 back on the source" in by_address["revert-gate.wave1"].detail
    assert by_address["gate.wave2"].status is OutcomeStatus.SKIPPED
    assert "gate.wave1 failed" in by_address["gate.wave2"].detail


def test_revert_steps_are_not_needed_when_the_gate_passes(tmp_path: Path) -> None:
    system = FakeSystem()
    hooks = Starts()
    report = _run(system, tmp_path / ".reconciler", migration_plan(on_failure="revert"), hooks=hooks)
    assert report.status is ApplyStatus.SUCCEEDED, report.message
    assert not [a for a in hooks.started if a.startswith(("restore.", "revert-"))]
    skipped = [o for o in report.outcomes if o.address.kind in ("restore", "revert-reset", "revert-gate")]
    assert skipped and all(o.detail.startswith("not needed: gate.wave") for o in skipped)
    assert system.data["option150"]["a"] == TARGET_TFTP and system.data["option150"]["b"] == TARGET_TFTP


def test_stop_leaves_the_wave_as_it_is(tmp_path: Path) -> None:
    system = FakeSystem()
    system.bad_phones = set(BAD)
    report = _run(system, tmp_path / ".reconciler", migration_plan(on_failure="stop"))
    assert report.status is ApplyStatus.FAILED and report.phones == ()
    assert system.data["option150"]["a"] == TARGET_TFTP and system.data["option150"]["b"] == SOURCE_TFTP
    assert {p.device for p in report.stranded} == BAD


def test_continue_goes_on_with_the_next_wave_and_still_fails(tmp_path: Path) -> None:
    system = FakeSystem()
    system.bad_phones = set(BAD)
    report = _run(system, tmp_path / ".reconciler", migration_plan(on_failure="continue"))
    assert report.status is ApplyStatus.FAILED
    assert "gate.wave1" in report.message and "continue" in report.message
    assert system.data["option150"]["b"] == TARGET_TFTP  # wave2 ran
    by_address = {str(o.address): o.status for o in report.outcomes}
    assert by_address["gate.wave1"] is OutcomeStatus.FAILED
    assert by_address["gate.wave2"] is OutcomeStatus.UNCHANGED
    assert {p.device for p in report.stranded} == BAD


@pytest.mark.parametrize(
    ("address", "point"),
    [
        ("gate.wave1", "finished"),
        ("restore.lab-ios.a", "started"),
        ("restore.lab-ios.a", "finished"),
        ("revert-reset.wave1", "started"),
        ("revert-reset.wave1", "finished"),
        ("revert-gate.wave1", "started"),
    ],
)
def test_a_crash_during_the_revert_resumes_to_the_same_end(tmp_path: Path, address: str, point: str) -> None:
    system = FakeSystem()
    system.bad_phones = set(BAD)
    plan = migration_plan(on_failure="revert")
    directory = tmp_path / ".reconciler"
    with pytest.raises(Crash):
        _run(system, directory, plan, hooks=Starts(crash_at=address, point=point))
    journal = find_resumable(directory / "journal", plan=plan)
    assert journal is not None
    hooks = Starts()
    report = _run(system, directory, plan, hooks=hooks, resume=journal)
    _assert_reverted(system, report)
    assert "gate.wave1" not in hooks.started  # the journaled failure decided the revert; no new gate
    assert Journal.read(journal).completed_status == "failed"
    assert find_resumable(directory / "journal", plan=plan) is None


def test_a_crash_inside_the_restore_resumes(tmp_path: Path) -> None:
    system = FakeSystem()
    system.bad_phones = set(BAD)
    plan = migration_plan(on_failure="revert")
    directory = tmp_path / ".reconciler"
    crash = {"dhcp_ios": lambda inner: CrashingProvider(inner, address="restore.lab-ios.a", verb="apply")}
    with pytest.raises(Crash):
        _run(system, directory, plan, wrap=crash)
    journal = find_resumable(directory / "journal", plan=plan)
    assert journal is not None
    _assert_reverted(system, _run(system, directory, plan, resume=journal))
