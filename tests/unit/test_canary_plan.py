"""Canary growth in the desired state and the plan (docs/waves.md, "Canary growth"): ``waves: {auto: ...}``
in the schema with positioned errors, the planner's expansion from the live phone counts per scope
(smallest scopes first, R12), each generated wave with the declared gate and policies behind the previous
wave's gate (R13), the expansion in plan output and JSON, and apply rebuilding exactly the plan's waves."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from rich.console import Console

from reconciler.config.loader import load_text
from reconciler.errors import PlanError
from reconciler.live.protocol import PhoneFacts
from reconciler.plan.canary import CanaryPlan, with_expansion
from reconciler.plan.document import Plan
from reconciler.plan.planner import build_plan
from reconciler.render.plan import render_plan
from reconciler.state.store import StateSnapshot
from schemas.document import DesiredState
from tests.unit.fake_estate import FakeEstate, World, desired_yaml, make_world

DECLARED = """  waves:
    - {name: wave-1, scopes: [scope-a], gate: {min_registered_share: 0.95, deadline: 10m}}
    - {name: wave-2, scopes: [scope-b], reset: false, gate: {min_registered_share: 0.9, deadline: 30m}}
"""

AUTO = """  waves:
    auto:
      first_phones: 4
      growth: 2
      on_failure: stop
      gate: {min_registered_share: 0.9, deadline: 20m}
