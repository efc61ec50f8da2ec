"""Planner on a FakeEstate (real certificates and signed ITL/CTL): steps in rule order, the declared
trust checked against R4-R6/R11, preflight R1/R2, a converged estate plans nothing, reads only."""

from __future__ import annotations

import inspect
import re

import pytest

from reconciler.live.protocol import LiveEstate
from reconciler.model import Action
from reconciler.plan.document import Plan
from reconciler.plan.planner import PlanOptions, build_plan
from reconciler.state.store import StateSnapshot
from tests.unit.fake_estate import ROLLBACK, FakeEstate, desired, desired_yaml, make_world, stale_itl_phone


def plan_for(world, state=None, options=None, **kwargs) -> Plan:  # type: ignore[no-untyped-def]
    return build_plan(
        desired=desired(**kwargs),
        desired_path="test.yaml",
        desired_sha256="0" * 64,
        estate=FakeEstate(world),
        state=state or StateSnapshot(),
        options=options,
    )


def addresses(plan: Plan) -> list[str]:
    return [str(s.address) for s in plan.steps]


def test_fresh_migration_plans_trust_tvs_option150_reset_gate_in_rule_order() -> None:
    """R4-R8 then R12/R13: every kind of step, and each kind only after what the rules put before it."""
    plan = plan_for(make_world())
    order = addresses(plan)
    kinds = [a.split(".")[0] for a in order]
    first = {k: kinds.index(k) for k in dict.fromkeys(kinds)}
    last = {k: len(kinds) - 1 - kinds[::-1].index(k) for k in first}
    assert last["trust"] < first["replication"] <= last["replication"] < first["tvs"]
    assert last["tvs"] < first["option150"] < order.index("reset.wave-1") < order.index("gate.wave-1")
    assert order.index("gate.wave-1") < order.index("option150.router.scope-b") < order.index("gate.wave-2")
    assert "reset.wave-2" not in order  # wave-2 waits for natural reboots
    # R4/R5/R6: both TFTP nodes of new and ITLRecovery, in both stores of old
    trust = {a for a in order if a.startswith("trust.")}
    assert trust == {
        f"trust.old.{store}.{cid}"
        for store in ("CallManager-trust", "Phone-SAST-trust")
        for cid in ("cucm-new-pub", "cucm-new-sub1", "ITLRecovery-new")
    }
    assert [a for a in order if a.startswith("tvs.")] == [
        "tvs.old.cucm-old-pub",
        "tvs.old.cucm-old-sub1",
        "tvs.old.cucm-old-sub2",
    ]  # rolling, every source TVS node (R8)
    rules = {str(s.address): s.change.rule for s in plan.steps}
    assert rules["trust.old.Phone-SAST-trust.cucm-new-sub1"] == "R5"
    assert rules["trust.old.CallManager-trust.ITLRecovery-new"] == "R6"
    assert not plan.errored and plan.applyable
    assert [(f.wave, f.move, f.stranded_count) for f in plan.forecast] == [("wave-1", 8, 0), ("wave-2", 4, 0)]
    assert plan.summary.phones_to_move == 12 and plan.summary.add == 6


def test_trust_step_carries_the_certificate_the_executor_uploads() -> None:
    world = make_world()
    plan = plan_for(world)
    step = plan.step("trust.old.Phone-SAST-trust.cucm-new-sub1")
    assert step is not None and step.change.action is Action.CREATE
    assert step.endpoint == "old/cucm-old-pub" and step.provider == "cucm_certs"
    after = step.change.after
    assert after["serial"] == world.target.facts().node("cucm-new-sub1").callmanager.identity.serial_hex
    assert "BEGIN CERTIFICATE" in after["pem"]


def test_second_plan_after_everything_is_in_place_has_no_changes() -> None:
    world = make_world()
    world.apply_all()
    plan = plan_for(world)
    assert plan.steps == () and not plan.has_changes and not plan.errored
    assert [(f.already, f.move) for f in plan.forecast] == [(8, 0), (4, 0)]


