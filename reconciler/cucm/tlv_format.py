"""ITL/CTL data types and encoding (internal half of ``reconciler.cucm.tlv``; import from there).

Holds the tag constants, ``Role``, ``Digest``, ``TlvRecord``, ``TlvFile`` and ``encode``. The parser lives
in ``reconciler.cucm.tlv_parse``; signing and verification in ``reconciler.cucm.tlv``. Format facts:
docs/cucm-domain.md#itlctl-format-support.
"""

from __future__ import annotations

import enum
import hashlib
import ipaddress
import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from reconciler.cucm.certs import CertIdentity
from reconciler.errors import CertificateError, TlvError

__all__ = ["Digest", "Role", "TlvFile", "TlvRecord", "encode", "role_label"]


class Role(enum.IntEnum):
    """Record FUNCTION codes (§5.2)."""

    SAST = 0
    CCM = 1
    CCM_TFTP = 2
    TFTP = 3
    CAPF = 4
    APP_SERVER = 7
    TVS = 21

    @property
    def label(self) -> str:
        """The text ``show ctl``/``show itl`` prints for the role."""
        return _ROLE_LABELS[self]


_ROLE_LABELS = {
    Role.SAST: "System Administrator Security Token",
    Role.CCM: "CCM",
    Role.CCM_TFTP: "CCM+TFTP",
    Role.TFTP: "TFTP",
    Role.CAPF: "CAPF",
    Role.APP_SERVER: "APP-SERVER",
    Role.TVS: "TVS",
}
ROLE_BY_CODE = {int(r): r for r in Role}


def role_label(code: int) -> str:
    """``show`` text for a role code; unknown codes print as ``UNKNOWN(<n>)``."""
    role = ROLE_BY_CODE.get(code)
    return role.label if role is not None else f"UNKNOWN({code})"


class Digest(enum.IntEnum):
    """Header DIGEST_ALGORITHM codes (also record HASH_ALGORITHM)."""

    SHA1 = 1
    SHA256 = 2
    SHA512 = 3

    def hash_algorithm(self) -> hashes.HashAlgorithm:
        if self is Digest.SHA1:
            return hashes.SHA1()
        if self is Digest.SHA256:
            return hashes.SHA256()
        return hashes.SHA512()


# Header tags
H_VERSION, H_HEADER_LENGTH, H_SIGNER_INFO, H_SIGNER_NAME, H_SIGNER_SERIAL, H_SIGNER_ISSUER = 1, 2, 3, 4, 5, 6
H_SIGNATURE_INFO, H_DIGEST, H_SIG_ALGO_INFO, H_SIG_ALGO, H_SIG_MODULUS, H_SIGNATURE = 7, 8, 9, 10, 11, 12
H_PADDING, H_FILENAME, H_TIMESTAMP, H_SIGNER_VERSION = 13, 14, 15, 28
# Record tags
R_LENGTH, R_DNS, R_SUBJECT, R_ROLE, R_ISSUER, R_SERIAL, R_PUBKEY = 1, 2, 3, 4, 5, 6, 7
R_SIGNATURE, R_CERT, R_IP, R_HASH, R_HASH_ALGO = 8, 9, 10, 11, 12

RECORD_FIELDS = {
    R_DNS: "dns_name",
    R_SUBJECT: "subject",
    R_ROLE: "role",
    R_ISSUER: "issuer",
    R_SERIAL: "serial",
    R_PUBKEY: "public_key",
    R_SIGNATURE: "signature",
    R_CERT: "certificate",
    R_IP: "ip",
    R_HASH: "cert_hash",
    R_HASH_ALGO: "hash_algorithm",
}
HEADER_TOP = (H_SIGNER_VERSION, H_SIGNER_INFO, H_SIGNATURE_INFO, H_SIGNATURE, H_FILENAME, H_TIMESTAMP)
MODULUS_CODES = {512: 0, 1024: 1, 2048: 2, 4096: 3}


