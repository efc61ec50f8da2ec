"""reconciler.cucm.rules: required trust (R4-R6, R11), preflight (R1-R3, R9, R10) and order (R7, R8, R12),
over hand-built cluster facts with real certificates (R14 is the plan fingerprint's: test_planner_fresh)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from reconciler.cucm import rules
from reconciler.cucm.facts import (
    BulkSetup,
    CertRef,
    ClusterFacts,
    Direction,
    Method,
    NodeFacts,
    Service,
    SftpLocation,
    Store,
)
from reconciler.diagnostics import Severity
from schemas.version import CucmVersion
from tests.cucm_material import NOW, identity

TFTP, TVS, CM = Service.TFTP.value, Service.TVS.value, Service.CALLMANAGER.value


def node(
    name: str,
    cluster: str,
    *,
    publisher: bool = False,
    services: tuple[str, ...] = (TFTP, TVS, CM),
    **kw: object,
) -> NodeFacts:
    return NodeFacts(
        name=name,
        publisher=publisher,
        services=frozenset(services),
        callmanager=CertRef.of(identity("CallManager", name, cluster).cert),
        tvs=CertRef.of(identity("TVS", name, cluster).cert),
        tvs_started_at=NOW,
        trust_changed_at=NOW - timedelta(hours=1),
        **kw,  # type: ignore[arg-type]
    )


def cluster(name: str, version: str, nodes: tuple[NodeFacts, ...], **kw: object) -> ClusterFacts:
    return ClusterFacts(
        name=name,
        version=CucmVersion(version),
        nodes=nodes,
        itl_recovery=CertRef.of(identity("ITLRecovery", nodes[0].name, name).cert),
        **kw,
    )  # type: ignore[arg-type]


SOURCE = cluster("old", "11.5.1.12900-21", (node("o-pub", "old", publisher=True), node("o-sub", "old")))
TARGET = cluster(
    "new",
    "14.0.1",
    (node("n-pub", "new", publisher=True), node("n-sub", "new"), node("n-cm", "new", services=(CM,))),
)


def test_required_trust_forward_to_a_14_target() -> None:
    required = rules.required_trust(source=SOURCE, target=TARGET)
    got = {(r.cert_id, r.store, r.rule, r.cluster) for r in required}
    assert got == {
        ("n-pub", Store.CALLMANAGER_TRUST, "R4", "old"),
        ("n-pub", Store.PHONE_SAST_TRUST, "R5", "old"),
        ("n-sub", Store.CALLMANAGER_TRUST, "R4", "old"),
        ("n-sub", Store.PHONE_SAST_TRUST, "R5", "old"),
        ("ITLRecovery-new", Store.CALLMANAGER_TRUST, "R6", "old"),
        ("ITLRecovery-new", Store.PHONE_SAST_TRUST, "R6", "old"),
    }  # n-cm runs no TFTP: not required (R4 says TFTP nodes)
    by_id = {(r.cert_id, r.store): r for r in required}
    assert by_id[("n-sub", Store.PHONE_SAST_TRUST)].address == "trust.old.Phone-SAST-trust.n-sub"
    assert by_id[("n-sub", Store.PHONE_SAST_TRUST)].cert.identity == TARGET.node("n-sub").callmanager.identity  # type: ignore[union-attr]


def test_required_trust_pre12_target_includes_the_ctl_signer_not_itlrecovery() -> None:
    pub_no_tftp = node("p-pub", "mid", publisher=True, services=(CM, TVS))
    target = cluster("mid", "10.5.2.15900-8", (pub_no_tftp, node("p-tftp", "mid")))
    ids = {r.cert_id for r in rules.required_trust(source=SOURCE, target=target)}
    assert ids == {"p-tftp", "p-pub"}  # publisher CallManager signs the pre-12 CTL


def test_required_trust_reverse_is_r11_into_the_target() -> None:
    required = rules.required_trust(source=SOURCE, target=TARGET, direction=Direction.REVERSE)
    assert {r.rule for r in required} == {"R11"} and {r.cluster for r in required} == {"new"}
    assert {r.cert_id for r in required} == {"o-pub", "o-sub"}  # 11.5 source: no ITLRecovery needed back


def _rules_of(diags: list, severity: Severity = Severity.ERROR) -> list[str | None]:  # type: ignore[type-arg]
    return [d.rule for d in diags if d.severity is severity]


def test_preflight_clean_and_each_finding() -> None:
    assert rules.preflight(source=SOURCE, target=TARGET) == []
    unknown = rules.preflight(source=dataclasses.replace(SOURCE, rollback_to_pre8=None), target=TARGET)
    assert _rules_of(unknown, Severity.WARNING) == ["R2"]
    bad_target = dataclasses.replace(
        TARGET,
        mixed_mode=False,
        itl_recovery=None,
        nodes=(dataclasses.replace(TARGET.nodes[0], ctl_valid=False, callmanager=None), TARGET.nodes[1]),
    )
    found = rules.preflight(source=SOURCE, target=bad_target)
    assert sorted(_rules_of(found)) == ["R1", "R1", "R4", "R6"]
    ctl = next(d for d in found if "serves no valid CTL" in d.summary)
    assert ctl.address == "tftp.new.n-pub" and ctl.fix and "utils ctl update CTLFile" in ctl.fix


def test_preflight_reachability_r3() -> None:
    one_down = dataclasses.replace(
        SOURCE, nodes=(SOURCE.nodes[0], dataclasses.replace(SOURCE.nodes[1], reachable=False))
    )
    assert _rules_of(rules.preflight(source=one_down, target=TARGET), Severity.WARNING) == ["R3"]
    all_down = dataclasses.replace(
        SOURCE, nodes=tuple(dataclasses.replace(n, reachable=False) for n in SOURCE.nodes)
    )
    assert _rules_of(rules.preflight(source=all_down, target=TARGET)) == ["R3"]
    tftp_down = dataclasses.replace(
        TARGET, nodes=(dataclasses.replace(TARGET.nodes[0], reachable=False), *TARGET.nodes[1:])
    )
    found = rules.preflight(source=SOURCE, target=tftp_down)
    assert _rules_of(found) == ["R3"] and found[0].address == "tftp.new.n-pub"


def test_bulk_method_r9_and_r10() -> None:
    same = SftpLocation("sftp.lab", "/certs")
    ok = BulkSetup(source=same, target=same, consolidate_on=("new",))
    assert rules.preflight(source=SOURCE, target=TARGET, method=Method.BULK, bulk=ok) == []
    wrong = BulkSetup(source=same, target=SftpLocation("sftp.lab", "/other"), consolidate_on=("new", "old"))
    found = rules.preflight(source=SOURCE, target=TARGET, method=Method.BULK, bulk=wrong)
    assert _rules_of(found) == ["R9", "R9"]
    assert any("same SFTP server and directory" in d.summary for d in found)
    assert (
        _rules_of(rules.preflight(source=SOURCE, target=TARGET, method=Method.BULK), Severity.ERROR)
        == ["R9"] * 3
    )
    old9 = dataclasses.replace(SOURCE, version=CucmVersion("9.1.2.10000-28"))
    r10 = rules.preflight(source=old9, target=TARGET, method=Method.BULK, bulk=ok)
    assert _rules_of(r10, Severity.WARNING) == ["R10"] and "CSCuy43181" in r10[0].summary
    before_fix_line = dataclasses.replace(TARGET, version=CucmVersion("10.5.2.12900-14"))
    assert rules.preflight(source=old9, target=before_fix_line, method=Method.BULK, bulk=ok) == []
    assert rules.preflight(source=old9, target=TARGET, method=Method.MANUAL) == []  # R10 is about bulk only


def _with_trust(facts: ClusterFacts, required: list[rules.RequiredCert]) -> ClusterFacts:
    trust = {s.value: frozenset(r.cert.identity for r in required if r.store is s) for s in Store}
    return dataclasses.replace(facts, nodes=tuple(dataclasses.replace(n, trust=trust) for n in facts.nodes))


def test_order_checks_r7_r8_r12() -> None:
    required = rules.required_trust(source=SOURCE, target=TARGET)
    ready = _with_trust(SOURCE, required)
    assert rules.order_checks(source=ready, target=TARGET) == []
    missing_everywhere = rules.order_checks(source=SOURCE, target=TARGET)
    assert sorted(set(_rules_of(missing_everywhere))) == ["R12", "R4", "R5", "R6"]
    r12 = missing_everywhere[-1]
    assert (
        r12.rule == "R12" and r12.summary.endswith("R4, R5, R6 not satisfied") and r12.address == "option150"
    )
    not_replicated = dataclasses.replace(
        ready, nodes=(ready.nodes[0], dataclasses.replace(ready.nodes[1], trust={}))
    )
    r7 = rules.order_checks(source=not_replicated, target=TARGET)
    assert set(_rules_of(r7)) == {"R7", "R12"} and len([d for d in r7 if d.rule == "R7"]) == len(required)
    stale = dataclasses.replace(
        ready,
        nodes=(dataclasses.replace(ready.nodes[0], tvs_started_at=NOW - timedelta(hours=2)), ready.nodes[1]),
    )
    r8 = rules.order_checks(source=stale, target=TARGET)
    assert _rules_of(r8) == ["R8", "R12"] and r8[0].address == "tvs.old.o-pub"
    assert r8[0].fix and "one node at a time" in r8[0].fix
    stopped = dataclasses.replace(
        ready, nodes=(dataclasses.replace(ready.nodes[0], tvs_started_at=None), ready.nodes[1])
    )
    assert "not running" in rules.order_checks(source=stopped, target=TARGET)[0].summary
    blocked = rules.order_checks(source=dataclasses.replace(ready, rollback_to_pre8=True), target=TARGET)
    assert _rules_of(blocked) == ["R12"] and "R2 not satisfied" in blocked[0].summary


def test_rollback_readiness_and_rollback_wanted() -> None:
    required = rules.required_trust(source=SOURCE, target=TARGET)
    ready = _with_trust(SOURCE, required)
    warnings = rules.rollback_readiness(source=ready, target=TARGET)
    assert (
        warnings
        and {d.severity for d in warnings} == {Severity.WARNING}
        and {d.rule for d in warnings} == {"R11"}
    )
    wanted = rules.order_checks(source=ready, target=TARGET, rollback_wanted=True)
    assert "R11" in _rules_of(wanted) and wanted[-1].rule == "R12"
    reverse_ready = _with_trust(
        TARGET, rules.required_trust(source=SOURCE, target=TARGET, direction=Direction.REVERSE)
    )
    assert rules.rollback_readiness(source=ready, target=reverse_ready) == []
