"""``ModelCli``: the admin CLI of one node on the model (``CliBackend``), and ``describe_trust_file``.

Services come from ``ModelServices``, certificates from ``NodeCerts``, SQL from the cluster's
``ModelAxl`` tables, ITL/CTL bytes from ``Lab.tftp_file`` (a node whose TFTP is not running has none to
show). ``describe_trust_file`` is the ``show itl``/``show ctl`` body, parsed and verified with
``reconciler.cucm.tlv``.

Bulk certificate management (R9) is not in the model, so this adapter does the minimum honest thing on
top of trust uploads: ``export`` writes one PEM bundle per unit (``<publisher>_<unit>.pem``; CUCM writes
PKCS#12) holding the cluster's certificates of that unit, each preceded by a ``# reconciler-lab bulk:``
line naming kind, cluster and node; ``consolidate`` merges every exported bundle of a unit into
``consolidated_<unit>.pem``; ``import`` uploads the *other* clusters' certificates of the consolidated
bundle on this node with TN-215539's mapping (CallManager and ITLRecovery -> CallManager-trust and
Phone-SAST-trust; CAPF -> CallManager-trust; tomcat -> tomcat-trust). Units: ``tftp``, ``tomcat``, ``all``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import UTC, datetime

from reconciler.errors import RemoteFaultError, TlvError, UnreachableError
from simulator import labcerts
from simulator.adapters.axl import ModelAxl
from simulator.adapters.certs import NodeCerts
from simulator.adapters.services import ModelServices
from simulator.faces.backends import BulkFile, CertEntry, SqlResult, TrustFile
from simulator.labcerts import IdentityKind
from simulator.model import CALLMANAGER_TRUST, PHONE_SAST_TRUST, TOMCAT_TRUST, Lab, labtlv
from simulator.model.labtlv import LabDigest
from simulator.model.services import TFTP

__all__ = ["BULK_MAPPING", "ModelCli", "describe_trust_file"]

BULK_MAPPING: dict[str, tuple[str, ...]] = {
    IdentityKind.CALLMANAGER.value: (CALLMANAGER_TRUST, PHONE_SAST_TRUST),
    IdentityKind.ITLRECOVERY.value: (CALLMANAGER_TRUST, PHONE_SAST_TRUST),
    IdentityKind.CAPF.value: (CALLMANAGER_TRUST,),
    IdentityKind.TOMCAT.value: (TOMCAT_TRUST,),
}
_UNITS = {"tftp": (IdentityKind.CALLMANAGER, IdentityKind.ITLRECOVERY, IdentityKind.CAPF),
          "tomcat": (IdentityKind.TOMCAT,)}  # fmt: skip
_BLOCK = re.compile(
    r"# reconciler-lab bulk: kind=(\S+) cluster=(\S+) node=(\S+)\s*\n"
    r"(-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----)",
    re.DOTALL,
)


def _hex(raw: bytes | None) -> str:
    return ":".join(f"{b:02x}" for b in raw) if raw else ""


def describe_trust_file(kind: str, content: bytes) -> Sequence[str]:
    """The ``show itl``/``show ctl`` lines after checksum, length and date (docs/cucm-domain.md#admin-cli),
    read and verified with the lab's own codec (``simulator.model.labtlv``)."""
    try:
        parsed = labtlv.read(content)
    except TlvError as exc:
        return [f"Error parsing the {kind} File: {exc.message}"]
    stamp = datetime.fromtimestamp(parsed.timestamp, UTC)
    lines = [f"Parse {kind} File", "-" * 16, "", f"Version: {parsed.version[0]}.{parsed.version[1]}",
             f"HeaderLength: {parsed.header_length} (BYTES)", "",
             f"{'SIGNERNAME':<20}{parsed.signer_name}", f"{'SERIALNUMBER':<20}{_hex(parsed.signer_serial)}",
             f"{'CANAME':<20}{parsed.signer_issuer}",
             f"{'DIGESTALGORTITHM':<20}{LabDigest(parsed.digest).name}",
             f"{'SIGNATUREMODULUS':<20}{parsed.modulus_code}", f"{'FILENAME':<20}{parsed.filename}",
             f"{'TIMESTAMP':<20}{stamp:%Y-%m-%d %H:%M:%S} UTC"]  # fmt: skip
    signer_record = None
    for number, record in enumerate(parsed.records, start=1):
        lines += ["", f"{kind} Record #:{number}", "-" * 16]
        sha1 = hashlib.sha1(record.certificate).hexdigest() if record.certificate else ""
        rows = (("DNSNAME", record.dns_name), ("SUBJECTNAME", record.subject), ("FUNCTION", record.label),
                ("ISSUERNAME", record.issuer), ("SERIALNUMBER", _hex(record.serial)),
                ("CERTIFICATE", f"{sha1} (SHA1 Hash HEX)" if sha1 else ""),
                ("IPADDRESS", record.ip))  # fmt: skip
        lines += [f"{name:<20}{value}".rstrip() for name, value in rows]
        if record.key == parsed.signer_key:
            lines.append(f"This etoken was used to sign the {kind} file.")
            signer_record = signer_record or record
    lines.append("")
    if signer_record is not None and parsed.signature_ok(signer_record.certificate):
        lines.append(f"The {kind} file was verified successfully.")
    else:
        why = "no record of the signer" if signer_record is None else "the signature does not verify"
        lines.append(f"The {kind} file could not be verified: {why}")
    return lines


class ModelCli(ModelServices):
    """The ``admin:`` CLI of node ``node`` of ``cluster``."""

    def __init__(self, lab: Lab, *, cluster: str, node: str, axl: ModelAxl) -> None:
        super().__init__(lab, cluster=cluster, node=node)
        self.certs = NodeCerts(lab, cluster=cluster, node=node)
        self.axl = axl

    def active_version(self) -> str:
        return self.lab.cluster(self.cluster).version

    def certificates(self, kind: str) -> Sequence[CertEntry]:
        return self.certs.own() if kind == "own" else self.certs.trust()

    def certificate(self, kind: str, *, unit: str, filename: str) -> CertEntry | None:
        if kind == "trust":
            return self.certs.trust_entry(unit=unit, filename=filename)
        return next(
            (e for e in self.certs.own() if e.unit == unit and (not filename or e.filename == filename)),
            None,
        )

    def import_trust(self, *, unit: str, pem: str) -> CertEntry:
        return self.certs.upload(unit=unit, pem=pem, description="")

    def delete_certificate(self, *, store: str, filename: str) -> None:
        self.certs.delete(store=store, filename=filename)

    def trust_file(self, name: str) -> TrustFile | None:
        try:
            content = self.lab.tftp_file(self.cluster, self.node, name)
        except UnreachableError:
            return None
        if content is None:
            return None
        try:
            stamp = datetime.fromtimestamp(labtlv.read(content).timestamp, UTC)
        except TlvError:
            stamp = datetime.fromtimestamp(0, UTC)
        return TrustFile(content, stamp)

    def execute_sql_query(self, sql: str) -> SqlResult:
        return self.axl.execute_sql_query(sql)

    # -- bulk (R9): see the module docstring for what is and is not real ---------------------------
    def _units(self, unit: str) -> list[str]:
        if unit.lower() == "all":
            return list(_UNITS)
        if unit.lower() not in _UNITS:
            raise RemoteFaultError(f"Invalid unit {unit}; use all, tftp or tomcat", code="400")
        return [unit.lower()]

    def bulk_export(self, unit: str) -> Sequence[BulkFile]:
        info = self.lab.cluster(self.cluster)
        files = []
        for name in self._units(unit):
            blocks: dict[str, str] = {}
            for node in info.nodes:
                for kind in _UNITS[name]:
                    if name == "tftp" and kind is IdentityKind.CALLMANAGER and TFTP not in node.services:
                        continue
                    issued = self.lab.identity(self.cluster, node.name, kind)
                    if issued is None:
                        continue
                    pem = labcerts.pem(issued.cert).decode().strip()
                    head = f"# reconciler-lab bulk: kind={kind.value} cluster={self.cluster} node={node.name}"
                    blocks.setdefault(pem, f"{head}\n{pem}\n")
            files.append(BulkFile(f"{info.publisher}_{name}.pem", "".join(blocks.values()).encode()))
        return files

    def bulk_consolidate(self, unit: str, files: Sequence[BulkFile]) -> Sequence[BulkFile]:
        out = []
        for name in self._units(unit):
            blocks: dict[str, str] = {}
            for item in sorted(files, key=lambda f: f.name):
                if item.name.endswith(f"_{name}.pem") and not item.name.startswith("consolidated_"):
                    for m in _BLOCK.finditer(item.content.decode(errors="replace")):
                        blocks.setdefault(m.group(4), m.group(0) + "\n")
            if not blocks:
                raise RemoteFaultError(f"No exported {name} certificates on the SFTP server", code="404")
            out.append(BulkFile(f"consolidated_{name}.pem", "".join(blocks.values()).encode()))
        return out

    def bulk_import(self, unit: str, files: Sequence[BulkFile]) -> Sequence[str]:
        by_name = {f.name: f for f in files}
        imported = []
        for name in self._units(unit):
            bundle = by_name.get(f"consolidated_{name}.pem")
            if bundle is None:
                raise RemoteFaultError(
                    f"No consolidated {name} file on the SFTP server; run set cert bulk consolidate first",
                    code="404",
                )
            for m in _BLOCK.finditer(bundle.content.decode(errors="replace")):
                kind, cluster, pem = m.group(1), m.group(2), m.group(4)
                if cluster == self.cluster:
                    continue
                for store in BULK_MAPPING.get(kind, ()):
                    self.certs.upload(unit=store, pem=pem, description=f"Bulk import from {cluster}")
            imported.append(name)
        return imported
