"""Scenario tests: drive the lab model exactly as an operator would (upload certificates on the source
publisher, wait out replication, restart TVS, change option 150, reset phones) and assert each phone's
outcome and reason — the happy path and every failure of the procedure (R1, R2, R4–R8, R11).

The clock is a ``ManualClock``: replication lag and service restarts take lab time, never wall time.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from reconciler.cucm.certs import IdentityKind
from reconciler.errors import VerificationError
from simulator.model import playbook as pb
from simulator.model.build import build_lab
from simulator.model.clock import ManualClock
from simulator.model.cluster import ROLLBACK_PARAMETER
from simulator.model.lab import Lab
from simulator.model.phones import PhoneView, RegStatus
from simulator.model.services import TVS, ServiceAction, ServiceStatus
from simulator.model.truststore import CALLMANAGER_TRUST, PHONE_SAST_TRUST
from simulator.spec import LabDefects, LabSpec, ServiceRef, default_lab

PER_SCOPE = 4
NEW_TFTP = ("127.0.20.1", "127.0.20.2")
OLD_TFTP = ("127.0.10.1", "127.0.10.2")


def make_lab(spec: LabSpec | None = None) -> Lab:
    return build_lab(spec or default_lab(phones_per_scope=PER_SCOPE), clock=ManualClock())


def outcomes(lab: Lab) -> Counter[tuple[str, RegStatus, str | None]]:
    return Counter((p.cluster, p.status, p.rule) for p in lab.phones())


def assert_all_on(lab: Lab, cluster: str, nodes: set[str]) -> None:
    phones = lab.phones()
    assert phones
    for p in phones:
        assert (p.cluster, p.status, p.reason) == (cluster, RegStatus.REGISTERED, ""), p
        assert p.node in nodes


def assert_stuck_on_old(phones: tuple[PhoneView, ...], *, rule: str, says: str) -> None:
    assert phones
    for p in phones:
        assert p.cluster == "old" and p.status is RegStatus.REGISTERED, p
        assert p.node in {"cucm-old-sub1", "cucm-old-sub2"}
        assert p.rule == rule, p.reason
        assert says in p.reason, p.reason
        assert "keeps its configuration from cluster old" in p.reason
        assert p.ctl is not None and p.ctl.cluster == "old"  # the new CTL was not installed


def manual_method(lab: Lab) -> None:
    """R4–R8 done right, then R12."""
    pb.establish_trust(lab, source="old", target="new")
    pb.wait(lab, 1)
    pb.restart_tvs_everywhere(lab, cluster="old")
    pb.point_scopes_at(lab, cluster="new")


def test_happy_path_every_phone_registers_on_the_target_and_ris_shows_both_sides() -> None:
    lab = make_lab()
    manual_method(lab)
    stats = lab.reset_phones()
    assert stats.registered == 3 * PER_SCOPE
    assert_all_on(lab, "new", {"cucm-new-sub1", "cucm-new-sub2"})
    for p in lab.phones():
        assert p.ctl is not None and p.ctl.cluster == "new" and p.itl is not None and p.itl.cluster == "new"
        assert p.cm_group == "new-cmg" and p.tftp == NEW_TFTP[0]
    new_ris = {r.device: r for r in lab.registrations("new")}
    old_ris = {r.device: r for r in lab.registrations("old")}
    assert set(new_ris) == set(old_ris) == {p.name for p in lab.phones()}
    assert {r.status for r in new_ris.values()} == {RegStatus.REGISTERED}
    assert {r.status for r in old_ris.values()} == {RegStatus.UNREGISTERED}
    assert all(r.timestamp == lab.clock.now() for r in new_ris.values())


def test_phones_that_were_not_reset_stay_on_the_source() -> None:
    lab = make_lab()
    manual_method(lab)
    lab.reset_phones(scope="scope-a")
    by_scope = {p.scope: p.cluster for p in lab.phones()}
    assert by_scope == {"scope-a": "new", "scope-b": "old", "scope-c": "old"}


def test_r1_stale_itl_in_one_scope_strands_only_that_scope() -> None:
    lab = make_lab(
        default_lab(phones_per_scope=PER_SCOPE).with_defects(LabDefects(stale_itl_scopes=("scope-b",)))
    )
    manual_method(lab)
    lab.reset_phones()
    assert_stuck_on_old(lab.phones(scope="scope-b"), rule="R1", says="certificate not in the ITL")
    for scope in ("scope-a", "scope-c"):
        assert {p.cluster for p in lab.phones(scope=scope)} == {"new"}


def test_r2_rollback_parameter_true_blanks_the_itl_and_the_move_fails() -> None:
    lab = make_lab()
    old_ctl = lab.tftp_file("old", "cucm-old-pub", "CTLFile.tlv")
    lab.set_enterprise_parameter(cluster="old", name=ROLLBACK_PARAMETER, value="True")
    assert lab.tftp_file("old", "cucm-old-pub", "CTLFile.tlv") == old_ctl  # CTL unchanged
    lab.reset_phones()  # phones pick up the empty ITL from the old TFTP
    assert all(p.itl is not None and p.itl.label == "rollback-empty" for p in lab.phones())
    assert_all_on(lab, "old", {"cucm-old-sub1"})
    manual_method(lab)
    lab.reset_phones()
    assert_stuck_on_old(lab.phones(), rule="R2", says="Prepare Cluster for Rollback to pre 8.0")


def test_r4_only_the_publishers_certificate_strands_phones_whose_tftp_is_another_node() -> None:
    """Pre-12 target without CTL: its ITL is signed per TFTP node, so every TFTP node's CallManager
    certificate must be vouched for by the source TVS (R4)."""
    spec = default_lab(phones_per_scope=PER_SCOPE)
    new = spec.cluster("new")
    spec = replace(
        spec, clusters=(spec.cluster("old"), replace(new, version="11.5.1.21900-40", mixed_mode=False))
    )
    lab = make_lab(spec)
    pb.establish_trust(lab, source="old", target="new", every_tftp_node=False, itl_recovery=False)
    pb.wait(lab, 1)
    pb.restart_tvs_everywhere(lab, cluster="old")
    lab.set_option150(scope="scope-a", addresses=(NEW_TFTP[1], NEW_TFTP[0]))  # sub1 first
    lab.set_option150(scope="scope-b", addresses=NEW_TFTP)  # publisher first
    lab.reset_phones(scope="scope-a")
    lab.reset_phones(scope="scope-b")
    stuck = lab.phones(scope="scope-a")
    assert_stuck_on_old(stuck, rule="R4", says="signed by CN=cucm-new-sub1")
    assert all(p.itl is not None and p.itl.cluster == "old" for p in stuck)
    assert {(p.cluster, p.status) for p in lab.phones(scope="scope-b")} == {("new", RegStatus.REGISTERED)}
    # uploading the missing TFTP node's certificate (and restarting TVS) fixes it
    sub1 = lab.identity("new", "cucm-new-sub1", IdentityKind.CALLMANAGER)
    assert sub1 is not None
    for store in (CALLMANAGER_TRUST, PHONE_SAST_TRUST):
        lab.upload_trust(cluster="old", node="cucm-old-pub", store=store, cert=sub1.cert)
    pb.restart_tvs_everywhere(lab, cluster="old")
    lab.reset_phones(scope="scope-a")
    assert {p.cluster for p in lab.phones(scope="scope-a")} == {"new"}


def test_r4_is_stricter_than_the_model_for_a_mixed_mode_12x_target() -> None:
    """docs/cucm-domain.md#what-tvs-knows: with a 14.0 mixed-mode target the installed CTL covers every TFTP
    node, so the model moves phones even without the subscriber's certificate; the planner still enforces
    R4."""
    lab = make_lab()
    pb.establish_trust(lab, source="old", target="new", every_tftp_node=False)
    pb.wait(lab, 1)
    pb.restart_tvs_everywhere(lab, cluster="old")
    lab.set_option150(scope="scope-a", addresses=(NEW_TFTP[1], NEW_TFTP[0]))
    lab.reset_phones(scope="scope-a")
    assert {(p.cluster, p.tftp) for p in lab.phones(scope="scope-a")} == {("new", NEW_TFTP[1])}


def test_r5_certificates_only_in_callmanager_trust_cannot_vouch_for_a_ctl() -> None:
    lab = make_lab()
    pb.establish_trust(lab, source="old", target="new", stores=(CALLMANAGER_TRUST,))
    pb.wait(lab, 1)
    pb.restart_tvs_everywhere(lab, cluster="old")
    pb.point_scopes_at(lab, cluster="new")
    lab.reset_phones()
    assert_stuck_on_old(lab.phones(), rule="R5", says="returned roles TFTP, a CTL needs SAST")


def test_r6_missing_itlrecovery_of_a_14x_target_strands_every_phone() -> None:
    lab = make_lab()
    pb.establish_trust(lab, source="old", target="new", itl_recovery=False)
    pb.wait(lab, 1)
    pb.restart_tvs_everywhere(lab, cluster="old")
    pb.point_scopes_at(lab, cluster="new")
    lab.reset_phones()
    assert_stuck_on_old(lab.phones(), rule="R6", says="ITLRECOVERY_cucm-new-pub")


def test_r7_tvs_restarted_before_replication_reached_the_node_is_stale() -> None:
    lab = make_lab()
    lab.set_replication_lag(cluster="old", seconds=120)
    pb.establish_trust(lab, source="old", target="new")
    pb.restart_tvs_everywhere(lab, cluster="old")  # ~30 s of restarts, replication needs 120 s
    cache, _ = lab.tvs_cache("old", "cucm-old-sub1")
    new_recovery = lab.identity("new", "cucm-new-pub", IdentityKind.ITLRECOVERY)
    assert cache is not None and new_recovery is not None
    pb.wait(lab, 120)  # replication has now reached every node, but TVS caches are from before
    assert any(
        e.view.subject.startswith("CN=ITLRECOVERY_cucm-new-pub")
        for e in lab.trust_store("old", "cucm-old-sub1", PHONE_SAST_TRUST)
    )
    pb.point_scopes_at(lab, cluster="new")
    lab.reset_phones()
    assert_stuck_on_old(lab.phones(), rule="R7", says="before replication reached cucm-old-sub1")
    assert "before replication reached cucm-old-sub1" in lab.phones()[0].reason
    pb.restart_tvs_everywhere(lab, cluster="old")
    lab.reset_phones()
    assert_all_on(lab, "new", {"cucm-new-sub1", "cucm-new-sub2"})


def test_r8_no_tvs_restart_means_a_stale_cache_everywhere() -> None:
    lab = make_lab()
    pb.establish_trust(lab, source="old", target="new")
    pb.wait(lab, 1)
    pb.point_scopes_at(lab, cluster="new")
    lab.reset_phones()
    assert_stuck_on_old(lab.phones(), rule="R8", says="restarted")


def test_r8_one_tvs_of_the_group_restarted_the_other_not() -> None:
    """Phones ask the TVS of their group in order and stop at the first that answers: a stale first
    TVS (sub1) strands them even though sub2 was restarted; the reverse works."""
    lab = make_lab()
    pb.establish_trust(lab, source="old", target="new")
    pb.wait(lab, 1)
    pb.point_scopes_at(lab, cluster="new")
    pb.restart_tvs_everywhere(lab, cluster="old", nodes=("cucm-old-sub2",))
    lab.reset_phones()
    assert_stuck_on_old(lab.phones(), rule="R8", says="TVS cucm-old-sub1 started before")
    pb.restart_tvs_everywhere(lab, cluster="old", nodes=("cucm-old-sub1",))
    lab.reset_phones()
    assert_all_on(lab, "new", {"cucm-new-sub1", "cucm-new-sub2"})


def test_r8_tvs_that_fails_to_restart_leaves_phones_to_the_next_tvs_of_the_group() -> None:
    spec = default_lab(phones_per_scope=PER_SCOPE).with_defects(
        LabDefects(failing_services=(ServiceRef(cluster="old", node="cucm-old-sub1", service=TVS),))
    )
    lab = make_lab(spec)
    pb.establish_trust(lab, source="old", target="new")
    pb.wait(lab, 1)
    with pytest.raises(VerificationError, match="cucm-old-sub1"):
        pb.restart_tvs_everywhere(lab, cluster="old")
    assert lab.service_status("old", "cucm-old-sub1", TVS).status is ServiceStatus.STOPPED
    pb.point_scopes_at(lab, cluster="new")
    lab.reset_phones()
    assert_stuck_on_old(
        lab.phones(), rule="R8", says="TVS cucm-old-sub2 started before"
    )  # sub2 not yet restarted
    pb.restart_tvs_everywhere(lab, cluster="old", nodes=("cucm-old-sub2",))
    lab.reset_phones()
    assert_all_on(lab, "new", {"cucm-new-sub1", "cucm-new-sub2"})
    assert all("unreachable" not in p.reason for p in lab.phones())


def test_r11_moving_back_needs_reverse_trust_and_a_target_tvs_restart() -> None:
    lab = make_lab()
    manual_method(lab)
    lab.reset_phones()
    assert_all_on(lab, "new", {"cucm-new-sub1", "cucm-new-sub2"})
    pb.point_scopes_at(lab, cluster="old")
    lab.reset_phones()
    for p in lab.phones():
        assert (p.cluster, p.status) == ("new", RegStatus.REGISTERED)
        assert (
            p.rule == "R4"
            and "signed by CN=cucm-old-pub" in p.reason
            and "does not know the signer" in p.reason
        )
    pb.establish_trust(
        lab, source="new", target="old", itl_recovery=False
    )  # reverse (R6 not needed: old < 12)
    pb.wait(lab, 1)
    lab.reset_phones()
    assert {p.rule for p in lab.phones()} == {"R8"}  # stores have it, TVS on new not restarted
    pb.restart_tvs_everywhere(lab, cluster="new")
    lab.reset_phones()
    assert_all_on(lab, "old", {"cucm-old-sub1", "cucm-old-sub2"})


def test_phones_stay_unregistered_when_no_callmanager_of_the_target_group_runs() -> None:
    lab = make_lab()
    manual_method(lab)
    for node in ("cucm-new-sub1", "cucm-new-sub2"):
        lab.control_service(cluster="new", node=node, name="Cisco CallManager", action=ServiceAction.STOP)
    pb.wait(lab, 30)
    lab.reset_phones()
    for p in lab.phones():
        assert (p.cluster, p.status, p.node) == ("new", RegStatus.UNREGISTERED, None)
        assert "no CallManager of group new-cmg" in p.reason


def test_unreachable_tftp_falls_back_to_the_next_option150_address_then_to_cached_config() -> None:
    lab = make_lab()
    manual_method(lab)
    lab.control_service(cluster="new", node="cucm-new-pub", name="Cisco Tftp", action=ServiceAction.STOP)
    pb.wait(lab, 30)
    lab.reset_phones(scope="scope-a")
    assert {(p.cluster, p.tftp) for p in lab.phones(scope="scope-a")} == {("new", NEW_TFTP[1])}
    lab.control_service(cluster="new", node="cucm-new-sub1", name="Cisco Tftp", action=ServiceAction.STOP)
    pb.wait(lab, 30)
    lab.reset_phones(scope="scope-b")
    for p in lab.phones(scope="scope-b"):
        assert (p.cluster, p.status) == ("old", RegStatus.REGISTERED)
        assert "no TFTP server reachable" in p.reason


def test_decisions_are_computed_once_per_distinct_input_combination() -> None:
    lab = make_lab(default_lab(phones_per_scope=50).with_defects(LabDefects(stale_itl_scopes=("scope-c",))))
    manual_method(lab)
    stats = lab.reset_phones()
    assert stats.phones == 150
    assert stats.distinct_decisions == 2  # healthy ITL vs stale ITL; one TFTP node, one group
    stale = lab.phones(scope="scope-c")
    assert len({id(p.itl) for p in stale}) == 1  # shared objects, not copies
    assert outcomes(lab)[("new", RegStatus.REGISTERED, None)] == 100


def test_one_batch_with_scopes_pointing_at_different_clusters_keeps_outcomes_apart() -> None:
    lab = make_lab()
    pb.establish_trust(lab, source="old", target="new")
    pb.wait(lab, 1)
    pb.restart_tvs_everywhere(lab, cluster="old")
    lab.set_option150(scope="scope-a", addresses=NEW_TFTP)
    lab.set_option150(scope="scope-c", addresses=(OLD_TFTP[1],))  # old sub1's TFTP: its own ITL
    stats = lab.reset_phones()
    assert stats.distinct_decisions == 3  # new pub TFTP, old pub TFTP, old sub1 TFTP
    assert {(p.cluster, p.reason) for p in lab.phones(scope="scope-a")} == {("new", "")}
    assert {(p.cluster, p.reason, p.tftp) for p in lab.phones(scope="scope-b")} == {("old", "", OLD_TFTP[0])}
    scope_c = lab.phones(scope="scope-c")
    assert {(p.cluster, p.reason) for p in scope_c} == {("old", "")}
    assert {p.itl.node for p in scope_c if p.itl is not None} == {"cucm-old-sub1"}  # installed sub1's ITL
