"""``CertView``: a certificate with the facts the model keys on, computed once.

Trust stores, TVS caches and the ITL/CTL builder all need subject, issuer, serial (``CertIdentity``,
what TVS keys its cache by), notBefore (CUCM's "replace only if newer") and a fingerprint. They come from
the lab's own ``simulator.labcerts``. Called by the model's modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography import x509

from .. import labcerts

__all__ = ["CertView", "view_of"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CertView:
    cert: x509.Certificate
    identity: labcerts.CertKey
    subject: str
    issuer: str
    not_before: datetime
    fingerprint: str  # sha256, lowercase hex
    file_name: str  # CUCM trust file name
    file_names: tuple[str, ...]  # that name plus the legacy one
    pem_bytes: bytes  # PEM text, encoded once: the CLI and REST faces list hundreds per request

    @property
    def serial(self) -> int:
        return self.identity.serial

    def pem(self) -> bytes:
        return self.pem_bytes


def view_of(cert: x509.Certificate) -> CertView:
    return CertView(
        cert=cert,
        identity=labcerts.cert_key(cert),
        subject=labcerts.dn_text(cert.subject),
        issuer=labcerts.dn_text(cert.issuer),
        not_before=cert.not_valid_before_utc,
        fingerprint=labcerts.sha256(cert),
        file_name=labcerts.trust_file_name(cert),
        file_names=labcerts.trust_file_names(cert),
        pem_bytes=labcerts.pem(cert),
    )
