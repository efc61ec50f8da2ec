"""Key and certificate generators for tests and the built-in lab, and the key/certificate types they use.

Called by the simulator (``simulator.model``, ``simulator.faces.tls``: every lab identity and TLS server
certificate is minted here), by test material (``tests/cucm_material.py``) and, through the re-exports of
``reconciler.cucm.certs``, by everything that imported the generators from there. Production code reads
certificates (``reconciler.cucm.certs``); it never needs to mint one. Pure functions over ``cryptography``
objects; errors are ``CertificateError``.

Public API (all re-exported by ``reconciler.cucm.certs``)::

    PrivateKey                      = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    KeyType                         = Literal["rsa2048", "rsa1024", "rsa4096", "ec-p256"]
    IdentityKind                    StrEnum: CALLMANAGER, TVS, ITLRECOVERY, CAPF, TOMCAT
    IssuedCert(cert, key)           NamedTuple; unpacks as ``cert, key`` and passes as ``issuer=``
    generate_key(key_type: KeyType = "rsa2048", *, seed: int | None = None) -> PrivateKey
    shared_lab_key(key_type: KeyType = "rsa2048", *, slot: int = 0) -> PrivateKey   (cached, lab only)
    generate_ca(*, common_name, organization="Reconciler Lab", key_type="rsa2048", key=None,
                days=3650, now=None, serial=None) -> IssuedCert
    generate_identity(*, kind, host, cluster, issuer=None, key_type="rsa2048", key=None,
                      organization="Reconciler Lab", locality=None, state=None, country="US",
                      days=1825, now=None, serial=None, common_name=None) -> IssuedCert
    generate_tls_server(*, host, issuer, ips=(), dns_names=(), key_type="rsa2048", key=None,
                        days=825, now=None, serial=None) -> IssuedCert

CUCM-like subjects (docs/cucm-domain.md#trust-stores-and-certificates and general knowledge [I]): CallManager,
TVS and tomcat use ``CN=<host>``; CAPF uses ``CN=CAPF-<8 hex>``; ITLRecovery uses ``CN=ITLRECOVERY_<host>``.
Every subject is ``CN;OU=<cluster>;O;L;ST;C`` in DER order, which is also the order CUCM prints. Identity
certificates are self-signed unless ``issuer`` is given (as on a real CUCM by default).

Speed: RSA 2048 key generation costs ~40-100 ms. For big labs pass ``key=shared_lab_key()`` (one RSA
key reused across identities: each certificate still has its own serial, so CertIdentity, TVS caches
and trust stores stay distinct; only the public key repeats, which a lab never notices), or use
``key_type="ec-p256"`` with ``seed=`` (deterministic, ~0.2 ms) for identities that never sign an
ITL/CTL: the TLV format signs with RSA only (CallManager before 12.0, ITLRecovery from 12.0 must be
RSA). Serials are random unless ``serial=`` is given; ``now=`` fixes validity for reproducible output.

The types live here, not in ``certs``, so that this module depends on nothing of ours but the error
tree and ``certs`` can import them without an import cycle.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import ipaddress
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Literal, NamedTuple

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from reconciler.errors import CertificateError

__all__ = [
    "IdentityKind",
    "IssuedCert",
    "KeyType",
    "PrivateKey",
    "generate_ca",
    "generate_identity",
    "generate_key",
    "generate_tls_server",
    "shared_lab_key",
]

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
KeyType = Literal["rsa1024", "rsa2048", "rsa4096", "ec-p256"]


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
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None:
        now = now.replace(tzinfo=UTC)  # naive means UTC, as in certs.is_valid_at
    start = now.replace(microsecond=0) - timedelta(days=1)
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
