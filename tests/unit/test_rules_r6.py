"""R6 per node: a 12.0–12.4 target signs each TFTP node's ITL with that node's own ITLRecovery and the
CTL with the publisher's, so the required trust names every one of them; from 12.5 (the configurable
boundary ``facts.ITLRECOVERY_CLUSTER_WIDE_FROM``) one cluster-wide certificate. Hand-built facts with
real certificates."""

from __future__ import annotations

import dataclasses

from reconciler.cucm import movetrust, rules
from reconciler.cucm.facts import CertRef, ClusterFacts, NodeFacts, Store, itl_recovery_per_node
from reconciler.diagnostics import Severity
from reconciler.plan.fingerprint import fingerprint_of
from schemas.version import CucmVersion
from tests.cucm_material import identity
from tests.unit.test_rules import CM, SOURCE, node


def _recovery(name: str) -> CertRef:
    return CertRef.of(identity("ITLRecovery", name, "new").cert)


def _target(version: str, *, sub_recovery: bool = True) -> ClusterFacts:
    pub = dataclasses.replace(node("n-pub", "new", publisher=True), itl_recovery=_recovery("n-pub"))
    sub = dataclasses.replace(node("n-sub", "new"), itl_recovery=_recovery("n-sub") if sub_recovery else None)
    cm_only = dataclasses.replace(node("n-cm", "new", services=(CM,)), itl_recovery=_recovery("n-cm"))
    return ClusterFacts(
        name="new", version=CucmVersion(version), nodes=(pub, sub, cm_only), itl_recovery=pub.itl_recovery
    )


def _r6(required: list[movetrust.RequiredCert]) -> set[tuple[str, Store, str]]:
    return {(r.cert_id, r.store, r.cert.subject) for r in required if r.rule == "R6"}


def test_the_version_boundary() -> None:
    assert not itl_recovery_per_node(CucmVersion("11.5.1"))
    assert itl_recovery_per_node(CucmVersion("12.0.1.10000-10"))
    assert itl_recovery_per_node(CucmVersion("12.4"))
    assert not itl_recovery_per_node(CucmVersion("12.5.1"))
    assert not itl_recovery_per_node(CucmVersion("14.0"))
    assert itl_recovery_per_node(CucmVersion("12.5.1"), cluster_wide_from=(14, 0))  # configurable


def test_a_12_0_target_needs_the_itlrecovery_of_the_publisher_and_every_tftp_node() -> None:
    target = _target("12.0.1.10000-10")
    got = _r6(movetrust.required_trust(source=SOURCE, target=target))
    ids = {(cert_id, store) for cert_id, store, _ in got}
    assert ids == {
        (cert_id, store)
        for cert_id in ("ITLRecovery-new", "ITLRecovery-n-sub")
        for store in (Store.CALLMANAGER_TRUST, Store.PHONE_SAST_TRUST)
    }  # n-cm runs no TFTP: its ITLRecovery signs nothing phones load
    subjects = {cert_id: subject for cert_id, _, subject in got}
    assert subjects["ITLRecovery-n-sub"] == _recovery("n-sub").subject
    assert subjects["ITLRecovery-new"] == _recovery("n-pub").subject
    origin = next(r.origin for r in movetrust.required_trust(source=SOURCE, target=target)
                  if r.cert_id == "ITLRecovery-n-sub")  # fmt: skip
    assert "n-sub" in origin and "its ITL" in origin


def test_from_12_5_one_itlrecovery_for_the_cluster() -> None:
    got = _r6(movetrust.required_trust(source=SOURCE, target=_target("12.5.1")))
    assert {cert_id for cert_id, _, _ in got} == {"ITLRecovery-new"}
    moved = dataclasses.replace(_target("12.5.1"), itl_recovery_cluster_wide_from=(14, 0))
    assert {c for c, _, _ in _r6(movetrust.required_trust(source=SOURCE, target=moved))} == {
        "ITLRecovery-new",
        "ITLRecovery-n-sub",
    }


def test_preflight_names_a_tftp_node_whose_itlrecovery_was_not_read() -> None:
    found = rules.preflight(source=SOURCE, target=_target("12.0.1", sub_recovery=False))
    r6 = [d for d in found if d.rule == "R6"]
    assert len(r6) == 1 and r6[0].severity is Severity.ERROR
    assert "n-sub" in r6[0].summary and r6[0].address == "node.new.n-sub"
    assert not [d for d in rules.preflight(source=SOURCE, target=_target("12.0.1")) if d.rule == "R6"]


def test_r14_a_regenerated_node_itlrecovery_is_an_identity_change() -> None:
    planned = _target("12.0.1")
    nodes = tuple(
        dataclasses.replace(n, itl_recovery=_recovery("other")) if n.name == "n-sub" else n
        for n in planned.nodes
    )
    live = dataclasses.replace(planned, nodes=nodes)
    # the planner's own R14 check: the saved plan's fingerprint of the live facts
    before = fingerprint_of(facts={"new": planned}, params={}, option150={})
    after = fingerprint_of(facts={"new": live}, params={}, option150={})
    assert {k for k in before if before[k] != after.get(k)} == {"itlrecovery/new/n-sub"}


def test_node_facts_default_has_no_itlrecovery() -> None:
    assert NodeFacts(name="x").itl_recovery is None
