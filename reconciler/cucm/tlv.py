"""The ITL/CTL file format (docs/cucm-domain.md#itlctl-format-support): parse, encode, build (sign), verify.

Called by the TFTP provider (reading ``ITLFile.tlv``/``CTLFile.tlv``), ``reconciler inspect tlv``, the
trust decision (``reconciler.cucm.trust``) and the simulator, which builds every cluster's files with
``build``. Every malformation raises ``TlvError`` (``reconciler.errors``) with the byte offset and the
reason; signature problems raise ``SignatureError``. Nothing else escapes ``parse`` (a hypothesis test
feeds it random and mutated files).

Public API (stable)::

    Role(IntEnum)      SAST=0 CCM=1 CCM_TFTP=2 TFTP=3 CAPF=4 APP_SERVER=7 TVS=21   (.label: show text)
    Digest(IntEnum)    SHA1=1 SHA256=2 SHA512=3
    role_label(code: int) -> str                     "CCM+TFTP", "UNKNOWN(5)", ...
    TlvRecord          frozen: role (a Role when known, else the raw int), subject, issuer, serial
                       (raw bytes), dns_name, ip (dotted IPv4), public_key, signature, certificate (DER),
                       cert_hash, hash_algorithm; all but role optional (None = tag absent).
                       .serial_number .identity (CertIdentity | None) .certificate_sha1 .load_certificate()
    TlvFile            frozen: version, header_length, signer_version, signer_name, signer_serial,
                       signer_issuer, digest, signature_algorithm, signature_modulus, signature,
                       filename, timestamp, records, raw (not compared).
                       .signer_identity .kind ("CTL" | "ITL" | None) .records_with_role(role)
                       .signed_content() .timestamp_utc
    parse(data: bytes) -> TlvFile                    TlvError on any malformation
    encode(file: TlvFile) -> bytes                   encode(parse(b)) == b for every b parse accepts
    build(*, records, signer_cert, signer_key, filename, digest=Digest.SHA1, timestamp=None,
          version=(1, 2), signer_version=None) -> bytes
    verify(file: TlvFile) -> TlvRecord               the signer record; SignatureError otherwise
    record_from_certificate(cert, *, role, dns_name="", ip=None) -> TlvRecord

Layout written by ``build`` (and read by ``parse`` in any top-level order): VERSION(1) HEADER_LENGTH(2)
[SIGNER_VERSION(28)] SIGNER_INFO(3){SIGNER_NAME(4) SERIAL(5) ISSUER(6)} SIGNATURE_INFO(7){DIGEST(8)
SIGNATURE_ALGORITHM_INFO(9){ALGORITHM(10) MODULUS(11)}} SIGNATURE(12) FILENAME(14) TIMESTAMP(15)
PADDING(13, one byte each, no length) until the header length is a multiple of 4; then records, each
RECORD_LENGTH(1) followed by tags 2..12 (built in the order 2,3,4,5,6,7,8,9,10 as ``show ctl`` lists them).
Containers must hold exactly their documented children in that order. Strings are UTF-8 and
NUL-terminated. The signature is RSA PKCS#1 v1.5 over the whole file with the tag-12 TLV cut out,
using the header digest. EC certificates may appear as records, but a file signer must be RSA (the
format has no EC signature algorithm code): ``build`` refuses an EC ``signer_key``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from reconciler.cucm.certs import PrivateKey, cucm_dn, serial_bytes
from reconciler.cucm.tlv_format import (
    MODULUS_CODES,
    Digest,
    Role,
    TlvFile,
    TlvRecord,
    default_layout,
    encode,
    encode_file,
    header_element,
    role_label,
)
from reconciler.cucm.tlv_parse import parse
from reconciler.errors import CertificateError, SignatureError

__all__ = [
    "Digest",
    "Role",
    "TlvFile",
    "TlvRecord",
    "build",
    "encode",
    "parse",
    "record_from_certificate",
    "role_label",
    "verify",
]


def record_from_certificate(
    cert: x509.Certificate, *, role: Role | int, dns_name: str = "", ip: str | None = None
) -> TlvRecord:
    """A record for ``cert`` as CUCM writes it: DNS name, subject, role, issuer, serial, public key
    (RSA: DER RSAPublicKey; EC: X9.62 uncompressed point), the certificate's signature, DER, IP."""
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        public = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    elif isinstance(key, ec.EllipticCurvePublicKey):
        public = key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    else:
        raise CertificateError(f"unsupported public key type {type(key).__name__} for an ITL/CTL record")
    return TlvRecord(
        role=role,
        dns_name=dns_name,
        subject=cucm_dn(cert.subject),
        issuer=cucm_dn(cert.issuer),
        serial=serial_bytes(cert.serial_number),
        public_key=public,
        signature=cert.signature,
        certificate=cert.public_bytes(serialization.Encoding.DER),
        ip=ip,
    )