@dataclass(frozen=True, slots=True, kw_only=True)
class TlvRecord:
    """One certificate record. ``None`` means the tag is absent. ``tags`` is the tag order after
    RECORD_LENGTH (derived from the present fields when left empty; not part of equality)."""

    role: int
    subject: str | None = None
    issuer: str | None = None
    serial: bytes | None = None
    dns_name: str | None = None
    ip: str | None = None
    public_key: bytes | None = None
    signature: bytes | None = None
    certificate: bytes | None = None
    cert_hash: bytes | None = None
    hash_algorithm: int | None = None
    tags: tuple[int, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        if not 0 <= self.role <= 0xFFFF:
            raise TlvError(f"role code {self.role} does not fit in 2 bytes", offset=0)
        object.__setattr__(self, "role", ROLE_BY_CODE.get(self.role, self.role))
        if self.ip is not None:
            try:
                ipaddress.IPv4Address(self.ip)
            except ValueError as exc:
                raise TlvError(f"record IP address {self.ip!r} is not IPv4", offset=0) from exc
        present = tuple(tag for tag, name in RECORD_FIELDS.items() if getattr(self, name) is not None)
        if not self.tags:
            object.__setattr__(self, "tags", present)
        elif sorted(self.tags) != sorted(present):
            raise TlvError(f"record tag order {self.tags} does not match its fields {present}", offset=0)

    @property
    def serial_number(self) -> int | None:
        return None if self.serial is None else int.from_bytes(self.serial, "big")

    @property
    def identity(self) -> CertIdentity | None:
        """Serial + issuer (the TVS key), when the record carries both."""
        if self.serial is None or self.issuer is None:
            return None
        return CertIdentity(serial=int.from_bytes(self.serial, "big"), issuer=self.issuer)

    @property
    def role_label(self) -> str:
        return role_label(self.role)

    @property
    def certificate_sha1(self) -> str | None:
        """SHA-1 of the DER certificate (``show ctl``'s ``CERTIFICATE`` column), lowercase hex."""
        if self.certificate is None:
            return None
        return hashlib.sha1(self.certificate, usedforsecurity=False).hexdigest()

    def load_certificate(self) -> x509.Certificate:
        """The record's certificate; ``CertificateError`` when absent or not valid DER."""
        if self.certificate is None:
            raise CertificateError(f"record {self.subject or '?'} carries no certificate (hash-only record)")
        try:
            return x509.load_der_x509_certificate(self.certificate)
        except (ValueError, x509.InvalidVersion) as exc:  # a bad version field is not a ValueError
            raise CertificateError(f"record {self.subject or '?'}: certificate is not valid DER") from exc


@dataclass(frozen=True, slots=True, kw_only=True)
class TlvFile:
    """A parsed (or built) ITL/CTL file. ``layout`` is the top-level header tag order after
    HEADER_LENGTH, one ``13`` per padding byte; ``raw`` the file bytes. Neither is compared."""

    version: tuple[int, int]
    header_length: int
    signer_name: str
    signer_serial: bytes
    signer_issuer: str
    digest: Digest
    signature_algorithm: int
    signature_modulus: int
    signature: bytes
    filename: str
    timestamp: int
    records: tuple[TlvRecord, ...]
    signer_version: tuple[int, int] | None = None
    layout: tuple[int, ...] = field(default=(), compare=False, repr=False)
    raw: bytes = field(default=b"", compare=False, repr=False)

    @property
    def signer_identity(self) -> CertIdentity:
        return CertIdentity(serial=int.from_bytes(self.signer_serial, "big"), issuer=self.signer_issuer)

    @property
    def kind(self) -> str | None:
        """``"CTL"`` or ``"ITL"`` from the header file name (``CTLFile.tlv``, ``ITLSEP<MAC>.tlv``)."""
        upper = self.filename.upper()
        for kind in ("CTL", "ITL"):
            if upper.startswith(kind):
                return kind
        return None

    @property
    def timestamp_utc(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp, UTC)

    def records_with_role(self, role: int) -> tuple[TlvRecord, ...]:
        return tuple(r for r in self.records if r.role == role)

    def signed_content(self) -> bytes:
        """The bytes the signature covers: the file with the SIGNATURE TLV cut out."""
        return encode_file(self, with_signature=False)


# --- encoding and building --------------------------------------------------------------------------


def tlv(tag: int, value: bytes) -> bytes:
    if len(value) > 0xFFFF:
        raise TlvError(f"value of tag {tag} is {len(value)} bytes, more than a TLV can hold", offset=0)
    return struct.pack(">BH", tag, len(value)) + value


def cstr(text: str) -> bytes:
    return text.encode("utf-8") + b"\x00"


def _encode_record(record: TlvRecord) -> bytes:
    body = bytearray()
    for tag in record.tags:
        value = getattr(record, RECORD_FIELDS[tag])
        if tag in (R_DNS, R_SUBJECT, R_ISSUER):
            body += tlv(tag, cstr(value))
        elif tag == R_ROLE:
            body += tlv(tag, struct.pack(">H", int(value)))
        elif tag == R_IP:
            body += tlv(tag, ipaddress.IPv4Address(value).packed)
        elif tag == R_HASH_ALGO:
            body += tlv(tag, bytes([value]))
        else:
            body += tlv(tag, value)
    length = len(body) + 5
    if length > 0xFFFF:
        raise TlvError(
            f"record {record.subject or '?'} is {length} bytes, more than RECORD_LENGTH holds", offset=0
        )
    return tlv(R_LENGTH, struct.pack(">H", length)) + bytes(body)


def header_element(file: TlvFile, tag: int) -> bytes:
    if tag == H_SIGNER_VERSION:
        if file.signer_version is None:
            raise TlvError("layout names SIGNER_VERSION but the file has none", offset=0)
        return tlv(tag, bytes(file.signer_version))
    if tag == H_SIGNER_INFO:
        return tlv(
            tag,
            tlv(H_SIGNER_NAME, cstr(file.signer_name))
            + tlv(H_SIGNER_SERIAL, file.signer_serial)
            + tlv(H_SIGNER_ISSUER, cstr(file.signer_issuer)),
        )
    if tag == H_SIGNATURE_INFO:
        algo = tlv(H_SIG_ALGO, bytes([file.signature_algorithm])) + tlv(
            H_SIG_MODULUS, bytes([file.signature_modulus])
        )
        return tlv(tag, tlv(H_DIGEST, bytes([int(file.digest)])) + tlv(H_SIG_ALGO_INFO, algo))
    if tag == H_SIGNATURE:
        return tlv(tag, file.signature)
    if tag == H_FILENAME:
        return tlv(tag, cstr(file.filename))
    if tag == H_TIMESTAMP:
        return tlv(tag, struct.pack(">I", file.timestamp))
    if tag == H_PADDING:
        return bytes([H_PADDING])
    raise TlvError(f"layout names unknown header tag {tag}", offset=0)


def default_layout(file: TlvFile) -> tuple[int, ...]:
    tags = [H_SIGNER_INFO, H_SIGNATURE_INFO, H_SIGNATURE, H_FILENAME, H_TIMESTAMP]
    if file.signer_version is not None:
        tags.insert(0, H_SIGNER_VERSION)
    size = 10 + sum(len(header_element(file, t)) for t in tags)
    return (*tags, *([H_PADDING] * (-size % 4)))


def encode_file(file: TlvFile, *, with_signature: bool) -> bytes:
    layout = file.layout or default_layout(file)
    header = bytearray(
        tlv(H_VERSION, bytes(file.version)) + tlv(H_HEADER_LENGTH, struct.pack(">H", file.header_length))
    )
    for tag in layout:
        if tag != H_SIGNATURE or with_signature:
            header += header_element(file, tag)
    expected = len(header) + (0 if with_signature else 3 + len(file.signature))
    if expected != file.header_length:
        raise TlvError(
            f"HEADER_LENGTH says {file.header_length} but the header encodes to {expected}", offset=4
        )
    return bytes(header) + b"".join(_encode_record(r) for r in file.records)


def encode(file: TlvFile) -> bytes:
    """Serialize ``file`` as it is (no signing). ``encode(parse(data)) == data``."""
    return encode_file(file, with_signature=True)
