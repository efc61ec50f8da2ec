"""``apply --resume`` does not wait out a settle time for a step the killed apply never ran (R8).

Found on the lab (tests/e2e/test_lab_resume.py, kill point "tvs"): apply was SIGKILLed right after the
journal's ``started`` record of ``tvs.old.cucm-old-sub1``, before the restart was requested. On resume the
step was in doubt and its re-verify settled for the full 600 s (TVS stays "started before the trust
change" until someone restarts it) before running the restart. Re-verify is now a single verify; a
step that does not comply is simply run again.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.apply.executor import ApplyOptions, Executor
from reconciler.apply.hooks import ApplyHooks, ApplyStatus
from reconciler.apply.resume import find_resumable
from reconciler.apply.retry import FakeClock
from reconciler.model import Change
from reconciler.state.store import StateStore
from tests.unit.executor_fakes import Crash, FakeSystem, migration_plan, registry

PLAN = migration_plan()
SETTLE = 600.0


class _KillAtStart(ApplyHooks):
    def __init__(self, address: str) -> None:
        self.address = address

    def step_started(self, *, change: Change, index: int, total: int, attempt: int) -> None:
        if str(change.address) == self.address:
            raise Crash("killed after the started record")


def _executor(system: FakeSystem, directory: Path, clock: FakeClock, hooks: ApplyHooks | None) -> Executor:
    return Executor(
        registry=registry(system, clock=clock),
        store=StateStore(directory),
        hooks=hooks,
        options=ApplyOptions(parallelism=2, settle={"tvs": SETTLE, "replication": SETTLE}),
        clock=clock,
    )


@pytest.mark.parametrize("address", [str(s.address) for s in PLAN.steps if s.address.kind == "tvs"])
def test_r8_resume_runs_a_tvs_restart_that_never_started_without_settling(
    tmp_path: Path, address: str
) -> None:
    system = FakeSystem()
    directory = tmp_path / ".reconciler"
    with pytest.raises(Crash):
        _executor(system, directory, FakeClock(), _KillAtStart(address)).apply(PLAN)
    journal = find_resumable(directory / "journal", plan=PLAN)
    assert journal is not None
    clock = FakeClock()
    before = len(system.calls)
    report = _executor(system, directory, clock, None).apply(PLAN, resume=journal)
    assert report.status is ApplyStatus.SUCCEEDED, report.message
    assert ("apply", address) in system.calls[before:]  # not verified into compliance: restarted
    assert sum(clock.sleeps) < SETTLE, clock.sleeps
    assert all(fresh for fresh in system.end_state()["tvs_fresh"].values())
