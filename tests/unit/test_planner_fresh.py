"""Saved plans: the Plan JSON round-trips, and ``check_fresh`` detects every kind of staleness (R14).

The identity cases (CallManager, TVS, ITLRecovery regenerated; a node gone) are the planner's own R14
check; they replaced tests of a ``rules.identity_changes`` that nothing but those tests called."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest

from reconciler.errors import PlanError, StalePlanError
from reconciler.plan.document import Plan
from reconciler.plan.fingerprint import TVS_START_TOLERANCE, check_fresh, same_tvs_start
from reconciler.plan.planner import build_plan
from reconciler.state.store import StateSnapshot
from tests.cucm_material import identity
from tests.unit.fake_estate import ROLLBACK, FakeEstate, World, desired, make_world


def saved(world: World) -> Plan:
    plan = build_plan(
        desired=desired(),
        desired_path="t.yaml",
        desired_sha256="ab" * 32,
        estate=FakeEstate(world),
        state=StateSnapshot(lineage="L1", serial=3),
    )
    return Plan.from_json(plan.to_json())


def test_plan_json_round_trips() -> None:
    plan = build_plan(
        desired=desired(),
        desired_path="t.yaml",
        desired_sha256="ab" * 32,
        estate=FakeEstate(make_world()),
        state=StateSnapshot(lineage="L1", serial=3),
    )
    again = Plan.from_json(plan.to_json())
    assert again == plan
    assert again.to_dict() == plan.to_dict()
    doc = plan.to_dict()
    assert doc["applyable"] is True and doc["summary"]["add"] == 6 and doc["prior_state"]["serial"] == 3
    assert any(k.startswith("identity/new/cucm-new-sub1/") for k in doc["fingerprint"])


def test_plan_from_json_refuses_other_versions_and_garbage() -> None:
    with pytest.raises(PlanError):
        Plan.from_json('{"format_version": 99}')
    with pytest.raises(PlanError):
        Plan.from_json("not json")
    with pytest.raises(PlanError):
        Plan.from_json('{"format_version": 1, "plan_id": "x"}')


def test_fresh_plan_passes() -> None:
    world = make_world()
    plan = saved(world)
    assert check_fresh(plan, FakeEstate(world), state_lineage="L1", state_serial=3) == []


def _regenerate_tftp_identity(world: World) -> None:
    """R14: CallManager certificate of cucm-new-sub1 regenerated (a new certificate, new serial)."""
    fresh = identity("CallManager", "cucm-new-sub1-regen", "new")
    world.target.cm = lambda node, _orig=world.target.cm: fresh if node == "cucm-new-sub1" else _orig(node)  # type: ignore[method-assign]


def _regenerate_tvs_identity(world: World) -> None:
    """R14: the TVS certificate of cucm-old-pub regenerated."""
    fresh = identity("TVS", "cucm-old-pub-regen", "old")
    world.source.tvs_cert = lambda node, _orig=world.source.tvs_cert: (
        fresh if node == "cucm-old-pub" else _orig(node)
    )  # type: ignore[method-assign]


def _regenerate_itl_recovery(world: World) -> None:
    """R14: the target's ITLRecovery certificate regenerated."""
    fresh = identity("ITLRecovery", "cucm-new-pub-regen", "new")

    class Regenerated(type(world.target)):  # type: ignore[misc]
        @property
        def itl_recovery(self):  # type: ignore[no-untyped-def]
            return fresh

    world.target.__class__ = Regenerated


