"""The forecast groups identical phones (one decision chain per distinct combination) and explains
strands with the trust model's rule."""

from __future__ import annotations

from reconciler.plan.planner import build_plan
from reconciler.state.store import StateSnapshot
from tests.unit.fake_estate import FakeEstate, desired, make_world, stale_itl_phone


def test_many_identical_phones_cost_one_decision() -> None:
    world = make_world(phones_a=2000, phones_b=500)
    plan = build_plan(
        desired=desired(),
        desired_path="t",
        desired_sha256="0",
        estate=FakeEstate(world),
        state=StateSnapshot(),
    )
    wave1, wave2 = plan.forecast
    assert (wave1.move, wave2.move) == (2000, 500)
    assert wave1.decisions == 1 and wave2.decisions == 0  # wave 2 reuses wave 1's decided combination


def test_distinct_trust_lists_are_decided_separately_and_named() -> None:
    world = make_world(phones_a=5)
    world.phones["scope-a"].append(stale_itl_phone(world, "SEPBAD", "scope-a"))
    plan = build_plan(
        desired=desired(),
        desired_path="t",
        desired_sha256="0",
        estate=FakeEstate(world),
        state=StateSnapshot(),
    )
    wave1 = plan.forecast[0]
    assert wave1.decisions == 2 and wave1.move == 5
    assert [g.examples for g in wave1.stranded] == [("SEPBAD",)]


def test_tvs_restart_excluded_forecasts_R8_stale_cache() -> None:
    """Without the TVS restarts (excluded), the planned TVS caches lack the new certificates (R8)."""
    from reconciler.plan.planner import PlanOptions

    world = make_world(phones_a=3)
    plan = build_plan(
        desired=desired(),
        desired_path="t",
        desired_sha256="0",
        estate=FakeEstate(world),
        state=StateSnapshot(),
        options=PlanOptions(excludes=("tvs",)),
    )
    assert not any(str(s.address).startswith("tvs.") for s in plan.steps)
    assert plan.forecast[0].move == 0
    assert {g.rule for g in plan.forecast[0].stranded} == {"R8"}