"""


def auto_yaml(auto: str = AUTO, **kwargs: bool) -> str:
    text = desired_yaml(**kwargs)
    assert DECLARED in text
    return text.replace(DECLARED, auto)


def load(text: str, *, ok: bool = True) -> tuple[DesiredState | None, list[str]]:
    result = load_text(text, file="test.yaml", base_dir=Path("."))
    heads = [d.headline() for d in result.diagnostics if d.severity.value == "error"]
    assert result.ok is ok, heads
    return result.state, heads


def plan_for(world: World, *, estate: FakeEstate | None = None, text: str | None = None) -> Plan:
    state, _ = load(text or auto_yaml())
    assert state is not None
    return build_plan(
        desired=state,
        desired_path="test.yaml",
        desired_sha256="0" * 64,
        estate=estate or FakeEstate(world),
        state=StateSnapshot(),
    )


def test_the_planner_expands_auto_waves_smallest_scopes_first_with_the_declared_policies() -> None:
    world = make_world(phones_a=8, phones_b=4)  # scope-b is the smaller scope: it goes first
    plan = plan_for(world)
    assert not plan.errored, [d.headline() for d in plan.diagnostics if d.severity.value == "error"]
    assert plan.canary is not None
    assert [(w.name, w.scopes, w.phones, w.aim) for w in plan.canary.waves] == [
        ("canary-1", ("scope-b",), 4, 4),
        ("canary-2", ("scope-a",), 8, 8),  # aim: growth 2 x the 4 phones canary-1 holds
    ]
    order = [str(s.address) for s in plan.steps]
    assert order.index("option150.router.scope-b") < order.index("gate.canary-1")
    assert order.index("gate.canary-1") < order.index("option150.router.scope-a"), "canary-2 after the gate"
    for wave, phones in (("canary-1", 4), ("canary-2", 8)):
        gate = plan.step(f"gate.{wave}")
        assert gate is not None and gate.change.after is not None
        assert gate.change.after["min_registered_share"] == 0.9 and gate.change.after["on_failure"] == "stop"
        assert gate.change.after["phones"] == phones
    assert plan.step("reset.canary-1") is not None  # reset: true by default
    assert not [s for s in plan.steps if s.contingent_on is not None], "on_failure: stop plans no revert"
    assert [f.wave for f in plan.forecast] == ["canary-1", "canary-2"]


def test_the_expansion_is_in_the_plan_json_and_the_terminal_output() -> None:
    plan = plan_for(make_world(phones_a=8, phones_b=4))
    data = json.loads(plan.to_json())
    assert data["canary"] == {
        "first_phones": 4,
        "growth": 2.0,
        "waves": [
            {"name": "canary-1", "scopes": ["scope-b"], "phones": 4, "aim": 4},
            {"name": "canary-2", "scopes": ["scope-a"], "phones": 8, "aim": 8},
        ],
    }
    assert Plan.from_json(plan.to_json()).canary == plan.canary
    buffer = io.StringIO()
    render_plan(Console(file=buffer, width=200), plan)
    assert (
        "Waves (auto: first 4 phones, growth x2): canary-1: 1 scope, 4 phones; canary-2: 1 scope, 8 phones"
        in buffer.getvalue()
    )
    from reconciler.render.html.page import plan_page

    assert "canary-1: 1 scope, 4 phones; canary-2: 1 scope, 8 phones" in plan_page(plan)  # the HTML report
    declared = plan_for(make_world(), text=desired_yaml())
    assert declared.canary is None and json.loads(declared.to_json())["canary"] is None


def test_a_second_plan_after_the_move_has_the_same_waves_and_no_changes() -> None:
    """The expansion counts every phone of a scope (moved or not), so it does not shift as phones move."""
    world = make_world(phones_a=8, phones_b=4)
    first = plan_for(world)
    world.apply_all()
    again = plan_for(world)
    assert again.canary == first.canary and not again.has_changes


class PhonesUnknownFor(FakeEstate):
    """A RisPort70 listing that could not say which phones scope-a holds."""

    def phones(self, scopes: Sequence[str]) -> Mapping[str, tuple[PhoneFacts, ...]]:
        return {s: p for s, p in super().phones(scopes).items() if s != "scope-a"}


def test_an_unknown_phone_count_refuses_the_expansion_as_a_plan_error() -> None:
    world = make_world()
    plan = plan_for(world, estate=PhonesUnknownFor(world))
    assert plan.errored and not plan.applyable
    error = next(d for d in plan.diagnostics if d.address == "migration.waves")
    assert error.rule == "R12" and "unknown for: scope-a" in error.summary
    assert not [s for s in plan.steps if s.wave is not None], "no waves from a guess (unknown is not zero)"


def test_apply_rebuilds_exactly_the_plans_waves_whatever_the_counts_are_now() -> None:
    plan = plan_for(make_world(phones_a=8, phones_b=4))
    state, _ = load(auto_yaml())
    assert state is not None and plan.canary is not None
    planned = with_expansion(state, plan.canary)
    waves = planned.migration.wave_list
    assert [(w.name, w.scopes) for w in waves] == [("canary-1", ("scope-b",)), ("canary-2", ("scope-a",))]
    assert all(w.gate.min_registered_share == 0.9 and str(w.on_failure) == "stop" for w in waves)
    other = CanaryPlan(first_phones=4, growth=2, waves=plan.canary.waves[:1])  # scope-a not in it
    with pytest.raises(PlanError, match="other scopes"):
        with_expansion(state, other)
    declared, _ = load(desired_yaml())
    assert declared is not None
    with pytest.raises(PlanError, match="declared"):
        with_expansion(declared, plan.canary)
    assert with_expansion(declared, None) is declared


def _error_at(heads: list[str], where: str, text: str) -> str:
    found = [h for h in heads if h.startswith(where) and text in h]
    assert found, heads
    return found[0]


def test_schema_errors_are_positioned_file_line_col() -> None:
    lines = auto_yaml().splitlines()
    row = next(i for i, line in enumerate(lines) if line.strip() == "growth: 2") + 1
    _, heads = load(auto_yaml(AUTO.replace("growth: 2", "growth: 1")), ok=False)
    _error_at(heads, f"test.yaml:{row}:15", "greater than 1")
    _, heads = load(auto_yaml(AUTO.replace("first_phones: 4", "first_phone: 4")), ok=False)
    _error_at(heads, f"test.yaml:{row - 1}:7", "first_phones")  # the misspelt key, with the right one
    _, heads = load(
        auto_yaml(AUTO.replace("      gate: {min_registered_share: 0.9, deadline: 20m}\n", "")), ok=False
    )
    assert any("gate" in h for h in heads), heads
    _, heads = load(auto_yaml(AUTO + "      scopes: [scope-a, scope-c, scope-a]\n"), ok=False)
    _error_at(heads, "test.yaml:", "scope-c")
    _error_at(heads, "test.yaml:", "listed twice")


def test_semantic_checks_of_auto_waves() -> None:
    """A scope left out of ``auto.scopes`` is the usual R12 warning; ``depends_on`` may name a generated
    wave (``reset.canary-2``) but not a declared-style name that does not exist."""
    result = load_text(auto_yaml(AUTO + "      scopes: [scope-b]\n"), file="test.yaml", base_dir=Path("."))
    assert result.ok
    assert any(d.rule == "R12" and "scope-a" in d.summary for d in result.diagnostics)
    deps = "depends_on:\n  - {address: reset.canary-2, after: [gate.canary-1]}\n"
    assert load_text(auto_yaml() + deps, file="test.yaml", base_dir=Path(".")).ok
    bad = "depends_on:\n  - {address: reset.wave-1, after: [gate.canary-1]}\n"
    _, heads = load(auto_yaml() + bad, ok=False)
    _error_at(heads, "test.yaml:", "wave-1")


def test_a_rollback_of_auto_waves_expands_them_again_over_the_moved_scopes() -> None:
    from reconciler.plan.rollback import build_rollback_plan, reverse_desired
    from tests.unit.test_rollback_plan import migrated

    world = migrated(reverse_trust_live=True)
    state, _ = load(auto_yaml(allow_rollback=True, reverse=True))
    assert state is not None
    plan = build_rollback_plan(
        desired=state, desired_path="test.yaml", desired_sha256="0" * 64, estate=FakeEstate(world),
        state=StateSnapshot(),
    )  # fmt: skip
    assert not plan.errored, [d.headline() for d in plan.diagnostics if d.severity.value == "error"]
    assert plan.rollback == ("scope-a", "scope-b") and plan.canary is not None
    assert [w.scopes for w in plan.canary.waves] == [("scope-b",), ("scope-a",)]
    order = [str(s.address) for s in plan.steps]
    assert order.index("gate.canary-1") < order.index("option150.router.scope-a")
    back = with_expansion(reverse_desired(state, moved=plan.rollback), plan.canary)  # what apply runs
    assert [w.name for w in back.migration.wave_list] == ["canary-1", "canary-2"]
    assert back.migration.target == "old"
