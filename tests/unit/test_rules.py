"""reconciler.cucm.movetrust: required trust (R4-R6, R11); reconciler.cucm.rules: preflight (R1-R3, R9,
R10); and, over the same facts, the planner's own checks that the trust is in place (drift: R4-R8,
R11) and declared (coverage: R11), over hand-built cluster facts with real certificates (R14 is the
plan fingerprint's: test_planner_fresh; the R12 order is the graph's: test_graph)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from reconciler.config.desired import DesiredCert
from reconciler.cucm import movetrust, rules
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
from reconciler.plan import checks, drift
from reconciler.state.store import StateSnapshot
from reconciler.vocabulary import PHONE_TRUST_STORES
from schemas.trust import TrustMode
from schemas.version import CucmVersion
from tests.cucm_material import NOW, identity
from tests.unit.fake_estate import desired

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
    required = movetrust.required_trust(source=SOURCE, target=TARGET)
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
    ids = {r.cert_id for r in movetrust.required_trust(source=SOURCE, target=target)}
    assert ids == {"p-tftp", "p-pub"}  # publisher CallManager signs the pre-12 CTL


def test_required_trust_reverse_is_r11_into_the_target() -> None:
    required = movetrust.required_trust(source=SOURCE, target=TARGET, direction=Direction.REVERSE)
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


def _with_trust(facts: ClusterFacts, required: list[movetrust.RequiredCert]) -> ClusterFacts:
    trust = {s.value: frozenset(r.cert.identity for r in required if r.store is s) for s in Store}
    return dataclasses.replace(facts, nodes=tuple(dataclasses.replace(n, trust=trust) for n in facts.nodes))


def declared(required: list[movetrust.RequiredCert]) -> list[DesiredCert]:
    """A declaration naming exactly what ``required_trust`` requires."""
    return [
        DesiredCert(
            cluster=r.cluster,
            store=r.store.value,
            cert_id=r.cert_id,
            cert=r.cert,
            origin=r.origin,
            pem=None,
            mode=TrustMode.MERGE,
        )
        for r in required
    ]


def in_place(source: ClusterFacts, target: ClusterFacts, *, direction: Direction = Direction.FORWARD) -> list:  # type: ignore[type-arg]
    """What the planner's drift checks find about the required trust of ``direction`` on live facts:
    missing on the publisher (R4-R6, R11) or not replicated (R7), and every TVS not known fresh (R8)."""
    required = movetrust.required_trust(source=source, target=target, direction=direction)
    found = drift.trust_findings(
        declared(required),
        {source.name: source, target.name: target},
        rule_of=drift.required_rules(source=source, target=target),
    )
    return found + drift.tvs_findings(source=source, target=target, state=StateSnapshot())


def test_trust_in_place_r4_to_r8() -> None:
    """The trust the move needs, checked on live facts by drift's functions (which the planner's
    replication checks and TVS restarts mirror, R7 R8)."""
    required = movetrust.required_trust(source=SOURCE, target=TARGET)
    ready = _with_trust(SOURCE, required)
    assert in_place(ready, TARGET) == []
    missing_everywhere = in_place(SOURCE, TARGET)
    assert sorted(_rules_of(missing_everywhere)) == ["R4", "R4", "R5", "R5", "R6", "R6"]
    itl = next(d for d in missing_everywhere if d.rule == "R6")
    assert itl.address == "trust.old.CallManager-trust.ITLRecovery-new"
    not_replicated = dataclasses.replace(
        ready, nodes=(ready.nodes[0], dataclasses.replace(ready.nodes[1], trust={}))
    )
    r7 = in_place(not_replicated, TARGET)
    assert set(_rules_of(r7)) == {"R7"} and len(r7) == len(required)
    assert all(d.summary.endswith("on o-sub") for d in r7)
    stale = dataclasses.replace(
        ready,
        nodes=(dataclasses.replace(ready.nodes[0], tvs_started_at=NOW - timedelta(hours=2)), ready.nodes[1]),
    )
    r8 = in_place(stale, TARGET)
    assert _rules_of(r8) == ["R8"] and r8[0].address == "tvs.old.o-pub"
    assert "is stale" in r8[0].summary and "before the last trust change" in r8[0].summary
    stopped = dataclasses.replace(
        ready, nodes=(dataclasses.replace(ready.nodes[0], tvs_started_at=None), ready.nodes[1])
    )
    assert "reports no start time" in in_place(stopped, TARGET)[0].summary


def test_rollback_needs_reverse_trust_r11() -> None:
    """R11 on live facts: the reverse trust missing from the target is R11, and with it uploaded the
    target's TVS must have started after it (R8)."""
    required = movetrust.required_trust(source=SOURCE, target=TARGET)
    ready = _with_trust(SOURCE, required)
    missing = in_place(ready, TARGET, direction=Direction.REVERSE)
    assert missing and set(_rules_of(missing)) == {"R11"}
    assert {d.address for d in missing} == {
        f"trust.new.{s.value}.{n}" for s in PHONE_TRUST_STORES for n in ("o-pub", "o-sub")
    }
    reverse = movetrust.required_trust(source=SOURCE, target=TARGET, direction=Direction.REVERSE)
    reverse_ready = _with_trust(TARGET, reverse)
    assert in_place(ready, reverse_ready, direction=Direction.REVERSE) == []
    not_restarted = dataclasses.replace(
        reverse_ready,
        nodes=tuple(
            dataclasses.replace(n, trust_changed_at=NOW + timedelta(minutes=1)) for n in reverse_ready.nodes
        ),
    )
    stale = in_place(ready, not_restarted, direction=Direction.REVERSE)
    assert set(_rules_of(stale)) == {"R8"}
    assert {d.address for d in stale} == {"tvs.new.n-pub", "tvs.new.n-sub"}  # n-cm runs no TVS


def test_coverage_requires_the_reverse_trust_only_when_rollback_is_allowed_r11() -> None:
    """The planner's coverage (``reconciler.plan.checks``): with allow_rollback the reverse trust is
    required (R11 errors until declared); without it, one INFO says whether rollback is possible."""
    forward = movetrust.required_trust(source=SOURCE, target=TARGET)
    reverse = movetrust.required_trust(source=SOURCE, target=TARGET, direction=Direction.REVERSE)
    wanted = desired(allow_rollback=True)
    gaps = checks.coverage(desired=wanted, source=SOURCE, target=TARGET, certs=declared(forward))
    assert not gaps.rollback_possible
    assert sorted(d.address or "" for d in gaps.diagnostics) == sorted(r.address for r in reverse)
    assert {(d.rule, d.severity) for d in gaps.diagnostics} == {("R11", Severity.ERROR)}
    full = checks.coverage(desired=wanted, source=SOURCE, target=TARGET, certs=declared(forward + reverse))
    assert full.rollback_possible and full.diagnostics == ()
    info = checks.coverage(desired=desired(), source=SOURCE, target=TARGET, certs=declared(forward))
    assert [(d.rule, d.severity) for d in info.diagnostics] == [("R11", Severity.INFO)]
    assert info.diagnostics[0].summary.startswith("rollback to old is not possible")
