"""Every procedure scenario (docs/cucm-domain.md#what-tvs-knows) with real keys and really signed ITL/CTL
files: the rules the planner runs (``reconciler.cucm.movetrust`` for required trust, ``reconciler.cucm.rules``
for preflight; the trust in
place through ``reconciler.plan.drift``: missing R4-R6/R11, not replicated R7, TVS not fresh R8) and the
phone's trust decision (``reconciler.cucm.trust``) must agree on what happens and say why (decision *and*
reason asserted in each test). The order R12 (option 150 after all of it) is the graph's: test_graph."""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.config.desired import DesiredCert
from reconciler.cucm import movetrust, rules
from reconciler.cucm.certs import identity_of
from reconciler.cucm.facts import Direction, Store
from reconciler.cucm.tlv import Role
from reconciler.cucm.trust import TrustList
from reconciler.diagnostics import Diagnostic, Severity
from reconciler.plan import drift
from reconciler.state.store import StateSnapshot
from schemas.trust import TrustMode
from schemas.version import CucmVersion
from tests.scenarios.two_clusters import Boot, Cluster, Node, Phone, boot

CM_TRUST, SAST_TRUST = Store.CALLMANAGER_TRUST.value, Store.PHONE_SAST_TRUST.value


def source_cluster() -> Cluster:
    return Cluster(
        name="old",
        version=CucmVersion("11.5.1.12900-21"),
        nodes=[
            Node("cucm-old-pub", publisher=True),
            Node("cucm-old-sub1"),
            Node("cucm-old-sub2", tftp=False),
        ],
    )


def target_cluster(version: str = "14.0.1.11900-132") -> Cluster:
    return Cluster(
        name="new",
        version=CucmVersion(version),
        nodes=[Node("cucm-new-pub", publisher=True), Node("cucm-new-sub1")],
    )


def establish_trust(source: Cluster, target: Cluster, *, skip: Iterable[tuple[str, str]] = ()) -> None:
    """Method 2 (R4-R8): upload what ``required_trust`` names on the source publisher, replicate, restart
    TVS everywhere. ``skip`` leaves out (cert_id, store) pairs to build the failure scenarios."""
    certs_by_id = {n.name: target.cm(n.name) for n in target.nodes}
    certs_by_id[f"ITLRecovery-{target.name}"] = target.itl_recovery
    for req in movetrust.required_trust(source=source.facts(), target=target.facts()):
        if (req.cert_id, req.store.value) not in set(skip):
            source.upload(certs_by_id[req.cert_id], req.store.value)
    source.replicate()
    source.restart_tvs()


def pair(cert_id: str) -> list[tuple[str, str]]:
    return [(cert_id, CM_TRUST), (cert_id, SAST_TRUST)]


def errors(diagnostics: list) -> list[tuple[str | None, str]]:  # type: ignore[type-arg]
    return [(d.rule, d.summary) for d in diagnostics if d.severity is Severity.ERROR]


def trust_in_place(
    source: Cluster, target: Cluster, *, direction: Direction = Direction.FORWARD
) -> list[Diagnostic]:
    """What the planner's drift checks find when the declaration names exactly the trust the move needs
    in ``direction`` (``required_trust``): missing on the publisher (R4-R6, R11), not replicated to a TVS
    node (R7), a TVS not known to have started after it arrived (R8). Empty: the trust is in place."""
    src, tgt = source.facts(), target.facts()
    certs = [
        DesiredCert(
            cluster=r.cluster,
            store=r.store.value,
            cert_id=r.cert_id,
            cert=r.cert,
            origin=r.origin,
            pem=None,
            mode=TrustMode.MERGE,
        )
        for r in movetrust.required_trust(source=src, target=tgt, direction=direction)
    ]
    facts = {src.name: src, tgt.name: tgt}
    found = drift.trust_findings(certs, facts, rule_of=drift.required_rules(source=src, target=tgt))
    return found + drift.tvs_findings(source=src, target=tgt, state=StateSnapshot())


