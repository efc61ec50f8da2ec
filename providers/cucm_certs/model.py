"""Data and the per-node client protocol shared by the certmgr REST and admin-CLI certificate clients.

``CertStoreClient`` is what ``providers.cucm_certs.provider.TrustStoreProvider`` talks to, one instance
per node (certmgr REST is server specific, docs/cucm-domain.md#certmgr-rest; the CLI is per node by nature).
``StoredCert`` is one certificate as a node lists it; ``trust_value`` is the frozen JSON value of a
``trust.<cluster>.<store>.<cert-id>`` address (public certificate data only: the PEM is public).
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from cryptography import x509

from reconciler.cucm.certs import (
    CertIdentity,
    certificate_pem,
    identity_of,
    issuer_of,
    load_certificate,
    not_valid_after,
    serial_hex,
    sha256_hex,
    subject_of,
)
from reconciler.errors import CertificateError
from reconciler.insync import same_certificate
from reconciler.model import Value, freeze

__all__ = [
    "CertStoreClient",
    "PemFacts",
    "StoredCert",
    "normalise_store",
    "pem_facts",
    "store_unit",
    "trust_value",
]


def normalise_store(name: str) -> str:
    """``CallManager`` / ``CallManager-trust`` → ``CallManager-trust`` (REST may use either, §1.4)."""
    return name if name.endswith("-trust") else f"{name}-trust"


def store_unit(store: str) -> str:
    """The CLI unit token of a trust store: ``Phone-SAST-trust`` → ``Phone-SAST`` ([I] §2.3, §8 q2)."""
    return store.removesuffix("-trust")


def trust_value(cert: x509.Certificate) -> Value:
    """The value of a trust address: identity facts plus the PEM (what ``apply`` uploads)."""
    return freeze(
        {
            "sha256": sha256_hex(cert),
            "subject": subject_of(cert),
            "issuer": issuer_of(cert),
            "serial": serial_hex(cert.serial_number),
            "not_after": not_valid_after(cert).isoformat(),
            "pem": certificate_pem(cert).decode(),
        }
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class PemFacts:
    """What the stores' readers need of one PEM certificate."""

    sha256: str
    serial: str
    subject: str
    issuer: str
    identity: CertIdentity


@functools.lru_cache(maxsize=16_384)
def pem_facts(pem: str) -> PemFacts:
    """Facts of one PEM certificate, parsed once per process: the same 500 replicated certificates
    come back from every node of a cluster (21 × 1,000 parses per refresh of the largest estate).
    ``CertificateError`` (never cached) when ``pem`` is not exactly one certificate."""
    cert = load_certificate(pem.encode())
    return PemFacts(
        sha256=sha256_hex(cert),
        serial=serial_hex(cert.serial_number),
        subject=subject_of(cert),
        issuer=issuer_of(cert),
        identity=identity_of(cert),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredCert:
    """One certificate in a store (``store`` = ``CallManager-trust`` …, or an identity unit)."""

    store: str
    filename: str
    pem: str | None
    sha256: str | None
    serial: str | None
    subject: str
    issuer: str
    description: str = ""
    serial_print: str | None = None  # the serial as a node printed it (CLI without PEM: hex or decimal)

    @classmethod
    def from_pem(cls, *, store: str, filename: str, pem: str, description: str = "") -> StoredCert:
        """Parse ``pem``; ``CertificateError`` when it is not one certificate."""
        facts = pem_facts(pem)
        return cls(
            store=store,
            filename=filename,
            pem=pem,
            sha256=facts.sha256,
            serial=facts.serial,
            subject=facts.subject,
            issuer=facts.issuer,
            description=description,
        )

    def value(self) -> Value:
        """The trust value (``trust_value``) plus ``filename``; identity fields only without a PEM."""
        if self.pem is not None:
            try:
                base = dict(trust_value(load_certificate(self.pem.encode())))  # type: ignore[arg-type]
            except CertificateError:
                base = {}
            base["filename"] = self.filename
            return freeze(base)
        facts: dict[str, str | None] = {
            "sha256": self.sha256,
            "subject": self.subject,
            "issuer": self.issuer,
            "serial": self.serial,
            "filename": self.filename,
        }
        if self.serial_print is not None:  # hex or decimal: not settled by the file name
            facts["serial_print"] = self.serial_print
        return freeze(facts)

    def identity(self) -> CertIdentity | None:
        """The TVS identity (serial + issuer) of this certificate: from its PEM, else its listing."""
        if self.pem is not None:
            try:
                return pem_facts(self.pem).identity
            except CertificateError:
                pass
        if self.serial is None:
            return None
        try:
            return CertIdentity(serial=int(self.serial, 16), issuer=self.issuer)
        except ValueError:
            return None

    def same_certificate(self, *, sha256: str | None, serial: str | None, issuer: str | None) -> bool:
        """Equal by SHA-256 when both sides know it, else by serial number + issuer (the TVS identity; a
        printed serial by any of its readings, the issuer by normalised RDN sequence): the one rule of
        ``reconciler.insync.same_certificate``."""
        return same_certificate(
            {"sha256": sha256, "serial": serial, "issuer": issuer},
            {
                "sha256": self.sha256,
                "serial": self.serial,
                "issuer": self.issuer,
                "serial_print": self.serial_print,
            },
        )


@runtime_checkable
class CertStoreClient(Protocol):
    """Certificates of ONE node through one API (REST or CLI)."""

    @property
    def node(self) -> str: ...

    def trust(self, stores: Collection[str] | None = None) -> Sequence[StoredCert]:
        """Trust certificates, only of ``stores`` when given (names normalised to ``*-trust``)."""
        ...

    def identities(self) -> Sequence[StoredCert]:
        """Identity certificates (``store`` = unit: CallManager, TVS, ITLRecovery, CAPF, tomcat, ...)."""
        ...

    def upload_trust(self, *, store: str, pem: str, description: str) -> None: ...

    def delete_trust(self, *, store: str, filename: str) -> None: ...

    def close(self) -> None: ...