def _node_gone(world: World) -> None:
    """R14: a node the plan relied on is no longer in the cluster's facts."""
    world.source.nodes = [n for n in world.source.nodes if n.name != "cucm-old-sub2"]


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (
            _regenerate_tftp_identity,
            "CallManager identity certificate of cucm-new-sub1 (new) was regenerated",
        ),
        (_regenerate_tvs_identity, "TVS identity certificate of cucm-old-pub (old) was regenerated"),
        (_regenerate_itl_recovery, "ITLRecovery certificate of new was regenerated (R14)"),
        (_node_gone, "CallManager identity certificate of cucm-old-sub2 (old) was regenerated or removed"),
        (
            lambda w: w.source.upload(identity("CallManager", "stranger", "x"), "Phone-SAST-trust"),
            "trust store Phone-SAST-trust on cucm-old-pub (old) changed",
        ),
        (
            lambda w: w.option150.__setitem__(("router", "scope-a"), ("127.0.99.1",)),
            "option 150 of scope scope-a on router changed",
        ),
        (lambda w: w.params["old"].__setitem__(ROLLBACK, "True"), f"'{ROLLBACK}' of old changed"),
        (lambda w: w.source.restart_tvs(only=["cucm-old-sub2"]), "TVS on cucm-old-sub2 (old) restarted"),
    ],
)
def test_stale_plan_is_detected_for_each_kind_of_change(change, needle: str) -> None:  # type: ignore[no-untyped-def]
    world = make_world()
    plan = saved(world)
    change(world)
    with pytest.raises(StalePlanError) as info:
        check_fresh(plan, FakeEstate(world), state_lineage="L1", state_serial=3)
    assert any(needle in c for c in info.value.changes), info.value.changes


def test_state_moved_or_other_lineage_is_stale() -> None:
    world = make_world()
    plan = saved(world)
    with pytest.raises(StalePlanError, match="serial 3 at plan time, 4 now"):
        check_fresh(plan, FakeEstate(world), state_lineage="L1", state_serial=4)
    with pytest.raises(StalePlanError, match="another lineage"):
        check_fresh(plan, FakeEstate(world), state_lineage="L2", state_serial=3)


def test_kinds_limits_the_check_to_identities() -> None:
    world = make_world()
    plan = saved(world)
    world.option150[("router", "scope-a")] = ("127.0.99.1",)
    assert check_fresh(plan, FakeEstate(world), kinds=("identity", "itlrecovery")) == []


def _jitter(world: World, seconds: float) -> None:
    """ControlCenterServices' UpTime read again: now − uptime moves by ``seconds`` without a restart."""
    for node in world.source.nodes:
        if node.tvs:
            node.tvs_started_at += timedelta(seconds=seconds)


def test_tvs_start_times_jittering_within_the_tolerance_keep_the_plan_fresh() -> None:
    """R14 / R8: TVS start times derived from UpTime differ by about a second between reads; within
    TVS_START_TOLERANCE the plan is fresh, beyond it (a restart) it is stale."""
    world = make_world()
    plan = saved(world)
    assert any(k.startswith("tvs/old/") for k in plan.fingerprint)
    _jitter(world, 1.2)
    assert check_fresh(plan, FakeEstate(world), state_lineage="L1", state_serial=3) == []
    _jitter(world, -2.4)
    assert check_fresh(plan, FakeEstate(world), state_lineage="L1", state_serial=3) == []
    _jitter(world, 1.2 + TVS_START_TOLERANCE.total_seconds() + 1)
    with pytest.raises(StalePlanError, match="TVS on cucm-old-pub \\(old\\) restarted"):
        check_fresh(plan, FakeEstate(world), state_lineage="L1", state_serial=3)


def test_same_tvs_start() -> None:
    t = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert same_tvs_start(t.isoformat(), (t + timedelta(seconds=5)).isoformat())
    assert not same_tvs_start(t.isoformat(), (t + timedelta(seconds=6)).isoformat())
    assert not same_tvs_start(t.isoformat(), "none") and not same_tvs_start("none", t.isoformat())
    assert same_tvs_start("none", "none") and not same_tvs_start(t.isoformat(), None)
    assert not same_tvs_start(t.isoformat(), t.replace(tzinfo=None).isoformat())


def test_an_older_plans_digest_of_a_tvs_start_is_compared_exactly() -> None:
    world = make_world()
    plan = saved(world)
    legacy = {
        k: (
            hashlib.sha256(json.dumps(v if v != "none" else None).encode()).hexdigest()
            if k.startswith("tvs/")
            else v
        )
        for k, v in plan.fingerprint.items()
    }
    old_plan = dataclasses.replace(plan, fingerprint=legacy)
    assert check_fresh(old_plan, FakeEstate(world), state_lineage="L1", state_serial=3) == []
    _jitter(world, 1)
    with pytest.raises(StalePlanError):
        check_fresh(old_plan, FakeEstate(world), state_lineage="L1", state_serial=3)