@pytest.mark.parametrize(
    ("kwargs", "rule", "needle"),
    [
        # R4: only the publisher's CallManager certificate declared, not every TFTP node
        (
            {
                "refs": "\n      - identity: callmanager\n        cluster: new"
                "\n        nodes: {role: publisher}"
                "\n      - identity: itlrecovery\n        cluster: new"
            },
            "R4",
            "cucm-new-sub1",
        ),
        ({"stores": ("CallManager-trust",)}, "R5", "Phone-SAST-trust"),  # R5: one store missing
        (
            {"refs": "\n      - identity: callmanager\n        cluster: new\n        nodes: {role: tftp}"},
            "R6",
            "ITLRecovery",
        ),  # R6: 11.5 -> 14.0 without ITLRecovery
    ],
)
def test_declaration_missing_required_trust_is_an_error_with_rule_and_stranded_count(
    kwargs: dict[str, object], rule: str, needle: str
) -> None:
    plan = plan_for(make_world(phones_a=8, phones_b=4), **kwargs)
    errors = [d for d in plan.diagnostics if d.severity.value == "error" and d.rule == rule]
    assert errors, [d.headline() for d in plan.diagnostics]
    assert any(needle in d.summary for d in errors)
    coverage_errors = [d for d in errors if d.summary.startswith("declared trust misses")]
    assert coverage_errors
    for d in coverage_errors:  # the count in the message is the forecast's count on that certificate
        match = re.search(r"the forecast strands (\d+) phones on it$", d.summary)
        assert match, d.summary
        serial = d.detail.split("serial ")[-1].rstrip(")").split(")")[0] if d.detail else ""
        on_it = sum(g.phones for f in plan.forecast for g in f.stranded if serial and serial in g.reason)
        assert int(match.group(1)) == on_it, d.summary
    verdict = [d for d in errors if (d.address or "").startswith("wave.")]
    stranded = {f.wave: f.stranded_count for f in plan.forecast}
    for d in verdict:  # the verdict follows the forecast: its counts are the forecast's
        wave = (d.address or "").removeprefix("wave.")
        assert re.match(rf"wave {wave}: \d+ of \d+ phones still to move would be stranded", d.summary)
        assert f"{stranded[wave]} stranded in this wave" in (d.detail or "")
    assert plan.errored and not plan.applyable


def test_missing_itlrecovery_is_also_what_the_model_strands() -> None:
    """R6: the forecast (trust model) agrees: the target CTL signer is unknown to the source TVS."""
    plan = plan_for(
        make_world(),
        refs="\n      - identity: callmanager\n        cluster: new\n        nodes: {role: tftp}",
    )
    assert plan.summary.stranded == 12
    assert {g.rule for f in plan.forecast for g in f.stranded} == {"R6"}


def test_missing_tftp_node_cert_procedure_and_model_disagree_and_the_plan_says_so() -> None:
    refs = (
        "\n      - identity: callmanager\n        cluster: new\n        nodes: {names: [cucm-new-pub]}"
        "\n      - identity: itlrecovery\n        cluster: new"
    )
    plan = plan_for(make_world(), refs=refs)
    assert plan.errored  # the procedure (R4) is enforced ...
    assert plan.summary.stranded == 0  # ... although the model moves the phones
    assert any("procedure is not satisfied" in n for f in plan.forecast for n in f.notes)


def test_rollback_parameter_declared_true_is_an_error_R2() -> None:
    """``validate`` already refuses it; the planner refuses it too (defence in depth)."""
    plan = plan_for(make_world(), rollback_param=True, semantic=False)
    assert any(d.rule == "R2" and d.severity.value == "error" for d in plan.diagnostics)
    step = plan.step(f"param.old.{ROLLBACK}")
    assert step is not None and step.change.after == "True"


def test_rollback_parameter_live_true_declared_false_plans_the_fix_and_forecasts_R2_strands() -> None:
    world = make_world(rollback=True)
    plan = plan_for(world)
    step = plan.step(f"param.old.{ROLLBACK}")
    assert step is not None and step.change.before == "True" and step.change.after == "False"
    assert step.change.rule == "R2"
    assert any(d.rule == "R2" and d.severity.value == "warning" for d in plan.diagnostics)
    order = addresses(plan)
    assert order.index(f"param.old.{ROLLBACK}") < order.index("option150.router.scope-a")


def test_phones_with_bad_itl_forecast_as_stranded_with_R1() -> None:
    world = make_world(phones_a=6)
    world.phones["scope-a"][:2] = [stale_itl_phone(world, f"SEPBAD00000{i}", "scope-a") for i in range(2)]
    plan = plan_for(world)
    wave1 = plan.forecast[0]
    assert (wave1.move, wave1.stranded_count) == (4, 2)
    assert wave1.stranded[0].rule in ("R1", "R2") and "SEPBAD000000" in wave1.stranded[0].examples
    assert any(d.rule == "R1" and "2 phones of wave wave-1" in d.summary for d in plan.diagnostics)


def test_reverse_trust_R11_when_allow_rollback() -> None:
    missing = plan_for(make_world(), allow_rollback=True)
    assert any(d.rule == "R11" and d.severity.value == "error" for d in missing.diagnostics)
    declared = plan_for(make_world(), allow_rollback=True, reverse=True)
    assert not declared.errored and declared.rollback_possible
    reverse = [a for a in addresses(declared) if a.startswith("trust.new.")]
    rules = {a: declared.step(a).change.rule for a in reverse}  # type: ignore[union-attr]
    # old is 11.5: its TFTP nodes' CallManager certificates are what R11 needs (no ITLRecovery signer)
    assert {r for a, r in rules.items() if "ITLRecovery" not in a} == {"R11"}
    assert any(a.startswith("tvs.new.") for a in addresses(declared))  # target TVS restarted too


def test_target_keeps_dependencies_and_exclude_drops_dependents() -> None:
    world = make_world()
    targeted = plan_for(world, options=PlanOptions(targets=("tvs.old.cucm-old-pub",)))
    kinds = {a.split(".")[0] for a in addresses(targeted)}
    assert kinds == {"trust", "replication", "tvs"} and not targeted.complete
    excluded = plan_for(world, options=PlanOptions(excludes=("gate.wave-1",)))
    assert "gate.wave-1" not in addresses(excluded)
    assert "option150.router.scope-b" not in addresses(excluded)  # depends on the excluded gate
    assert "reset.wave-1" in addresses(excluded)


