"""Batched steps: the executor hands every ready option 150 step of one (provider, endpoint, wave) to one
``apply_batch`` / ``verify_batch``, while journal, outcomes and resume stay per step (R12).

In-process fakes (``tests/unit/executor_fakes.py``); the batch provider below is all or nothing like the
real DHCP backends: a failed batch puts back every scope it changed before raising.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest

from reconciler.apply.executor import ApplyOptions, Executor
from reconciler.apply.hooks import ApplyStatus
from reconciler.apply.retry import FakeClock, RetryPolicy
from reconciler.errors import PermanentError
from reconciler.model import Change, OutcomeStatus, thaw
from reconciler.provider import ApplyResult, BatchProvider, VerifyResult
from reconciler.state.journal import Journal, RecordKind
from reconciler.state.store import StateStore
from tests.unit.executor_fakes import (
    SOURCE_TFTP,
    TARGET_TFTP,
    Crash,
    FakeOption150,
    FakeSystem,
    migration_plan,
    registry,
)


class BatchOption150(FakeOption150):
    """``FakeOption150`` with ``apply_batch``: records each batch; ``fail_after`` makes the next batch
    fail after changing that many scopes (then it restores them, like the real backends)."""

    batch_kinds: ClassVar[frozenset[str]] = frozenset({"option150"})

    def __init__(self, system: FakeSystem, endpoint: str) -> None:
        super().__init__(system, endpoint)
        self.batches: list[list[str]] = []
        self.verify_batches: list[list[str]] = []
        self.fail_after: int | None = None
        self.crash_after: int | None = None

    def apply_batch(self, changes: Sequence[Change]) -> tuple[ApplyResult, ...]:
        self.batches.append([c.address.name for c in changes])
        data = self.system.data["option150"]
        previous = {c.address.name: list(data[c.address.name]) for c in changes}
        results = []
        for i, change in enumerate(changes):
            if self.fail_after is not None and i == self.fail_after:
                self.fail_after = None
                for scope, value in previous.items():
                    data[scope] = value  # all or nothing
                raise PermanentError(f"{change.address}: rejected; the previous option 150 was restored")
            if self.crash_after is not None and i == self.crash_after:
                self.crash_after = None
                raise Crash("the process dies in the middle of a batch")
            results.append(self.apply(change))
        return tuple(results)

    def verify_batch(self, changes: Sequence[Change]) -> tuple[VerifyResult, ...]:
        self.verify_batches.append([c.address.name for c in changes])
        return tuple(self.verify(c) for c in changes)


def _executor(tmp_path: Path, system: FakeSystem) -> tuple[Executor, BatchOption150]:
    clock = FakeClock()
    reg: dict[str | tuple[str, str], Any] = registry(system, clock=clock)
    batch = BatchOption150(system, "lab-ios")
    reg["dhcp_ios"] = batch
    options = ApplyOptions(parallelism=4, retry=RetryPolicy(attempts=2, initial_backoff=1, max_backoff=2))
    store = StateStore(tmp_path / ".reconciler")
    return Executor(registry=reg, store=store, options=options, clock=clock, rng=lambda: 0.5), batch


def test_a_waves_option150_steps_go_to_the_provider_in_one_batch(tmp_path: Path) -> None:
    system = FakeSystem()
    ex, batch = _executor(tmp_path, system)
    assert isinstance(batch, BatchProvider)
    plan = migration_plan()
    report = ex.apply(plan)
    assert report.status is ApplyStatus.SUCCEEDED, report.message
    # wave1 has one scope (a single step runs alone), wave2 two: one batch, one verify of both
    assert batch.batches == [["b", "c"]] and batch.verify_batches == [["b", "c"]]
    assert all(system.data["option150"][s] == TARGET_TFTP for s in ("a", "b", "c"))
    outcomes = {str(o.address): o.status for o in report.outcomes}
    assert outcomes["option150.lab-ios.b"] is OutcomeStatus.APPLIED
    assert outcomes["option150.lab-ios.c"] is OutcomeStatus.APPLIED
    journal = Journal.read(Path(report.journal or ""))
    for scope in ("b", "c"):  # journaled per step: started before, finished verified after
        kinds = [r.kind for r in journal.steps if r.address == f"option150.lab-ios.{scope}"]
        assert kinds == [RecordKind.STARTED, RecordKind.FINISHED]


def test_a_failed_batch_fails_every_step_of_it_and_leaves_every_scope_as_it_was(tmp_path: Path) -> None:
    system = FakeSystem()
    ex, batch = _executor(tmp_path, system)
    batch.fail_after = 1  # wave2: scope b changed, then c rejected
    report = ex.apply(migration_plan())
    assert report.status is ApplyStatus.FAILED
    outcomes = {str(o.address): o for o in report.outcomes}
    for scope in ("b", "c"):
        assert outcomes[f"option150.lab-ios.{scope}"].status is OutcomeStatus.FAILED
        assert "restored" in outcomes[f"option150.lab-ios.{scope}"].detail
        assert system.data["option150"][scope] == SOURCE_TFTP, "every scope of the failed batch is back"
    assert outcomes["reset.wave2"].status is OutcomeStatus.SKIPPED
    assert outcomes["option150.lab-ios.a"].status is OutcomeStatus.APPLIED


def test_a_kill_in_the_middle_of_a_batch_resumes_per_step_and_converges(tmp_path: Path) -> None:
    system = FakeSystem()
    ex, batch = _executor(tmp_path, system)
    plan = migration_plan()
    batch.crash_after = 1  # scope b changed, the process dies before c
    with pytest.raises(Crash):
        ex.apply(plan)
    journal = next((tmp_path / ".reconciler" / "journal").glob("*.jsonl"))
    in_doubt = [r.address for r in Journal.read(journal).steps if r.kind is RecordKind.STARTED]
    assert {"option150.lab-ios.b", "option150.lab-ios.c"} <= set(in_doubt)
    resumed = ex.apply(plan, resume=journal)
    assert resumed.status is ApplyStatus.SUCCEEDED, resumed.message
    outcomes = {str(o.address): o for o in resumed.outcomes}
    assert outcomes["option150.lab-ios.b"].detail.startswith("verified on resume")  # b had been changed
    assert outcomes["option150.lab-ios.c"].status is OutcomeStatus.APPLIED
    assert batch.batches == [["b", "c"]], "only c runs again (alone: a batch of one is a plain apply)"
    assert all(thaw(system.data["option150"][s]) == TARGET_TFTP for s in ("a", "b", "c"))
    assert all(p["node"] == "new-sub1" for p in system.data["phones"].values())


def test_a_batch_is_one_state_write_that_moves_the_serial_by_one_per_step(tmp_path: Path) -> None:
    system = FakeSystem()
    ex, _ = _executor(tmp_path, system)
    store = StateStore(tmp_path / ".reconciler")
    plan = migration_plan()
    writes: list[int] = []
    original = StateStore.write

    def counting(self: StateStore, snapshot: Any, *, steps: int = 1) -> Any:
        writes.append(steps)
        return original(self, snapshot, steps=steps)

    StateStore.write = counting  # type: ignore[method-assign]
    try:
        report = ex.apply(plan)
    finally:
        StateStore.write = original  # type: ignore[method-assign]
    assert report.status is ApplyStatus.SUCCEEDED, report.message
    assert 2 in writes, "wave2's two option 150 steps: one write recording both"
    verified = sum(1 for o in report.outcomes if o.status is not OutcomeStatus.SKIPPED)
    # as many serials as verified steps, whatever the number of writes (apply --resume counts them, R13)
    assert store.read().serial == sum(writes) == verified
    essences = store.read().to_json()
    assert "option150.lab-ios.b" in str(essences) and "option150.lab-ios.c" in str(essences)


def test_a_crash_between_a_batchs_state_write_and_its_journal_lines_resumes(tmp_path: Path) -> None:
    system = FakeSystem()
    ex, _ = _executor(tmp_path, system)
    plan = migration_plan()
    original = StateStore.write

    def dies_after_a_batch_write(self: StateStore, snapshot: Any, *, steps: int = 1) -> Any:
        written = original(self, snapshot, steps=steps)
        if steps > 1:
            raise Crash("the process dies after the batch's state write, before its journal lines")
        return written

    StateStore.write = dies_after_a_batch_write  # type: ignore[method-assign]
    try:
        with pytest.raises(Crash):
            ex.apply(plan)
    finally:
        StateStore.write = original  # type: ignore[method-assign]
    journal = next((tmp_path / ".reconciler" / "journal").glob("*.jsonl"))
    resumed = ex.apply(plan, resume=journal)
    assert resumed.status is ApplyStatus.SUCCEEDED, resumed.message
    assert all(thaw(system.data["option150"][s]) == TARGET_TFTP for s in ("a", "b", "c"))