def move(
    source: Cluster,
    target: Cluster,
    *,
    group: list[str] | None = None,
    phone: Phone | None = None,
    tftp: str = "cucm-new-pub",
) -> Boot:
    phone = phone or Phone.registered_on(source, tftp="cucm-old-pub")
    servers = source.tvs_servers(group or ["cucm-old-pub", "cucm-old-sub1"])
    return boot(phone, target=target, tftp=tftp, tvs=servers)


def test_happy_path_phone_moves_via_source_tvs() -> None:
    """R4-R8 satisfied: the target CTL is vouched for by the source TVS, ITL and config verify locally."""
    source, target = source_cluster(), target_cluster()
    establish_trust(source, target)
    assert errors(rules.preflight(source=source.facts(), target=target.facts())) == []
    assert errors(trust_in_place(source, target)) == []
    result = move(source, target)
    assert result.moved
    ctl, itl, config = result.decisions
    assert ctl.path == "vouched by TVS cucm-old-pub with roles SAST, TFTP"
    assert "TVS cucm-old-pub knows the CTL signer CN=ITLRECOVERY_cucm-new-pub" in ctl.reason
    assert itl.path == "signer in CTL" and "SAST record of the phone's CTL" in itl.reason
    assert config.path == "signer in CTL" and "CCM_TFTP record" in config.reason


def test_r4_missing_tftp_node_certificate_pre12_target() -> None:
    """R4: a pre-12 target signs its CTL with the publisher's CallManager (a TFTP node). Without it in
    the source stores no TVS vouches, and the rules name the missing certificate and where it goes."""
    source, target = source_cluster(), target_cluster("11.5.1.12900-21")
    establish_trust(source, target, skip=pair("cucm-new-pub"))
    found = errors(trust_in_place(source, target))
    assert found == [
        ("R4", "CallManager-trust of old lacks CallManager of cucm-new-pub (runs Cisco Tftp) on cluster new"),
        ("R5", "Phone-SAST-trust of old lacks CallManager of cucm-new-pub (runs Cisco Tftp) on cluster new"),
    ]
    result = move(source, target)
    assert not result.moved
    assert result.last.rule == "R4"
    assert result.last.reason.startswith("no TVS server knows signer CN=cucm-new-pub;OU=new")
    assert "(asked: cucm-old-pub)" in result.last.reason


def test_r4_subscriber_certificate_missing_is_stricter_than_the_model() -> None:
    """R4 for a TFTP subscriber: the procedure requires it; the model still moves the phone, because the
    installed target CTL lists cucm-new-sub1 as CCM+TFTP. The plan reports the R4 error anyway."""
    source, target = source_cluster(), target_cluster()
    establish_trust(source, target, skip=pair("cucm-new-sub1"))
    found = errors(trust_in_place(source, target))
    assert {rule for rule, _ in found} == {"R4", "R5"}
    assert all("cucm-new-sub1" in s for rule, s in found if rule in ("R4", "R5"))
    result = move(source, target, tftp="cucm-new-sub1")
    assert result.moved
    assert result.decisions[2].path == "signer in CTL"


def test_r5_only_callmanager_trust_cannot_vouch_for_a_ctl() -> None:
    """R5: in CallManager-trust only, TVS returns role TFTP, but a CTL signer needs SAST."""
    source, target = source_cluster(), target_cluster("12.5.1.10000-22")
    establish_trust(source, target, skip=[("ITLRecovery-new", SAST_TRUST)])
    found = errors(trust_in_place(source, target))
    assert found == [("R6", "Phone-SAST-trust of old lacks ITLRecovery of new on cluster new")]
    result = move(source, target)
    assert not result.moved
    assert result.last.rule == "R5"
    assert result.last.reason.startswith("TVS cucm-old-pub knows the CTL signer CN=ITLRECOVERY_cucm-new-pub")
    assert "only with roles TFTP; a CTL needs SAST" in result.last.reason