def test_plan_is_built_from_reads_only() -> None:
    """A plan never mutates: the estate protocol has only read methods, and the planner called only those."""
    world = make_world()
    estate = FakeEstate(world)
    build_plan(desired=desired(), desired_path="t", desired_sha256="0", estate=estate, state=StateSnapshot())
    protocol = {n for n, _ in inspect.getmembers(LiveEstate, inspect.isfunction) if not n.startswith("_")}
    assert {name for name, _ in estate.calls} <= protocol
    assert protocol == {
        "clusters",
        "identity_pems",
        "parameters",
        "callmanager_groups",
        "option150",
        "phones",
        "tftp_files",
        "registrations",
    }
    public = {n for n in dir(estate) if not n.startswith("_") and callable(getattr(estate, n))}
    assert public == protocol  # nothing to mutate with


def test_bulk_each_cluster_import_precedes_its_own_replication_and_tvs_restarts() -> None:
    """R9 then R7/R8 per cluster: the target's TVS restarts wait for the target's import (a TVS restarted
    before its import would load stores without the other cluster's certificates)."""
    text = desired_yaml().replace(
        "  allow_rollback: false\n",
        "  allow_rollback: false\n  method: bulk\n"
        "  sftp: {host: 127.0.30.9, credentials: {username: s, password: 'env:SFTP'}, directory: /bulk}\n",
    )
    from pathlib import Path

    from reconciler.config.loader import load_text

    loaded = load_text(text, file="t.yaml", base_dir=Path("."))
    assert loaded.state is not None, [d.headline() for d in loaded.diagnostics]
    plan = build_plan(
        desired=loaded.state,
        desired_path="t",
        desired_sha256="0",
        estate=FakeEstate(make_world()),
        state=StateSnapshot(),
    )
    deps = {str(s.address): {str(d) for d in s.depends_on} for s in plan.steps}

    def upstream(key: str) -> set[str]:
        seen: set[str] = set()
        todo = [key]
        while todo:
            for d in deps.get(todo.pop(), ()):
                if d not in seen:
                    seen.add(d)
                    todo.append(d)
        return seen

    for cluster in ("old", "new"):
        waiting = [
            a for a in deps if a.split(".")[0] in ("replication", "tvs") and a.split(".")[1] == cluster
        ]
        assert waiting, cluster
        for address in waiting:
            assert f"bulk.{cluster}.import" in upstream(address), address
    assert "bulk.new.consolidate" in upstream("bulk.new.import")
    assert plan.rollback_possible is True


def test_each_wave_plans_its_revert_contingent_on_its_gate_and_every_step_says_how_it_reverts() -> None:
    """on_failure: revert (the default): option 150 restored to the value read, the reset back (only
    where the wave resets), the gate on the source; none of it counts in the summary (it runs only when
    the gate fails, R13). Every step carries a reversibility label."""
    plan = plan_for(make_world())
    contingent = {str(s.address): str(s.contingent_on) for s in plan.steps if s.contingent_on is not None}
    assert contingent == {
        "restore.router.scope-a": "gate.wave-1",
        "revert-reset.wave-1": "gate.wave-1",
        "revert-gate.wave-1": "gate.wave-1",
        "restore.router.scope-b": "gate.wave-2",
        "revert-gate.wave-2": "gate.wave-2",
    }
    forward = plan.step("option150.router.scope-a")
    restore = plan.step("restore.router.scope-a")
    assert forward is not None and restore is not None
    assert (restore.change.before, restore.change.after) == (forward.change.after, forward.change.before)
    order = addresses(plan)
    revert_at = order.index("restore.router.scope-a")
    assert order.index("gate.wave-1") < revert_at < order.index("revert-gate.wave-1")
    assert plan.summary.add == 6 and plan.summary.run == sum(
        1 for s in plan.steps if s.contingent_on is None and s.change.action is Action.RUN
    )
    assert all(s.reversibility is not None and not s.one_way for s in plan.steps)
    assert forward.reversibility is not None and "revert" in forward.reversibility.how
    assert [f.on_failure for f in plan.forecast] == ["revert", "revert"]
    doc = plan.to_dict()
    assert doc["steps"][0]["reversibility"]["kind"] == "reversible"
    assert Plan.from_dict(doc) == plan


def test_a_mode_exact_deletion_is_one_way() -> None:
    from reconciler.model import Address, Change
    from reconciler.plan.document import PlanStep
    from reconciler.plan.reversibility import reversibility_of

    step = PlanStep(
        change=Change(address=Address.parse("trust.old.Phone-SAST-trust.cucm-new-pub"), action=Action.DELETE),
        provider="cucm_certs",
        endpoint="old/pub",
    )
    label = reversibility_of(step, desired=desired())
    assert label.one_way and "cucm-new-pub" in label.how and "R8" in label.how
