"""The tri-state forecast and the verdict that follows it: every phone still to move is "moves",
"stranded" (rule + cause) or "unknown" (what is missing); stranded phones make the plan an error unless
the wave's ``max_stranded_share`` accepts them; TVS freshness (R8) is fresh only when known.

In-process fakes (``tests.unit.fake_estate``); the lab end-to-end counterparts are in
tests/e2e/test_lab_forecast.py.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from reconciler.config.loader import load_text
from reconciler.cucm.facts import ClusterFacts
from reconciler.live.protocol import Registration, TftpFile
from reconciler.plan.document import Plan
from reconciler.plan.planner import PlanOptions, build_plan
from reconciler.plan.tvsfresh import identity_key
from reconciler.state.store import StateSnapshot
from tests.unit.fake_estate import FakeEstate, World, desired, desired_yaml, make_world, stale_itl_phone


def _plan(
    estate: FakeEstate,
    *,
    state: StateSnapshot | None = None,
    options: PlanOptions | None = None,
    **kw: object,
) -> Plan:
    return build_plan(
        desired=desired(**kw),
        desired_path="t",
        desired_sha256="0",
        estate=estate,
        state=state or StateSnapshot(),
        options=options,
    )


def _three_way(plan: Plan) -> None:
    for f in plan.forecast:
        assert f.already + f.move + f.stranded_count + f.unknown_count == f.phones, f


class UnreadableSourceTftp(FakeEstate):
    """The source's TFTP nodes answer, but their ITL cannot be read."""

    def tftp_files(self, cluster: str, nodes: Sequence[str]) -> Mapping[str, tuple[TftpFile, TftpFile]]:
        files = super().tftp_files(cluster, nodes)
        if cluster != "old":
            return files
        return {
            n: (ctl, TftpFile(cluster=cluster, node=n, name="ITLFile.tlv", data=None, error="refused"))
            for n, (ctl, _) in files.items()
        }


def test_unreadable_source_tftp_makes_phones_unknown_not_moving_and_the_plan_an_error() -> None:
    plan = _plan(UnreadableSourceTftp(make_world()))
    _three_way(plan)
    assert [(f.move, f.stranded_count, f.unknown_count) for f in plan.forecast] == [(0, 0, 8), (0, 0, 4)]
    assert (
        "ITL served by source TFTP node cucm-old-pub could not be read" in plan.forecast[0].unknown[0].missing
    )
    assert plan.summary.unknown == 12 and plan.summary.phones_to_move == 0
    assert plan.errored  # R1: the source TFTP serves no valid ITL
    assert any(d.rule == "R1" and d.severity.value == "error" and "serves no valid ITL" in d.summary
               for d in plan.diagnostics)  # fmt: skip
    doc = plan.to_dict()
    assert [(f["move"], f["stranded"], f["unknown"]) for f in doc["forecast"]] == [(0, 0, 8), (0, 0, 4)]
    assert doc["summary"]["unknown"] == 12
    assert Plan.from_json(plan.to_json()).forecast == plan.forecast


def test_live_rollback_parameter_true_phones_are_unknown_not_stranded() -> None:
    """R2 live True, declared False: whether the phones fetched the blanked ITL cannot be known (item 8)."""
    plan = _plan(FakeEstate(make_world(rollback=True)))
    _three_way(plan)
    assert plan.summary.stranded == 0 and plan.summary.unknown == 12
    assert "blanked ITL" in plan.forecast[0].unknown[0].missing
    assert not plan.errored  # the plan sets the parameter False first; the unknown phones are a warning
    assert any(d.severity.value == "warning" and "unknown" in d.summary for d in plan.diagnostics)


