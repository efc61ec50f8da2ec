"""providers.cucm_tftp against the lab's real TFTP-over-HTTP face (127.0.40.2, port 0): cluster and
per-phone ITL/CTL files, built and signed with real keys, fetched over HTTP and decoded with
reconciler.cucm.tlv; a missing file is ``None``; a malformed one fails naming the node, file and offset."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from providers.cucm_tftp import TftpHttpClient, phone_file_names
from reconciler.cucm import tlv
from reconciler.errors import RemoteFaultError, TemporaryError, TlvError, UnreachableError
from tests.cucm_material import identity
from tests.prov_cucm_lab import CucmFaceLab

pytestmark = pytest.mark.lab

MAC = "00AA11BB22CC"


def _file(name: str, *, ctl: bool) -> bytes:
    cm = identity("CallManager", "cucm-pub", "old")
    rec = identity("ITLRecovery", "cucm-pub", "old")
    records = [
        tlv.record_from_certificate(rec.cert, role=tlv.Role.SAST),
        tlv.record_from_certificate(cm.cert, role=tlv.Role.CCM_TFTP, dns_name="cucm-pub", ip="127.0.40.1"),
    ]
    if not ctl:
        tvs = identity("TVS", "cucm-pub", "old")
        records.append(tlv.record_from_certificate(tvs.cert, role=tlv.Role.TVS, dns_name="cucm-pub"))
    return tlv.build(
        records=records,
        signer_cert=rec.cert,
        signer_key=rec.key,
        filename=name,
        digest=tlv.Digest.SHA256,
        timestamp=1_700_000_000,
    )


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[CucmFaceLab]:
    lab = CucmFaceLab(tmp_path)
    lab.backend.files = {
        "ITLFile.tlv": _file("ITLFile.tlv", ctl=False),
        "CTLFile.tlv": _file("CTLFile.tlv", ctl=True),
        f"ITLSEP{MAC}.tlv": _file(f"ITLSEP{MAC}.tlv", ctl=False),
        f"CTLSEP{MAC}.tlv": _file(f"CTLSEP{MAC}.tlv", ctl=True),
    }
    try:
        yield lab
    finally:
        lab.stop()


def _client(lab: CucmFaceLab) -> TftpHttpClient:
    return TftpHttpClient(node="cucm-pub", host=lab.tftp.host, port=lab.tftp.port)


def test_cluster_files_are_fetched_and_decoded(lab: CucmFaceLab) -> None:
    files = _client(lab).cluster_files()
    assert files.ctl is not None and files.itl is not None
    assert files.ctl.kind == "CTL" and files.itl.kind == "ITL"
    assert [r.role for r in files.itl.records] == [tlv.Role.SAST, tlv.Role.CCM_TFTP, tlv.Role.TVS]
    assert tlv.verify(files.itl).role == tlv.Role.SAST  # the signature survived the wire
    assert files.itl.raw == lab.backend.files["ITLFile.tlv"]


@pytest.mark.parametrize("mac", [MAC, "00:aa:11:bb:22:cc", f"SEP{MAC}"])
def test_per_phone_files_use_the_phone_names(lab: CucmFaceLab, mac: str) -> None:
    assert phone_file_names(mac) == (f"CTLSEP{MAC}.tlv", f"ITLSEP{MAC}.tlv")
    files = _client(lab).phone_files(mac)
    assert files.ctl is not None and files.ctl.filename == f"CTLSEP{MAC}.tlv"
    assert files.itl is not None and files.itl.filename == f"ITLSEP{MAC}.tlv"


def test_missing_files_are_none(lab: CucmFaceLab) -> None:
    del lab.backend.files["CTLFile.tlv"]  # a non-secure cluster has no CTL
    files = _client(lab).cluster_files()
    assert files.ctl is None and files.itl is not None
    assert _client(lab).fetch("ITLSEP112233445566.tlv") is None
    with pytest.raises(ValueError):
        _client(lab).fetch("../etc/passwd")


@pytest.mark.parametrize("cut", [3, 40, -7])
def test_malformed_file_names_node_file_and_offset(lab: CucmFaceLab, cut: int) -> None:
    good = lab.backend.files["ITLFile.tlv"]
    lab.backend.files["ITLFile.tlv"] = good[:cut]
    with pytest.raises(TlvError) as caught:
        _client(lab).trust_file("ITLFile.tlv")
    message = str(caught.value)
    assert "ITLFile.tlv" in message and "cucm-pub" in message and f"byte {caught.value.offset}" in message
    assert caught.value.hint and "cucm-pub" in caught.value.hint


def test_empty_file_is_malformed(lab: CucmFaceLab) -> None:
    lab.backend.files["CTLFile.tlv"] = b""
    with pytest.raises(TlvError, match=r"CTLFile.tlv served by cucm-pub .* is empty"):
        _client(lab).cluster_files()


def test_swapped_files_are_refused(lab: CucmFaceLab) -> None:
    lab.backend.files["CTLFile.tlv"] = lab.backend.files["ITLFile.tlv"]
    with pytest.raises(RemoteFaultError, match="swapped"):
        _client(lab).cluster_files()


def test_stopped_tftp_node_is_node_level_unreachable(lab: CucmFaceLab) -> None:
    """Nothing listens any more (connection refused): UnreachableError naming the node and the
    Cisco Tftp fix, the same shape as the dropped-connection fault (test_prov_faults)."""
    client = _client(lab)
    assert client.fetch("ITLFile.tlv") is not None
    lab.stop()
    with pytest.raises(UnreachableError) as caught:
        client.cluster_files()
    assert isinstance(caught.value, TemporaryError)
    assert caught.value.endpoint == client.label and "cucm-pub" in str(caught.value)
    assert caught.value.hint and "Tftp" in caught.value.hint
