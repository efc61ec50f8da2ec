"""``apply --resume`` converges: interrupt the executor at every step boundary, resume, compare end states.

Kill points per step: after the journal's ``started`` (before the provider runs), inside ``apply`` after
the system changed, inside ``verify``, and after the step was journaled ``finished``; one test SIGKILLs a
real subprocess. The resumed run must leave the fake system — and the state file — exactly as an
uninterrupted run does (docs/state-and-drift.md).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from reconciler.apply.executor import ApplyOptions, Executor
from reconciler.apply.hooks import ApplyHooks, ApplyStatus
from reconciler.apply.resume import find_resumable
from reconciler.apply.retry import FakeClock
from reconciler.errors import JournalError, StalePlanError
from reconciler.model import Change, Outcome, OutcomeStatus
from reconciler.state.journal import Journal
from reconciler.state.store import StateStore
from tests.unit.executor_fakes import Crash, CrashingProvider, FakeSystem, migration_plan, registry

PLAN = migration_plan()
ADDRESSES = [str(s.address) for s in PLAN.steps]
ROOT = Path(__file__).resolve().parents[2]


class CrashHook(ApplyHooks):
    def __init__(self, *, address: str, point: str) -> None:
        self.address = address
        self.point = point

    def step_started(self, *, change: Change, index: int, total: int, attempt: int) -> None:
        if self.point == "started" and str(change.address) == self.address:
            raise Crash("killed after the started record")

    def step_finished(self, *, change: Change, outcome: Outcome) -> None:
        if self.point == "finished" and str(change.address) == self.address:
            raise Crash("killed after the finished record")


def _state_view(directory: Path) -> dict[str, Any]:
    snap = StateStore(directory).read()
    essence = {k: (v if not k.startswith("tvs.") else sorted(v)) for k, v in snap.essence.items()}  # type: ignore[arg-type]
    return {
        "serial": snap.serial,
        "essence": essence,
        "owned": sorted((c.address, c.sha256) for c in snap.owned),
    }


def _run(
    system: FakeSystem,
    directory: Path,
    *,
    hooks: ApplyHooks | None = None,
    wrap: dict[str, Any] | None = None,
    resume: Path | None = None,
) -> Any:
    clock = FakeClock()
    reg = registry(system, clock=clock)
    for kind, make in (wrap or {}).items():
        reg[kind] = make(reg[kind])
    ex = Executor(
        registry=reg,
        store=StateStore(directory),
        hooks=hooks,
        options=ApplyOptions(parallelism=2),
        clock=clock,
    )
    return ex.apply(PLAN, resume=resume)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    directory = tmp_path_factory.mktemp("baseline") / ".reconciler"
    system = FakeSystem()
    report = _run(system, directory)
    assert report.ok
    return system.end_state(), _state_view(directory)


def _resume_and_compare(
    system: FakeSystem, directory: Path, baseline: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    journal = find_resumable(directory / "journal", plan=PLAN)
    assert journal is not None, "the interrupted apply left no open journal"
    report = _run(system, directory, resume=journal)
    assert report.status is ApplyStatus.SUCCEEDED, report.message
    assert report.resumed
    assert system.end_state() == baseline[0]
    assert _state_view(directory) == baseline[1]
    assert Journal.read(journal).completed_status == "succeeded"
    assert find_resumable(directory / "journal", plan=PLAN) is None


@pytest.mark.parametrize("point", ["started", "finished"])
@pytest.mark.parametrize("address", ADDRESSES)
def test_resume_after_a_crash_at_a_journal_boundary_converges(
    tmp_path: Path, baseline: Any, address: str, point: str
) -> None:
    system = FakeSystem()
    directory = tmp_path / ".reconciler"
    with pytest.raises(Crash):
        _run(system, directory, hooks=CrashHook(address=address, point=point))
    _resume_and_compare(system, directory, baseline)


@pytest.mark.parametrize("verb", ["apply", "verify"])
@pytest.mark.parametrize("address", ADDRESSES)
def test_resume_after_a_crash_inside_a_provider_converges(
    tmp_path: Path, baseline: Any, address: str, verb: str
) -> None:
    system = FakeSystem()
    directory = tmp_path / ".reconciler"
    kind = next(s.provider for s in PLAN.steps if str(s.address) == address)
    wrap = {kind: lambda inner: CrashingProvider(inner, address=address, verb=verb)}
    with pytest.raises(Crash):
        _run(system, directory, wrap=wrap)
    _resume_and_compare(system, directory, baseline)


@pytest.mark.parametrize("address", ["tvs.old.sub1", "option150.lab-ios.b", "reset.wave1"])
def test_resume_after_sigkill_of_a_real_process_converges(
    tmp_path: Path, baseline: Any, address: str
) -> None:
    directory = tmp_path / ".reconciler"
    system_file = tmp_path / "system.json"
    FakeSystem(system_file).save()
    code = (
        "import sys; from tests.unit.executor_fakes import killed_run; "
        "killed_run(sys.argv[1], sys.argv[2], sys.argv[3], 'apply')"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(directory), str(system_file), address],
        cwd=ROOT,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == -9, proc.stderr.decode()
    _resume_and_compare(FakeSystem(system_file), directory, baseline)


def test_resume_skips_steps_done_and_reverifies_the_one_in_doubt(tmp_path: Path) -> None:
    system = FakeSystem()
    directory = tmp_path / ".reconciler"
    target = "option150.lab-ios.a"
    with pytest.raises(Crash):
        _run(
            system,
            directory,
            wrap={"dhcp_ios": lambda inner: CrashingProvider(inner, address=target, verb="apply")},
        )
    before = len(system.calls)
    journal = find_resumable(directory / "journal", plan=PLAN)
    assert journal is not None
    report = _run(system, directory, resume=journal)
    assert report.ok
    resumed_calls = system.calls[before:]
    assert ("verify", target) in resumed_calls and (
        "apply",
        target,
    ) not in resumed_calls  # in doubt: verified only
    assert not any(a.startswith("trust.") for _, a in resumed_calls)  # done: skipped
    outcome = next(o for o in report.outcomes if str(o.address) == target)
    assert outcome.detail.startswith("verified on resume")
    assert (
        next(o for o in report.outcomes if str(o.address) == ADDRESSES[0]).status is OutcomeStatus.UNCHANGED
    )


def test_resume_refuses_when_another_apply_moved_the_state(tmp_path: Path) -> None:
    """Only the interrupted apply's own writes may have moved the state (here: none in doubt)."""
    system = FakeSystem()
    directory = tmp_path / ".reconciler"
    with pytest.raises(Crash):
        _run(system, directory, hooks=CrashHook(address="tvs.old.pub", point="finished"))
    store = StateStore(directory)
    with store.lock(timeout=1, command="someone else"):
        store.write(store.read().with_essence("param.old.x", {"value": "1"}))
    journal = find_resumable(directory / "journal", plan=PLAN)
    assert journal is not None
    with pytest.raises(StalePlanError, match="cannot resume: the state moved"):
        _run(system, directory, resume=journal)


def test_resume_with_another_plan_is_refused(tmp_path: Path) -> None:
    system = FakeSystem()
    directory = tmp_path / ".reconciler"
    with pytest.raises(Crash):
        _run(system, directory, hooks=CrashHook(address="tvs.old.pub", point="started"))
    other = migration_plan(plan_id="another")
    assert find_resumable(directory / "journal", plan=other) is None
    journal = find_resumable(directory / "journal")
    assert journal is not None
    ex = Executor(
        registry=registry(system, clock=FakeClock()), store=StateStore(directory), clock=FakeClock()
    )
    with pytest.raises(JournalError, match="belongs to plan plan-test"):
        ex.apply(other, resume=journal)
