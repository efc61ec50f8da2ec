"""X.509 helpers for CUCM: loading, fingerprints, TVS identities, trust file names, validity.

Called by the TLV codec (``reconciler.cucm.tlv``), the trust decision and rules, the providers (reading
``show cert``/certmgr output) and the simulator/lab. Pure functions over ``cryptography`` objects; errors
are ``CertificateError``. The lab's generators live in ``reconciler.cucm.certgen`` and are re-exported
here, so ``from reconciler.cucm.certs import generate_identity`` (and ``certs.shared_lab_key`` …) keep
working.

Public API (stable) — defined here::

    CertIdentity(serial, issuer)    frozen, hashable: the TVS cache key (serial int, issuer in ``;`` form);
                                    equal when serials are equal and issuers have the same ``dn_key``
    dn_key(text: str) -> tuple      a DN's normalised RDN sequence, whatever its print form
    same_dn(a: str, b: str) -> bool  ``dn_key(a) == dn_key(b)``
    serial_candidates(text: str) -> frozenset[int]   what a printed serial may mean (hex, decimal)

    load_certificates(data: bytes) -> list[x509.Certificate]   PEM bundle (1..n) or one DER cert
    load_certificate(data: bytes) -> x509.Certificate            exactly one certificate
    load_private_key(data: bytes, *, password: bytes | None = None) -> PrivateKey
    certificate_pem(cert) -> bytes / certificate_der(cert) -> bytes / private_key_pem(key) -> bytes
    sha1_hex(cert) -> str / sha256_hex(cert) -> str              lowercase hex, no colons
    serial_bytes(serial: int) -> bytes                           minimal big-endian (as in ITL/CTL)
    serial_hex(serial: int) -> str                               even-length lowercase hex
    cucm_dn(name: x509.Name) -> str                              "CN=cucm-pub;OU=lab;O=Example;C=US"
    subject_of(cert) -> str / issuer_of(cert) -> str             cucm_dn of subject / issuer
    common_name(name: x509.Name) -> str | None
    identity_of(cert) -> CertIdentity
    trust_file_name(cert) -> str                                 "<CN spaces->_>_<serial hex>.pem"
    trust_file_names(cert) -> tuple[str, ...]                    that name plus the legacy "<CN>.pem"
    not_valid_before(cert) / not_valid_after(cert) -> datetime   timezone-aware UTC
    is_valid_at(cert, when: datetime) -> bool
    expires_within(cert, *, days: float, now: datetime | None = None) -> bool

Defined in ``reconciler.cucm.certgen`` and re-exported here (signatures, CUCM-like subjects and speed
notes are in that module's docstring)::

    PrivateKey, KeyType, IdentityKind, IssuedCert                the key/certificate types
    generate_key(key_type="rsa2048", *, seed=None) -> PrivateKey
    shared_lab_key(key_type="rsa2048", *, slot=0) -> PrivateKey  (cached, lab only)
    generate_ca(*, common_name, ...) -> IssuedCert
    generate_identity(*, kind, host, cluster, issuer=None, ...) -> IssuedCert
    generate_tls_server(*, host, issuer, ips=(), dns_names=(), ...) -> IssuedCert
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from reconciler.certnames import dn_key, same_dn, serial_candidates

# re-exported: the generators and their types live in certgen (``from ...certs import generate_identity``
# keeps working for the simulator, the tests and the providers)
from reconciler.cucm.certgen import (
    IdentityKind,
    IssuedCert,
    KeyType,
    PrivateKey,
    generate_ca,
    generate_identity,
    generate_key,
    generate_tls_server,
    shared_lab_key,
)
from reconciler.errors import CertificateError

__all__ = [
    "CertIdentity",
    "IdentityKind",
    "IssuedCert",
    "KeyType",
    "PrivateKey",
    "certificate_der",
    "certificate_pem",
    "common_name",
    "cucm_dn",
    "dn_key",
    "expires_within",
    "generate_ca",
    "generate_identity",
    "generate_key",
    "generate_tls_server",
    "identity_of",
    "is_valid_at",
    "issuer_of",
    "load_certificate",
    "load_certificates",
    "load_private_key",
    "not_valid_after",
    "not_valid_before",
    "private_key_pem",
    "same_dn",
    "serial_bytes",
    "serial_candidates",
    "serial_hex",
    "sha1_hex",
    "sha256_hex",
    "shared_lab_key",
    "subject_of",
    "trust_file_name",
    "trust_file_names",
]

_PEM_BEGIN = b"-----BEGIN CERTIFICATE-----"
_SHORT_NAMES = {
    NameOID.COMMON_NAME: "CN",
    NameOID.ORGANIZATIONAL_UNIT_NAME: "OU",
    NameOID.ORGANIZATION_NAME: "O",
    NameOID.LOCALITY_NAME: "L",
    NameOID.STATE_OR_PROVINCE_NAME: "ST",
    NameOID.COUNTRY_NAME: "C",
    NameOID.EMAIL_ADDRESS: "emailAddress",
    NameOID.DOMAIN_COMPONENT: "DC",
    NameOID.SERIAL_NUMBER: "serialNumber",
}


@functools.total_ordering
@dataclass(frozen=True, slots=True, eq=False)
class CertIdentity:
    """What TVS keys its cache by (docs/cucm-domain.md#boot-sequence, step 4): serial number + issuer string.

    ``issuer`` is in CUCM's ``;`` form (``cucm_dn``), exactly as ITL/CTL headers and records carry it, or
    as a node printed it (``show cert``: ``CN=X, OU=Y``). Two identities are equal when their serials are
    equal and their issuers have the same normalised RDN sequence (``dn_key``): never by DN text.
    """

    serial: int
    issuer: str

    def _key(self) -> tuple[int, tuple[tuple[tuple[str, str], ...], ...]]:
        return (self.serial, dn_key(self.issuer))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CertIdentity):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, CertIdentity):
            return NotImplemented
        return self._key() < other._key()

    @property
    def serial_hex(self) -> str:
        return serial_hex(self.serial)

    def __str__(self) -> str:
        return f"serial {self.serial_hex} issuer {self.issuer}"


# --- loading and encoding ------------------------------------------------------------------------


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """All certificates of a PEM bundle, or the single certificate of DER ``data``.

    Raises ``CertificateError`` when nothing usable is found or a PEM block is corrupt.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise CertificateError(f"certificate data must be bytes, not {type(data).__name__}")
    raw = bytes(data)
    if _PEM_BEGIN in raw:
        try:
            certs = x509.load_pem_x509_certificates(raw)
        except (ValueError, x509.InvalidVersion) as exc:
            raise CertificateError(f"corrupt PEM certificate: {exc}") from exc
        if not certs:
            raise CertificateError("no certificate found in PEM data")
        return list(certs)
    try:
        return [x509.load_der_x509_certificate(raw)]
    except (ValueError, x509.InvalidVersion) as exc:  # a bad version field is not a ValueError
        raise CertificateError(
            "data is neither a PEM certificate bundle nor a DER certificate",
            hint="export the certificate as PEM (-----BEGIN CERTIFICATE-----) or DER",
        ) from exc


def load_certificate(data: bytes) -> x509.Certificate:
    """Exactly one certificate (PEM or DER); ``CertificateError`` for none or several."""
    certs = load_certificates(data)
    if len(certs) != 1:
        raise CertificateError(f"expected one certificate, found {len(certs)}")
    return certs[0]


def load_private_key(data: bytes, *, password: bytes | None = None) -> PrivateKey:
    """An RSA or EC private key from PEM or DER (PKCS#1, PKCS#8, SEC1)."""
    try:
        if b"-----BEGIN" in data:
            key = serialization.load_pem_private_key(data, password=password)
        else:
            key = serialization.load_der_private_key(data, password=password)
    except (ValueError, TypeError) as exc:
        raise CertificateError(f"cannot read private key: {exc}") from exc
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise CertificateError(f"unsupported private key type {type(key).__name__}; use RSA or EC")
    return key


def certificate_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def certificate_der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def private_key_pem(key: PrivateKey) -> bytes:
    """Unencrypted PKCS#8 PEM (lab and tests only)."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


# --- fingerprints, names, identities --------------------------------------------------------------


def sha1_hex(cert: x509.Certificate) -> str:
    """SHA-1 of the DER certificate, lowercase hex (what ``show ctl`` prints per record)."""
    return hashlib.sha1(certificate_der(cert), usedforsecurity=False).hexdigest()


def sha256_hex(cert: x509.Certificate) -> str:
    return hashlib.sha256(certificate_der(cert)).hexdigest()


def serial_bytes(serial: int) -> bytes:
    """Minimal unsigned big-endian bytes of a serial number (the ITL/CTL SERIAL_NUMBER value)."""
    if serial < 0:
        raise CertificateError(f"negative serial number {serial}")
    return serial.to_bytes(max(1, (serial.bit_length() + 7) // 8), "big")


def serial_hex(serial: int) -> str:
    """Even-length lowercase hex of a serial (``019a335878ce16c1c1``), as in CUCM trust file names."""
    return serial_bytes(serial).hex()


def cucm_dn(name: x509.Name) -> str:
    """A distinguished name in CUCM's form: RDNs in DER order joined by ``;`` (``CN=x;OU=y;C=US``).

    Values are not escaped (CUCM prints them raw). Multi-valued RDNs are joined with ``+``; attributes
    without a short name use their dotted OID.
    """
    parts: list[str] = []
    for rdn in name.rdns:
        parts.append(
            "+".join(
                f"{_SHORT_NAMES.get(attr.oid, attr.oid.dotted_string)}={_attr_text(attr.value)}"
                for attr in rdn
            )
        )
    return ";".join(parts)


def _attr_text(value: str | bytes) -> str:
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def subject_of(cert: x509.Certificate) -> str:
    return cucm_dn(cert.subject)


def issuer_of(cert: x509.Certificate) -> str:
    return cucm_dn(cert.issuer)


def common_name(name: x509.Name) -> str | None:
    """The first CN of ``name``, or None."""
    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return _attr_text(attrs[0].value) if attrs else None


def identity_of(cert: x509.Certificate) -> CertIdentity:
    """The TVS cache key of ``cert``."""
    return CertIdentity(serial=cert.serial_number, issuer=issuer_of(cert))


def trust_file_name(cert: x509.Certificate) -> str:
    """The file name CUCM gives a trust certificate: ``<CN, spaces as _>_<serial hex>.pem``.

    Example: ``Cisco_Root_CA_2099_019a335878ce16c1c1.pem``
    (docs/cucm-domain.md#trust-stores-and-certificates). Without a CN the whole subject (``;`` form) stands in
    for it.
    """
    return f"{_file_stem(cert)}_{serial_hex(cert.serial_number)}.pem"


def trust_file_names(cert: x509.Certificate) -> tuple[str, ...]:
    """Every name a store may list ``cert`` under: the current form, then the legacy ``<CN>.pem``
    (e.g. ``CAPF-36205338.pem``) seen on older releases."""
    return (trust_file_name(cert), f"{_file_stem(cert)}.pem")


def _file_stem(cert: x509.Certificate) -> str:
    cn = common_name(cert.subject) or subject_of(cert)
    return cn.replace(" ", "_").replace("/", "_")


# --- validity -------------------------------------------------------------------------------------


def not_valid_before(cert: x509.Certificate) -> datetime:
    return cert.not_valid_before_utc


def not_valid_after(cert: x509.Certificate) -> datetime:
    return cert.not_valid_after_utc


def is_valid_at(cert: x509.Certificate, when: datetime) -> bool:
    """True when ``when`` (naive datetimes are taken as UTC) lies inside the validity period."""
    when = _aware(when)
    return cert.not_valid_before_utc <= when <= cert.not_valid_after_utc


def expires_within(cert: x509.Certificate, *, days: float, now: datetime | None = None) -> bool:
    """True when ``cert`` is expired at ``now`` or expires within ``days`` after it."""
    moment = _aware(now) if now is not None else datetime.now(UTC)
    return cert.not_valid_after_utc <= moment + timedelta(days=days)


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
