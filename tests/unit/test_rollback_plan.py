"""``plan --rollback`` (``reconciler.plan.rollback``) on a FakeEstate: the reverse migration of the scopes
that moved, planned by the normal planner over the reversed desired state; without the reverse trust
live (R11) and the target's TVS restarted after it (R8) the plan is an error naming what is missing."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import pytest

from reconciler.cucm.facts import ClusterFacts
from reconciler.errors import PlanError
from reconciler.plan.document import Plan
from reconciler.plan.rollback import build_rollback_plan, reverse_desired
from reconciler.plan.tvsfresh import identity_key
from reconciler.state.store import StateSnapshot
from tests.unit.fake_estate import OLD_HOSTS, FakeEstate, World, desired, make_world

OLD_TFTP = [OLD_HOSTS["cucm-old-pub"], OLD_HOSTS["cucm-old-sub1"]]


def rollback_for(
    world: World,
    *,
    reverse: bool = True,
    estate: FakeEstate | None = None,
    state: StateSnapshot | None = None,
) -> Plan:
    return build_rollback_plan(
        desired=desired(allow_rollback=True, reverse=reverse),
        desired_path="test.yaml",
        desired_sha256="0" * 64,
        estate=estate or FakeEstate(world),
        state=state or StateSnapshot(),
    )


def migrated(*, reverse_trust_live: bool) -> World:
    """Every phone moved to new; with ``reverse_trust_live`` also what the forward apply does under
    allow_rollback: old's certificates in new's stores, replicated, new's TVS restarted (R11, R8)."""
    world = make_world()
    world.apply_all()
    if reverse_trust_live:
        for store in ("CallManager-trust", "Phone-SAST-trust"):
            for node in ("cucm-old-pub", "cucm-old-sub1"):
                world.target.upload(world.source.cm(node), store)
            world.target.upload(world.source.itl_recovery, store)
        world.target.replicate()
        world.target.restart_tvs()
    return world


def addresses(plan: Plan) -> list[str]:
    return [str(s.address) for s in plan.steps]


def test_without_reverse_trust_the_rollback_plan_is_an_error_naming_the_missing_certificates() -> None:
    plan = rollback_for(migrated(reverse_trust_live=False))
    assert plan.errored and not plan.applyable
    errors = {d.address: d for d in plan.diagnostics if d.severity.value == "error"}
    # R11: old's TFTP nodes' CallManager certificates, in both phone trust stores of new, each named
    for store in ("CallManager-trust", "Phone-SAST-trust"):
        for node in ("cucm-old-pub", "cucm-old-sub1"):
            found = errors[f"trust.new.{store}.{node}"]
            assert found.rule == "R11" and f"{store} of new lacks CN={node}" in found.summary
    # ... and the TVS restart it would need (R8) is named too, not planned
    tvs = {a for a in errors if a and a.startswith("tvs.new.")}
    assert tvs == {"tvs.new.cucm-new-pub", "tvs.new.cucm-new-sub1"}
    assert all("allow_rollback" in (errors[a].fix or "") for a in errors if a and a.startswith("tvs."))
    assert not [a for a in addresses(plan) if a.split(".")[0] in ("trust", "replication", "tvs", "bulk")]
    assert all(not any(str(d).startswith("tvs.") for d in s.depends_on) for s in plan.steps)


def test_with_reverse_trust_live_every_moved_scope_goes_back_to_the_source_tftp_nodes() -> None:
    plan = rollback_for(migrated(reverse_trust_live=True))
    assert not plan.errored, [d.headline() for d in plan.diagnostics if d.severity.value == "error"]
    assert plan.rollback == ("scope-a", "scope-b")
    order = addresses(plan)
    assert order.index("option150.router.scope-a") < order.index("gate.wave-1")
    assert order.index("gate.wave-1") < order.index("option150.router.scope-b")  # same waves, same order
    for scope in ("scope-a", "scope-b"):
        step = plan.step(f"option150.router.{scope}")
        assert step is not None and list(step.change.after) == OLD_TFTP  # R12 back to old's TFTP nodes
        assert step.change.before is not None and "127.0.20.1" in list(step.change.before)
    reset = plan.step("reset.wave-1")
    assert reset is not None and reset.endpoint == "new"  # the phones are reset where they are
    assert plan.step("restore.router.scope-a") is not None  # the same revert, contingent on the gate
    again = Plan.from_json(plan.to_json())
    assert again.rollback == plan.rollback