def test_r6_itlrecovery_missing_for_11_5_to_14_0() -> None:
    """R6: 11.5 -> 14.0, every target CallManager uploaded but not the target ITLRecovery, which signs the
    target's CTL: no source TVS knows it."""
    source, target = source_cluster(), target_cluster("14.0.1.11900-132")
    establish_trust(source, target, skip=pair("ITLRecovery-new"))
    found = errors(trust_in_place(source, target))
    assert sorted(rule for rule, _ in found) == ["R6", "R6"]
    result = move(source, target)
    assert not result.moved
    assert result.last.rule == "R6"
    serial = identity_of(target.itl_recovery.cert).serial_hex
    assert result.last.reason == (
        "no TVS server knows signer CN=ITLRECOVERY_cucm-new-pub;OU=new;O=Reconciler Lab;C=US serial "
        f"{serial} (asked: cucm-old-pub)"
    )


def test_r8_tvs_not_restarted_has_a_stale_cache() -> None:
    """R8: certificates uploaded and replicated, but TVS on the publisher still runs with the cache it
    loaded before the change. The phone asks it first and is turned away; a restarted TVS vouches."""
    source, target = source_cluster(), target_cluster()
    establish_trust(source, target)
    stale = source.node("cucm-old-pub")
    stale.cache = type(stale.cache)()  # the cache it loaded at an earlier start
    stale.tvs_started_at = stale.trust_changed_at.replace(year=2025)
    found = errors(trust_in_place(source, target))
    assert [rule for rule, _ in found] == ["R8"]
    assert found[0][1].startswith("TVS on cucm-old-pub (old) is stale: TVS on cucm-old-pub started 2025-")
    result = move(source, target, group=["cucm-old-pub", "cucm-old-sub1"])
    assert not result.moved
    assert result.last.rule == "R8"
    assert result.last.reason.startswith(
        "TVS cucm-old-pub started before its trust stores received the CTL signer"
    )
    # a phone whose CallManager group asks the restarted subscriber first moves
    other = move(source, target, group=["cucm-old-sub1", "cucm-old-pub"])
    assert other.moved and other.decisions[0].tvs == "cucm-old-sub1"
    # restarting fixes it
    source.restart_tvs(only=["cucm-old-pub"])
    assert errors(trust_in_place(source, target)) == []
    assert move(source, target).moved


def test_r7_tvs_restarted_before_replication_reached_the_node() -> None:
    """R7: TVS on a subscriber restarted while replication had not reached it: its cache lacks the
    certificates even after the restart, and the rules say to wait for replication first."""
    source, target = source_cluster(), target_cluster()
    establish_trust(source, target)
    sub = source.node("cucm-old-sub1")
    sub.trust = {s: set() for s in sub.trust}
    source.restart_tvs(only=["cucm-old-sub1"])
    found = errors(trust_in_place(source, target))
    assert {rule for rule, _ in found} == {"R7"}
    assert all("has not replicated to" in s and s.endswith("on cucm-old-sub1") for _, s in found)
    result = move(source, target, group=["cucm-old-sub1"])
    assert not result.moved and result.last.rule == "R6"
    assert result.last.reason.startswith("no TVS server knows signer CN=ITLRECOVERY_cucm-new-pub")


def test_r2_rollback_parameter_true_blanks_the_itl_but_not_the_ctl() -> None:
    """R2: with 'Prepare Cluster for Rollback to pre 8.0' True the phone's ITL has no TVS records while its
    CTL still pins the source: it cannot reach TVS and rejects the target CTL, although trust is in place."""
    source, target = source_cluster(), target_cluster()
    establish_trust(source, target)
    source.rollback_to_pre8 = True
    found = errors(rules.preflight(source=source.facts(), target=target.facts()))
    assert found == [
        ("R2", "'Prepare Cluster for Rollback to pre 8.0' is True on the secure source cluster old")
    ]
    assert trust_in_place(source, target) == []  # the trust is in place: R2 alone blocks the move
    phone = Phone.registered_on(source, tftp="cucm-old-pub")
    assert phone.itl.identities_with(Role.TVS, Role.CCM_TFTP) == frozenset()
    assert len(phone.itl) == 1 and not phone.ctl.is_empty
    result = move(source, target, phone=phone)
    assert not result.moved
    assert result.last.rule == "R2"
    assert result.last.reason.startswith(
        "ITL is empty because 'Prepare Cluster for Rollback to pre 8.0' is True and the CTL still pins "
        "the source"
    )


