"""ITL and CTL files of a simulated TFTP node, written with the lab's own codec (``labtlv``), signed.

Content (docs/cucm-domain.md#who-signs-what):

* ITL (per TFTP node): the TFTP node's CallManager certificate (CCM+TFTP), every TVS certificate of the
  cluster (TVS), ITLRecovery (SAST) and the CAPF certificate (CAPF). Signed, from 12.0, by ITLRecovery;
  before 12.0 by the TFTP node's CallManager certificate (which then also appears as the SAST record).
* CTL (mixed mode only): SAST records for the publisher's CallManager and ITLRecovery, CCM+TFTP for every
  node running CallManager or TFTP, CAPF; no TVS. Signed by the publisher's CallManager (before 12.0) or
  ITLRecovery (12.0+).
* With "Prepare Cluster for Rollback to pre 8.0" = True the ITL is served "empty" (only its signer's SAST
  record: no TVS, no TFTP section) while the CTL is unchanged (R2).

``ServedFile`` objects are immutable and shared: every phone holding a file references the same object,
and the phone-boot memo keys on object identity. Called by ``simulator.model.cluster``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from ..labcerts import IssuedCert
from . import labtlv
from .labtlv import LabDigest, LabRole, LabTlvFile

__all__ = ["FileInputs", "NodeCerts", "ServedFile", "build_ctl", "build_itl", "served_file", "signer_digest"]


@dataclass(frozen=True, slots=True, eq=False)
class ServedFile:
    """One signed ITL or CTL as a TFTP node serves it (bytes, and parsed by the lab). Hashes by identity."""

    kind: str  # "ITL" | "CTL"
    cluster: str
    node: str  # the TFTP node that built it ("" for files made outside a cluster, e.g. stale ITLs)
    data: bytes
    parsed: LabTlvFile
    label: str = ""  # e.g. "rollback-empty", "stale" (diagnostics only)

    def __repr__(self) -> str:
        extra = f" {self.label}" if self.label else ""
        return f"<{self.kind} {self.cluster}/{self.node}{extra} signer={self.parsed.signer_name}>"


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeCerts:
    """The identity certificates one node contributes to the files."""

    host: str
    ip: str
    callmanager: IssuedCert
    tvs: IssuedCert | None  # None when TVS is not activated on the node
    runs_tftp: bool
    runs_callmanager: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class FileInputs:
    """Everything the ITL/CTL of a cluster depend on; built by ``Cluster`` when anything changes."""

    cluster: str
    modern: bool  # version >= 12.0: ITLRecovery signs
    publisher: str
    nodes: Sequence[NodeCerts]
    itl_recovery: dict[str, IssuedCert]  # per node, or the cluster's one under every key when cluster-wide
    capf: IssuedCert | None
    timestamp: int


def signer_digest(modern: bool) -> LabDigest:
    """SHA-1 as CUCM's pre-12 files, SHA-512 for 12.0+ (docs/cucm-domain.md#tftp-itl-and-ctl)."""
    return LabDigest.SHA512 if modern else LabDigest.SHA1


def _rec(cert: x509.Certificate, role: LabRole, node: NodeCerts | None = None) -> bytes:
    return labtlv.record_for(
        cert, role=role, dns_name=node.host if node else "", ip=node.ip if node else None
    )


def served_file(*, kind: str, cluster: str, node: str, data: bytes, label: str = "") -> ServedFile:
    """Wrap signed bytes: parse them once with the lab's reader."""
    return ServedFile(kind=kind, cluster=cluster, node=node, data=data, parsed=labtlv.read(data), label=label)


def _served(kind: str, inputs: FileInputs, node: str, data: bytes, label: str = "") -> ServedFile:
    return served_file(kind=kind, cluster=inputs.cluster, node=node, data=data, label=label)


def _sign(records: list[bytes], signer: IssuedCert, *, filename: str, inputs: FileInputs) -> bytes:
    return labtlv.write(
        records=records,
        signer_cert=signer.cert,
        signer_key=cast(rsa.RSAPrivateKey, signer.key),
        filename=filename,
        digest=signer_digest(inputs.modern),
        timestamp=inputs.timestamp,
    )


def build_itl(inputs: FileInputs, *, tftp_node: str, rollback_pre8: bool) -> ServedFile:
    """The ITL of ``tftp_node`` (the empty rollback variant when ``rollback_pre8``)."""
    node = next(n for n in inputs.nodes if n.host == tftp_node)
    recovery = inputs.itl_recovery[tftp_node]
    signer = recovery if inputs.modern else node.callmanager
    records = [_rec(signer.cert, LabRole.SAST, node)]
    if not rollback_pre8:
        records.append(_rec(node.callmanager.cert, LabRole.CCM_TFTP, node))
        if not inputs.modern:
            records.append(_rec(recovery.cert, LabRole.SAST, node))
        records.extend(_rec(n.tvs.cert, LabRole.TVS, n) for n in inputs.nodes if n.tvs is not None)
        if inputs.capf is not None:
            records.append(_rec(inputs.capf.cert, LabRole.CAPF))
    data = _sign(records, signer, filename="ITLFile.tlv", inputs=inputs)
    return _served("ITL", inputs, tftp_node, data, "rollback-empty" if rollback_pre8 else "")


def build_ctl(inputs: FileInputs, *, tftp_node: str) -> ServedFile:
    """The cluster's CTL (identical content on every TFTP node; built per node as CUCM does)."""
    pub = next(n for n in inputs.nodes if n.host == inputs.publisher)
    recovery = inputs.itl_recovery[inputs.publisher]
    signer = recovery if inputs.modern else pub.callmanager
    records = [_rec(signer.cert, LabRole.SAST, pub)]
    other_sast = pub.callmanager if inputs.modern else recovery
    records.append(_rec(other_sast.cert, LabRole.SAST, pub))
    records.extend(
        _rec(n.callmanager.cert, LabRole.CCM_TFTP, n)
        for n in inputs.nodes
        if n.runs_callmanager or n.runs_tftp
    )
    if inputs.capf is not None:
        records.append(_rec(inputs.capf.cert, LabRole.CAPF))
    data = _sign(records, signer, filename="CTLFile.tlv", inputs=inputs)
    return _served("CTL", inputs, tftp_node, data)


def build_config(*, mac: str, cluster: str, tftp_node: NodeCerts, modern: bool, timestamp: int) -> bytes:
    """``SEP<MAC>.cnf.xml.sgn``: a signed header (the TFTP node's CallManager certificate) and the XML."""
    body = (
        f'<?xml version="1.0"?><device><deviceProtocol>SCCP</deviceProtocol>'
        f"<cluster>{cluster}</cluster><tftp>{tftp_node.host}</tftp></device>"
    ).encode()
    return labtlv.write(
        records=[],
        signer_cert=tftp_node.callmanager.cert,
        signer_key=cast(rsa.RSAPrivateKey, tftp_node.callmanager.key),
        filename=f"SEP{mac}.cnf.xml.sgn",
        digest=signer_digest(modern),
        timestamp=timestamp,
        body=body,
    )