def build(
    *,
    records: Iterable[TlvRecord],
    signer_cert: x509.Certificate,
    signer_key: PrivateKey,
    filename: str,
    digest: Digest = Digest.SHA1,
    timestamp: int | datetime | None = None,
    version: tuple[int, int] = (1, 2),
    signer_version: tuple[int, int] | None = None,
) -> bytes:
    """Build and sign an ITL/CTL file. ``records`` should include the signer (role SAST) so that
    ``verify`` finds it by the header serial and issuer. RSA signers only (see module docstring)."""
    if not isinstance(signer_key, rsa.RSAPrivateKey):
        raise CertificateError(
            "ITL/CTL files are signed with RSA (PKCS#1 v1.5); an EC key cannot sign them",
            hint="sign with the RSA CallManager (before 12.0) or ITLRecovery (12.0+) identity",
        )
    cert_key = signer_cert.public_key()
    if not isinstance(cert_key, rsa.RSAPublicKey) or cert_key.public_numbers() != (
        signer_key.public_key().public_numbers()
    ):
        raise CertificateError("signer_key does not belong to signer_cert")
    modulus = MODULUS_CODES.get(signer_key.key_size)
    if modulus is None:
        raise CertificateError(f"RSA key size {signer_key.key_size} has no ITL/CTL modulus code (512..4096)")
    if isinstance(timestamp, datetime):
        timestamp = int(timestamp.timestamp())
    elif timestamp is None:
        timestamp = int(datetime.now(UTC).timestamp())
    draft = TlvFile(
        version=version,
        header_length=0,
        signer_version=signer_version,
        signer_name=cucm_dn(signer_cert.subject),
        signer_serial=serial_bytes(signer_cert.serial_number),
        signer_issuer=cucm_dn(signer_cert.issuer),
        digest=Digest(digest),
        signature_algorithm=0,
        signature_modulus=modulus,
        signature=bytes(signer_key.key_size // 8),  # placeholder of the final size
        filename=filename,
        timestamp=timestamp,
        records=tuple(records),
    )
    layout = default_layout(draft)
    header_length = 10 + sum(len(header_element(draft, t)) for t in layout)
    unsigned = dataclasses.replace(draft, layout=layout, header_length=header_length)
    content = encode_file(unsigned, with_signature=False)
    signature = signer_key.sign(content, padding.PKCS1v15(), Digest(digest).hash_algorithm())
    return encode(dataclasses.replace(unsigned, signature=signature))


def verify(file: TlvFile) -> TlvRecord:
    """Check the file signature; return the signer record (found by header serial + issuer, SAST
    preferred). Raises ``SignatureError`` when no record matches or the signature does not verify."""
    matches = [r for r in file.records if r.serial == file.signer_serial and r.issuer == file.signer_issuer]
    if not matches:
        raise SignatureError(
            f"signer {file.signer_name} ({file.signer_identity}) has no record in {file.filename}",
            hint="the file must list its signer (role SAST) with the header's serial and issuer",
        )
    matches.sort(key=lambda r: (r.role != Role.SAST, r.certificate is None))
    record = matches[0]
    key = _signer_key(record, file)
    try:
        key.verify(file.signature, file.signed_content(), padding.PKCS1v15(), file.digest.hash_algorithm())
    except InvalidSignature as exc:
        raise SignatureError(
            f"signature of {file.filename} does not verify with signer {file.signer_name} "
            f"({file.signer_identity})"
        ) from exc
    return record


def _signer_key(record: TlvRecord, file: TlvFile) -> rsa.RSAPublicKey:
    if record.certificate is None and record.public_key is None:
        raise SignatureError(f"signer record {record.subject} carries neither certificate nor public key")
    try:
        if record.certificate is not None:
            cert = x509.load_der_x509_certificate(record.certificate)
            serial, issuer = cert.serial_number, cucm_dn(cert.issuer)
            key: object = cert.public_key()
        else:
            assert record.public_key is not None
            serial, issuer = file.signer_identity.serial, file.signer_issuer
            key = serialization.load_der_public_key(record.public_key)
    except (ValueError, x509.InvalidVersion, UnsupportedAlgorithm) as exc:
        raise SignatureError(
            f"signer record {record.subject}: unreadable certificate or key ({exc})"
        ) from exc
    if serial != file.signer_identity.serial or issuer != file.signer_issuer:
        raise SignatureError(f"signer record {record.subject}: its certificate is not the header's signer")
    if not isinstance(key, rsa.RSAPublicKey):
        raise SignatureError(
            f"signer {record.subject} has a {type(key).__name__}; ITL/CTL signatures are RSA only"
        )
    return key