def test_stranded_phones_make_the_plan_an_error_unless_the_wave_accepts_their_share() -> None:
    world = make_world(phones_a=6)
    world.phones["scope-a"][:2] = [stale_itl_phone(world, f"SEPBAD00000{i}", "scope-a") for i in range(2)]
    plan = _plan(FakeEstate(world))
    _three_way(plan)
    verdict = [d for d in plan.diagnostics if d.address == "wave.wave-1"]
    assert verdict and all(d.severity.value == "error" for d in verdict)
    assert verdict[0].rule in ("R1", "R2") and verdict[0].summary.startswith(
        "wave wave-1: 2 of 6 phones still to move"
    )
    assert verdict[0].fix and "max_stranded_share" in verdict[0].fix
    r1 = [d for d in plan.diagnostics if d.address == "phones.wave-1"]
    assert r1 and r1[0].severity.value == "error"  # no TVS of the group is pinned by their ITL
    assert plan.errored

    text = desired_yaml().replace(
        "{name: wave-1, scopes: [scope-a], gate:",
        "{name: wave-1, scopes: [scope-a], max_stranded_share: 0.4, gate:",
    )
    loaded = load_text(text, file="t.yaml", base_dir=Path("."))
    assert loaded.state is not None, [d.headline() for d in loaded.diagnostics]
    accepted = build_plan(
        desired=loaded.state,
        desired_path="t",
        desired_sha256="0",
        estate=FakeEstate(world),
        state=StateSnapshot(),
    )
    assert not accepted.errored, [d.headline() for d in accepted.diagnostics if d.severity.value == "error"]
    assert all(d.severity.value == "warning" for d in accepted.diagnostics if d.address == "wave.wave-1")
    assert accepted.forecast[0].stranded_count == 2


class UnknownChangeTime(FakeEstate):
    """A provider that cannot tell when a trust store changed (the real certmgr/CLI case)."""

    def clusters(self, names: Sequence[str]) -> Mapping[str, ClusterFacts]:
        out = dict(super().clusters(names))
        for name, facts in out.items():
            nodes = tuple(dataclasses.replace(n, trust_changed_at=None) for n in facts.nodes)
            out[name] = dataclasses.replace(facts, nodes=nodes)
        return out


def _uploaded_by_hand(world: World) -> None:
    """The target's certificates are in the source stores already (hand upload, replicated), but TVS
    was not restarted since."""
    t = world.target
    for store in ("CallManager-trust", "Phone-SAST-trust"):
        for node in ("cucm-new-pub", "cucm-new-sub1"):
            world.source.upload(t.cm(node), store)
        world.source.upload(t.itl_recovery, store)
    world.source.replicate()


def test_r8_certificates_uploaded_outside_reconciler_plan_the_rolling_restart() -> None:
    world = make_world()
    _uploaded_by_hand(world)
    estate = UnknownChangeTime(world)
    plan = _plan(estate)
    assert not any(s.address.kind == "trust" for s in plan.steps)  # nothing left to upload
    restarts = [s for s in plan.steps if s.address.kind == "tvs" and s.address.parts[1] == "old"]
    assert {s.address.name for s in restarts} == {"cucm-old-pub", "cucm-old-sub1", "cucm-old-sub2"}
    assert all("unknown" in s.change.reason and "R8" in s.change.reason for s in restarts)
    assert plan.summary.phones_to_move == 12 and not plan.errored

    # without the restarts, the forecast cannot say whether the TVS caches hold the certificates
    excluded = _plan(estate, options=PlanOptions(excludes=("tvs",)))
    _three_way(excluded)
    assert excluded.summary.phones_to_move == 0 and excluded.summary.unknown == 12
    assert "R8" in excluded.forecast[0].unknown[0].missing

    # once reconciler restarted them with those certificates in the stores, they are known fresh
    facts = estate.clusters(["old"])["old"]
    essence = {
        f"tvs.old.{n.name}": {
            "started_at": n.tvs_started_at.isoformat() if n.tvs_started_at else None,
            "loads": [identity_key(i) for s in ("CallManager-trust", "Phone-SAST-trust") for i in n.store(s)],
        }
        for n in facts.tvs_nodes
    }
    known = _plan(estate, state=StateSnapshot(essence=essence))
    assert not [s for s in known.steps if s.address.kind == "tvs"]