def test_r1_phone_itl_lacks_the_tvs_certificate() -> None:
    """R1: the phone's ITL predates cucm-old-sub2 (no TVS record for it) and its CallManager group asks
    cucm-old-sub2: the TLS handshake to TVS fails."""
    source, target = source_cluster(), target_cluster()
    establish_trust(source, target)
    full = Phone.registered_on(source, tftp="cucm-old-pub")
    sub2 = identity_of(source.tvs_cert("cucm-old-sub2").cert)
    old_itl = TrustList(frozenset(e for e in full.itl.entries if e.identity != sub2))
    phone = Phone(ctl=full.ctl, itl=old_itl)
    diags = rules.check_phone_itl(
        phone="SEP001122334455", itl=phone.itl, source=source.facts(), tvs_nodes=["cucm-old-sub2"]
    )
    assert errors(diags) == [("R1", "phone SEP001122334455: ITL lacks the TVS certificate of cucm-old-sub2")]
    assert rules.check_phone_itl(phone="SEP001122334455", itl=full.itl, source=source.facts()) == []
    result = move(source, target, phone=phone, group=["cucm-old-sub2"])
    assert not result.moved
    assert result.last.rule == "R1"
    assert result.last.reason == "TVS cucm-old-sub2 presents a certificate not in the phone's ITL"
    # the next server of the group is tried after a failed handshake
    assert move(source, target, phone=phone, group=["cucm-old-sub2", "cucm-old-sub1"]).moved


def test_r3_source_tvs_unreachable() -> None:
    source, target = source_cluster(), target_cluster()
    establish_trust(source, target)
    phone = Phone.registered_on(source, tftp="cucm-old-pub")
    down = source.tvs_servers(["cucm-old-pub"], reachable=False)
    result = boot(phone, target=target, tftp="cucm-new-pub", tvs=down)
    assert not result.moved and result.last.rule == "R3"
    assert result.last.reason == "TVS cucm-old-pub is unreachable"


def test_r11_rollback_without_reverse_trust_then_with_it() -> None:
    """R11: a moved phone can only go back if the source's signers are in the target stores and the
    target TVS restarted after that. Method 2 does not do it unless declared."""
    source, target = source_cluster(), target_cluster()
    establish_trust(source, target)
    moved = move(source, target)
    assert moved.moved
    readiness = trust_in_place(source, target, direction=Direction.REVERSE)
    assert readiness and {d.rule for d in readiness} == {"R11"}
    assert all(
        d.summary.startswith("CallManager-trust of new lacks")
        or d.summary.startswith("Phone-SAST-trust of new lacks")
        for d in readiness
    )
    back = boot(moved.phone, target=source, tftp="cucm-old-pub", tvs=target.tvs_servers(["cucm-new-pub"]))
    assert not back.moved
    assert back.last.reason.startswith("no TVS server knows signer CN=cucm-old-pub;OU=old")
    # declare reverse trust: the source's CallManager certificates into the target's two stores
    reverse = movetrust.required_trust(
        source=source.facts(), target=target.facts(), direction=Direction.REVERSE
    )
    for req in reverse:
        assert req.rule == "R11" and req.cluster == "new"
        target.upload(source.cm(req.cert_id), req.store.value)
    target.replicate()
    stale = trust_in_place(source, target, direction=Direction.REVERSE)  # TVS not restarted yet
    assert stale and {(d.rule, d.address) for d in stale} == {
        ("R8", "tvs.new.cucm-new-pub"),
        ("R8", "tvs.new.cucm-new-sub1"),
    }
    target.restart_tvs()
    assert trust_in_place(source, target, direction=Direction.REVERSE) == []
    again = boot(moved.phone, target=source, tftp="cucm-old-pub", tvs=target.tvs_servers(["cucm-new-pub"]))
    assert again.moved
    assert again.decisions[0].path == "vouched by TVS cucm-new-pub with roles SAST, TFTP"
