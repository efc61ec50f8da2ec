"""ITL and CTL files of a simulated TFTP node, built with the real TLV codec and really signed.

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

from cryptography import x509

from reconciler.cucm import tlv
from reconciler.cucm.certs import IssuedCert
from reconciler.cucm.tlv import Digest, Role, TlvRecord
from reconciler.cucm.trust import FileKind, SignedFile, TrustList

__all__ = ["FileInputs", "NodeCerts", "ServedFile", "build_ctl", "build_itl", "served_file", "signer_digest"]


@dataclass(frozen=True, slots=True, eq=False)
class ServedFile:
    """One signed ITL or CTL as a TFTP node serves it (bytes and parsed form). Hashes by identity."""

    kind: str  # "ITL" | "CTL"
    cluster: str
    node: str  # the TFTP node that built it ("" for files made outside a cluster, e.g. stale ITLs)
    data: bytes
    parsed: tlv.TlvFile
    trust: TrustList  # what a phone holding this file trusts (shared, hashable)
    signed: SignedFile  # kind and signer, as the trust decision sees the download
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
    itl_recovery: dict[str, IssuedCert]  # per node before 12.5; the cluster's one under every key from 12.5
    capf: IssuedCert | None
    timestamp: int


def signer_digest(modern: bool) -> Digest:
    """SHA-1 as CUCM's pre-12 files, SHA-512 for 12.0+ ([I]: docs/cucm-domain.md#tftp-itl-and-ctl)."""
    return Digest.SHA512 if modern else Digest.SHA1


def _rec(cert: x509.Certificate, role: Role, node: NodeCerts | None = None) -> TlvRecord:
    return tlv.record_from_certificate(
        cert, role=role, dns_name=node.host if node else "", ip=node.ip if node else None
    )


def served_file(*, kind: str, cluster: str, node: str, data: bytes, label: str = "") -> ServedFile:
    """Wrap signed bytes: parse them and derive the trust list and signer once."""
    parsed = tlv.parse(data)
    return ServedFile(
        kind=kind,
        cluster=cluster,
        node=node,
        data=data,
        parsed=parsed,
        trust=TrustList.from_tlv(parsed),
        signed=SignedFile.from_tlv(parsed, kind=FileKind.CTL if kind == "CTL" else FileKind.ITL),
        label=label,
    )


def _served(kind: str, inputs: FileInputs, node: str, data: bytes, label: str = "") -> ServedFile:
    return served_file(kind=kind, cluster=inputs.cluster, node=node, data=data, label=label)


def build_itl(inputs: FileInputs, *, tftp_node: str, rollback_pre8: bool) -> ServedFile:
    """The ITL of ``tftp_node`` (the empty rollback variant when ``rollback_pre8``)."""
    node = next(n for n in inputs.nodes if n.host == tftp_node)
    recovery = inputs.itl_recovery[tftp_node]
    signer = recovery if inputs.modern else node.callmanager
    signer_record = _rec(signer.cert, Role.SAST, node)
    records: list[TlvRecord] = [signer_record]
    if not rollback_pre8:
        records.append(_rec(node.callmanager.cert, Role.CCM_TFTP, node))
        if not inputs.modern:
            records.append(_rec(recovery.cert, Role.SAST, node))
        records.extend(_rec(n.tvs.cert, Role.TVS, n) for n in inputs.nodes if n.tvs is not None)
        if inputs.capf is not None:
            records.append(_rec(inputs.capf.cert, Role.CAPF))
    data = tlv.build(
        records=records,
        signer_cert=signer.cert,
        signer_key=signer.key,
        filename="ITLFile.tlv",
        digest=signer_digest(inputs.modern),
        timestamp=inputs.timestamp,
    )
    return _served("ITL", inputs, tftp_node, data, "rollback-empty" if rollback_pre8 else "")


def build_ctl(inputs: FileInputs, *, tftp_node: str) -> ServedFile:
    """The cluster's CTL (identical content on every TFTP node; built per node as CUCM does)."""
    pub = next(n for n in inputs.nodes if n.host == inputs.publisher)
    recovery = inputs.itl_recovery[inputs.publisher]
    signer = recovery if inputs.modern else pub.callmanager
    records: list[TlvRecord] = [_rec(signer.cert, Role.SAST, pub)]
    other_sast = pub.callmanager if inputs.modern else recovery
    records.append(_rec(other_sast.cert, Role.SAST, pub))
    records.extend(
        _rec(n.callmanager.cert, Role.CCM_TFTP, n) for n in inputs.nodes if n.runs_callmanager or n.runs_tftp
    )
    if inputs.capf is not None:
        records.append(_rec(inputs.capf.cert, Role.CAPF))
    data = tlv.build(
        records=records,
        signer_cert=signer.cert,
        signer_key=signer.key,
        filename="CTLFile.tlv",
        digest=signer_digest(inputs.modern),
        timestamp=inputs.timestamp,
    )
    return _served("CTL", inputs, tftp_node, data)
