"""The lab's own X.509: it mints the lab CA, every node identity and TLS server certificate, and reads back
the few facts the model keys on. Independent of the product's certificate code on purpose.

The lab is the other side of the wire (docs/architecture.md "The lab is independent"): if it minted and
named certificates with the planner's helpers, a wrong idea of how CUCM names or prints a certificate
would pass every test. So this module is written against ``cryptography`` alone and says what a CUCM
node does, not what the product expects. Called by ``simulator.model`` (identities, stand-ins, trust
stores, trust files), ``simulator.faces.tls``, ``simulator.adapters`` and ``simulator.lab``.

Public API::

    IdentityKind                     StrEnum: the unit names of ``show cert list own``
    PrivateKey / IssuedCert(cert, key)
    lab_key(key_type="rsa2048", *, slot=0) -> PrivateKey     process-wide cache: one key per (type, slot)
    mint_ca(*, common_name, key, now) -> IssuedCert
    mint_identity(*, kind, host, cluster, key, now, issuer=None, subject=None, serial=None) -> IssuedCert
    mint_tls_server(*, host, issuer, ips, key, now) -> IssuedCert
    CertKey(serial, issuer)          what TVS keys its cache by (serial, issuer as CUCM prints it)
    dn_text(name) -> str             "CN=x;OU=y;O=z;C=US" (RDNs in DER order, ``;``-joined, as CUCM prints)
    parse_dn(text) -> x509.Name      the reverse, for stand-in subjects given as text
    cert_key(cert) / trust_file_name(cert) / trust_file_names(cert)
    pem(cert) / key_pem(key) / load_cert(data) / load_key(data) / sha256(cert)

CUCM-like subjects: CallManager, TVS and tomcat use ``CN=<host>``; CAPF ``CN=CAPF-<8 hex>``; ITLRecovery
``CN=ITLRECOVERY_<host>``; every subject is ``CN;OU=<cluster>;O;C``. Identities are self-signed unless an
issuer is given. Key generation is the cost of a lab (RSA 2048: 40-100 ms), so keys come from
``lab_key``'s cache; ``ec-p256`` keys are derived from the slot (deterministic, ~0.2 ms). Errors are
``ValueError`` (the callers turn them into the face's fault).
"""

from __future__ import annotations

