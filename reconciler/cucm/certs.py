"""X.509 helpers for CUCM: loading, fingerprints, TVS identities, trust file names, lab generators.

Called by the TLV codec (``reconciler.cucm.tlv``), the trust decision and rules, the providers (reading
``show cert``/certmgr output) and the simulator/lab (which mints every identity certificate with the
generators below). Pure functions over ``cryptography`` objects; errors are ``CertificateError``.

Public API (stable)::

    PrivateKey                      = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    KeyType                         = Literal["rsa2048", "rsa1024", "rsa4096", "ec-p256"]
    IdentityKind                    StrEnum: CALLMANAGER, TVS, ITLRECOVERY, CAPF, TOMCAT
    IssuedCert(cert, key)           NamedTuple; unpacks as ``cert, key`` and passes as ``issuer=``
    CertIdentity(serial, issuer)    frozen, hashable: the TVS cache key (serial int, issuer in ``;`` form)

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
    generate_key(key_type: KeyType = "rsa2048", *, seed: int | None = None) -> PrivateKey
    shared_lab_key(key_type: KeyType = "rsa2048", *, slot: int = 0) -> PrivateKey   (cached, lab only)
    generate_ca(*, common_name, organization="Reconciler Lab", key_type="rsa2048", key=None,
                days=3650, now=None, serial=None) -> IssuedCert
    generate_identity(*, kind, host, cluster, issuer=None, key_type="rsa2048", key=None,
                      organization="Reconciler Lab", locality=None, state=None, country="US",
                      days=1825, now=None, serial=None, common_name=None) -> IssuedCert
    generate_tls_server(*, host, issuer, ips=(), dns_names=(), key_type="rsa2048", key=None,
                        days=825, now=None, serial=None) -> IssuedCert

CUCM-like subjects (cucm-interfaces.md §2.2, §5.2 and general knowledge [I]): CallManager, TVS and
tomcat use ``CN=<host>``; CAPF uses ``CN=CAPF-<8 hex>``; ITLRecovery uses ``CN=ITLRECOVERY_<host>``.
Every subject is ``CN;OU=<cluster>;O;L;ST;C`` in DER order, which is also the order CUCM prints.
Identity certificates are self-signed unless ``issuer`` is given (as on a real CUCM by default).

Speed: RSA 2048 key generation costs ~40-100 ms. For big labs pass ``key=shared_lab_key()`` (one RSA
key reused across identities: each certificate still has its own serial, so CertIdentity, TVS caches
and trust stores stay distinct; only the public key repeats, which a lab never notices), or use
``key_type="ec-p256"`` with ``seed=`` (deterministic, ~0.2 ms) for identities that never sign an
ITL/CTL: the TLV format signs with RSA only (CallManager before 12.0, ITLRecovery from 12.0 must be
RSA). Serials are random unless ``serial=`` is given; ``now=`` fixes validity for reproducible output.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, NamedTuple

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

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
    "serial_bytes",
    "serial_hex",
    "sha1_hex",
    "sha256_hex",
    "shared_lab_key",
    "subject_of",
    "trust_file_name",
    "trust_file_names",
]

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
KeyType = Literal["rsa1024", "rsa2048", "rsa4096", "ec-p256"]

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


class IdentityKind(enum.StrEnum):
    """The CUCM identity certificates the lab mints (the unit names of ``show cert list own``)."""

    CALLMANAGER = "CallManager"
    TVS = "TVS"
    ITLRECOVERY = "ITLRecovery"
    CAPF = "CAPF"
    TOMCAT = "tomcat"


class IssuedCert(NamedTuple):
    """A certificate with its private key. Unpacks as ``cert, key``; usable as ``issuer=``."""

    cert: x509.Certificate
    key: PrivateKey


@dataclass(frozen=True, slots=True, order=True)
class CertIdentity:
    """What TVS keys its cache by (procedure.md, seed log step 5): serial number + issuer string.

    ``issuer`` is in CUCM's ``;`` form (``cucm_dn``), exactly as ITL/CTL headers and records carry it.
    """

    serial: int
    issuer: str

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
        except ValueError as exc:
            raise CertificateError(f"corrupt PEM certificate: {exc}") from exc
        if not certs:
            raise CertificateError("no certificate found in PEM data")
        return list(certs)
    try:
        return [x509.load_der_x509_certificate(raw)]
    except ValueError as exc:
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

    Example: ``Cisco_Root_CA_2099_019a335878ce16c1c1.pem`` (cucm-interfaces.md §1.3). Without a CN the
    whole subject (``;`` form) stands in for it.
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


# --- generators (tests and the lab) ---------------------------------------------------------------


def generate_key(key_type: KeyType = "rsa2048", *, seed: int | None = None) -> PrivateKey:
    """A new private key. ``seed`` makes an ``ec-p256`` key deterministic (ignored for RSA: not cheap)."""
    if key_type == "ec-p256":
        if seed is not None:
            order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
            digest = int.from_bytes(hashlib.sha256(f"reconciler-lab-{seed}".encode()).digest(), "big")
            return ec.derive_private_key(digest % (order - 1) + 1, ec.SECP256R1())
        return ec.generate_private_key(ec.SECP256R1())
    sizes = {"rsa1024": 1024, "rsa2048": 2048, "rsa4096": 4096}
    if key_type not in sizes:
        raise CertificateError(
            f"unknown key type {key_type!r}; use one of rsa1024, rsa2048, rsa4096, ec-p256"
        )
    return rsa.generate_private_key(public_exponent=65537, key_size=sizes[key_type])


@functools.cache
def shared_lab_key(key_type: KeyType = "rsa2048", *, slot: int = 0) -> PrivateKey:
    """A process-wide key reused across lab identities (generated once per ``(key_type, slot)``).

    Lab and tests only: certificates minted with it differ by serial and subject, so every
    ``CertIdentity`` stays distinct, but they share a public key.
    """
    return generate_key(key_type, seed=slot if key_type == "ec-p256" else None)


def _name(
    *, cn: str, ou: str | None, o: str | None, loc: str | None, st: str | None, c: str | None
) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    for oid, value in (
        (NameOID.ORGANIZATIONAL_UNIT_NAME, ou),
        (NameOID.ORGANIZATION_NAME, o),
        (NameOID.LOCALITY_NAME, loc),
        (NameOID.STATE_OR_PROVINCE_NAME, st),
        (NameOID.COUNTRY_NAME, c),
    ):
        if value:
            attrs.append(x509.NameAttribute(oid, value))
    return x509.Name(attrs)


def _sign(builder: x509.CertificateBuilder, key: PrivateKey) -> x509.Certificate:
    return builder.sign(key, hashes.SHA256())


def _validity(now: datetime | None, days: float) -> tuple[datetime, datetime]:
    start = (_aware(now) if now is not None else datetime.now(UTC)).replace(microsecond=0) - timedelta(days=1)
    return start, start + timedelta(days=days)


def generate_ca(
    *,
    common_name: str,
    organization: str = "Reconciler Lab",
    key_type: KeyType = "rsa2048",
    key: PrivateKey | None = None,
    days: float = 3650,
    now: datetime | None = None,
    serial: int | None = None,
) -> IssuedCert:
    """A self-signed CA (basicConstraints CA:TRUE, keyCertSign) for signing lab certificates."""
    key = key if key is not None else generate_key(key_type)
    name = _name(cn=common_name, ou=None, o=organization, loc=None, st=None, c=None)
    start, end = _validity(now, days)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    return IssuedCert(_sign(builder, key), key)


def _identity_cn(kind: IdentityKind, host: str, key: PrivateKey) -> str:
    if kind is IdentityKind.CAPF:
        # CUCM names its CAPF certificate CAPF-<8 hex> (e.g. CAPF-36205338); derive it from the key so
        # it is stable for a given key.
        digest = hashlib.sha256(
            key.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        ).hexdigest()
        return f"CAPF-{digest[:8]}"
    if kind is IdentityKind.ITLRECOVERY:
        return f"ITLRECOVERY_{host}"
    return host


def generate_identity(
    *,
    kind: IdentityKind | str,
    host: str,
    cluster: str,
    issuer: IssuedCert | tuple[x509.Certificate, PrivateKey] | None = None,
    key_type: KeyType = "rsa2048",
    key: PrivateKey | None = None,
    organization: str = "Reconciler Lab",
    locality: str | None = None,
    state: str | None = None,
    country: str = "US",
    days: float = 1825,
    now: datetime | None = None,
    serial: int | None = None,
    common_name: str | None = None,
) -> IssuedCert:
    """A CUCM identity certificate (CallManager, TVS, ITLRecovery, CAPF or tomcat) for node ``host``.

    Self-signed unless ``issuer`` (CA cert and key) is given. ``common_name`` overrides the CUCM-like
    CN. tomcat certificates carry ``host`` as a DNS subjectAltName and serverAuth/clientAuth EKU.
    """
    kind = IdentityKind(kind)
    key = key if key is not None else generate_key(key_type)
    cn = common_name or _identity_cn(kind, host, key)
    subject = _name(cn=cn, ou=cluster, o=organization, loc=locality, st=state, c=country)
    signer_name, signer_key = (subject, key) if issuer is None else (issuer[0].subject, issuer[1])
    start, end = _validity(now, days)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(signer_name)
        .public_key(key.public_key())
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if kind is IdentityKind.TOMCAT:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False
        ).add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
    return IssuedCert(_sign(builder, signer_key), key)


def generate_tls_server(
    *,
    host: str,
    issuer: IssuedCert | tuple[x509.Certificate, PrivateKey],
    ips: Iterable[str] = (),
    dns_names: Iterable[str] = (),
    key_type: KeyType = "rsa2048",
    key: PrivateKey | None = None,
    days: float = 825,
    now: datetime | None = None,
    serial: int | None = None,
) -> IssuedCert:
    """A CA-signed TLS server certificate (CN=``host``; SANs: ``host``, ``dns_names`` and ``ips``)
    for a lab node's HTTPS faces. Clients verify it with ``issuer``'s certificate as CA bundle."""
    key = key if key is not None else generate_key(key_type)
    sans: list[x509.GeneralName] = [x509.DNSName(host)]
    sans += [x509.DNSName(name) for name in dns_names if name != host]
    try:
        sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    except ValueError as exc:
        raise CertificateError(f"invalid IP address for a TLS certificate: {exc}") from exc
    start, end = _validity(now, days)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn=host, ou=None, o="Reconciler Lab", loc=None, st=None, c=None))
        .issuer_name(issuer[0].subject)
        .public_key(key.public_key())
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer[0].public_key()),  # type: ignore[arg-type]
            critical=False,
        )
    )
    return IssuedCert(_sign(builder, issuer[1]), key)