def test_only_the_scopes_that_moved_go_back_and_nothing_moved_is_an_error() -> None:
    world = migrated(reverse_trust_live=True)
    world.option150[("router", "scope-b")] = tuple(OLD_TFTP)  # wave-2 never moved
    plan = rollback_for(world)
    assert plan.rollback == ("scope-a",)
    assert {s.wave for s in plan.steps if s.wave} == {"wave-1"}
    world.option150[("router", "scope-a")] = tuple(OLD_TFTP)
    with pytest.raises(PlanError, match="nothing to roll back"):
        rollback_for(world)


def test_reverse_desired_swaps_source_and_target_for_the_moved_scopes() -> None:
    state = desired(allow_rollback=True, reverse=True)
    back = reverse_desired(state, moved=["scope-b"])
    assert (back.migration.source, back.migration.target) == ("new", "old")
    assert [w.name for w in back.migration.waves] == ["wave-2"]
    scopes = {s.name: s.option150 for s in back.dhcp.scopes}
    assert scopes["scope-b"].tftp_nodes_of == "old"  # type: ignore[union-attr]
    assert scopes["scope-a"] == state.dhcp.scopes[0].option150  # untouched
    assert {c.name: c.role.value for c in back.clusters} == {"old": "target", "new": "source"}


def test_plan_output_says_it_is_a_rollback_plan() -> None:
    import io

    from rich.console import Console

    from reconciler.render.plan import render_plan

    buffer = io.StringIO()
    render_plan(Console(file=buffer, width=200), rollback_for(migrated(reverse_trust_live=True)))
    assert "Rollback plan: moves scopes scope-a, scope-b back to the source (R11)." in buffer.getvalue()


class NoTrustChangeTime(FakeEstate):
    """A provider that cannot tell when a node's trust stores changed (the real certmgr/CLI case)."""

    def clusters(self, names: Sequence[str]) -> Mapping[str, ClusterFacts]:
        return {
            k: dataclasses.replace(
                v, nodes=tuple(dataclasses.replace(n, trust_changed_at=None) for n in v.nodes)
            )
            for k, v in super().clusters(names).items()
        }


def _tvs_errors(plan: Plan) -> dict[str, str]:
    return {
        d.address: d.summary
        for d in plan.diagnostics
        if d.severity.value == "error" and d.address and d.address.startswith("tvs.")
    }


def test_rollback_readiness_r8_uses_the_forward_plans_tvs_freshness() -> None:
    """R11 then R8 (``reconciler.plan.tvsfresh``): the reverse trust is live; whether new's TVS loaded it
    is decided as the forward plan decides it. Fresh: started after the last trust change, or restarted
    by reconciler with the reverse certificates in its stores. Stale: started before the last change.
    Unknown (no change time and no recorded restart): not fresh, so the rollback plan is an error."""
    world = migrated(reverse_trust_live=True)
    assert _tvs_errors(rollback_for(world)) == {}  # fresh: TVS started after the last trust change

    world.target.node("cucm-new-sub1").trust_changed_at = world.target.tick()  # a change after the restart
    stale = rollback_for(world)
    assert stale.errored and set(_tvs_errors(stale)) == {"tvs.new.cucm-new-sub1"}
    assert "is stale (R8)" in _tvs_errors(stale)["tvs.new.cucm-new-sub1"]
    assert all(d.rule == "R11" for d in stale.diagnostics if d.address == "tvs.new.cucm-new-sub1")

    world = migrated(reverse_trust_live=True)
    blind = NoTrustChangeTime(world)
    unknown = rollback_for(world, estate=blind)
    assert unknown.errored and set(_tvs_errors(unknown)) == {"tvs.new.cucm-new-pub", "tvs.new.cucm-new-sub1"}
    assert all("is unknown (R8)" in s for s in _tvs_errors(unknown).values())  # a timestamp check passed it

    # reconciler's own recorded restart, with the reverse certificates among what it loaded: fresh
    facts = blind.clusters(["new"])["new"]
    essence = {
        f"tvs.new.{n.name}": {
            "started_at": n.tvs_started_at.isoformat() if n.tvs_started_at else None,
            "loads": [identity_key(i) for s in ("CallManager-trust", "Phone-SAST-trust") for i in n.store(s)],
        }
        for n in facts.tvs_nodes
    }
    known = rollback_for(world, estate=blind, state=StateSnapshot(essence=essence))
    assert _tvs_errors(known) == {} and not known.errored