import enum
import functools
import hashlib
import ipaddress
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Literal, NamedTuple

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "CertKey",
    "IdentityKind",
    "IssuedCert",
    "KeyType",
    "PrivateKey",
    "cert_key",
    "dn_text",
    "key_pem",
    "lab_key",
    "load_cert",
    "load_key",
    "mint_ca",
    "mint_identity",
    "mint_tls_server",
    "parse_dn",
    "pem",
    "sha256",
    "trust_file_name",
    "trust_file_names",
]

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
KeyType = Literal["rsa2048", "ec-p256"]
_ORGANIZATION = "Reconciler Lab"
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_SHORT = {
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
_BY_SHORT = {short.upper(): oid for oid, short in _SHORT.items()} | {"E": NameOID.EMAIL_ADDRESS}


class IdentityKind(enum.StrEnum):
    """The identity certificates a lab node holds (the unit names of ``show cert list own``)."""

    CALLMANAGER = "CallManager"
    TVS = "TVS"
    ITLRECOVERY = "ITLRecovery"
    CAPF = "CAPF"
    TOMCAT = "tomcat"


class IssuedCert(NamedTuple):
    """A certificate with its private key; unpacks as ``cert, key``."""

    cert: x509.Certificate
    key: PrivateKey


class CertKey(NamedTuple):
    """What a TVS keys its cache by: the serial and the issuer as CUCM prints it (``dn_text``)."""

    serial: int
    issuer: str


@functools.cache
def lab_key(key_type: KeyType = "rsa2048", *, slot: int = 0) -> PrivateKey:
    """The process-wide key of ``(key_type, slot)``: generated once, so rebuilding a lab costs no keys."""
    if key_type == "ec-p256":
        digest = int.from_bytes(hashlib.sha256(f"reconciler-lab-{slot}".encode()).digest(), "big")
        return ec.derive_private_key(digest % (_P256_ORDER - 1) + 1, ec.SECP256R1())
    if key_type != "rsa2048":
        raise ValueError(f"unknown lab key type {key_type!r}")
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


# --- names -----------------------------------------------------------------------------------------


def _name(*, cn: str, ou: str | None, o: str | None = _ORGANIZATION, c: str | None = "US") -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    for oid, value in (
        (NameOID.ORGANIZATIONAL_UNIT_NAME, ou),
        (NameOID.ORGANIZATION_NAME, o),
        (NameOID.COUNTRY_NAME, c),
    ):
        if value:
            attrs.append(x509.NameAttribute(oid, value))
    return x509.Name(attrs)


def _value(value: str | bytes) -> str:
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def dn_text(name: x509.Name) -> str:
    """``name`` as CUCM prints it in ITL/CTL headers and trust views: RDNs in DER order joined by ``;``,
    values raw, multi-valued RDNs joined by ``+``, unknown attributes by dotted OID."""
    return ";".join(
        "+".join(f"{_SHORT.get(a.oid, a.oid.dotted_string)}={_value(a.value)}" for a in rdn)
        for rdn in name.rdns
    )


def parse_dn(text: str) -> x509.Name:
    """A name from ``CN=x;OU=y`` or ``CN=x, OU=y`` text (the order given is the DER order kept).

    Raises ``ValueError`` for an empty text, a part without ``=`` or an attribute type the lab does not
    know (CN, OU, O, L, ST, C, emailAddress/E, DC, serialNumber or a dotted OID).
    """
    separator = ";" if ";" in text else ","
    attrs = []
    for part in (p.strip() for p in text.split(separator)):
        if not part:
            continue
        kind, eq, value = part.partition("=")
        if not eq or not kind.strip() or not value.strip():
            raise ValueError(f"{part!r} is not TYPE=value")
        key = kind.strip()
        oid = _BY_SHORT.get(key.upper())
        if oid is None:
            if not all(piece.isdigit() for piece in key.split(".")):
                raise ValueError(f"unknown attribute type {key!r} in {text!r}")
            oid = x509.ObjectIdentifier(key)
        attrs.append(x509.NameAttribute(oid, value.strip()))
    if not attrs:
        raise ValueError("an empty distinguished name")
    return x509.Name(attrs)


def cert_key(cert: x509.Certificate) -> CertKey:
    return CertKey(cert.serial_number, dn_text(cert.issuer))


def _serial_hex(serial: int) -> str:
    return serial.to_bytes(max(1, (serial.bit_length() + 7) // 8), "big").hex()


def _stem(cert: x509.Certificate) -> str:
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    cn = _value(cns[0].value) if cns else dn_text(cert.subject)
    return cn.replace(" ", "_").replace("/", "_")


def trust_file_name(cert: x509.Certificate) -> str:
    """The name a CUCM trust store lists ``cert`` under: ``<CN, spaces as _>_<serial hex>.pem``."""
    return f"{_stem(cert)}_{_serial_hex(cert.serial_number)}.pem"


def trust_file_names(cert: x509.Certificate) -> tuple[str, ...]:
    """That name and the legacy ``<CN>.pem`` older releases used (a delete may name either)."""
    return (trust_file_name(cert), f"{_stem(cert)}.pem")


# --- encoding --------------------------------------------------------------------------------------


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def sha256(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def load_cert(data: bytes) -> x509.Certificate:
    """Exactly one certificate from PEM or DER; ``ValueError`` otherwise (what a node answers to junk)."""
    try:
        if b"-----BEGIN CERTIFICATE-----" not in data:
            return x509.load_der_x509_certificate(data)
        found = x509.load_pem_x509_certificates(data)
    except x509.InvalidVersion as exc:  # not a ValueError
        raise ValueError(f"unsupported certificate version: {exc}") from exc
    if len(found) != 1:
        raise ValueError(f"expected one certificate, found {len(found)}")
    return found[0]


def load_key(data: bytes) -> PrivateKey:
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError(f"unsupported key type {type(key).__name__}")
    return key


# --- minting ---------------------------------------------------------------------------------------


def _validity(now: datetime, days: float) -> tuple[datetime, datetime]:
    start = now.replace(microsecond=0) - timedelta(days=1)
    return start, start + timedelta(days=days)


def mint_ca(*, common_name: str, key: PrivateKey, now: datetime, days: float = 3650) -> IssuedCert:
    """A self-signed CA (CA:TRUE, keyCertSign) for the lab's TLS server certificates."""
    name = _name(cn=common_name, ou=None, c=None)
    start, end = _validity(now, days)
    usage = x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
        key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False,
    )  # fmt: skip
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    return IssuedCert(builder.sign(key, hashes.SHA256()), key)


def _identity_cn(kind: IdentityKind, host: str, key: PrivateKey) -> str:
    if kind is IdentityKind.CAPF:  # CUCM: CAPF-<8 hex>, stable for a key
        spki = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return f"CAPF-{hashlib.sha256(spki).hexdigest()[:8]}"
    if kind is IdentityKind.ITLRECOVERY:
        return f"ITLRECOVERY_{host}"
    return host


def mint_identity(
    *,
    kind: IdentityKind | str,
    host: str,
    cluster: str,
    key: PrivateKey,
    now: datetime,
    issuer: IssuedCert | None = None,
    subject: x509.Name | None = None,
    issuer_name: x509.Name | None = None,
    serial: int | None = None,
    days: float = 1825,
) -> IssuedCert:
    """A node identity certificate (self-signed unless ``issuer`` signs it).

    Stand-ins of a real estate's certificates give ``subject``, ``serial`` and ``issuer_name``: the
    certificate then carries exactly those, signed by ``issuer``'s key when the issuer is an identity the
    lab has, else by its own key (the issuer's name on it, the signature not verifiable: as a certificate
    whose CA the lab does not hold). tomcat identities carry ``host`` as DNS subjectAltName.
    """
    kind = IdentityKind(kind)
    name = subject if subject is not None else _name(cn=_identity_cn(kind, host, key), ou=cluster)
    if issuer is not None:
        signer_name, signer_key = issuer.cert.subject, issuer.key
    else:
        signer_name, signer_key = name, key
    if issuer_name is not None:
        signer_name = issuer_name
    self_signed = signer_name == name
    start, end = _validity(now, days)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(signer_name)
        .public_key(key.public_key())
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=self_signed, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if kind is IdentityKind.TOMCAT:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False
        ).add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
    return IssuedCert(builder.sign(signer_key, hashes.SHA256()), key)


def mint_tls_server(
    *, host: str, issuer: IssuedCert, ips: Iterable[str], key: PrivateKey, now: datetime, days: float = 825
) -> IssuedCert:
    """A CA-signed TLS server certificate (CN=``host``; SANs ``host`` and ``ips``) for the HTTPS faces."""
    sans: list[x509.GeneralName] = [x509.DNSName(host)]
    sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    start, end = _validity(now, days)
    ca_public = issuer.cert.public_key()
    assert isinstance(ca_public, rsa.RSAPublicKey | ec.EllipticCurvePublicKey)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn=host, ou=None, c=None))
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_public), critical=False)
    )
    return IssuedCert(builder.sign(issuer.key, hashes.SHA256()), key)
