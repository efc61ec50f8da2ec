"""Unit tests of the ITL/CTL files the model's TFTP nodes serve: real TLV, really signed, the right
signer per version, the right records, rebuilt on identity/parameter changes (R2, R6, R14)."""

from __future__ import annotations

import pytest

from reconciler.cucm import certs, tlv
from reconciler.cucm.certs import IdentityKind
from reconciler.cucm.tlv import Role
from reconciler.errors import SignatureError, UnreachableError
from simulator.model import playbook as pb
from simulator.model.build import build_lab
from simulator.model.clock import ManualClock
from simulator.model.cluster import ROLLBACK_PARAMETER
from simulator.model.lab import Lab
from simulator.model.services import TFTP, ServiceAction
from simulator.spec import default_lab


@pytest.fixture(scope="module")
def lab() -> Lab:
    return build_lab(default_lab(phones_per_scope=1), clock=ManualClock())


def parsed(lab: Lab, cluster: str, node: str, name: str) -> tlv.TlvFile:
    data = lab.tftp_file(cluster, node, name)
    assert data is not None
    return tlv.parse(data)


def ident(lab: Lab, cluster: str, node: str, kind: IdentityKind) -> certs.CertIdentity:
    issued = lab.identity(cluster, node, kind)
    assert issued is not None
    return certs.identity_of(issued.cert)


def roles(file: tlv.TlvFile) -> set[tuple[certs.CertIdentity | None, int]]:
    return {(r.identity, r.role) for r in file.records}


@pytest.mark.parametrize("node", ["cucm-old-pub", "cucm-old-sub1"])
def test_pre12_itl_is_signed_by_the_tftp_nodes_callmanager_and_lists_every_tvs(lab: Lab, node: str) -> None:
    itl = parsed(lab, "old", node, "ITLFile.tlv")
    signer = tlv.verify(itl)
    assert signer.identity == ident(lab, "old", node, IdentityKind.CALLMANAGER)
    assert itl.digest is tlv.Digest.SHA1
    tvs = {r.identity for r in itl.records_with_role(Role.TVS)}
    assert tvs == {
        ident(lab, "old", n, IdentityKind.TVS) for n in ("cucm-old-pub", "cucm-old-sub1", "cucm-old-sub2")
    }
    assert (ident(lab, "old", node, IdentityKind.CALLMANAGER), Role.CCM_TFTP) in roles(itl)
    assert (ident(lab, "old", node, IdentityKind.ITLRECOVERY), Role.SAST) in roles(itl)
    assert (ident(lab, "old", "cucm-old-pub", IdentityKind.CAPF), Role.CAPF) in roles(itl)


def test_12x_itl_and_ctl_are_signed_by_the_single_itlrecovery(lab: Lab) -> None:
    recovery = ident(lab, "new", "cucm-new-pub", IdentityKind.ITLRECOVERY)
    assert ident(lab, "new", "cucm-new-sub1", IdentityKind.ITLRECOVERY) == recovery  # one per cluster (12.5+)
    for node in ("cucm-new-pub", "cucm-new-sub1"):
        for name in ("ITLFile.tlv", "CTLFile.tlv"):
            file = parsed(lab, "new", node, name)
            assert tlv.verify(file).identity == recovery
            assert file.digest is tlv.Digest.SHA512


def test_ctl_has_sast_ccm_tftp_per_node_capf_and_no_tvs(lab: Lab) -> None:
    ctl = parsed(lab, "old", "cucm-old-sub1", "CTLFile.tlv")
    assert tlv.verify(ctl).identity == ident(lab, "old", "cucm-old-pub", IdentityKind.CALLMANAGER)
    assert not ctl.records_with_role(Role.TVS)
    ccm_tftp = {r.identity for r in ctl.records_with_role(Role.CCM_TFTP)}
    nodes = ("cucm-old-pub", "cucm-old-sub1", "cucm-old-sub2")
    assert ccm_tftp == {ident(lab, "old", n, IdentityKind.CALLMANAGER) for n in nodes}
    sast = {r.identity for r in ctl.records_with_role(Role.SAST)}
    assert sast == {
        ident(lab, "old", "cucm-old-pub", k) for k in (IdentityKind.CALLMANAGER, IdentityKind.ITLRECOVERY)
    }
    assert len(ctl.records_with_role(Role.CAPF)) == 1


