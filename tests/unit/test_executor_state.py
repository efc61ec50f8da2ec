"""State during apply: lock held throughout, ownership (``mode: exact``), essence, stale plans (R14)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from unittest.mock import ANY

import pytest

from reconciler.apply.bookkeeping import essence_for
from reconciler.apply.executor import Executor
from reconciler.apply.hooks import ApplyHooks
from reconciler.apply.retry import FakeClock
from reconciler.diagnostics import Diagnostic, Severity
from reconciler.errors import LockError, PlanError, StalePlanError
from reconciler.model import Action, Address, Change
from reconciler.plan.document import Plan, PlanStep
from reconciler.state.store import StateStore
from tests.unit.executor_fakes import CERT, FakeSystem, migration_plan, registry


def _executor(tmp_path: Path, system: FakeSystem, hooks: ApplyHooks | None = None) -> Executor:
    clock = FakeClock()
    return Executor(
        registry=registry(system, clock=clock), store=StateStore(tmp_path / "st"), hooks=hooks, clock=clock
    )


def test_apply_records_ownership_and_essence(tmp_path: Path) -> None:
    system = FakeSystem()
    report = _executor(tmp_path, system).apply(migration_plan(), apply_id="20261127T070000Z-0000abcd")
    assert report.ok
    snap = StateStore(tmp_path / "st").read()
    owned = {c.address: c for c in snap.owned}
    assert set(owned) == {f"trust.old.CallManager-trust.{CERT}", f"trust.old.Phone-SAST-trust.{CERT}"}
    assert all(c.apply_id == "20261127T070000Z-0000abcd" and c.sha256 == "ab" * 32 for c in owned.values())
    assert snap.essence_of(f"trust.old.Phone-SAST-trust.{CERT}") == {"sha256": "ab" * 32}
    assert set(snap.essence_of("tvs.old.sub1")) == {"started_at"}  # type: ignore[arg-type]
    assert snap.essence_of("reset.wave1") is None and snap.essence_of("gate.wave1") is None


def test_deleting_an_owned_certificate_drops_ownership(tmp_path: Path) -> None:
    """``mode: exact`` removes only owned certificates; once removed, the state no longer owns it."""
    system = FakeSystem()
    _executor(tmp_path, system).apply(migration_plan(waves=()))
    snap = StateStore(tmp_path / "st").read()
    address = Address.of("trust", "old", "CallManager-trust", CERT)
    delete = Plan(
        plan_id="rm",
        created_at="t",
        desired_path="x",
        desired_sha256="0",
        state_lineage=snap.lineage,
        state_serial=snap.serial,
        steps=(
            PlanStep(
                change=Change(address=address, action=Action.DELETE, before={"sha256": "ab" * 32}),
                provider="cucm_certs",
                endpoint="old",
            ),
        ),
    )
    assert _executor(tmp_path, system).apply(delete).ok
    after = StateStore(tmp_path / "st").read()
    assert [c.address for c in after.owned] == [f"trust.old.Phone-SAST-trust.{CERT}"]
    assert after.essence_of(address) is None
    assert CERT not in system.data["trust"]["CallManager-trust"]


def test_stale_serial_is_refused_before_anything_runs(tmp_path: Path) -> None:
    system = FakeSystem()
    assert _executor(tmp_path, system).apply(migration_plan(waves=())).ok
    calls = len(system.calls)
    with pytest.raises(StalePlanError, match="saved plan is stale") as info:
        _executor(tmp_path, system).apply(migration_plan())  # built from serial 0
    assert info.value.changes == ("state serial 0 → 5",)
    assert len(system.calls) == calls


def test_foreign_lineage_is_refused(tmp_path: Path) -> None:
    system = FakeSystem()
    assert _executor(tmp_path, system).apply(migration_plan(waves=())).ok
    snap = StateStore(tmp_path / "st").read()
    with pytest.raises(StalePlanError, match="does not belong to this state"):
        _executor(tmp_path, system).apply(migration_plan(lineage="other-lineage", serial=snap.serial))


def test_check_fresh_runs_under_the_lock_before_the_journal(tmp_path: Path) -> None:
    system = FakeSystem()
    seen: list[bool] = []
    store = StateStore(tmp_path / "st")

    def check(plan: Plan) -> None:
        seen.append(store.lock_holder() is not None)
        raise StalePlanError(
            "saved plan is stale: identity certificate regenerated (R14)", changes=("identity",)
        )

    with pytest.raises(StalePlanError, match="R14"):
        _executor(tmp_path, system).apply(migration_plan(), check_fresh=check)
    assert seen == [True]
    assert system.calls == []
    assert (
        not list((tmp_path / "st" / "journal").glob("*.jsonl"))
        if (tmp_path / "st" / "journal").exists()
        else True
    )


def test_lock_is_held_for_the_whole_apply(tmp_path: Path) -> None:
    system = FakeSystem()
    store = StateStore(tmp_path / "st")
    holders: list[object] = []

    class Probe(ApplyHooks):
        def step_started(self, *, change: Change, index: int, total: int, attempt: int) -> None:
            holders.append(store.lock_holder())
            with (
                pytest.raises(LockError, match="held by"),
                StateStore(tmp_path / "st").lock(timeout=0, command="x"),
            ):
                pass

    assert (
        _executor(tmp_path, system, hooks=Probe())
        .apply(migration_plan(waves=()), command="reconciler apply t")
        .ok
    )
    assert holders and all(getattr(h, "command", None) == "reconciler apply t" for h in holders)
    assert store.lock_holder() is None


def test_errored_plan_and_missing_provider_are_refused(tmp_path: Path) -> None:
    system = FakeSystem()
    bad = replace(
        migration_plan(), diagnostics=(Diagnostic(severity=Severity.ERROR, summary="R2 violated", rule="R2"),)
    )
    with pytest.raises(PlanError, match="has errors"):
        _executor(tmp_path, system).apply(bad)
    plan = migration_plan()
    odd = replace(
        plan,
        steps=(
            *plan.steps,
            PlanStep(
                change=Change(address=Address.of("bulk", "old", "export"), action=Action.RUN),
                provider="cucm_cli",
                endpoint="old",
            ),
        ),
    )
    with pytest.raises(PlanError, match="no provider 'cucm_cli'"):
        _executor(tmp_path, system).apply(odd)
    assert system.calls == []


@pytest.mark.parametrize(
    ("address", "after", "observed", "expected"),
    [
        ("option150.s.a", ["1.1.1.1"], None, {"tftp": ["1.1.1.1"]}),
        (
            "param.old.Prepare Cluster for Rollback to pre 8.0",
            "False",
            None,
            {"value": "False", "set_at": ANY},
        ),
        (
            "tvs.old.pub",
            {"restart": True},
            {"started_at": "2026-11-27T07:00:00Z"},
            {"started_at": "2026-11-27T07:00:00Z"},
        ),
        ("trust.old.Phone-SAST-trust.x", {"sha256": "cd"}, None, {"sha256": "cd"}),
        ("gate.w1", {"min_registered_share": 1}, None, None),
    ],
)
def test_essence_shapes(address: str, after: object, observed: object, expected: object) -> None:
    from reconciler.model import freeze

    change = Change(address=Address.parse(address), action=Action.UPDATE, after=after)
    assert essence_for(change, freeze(observed)) == expected