class UnreachableGroup(FakeEstate):
    """The TVS nodes of the phones' CallManager group G1 (cucm-old-pub, cucm-old-sub1) do not answer."""

    def clusters(self, names: Sequence[str]) -> Mapping[str, ClusterFacts]:
        facts = dict(super().clusters(names))
        if "old" in facts:
            old = facts["old"]
            nodes = tuple(
                dataclasses.replace(n, reachable=False) if n.name in ("cucm-old-pub", "cucm-old-sub1") else n
                for n in old.nodes
            )
            facts["old"] = dataclasses.replace(old, nodes=nodes)
        return facts


def test_a_group_without_a_reachable_tvs_is_an_r3_error_naming_the_group_and_count() -> None:
    """R3: every phone of G1 is stranded; per wave one error names the group and how many phones, the
    same count as the forecast's stranded group."""
    plan = _plan(UnreachableGroup(make_world()))
    _three_way(plan)
    assert plan.errored and not plan.applyable
    groups = [d for d in plan.diagnostics if d.rule == "R3" and (d.address or "").startswith("phones.")]
    by_wave = {f.wave: f for f in plan.forecast}
    assert sorted(d.address for d in groups) == sorted(f"phones.{w}" for w in by_wave)
    for d in groups:
        f = by_wave[(d.address or "").removeprefix("phones.")]
        assert d.severity.value == "error"
        assert d.summary.startswith(f"{f.stranded_count} phones of wave {f.wave}")
        assert "CallManager group G1" in d.summary
        assert [g.rule for g in f.stranded] == ["R3"] and f.move == 0


class RegisteredOnSource(FakeEstate):
    """RisPort70 of the source reports every phone Registered at ``at`` (its TimeStamp)."""

    def __init__(self, world: World, at: datetime) -> None:
        super().__init__(world)
        self.at = at

    def registrations(self, cluster: str, names: Sequence[str]) -> Mapping[str, Registration]:
        if cluster != "old":
            return super().registrations(cluster, names)
        return {
            n: Registration(
                name=n, cluster=cluster, node="cucm-old-pub", status="Registered", timestamp=self.at
            )
            for n in names
        }


SET_AT = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
SET_BY_US = StateSnapshot().with_essence(
    "param.old.Prepare Cluster for Rollback to pre 8.0", {"value": "True", "set_at": "2026-11-27T07:00:00Z"}
)


def test_r2_rollback_true_set_by_reconciler_phones_registered_before_kept_their_full_itl() -> None:
    """Registered before the parameter became True: never stranded by R2. The fake source serves the
    blanked (empty) ITL, so the full ITL the phones kept cannot be read: unknown, saying why."""
    plan = _plan(RegisteredOnSource(make_world(rollback=True), SET_AT - timedelta(hours=1)), state=SET_BY_US)
    _three_way(plan)
    assert plan.summary.stranded == 0 and plan.summary.unknown == 12
    assert "kept their full ITL" in plan.forecast[0].unknown[0].missing


def test_r2_rollback_true_set_by_reconciler_phones_registered_after_are_stranded_r2() -> None:
    plan = _plan(
        RegisteredOnSource(make_world(rollback=True), SET_AT + timedelta(minutes=5)), state=SET_BY_US
    )
    _three_way(plan)
    assert plan.summary.stranded == 12 and plan.summary.unknown == 0
    assert {g.rule for f in plan.forecast for g in f.stranded} == {"R2"}
    assert (
        "after 'Prepare Cluster for Rollback to pre 8.0' became True" in plan.forecast[0].stranded[0].reason
    )


def test_r2_rollback_true_when_it_changed_is_unknown_phones_stay_unknown_never_stranded() -> None:
    """Registration times known, but nobody recorded when the parameter became True (set by hand)."""
    plan = _plan(RegisteredOnSource(make_world(rollback=True), SET_AT + timedelta(minutes=5)))
    assert plan.summary.stranded == 0 and plan.summary.unknown == 12


def test_r2_rollback_true_set_by_reconciler_but_registration_time_unknown_phones_stay_unknown() -> None:
    plan = _plan(FakeEstate(make_world(rollback=True)), state=SET_BY_US)  # the fake reports no source records
    assert plan.summary.stranded == 0 and plan.summary.unknown == 12