def test_a_tampered_file_does_not_verify(lab: Lab) -> None:
    data = bytearray(lab.tftp_file("old", "cucm-old-pub", "ITLFile.tlv") or b"")
    data[-5] ^= 0xFF
    with pytest.raises(SignatureError):
        tlv.verify(tlv.parse(bytes(data)))


def test_per_phone_names_serve_the_same_bytes_and_unknown_names_none(lab: Lab) -> None:
    node = ("old", "cucm-old-pub")
    assert lab.tftp_file(*node, "ITLSEP001B54000000.tlv") == lab.tftp_file(*node, "ITLFile.tlv")
    assert lab.tftp_file(*node, "ctlsep001b54000000.tlv") == lab.tftp_file(*node, "CTLFile.tlv")
    assert lab.tftp_file(*node, "nothing.cnf") is None
    with pytest.raises(UnreachableError):
        lab.tftp_file("old", "cucm-old-sub2", "ITLFile.tlv")  # no TFTP service there


def test_rollback_parameter_serves_an_empty_itl_and_leaves_the_ctl_unchanged() -> None:
    lab = build_lab(default_lab(phones_per_scope=1), clock=ManualClock())
    ctl_before = lab.tftp_file("old", "cucm-old-pub", "CTLFile.tlv")
    lab.set_enterprise_parameter(cluster="old", name=ROLLBACK_PARAMETER, value="True")
    itl = parsed(lab, "old", "cucm-old-pub", "ITLFile.tlv")
    tlv.verify(itl)
    assert not itl.records_with_role(Role.TVS) and not itl.records_with_role(Role.CCM_TFTP)
    assert lab.tftp_file("old", "cucm-old-pub", "CTLFile.tlv") == ctl_before
    lab.set_enterprise_parameter(cluster="old", name=ROLLBACK_PARAMETER, value="False")
    assert parsed(lab, "old", "cucm-old-pub", "ITLFile.tlv").records_with_role(Role.TVS)


def test_regenerating_an_identity_rebuilds_files_and_updates_callmanager_trust() -> None:
    lab = build_lab(default_lab(phones_per_scope=1), clock=ManualClock())
    before = parsed(lab, "old", "cucm-old-pub", "ITLFile.tlv")
    old_tvs = ident(lab, "old", "cucm-old-sub2", IdentityKind.TVS)
    pb.wait(lab, 60)
    lab.regenerate_identity(cluster="old", node="cucm-old-sub2", kind=IdentityKind.TVS)
    after = parsed(lab, "old", "cucm-old-pub", "ITLFile.tlv")
    new_tvs = ident(lab, "old", "cucm-old-sub2", IdentityKind.TVS)
    assert new_tvs != old_tvs
    assert old_tvs in {r.identity for r in before.records_with_role(Role.TVS)}
    assert {r.identity for r in after.records_with_role(Role.TVS)} >= {new_tvs}
    assert old_tvs not in {r.identity for r in after.records_with_role(Role.TVS)}
    old_cm = lab.identity("old", "cucm-old-pub", IdentityKind.CALLMANAGER)
    assert old_cm is not None
    new_cm = lab.regenerate_identity(cluster="old", node="cucm-old-pub", kind=IdentityKind.CALLMANAGER)
    store = {e.view.fingerprint for e in lab.trust_store("old", "cucm-old-pub", "CallManager-trust")}
    assert certs.sha256_hex(new_cm.cert) in store and certs.sha256_hex(old_cm.cert) not in store
    assert tlv.verify(parsed(lab, "old", "cucm-old-pub", "CTLFile.tlv")).identity == certs.identity_of(
        new_cm.cert
    )


def test_non_mixed_cluster_serves_no_ctl_and_stopped_tftp_serves_nothing() -> None:
    lab = build_lab(default_lab(phones_per_scope=1), clock=ManualClock())
    lab.set_mixed_mode(cluster="new", enabled=False)
    assert lab.tftp_file("new", "cucm-new-pub", "CTLFile.tlv") is None
    assert lab.tftp_file("new", "cucm-new-pub", "ITLFile.tlv")
    lab.control_service(cluster="new", node="cucm-new-pub", name=TFTP, action=ServiceAction.STOP)
    pb.wait(lab, 30)
    with pytest.raises(UnreachableError):
        lab.tftp_file("new", "cucm-new-pub", "ITLFile.tlv")
