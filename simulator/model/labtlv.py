"""The lab's own ITL/CTL codec: write signed files for the TFTP nodes, read them back as a phone does.

Written from the format facts in docs/cucm-domain.md#itlctl-format-support (1-byte tag, 2-byte big-endian
length, padding tag 13 without length; header tags 1–15 and 28, record tags 1–12; RSA PKCS#1 v1.5 over
the file with the tag-12 TLV cut out) and deliberately independent of ``reconciler.cucm.tlv``: the lab is
the other side of the wire, so a mistake in the product's codec must show up as a disagreement, not be
shared. The reader is only as strict as a phone needs (it refuses what it cannot walk); certificate
names are printed the CUCM way (RDNs in DER order joined with ``;``).

Called by ``simulator.model.trustfiles`` (write), ``simulator.model.phonetrust`` (read, verify) and
``simulator.adapters.cli`` (``show itl``/``show ctl``).
"""

from __future__ import annotations

import enum
import ipaddress
import struct
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from reconciler.errors import TlvError

__all__ = ["LabDigest", "LabRecord", "LabRole", "LabTlvFile", "cucm_name", "read", "record_for", "write"]


class LabRole(enum.IntEnum):
    """FUNCTION codes of a record."""

    SAST = 0
    CCM = 1
    CCM_TFTP = 2
    TFTP = 3
    CAPF = 4
    APP_SERVER = 7
    TVS = 21


LABELS = {
    0: "System Administrator Security Token",
    1: "CCM",
    2: "CCM+TFTP",
    3: "TFTP",
    4: "CAPF",
    7: "APP-SERVER",
    21: "TVS",
}


class LabDigest(enum.IntEnum):
    SHA1 = 1
    SHA256 = 2
    SHA512 = 3

    def algorithm(self) -> hashes.HashAlgorithm:
        return {1: hashes.SHA1(), 2: hashes.SHA256(), 3: hashes.SHA512()}[int(self)]


_MODULUS = {512: 0, 1024: 1, 2048: 2, 4096: 3}


def cucm_name(name: x509.Name) -> str:
    """``CN=host;OU=cluster;O=Lab`` — RDNs in DER order, joined with ``;``."""
    parts = []
    for rdn in name.rdns:
        for attr in rdn:
            short = attr.rfc4514_attribute_name
            parts.append(f"{short}={attr.value if isinstance(attr.value, str) else attr.value.hex()}")
    return ";".join(parts)


def _serial_bytes(value: int) -> bytes:
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")


@dataclass(frozen=True, slots=True, kw_only=True)
class LabRecord:
    """One record as the phone reads it."""

    role: int
    subject: str = ""
    issuer: str = ""
    serial: bytes = b""
    dns_name: str = ""
    ip: str = ""
    certificate: bytes = b""  # DER

    @property
    def key(self) -> tuple[bytes, str]:
        """What TVS and the phone match certificates by: serial and issuer."""
        return (self.serial, self.issuer)

    @property
    def label(self) -> str:
        return LABELS.get(self.role, f"UNKNOWN({self.role})")


@dataclass(frozen=True, slots=True, kw_only=True)
class LabTlvFile:
    version: tuple[int, int]
    header_length: int
    signer_name: str
    signer_serial: bytes
    signer_issuer: str
    digest: int
    modulus_code: int
    signature: bytes
    filename: str
    timestamp: int
    records: tuple[LabRecord, ...]
    body: bytes
    signed_part: bytes  # the file with the tag-12 TLV cut out

    @property
    def signer_key(self) -> tuple[bytes, str]:
        return (self.signer_serial, self.signer_issuer)

    def signature_ok(self, certificate_der: bytes) -> bool:
        """Does the RSA key of ``certificate_der`` verify this file's signature?"""
        return signature_ok(self.signature, self.signed_part, self.digest, certificate_der)


def signature_ok(signature: bytes, data: bytes, digest: int, certificate_der: bytes) -> bool:
    try:
        key = x509.load_der_x509_certificate(certificate_der).public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            return False
        key.verify(signature, data, padding.PKCS1v15(), LabDigest(digest).algorithm())
    except (InvalidSignature, ValueError):
        return False
    return True


def _tlv(tag: int, value: bytes) -> bytes:
    return struct.pack(">BH", tag, len(value)) + value


def _z(text: str) -> bytes:
    return text.encode() + b"\0"


def record_for(cert: x509.Certificate, *, role: int, dns_name: str = "", ip: str | None = None) -> bytes:
    """The encoded record of ``cert`` with ``role``."""
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        pub = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    else:
        pub = key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    body = b"".join(
        [
            _tlv(2, _z(dns_name)),
            _tlv(3, _z(cucm_name(cert.subject))),
            _tlv(4, struct.pack(">H", role)),
            _tlv(5, _z(cucm_name(cert.issuer))),
            _tlv(6, _serial_bytes(cert.serial_number)),
            _tlv(7, pub),
            _tlv(8, cert.signature),
            _tlv(9, cert.public_bytes(serialization.Encoding.DER)),
        ]
    )
    if ip:
        body += _tlv(10, ipaddress.IPv4Address(ip).packed)
    return _tlv(1, struct.pack(">H", len(body) + 5)) + body


def write(
    *,
    records: list[bytes],
    signer_cert: x509.Certificate,
    signer_key: rsa.RSAPrivateKey,
    filename: str,
    digest: LabDigest,
    timestamp: int,
    body: bytes = b"",
) -> bytes:
    """A signed file: header (padded to 4 bytes) then the records, or a ``body`` (a signed
    configuration file carries its XML after the header)."""
    signer = (
        _tlv(4, _z(cucm_name(signer_cert.subject)))
        + _tlv(5, _serial_bytes(signer_cert.serial_number))
        + _tlv(6, _z(cucm_name(signer_cert.issuer)))
    )
    sig_info = _tlv(
        7,
        _tlv(8, bytes([digest]))
        + _tlv(9, _tlv(10, b"\0") + _tlv(11, bytes([_MODULUS[signer_key.key_size]]))),
    )
    signature_len = signer_key.key_size // 8
    middle = _tlv(28, b"\x01\x00") + _tlv(3, signer) + sig_info
    tail = _tlv(14, _z(filename)) + _tlv(15, struct.pack(">I", timestamp))
    fixed = 5 + 5 + len(middle) + 3 + signature_len + len(tail)  # tags 1 and 2, ..., tag 12
    pad = (-fixed) % 4
    header_length = fixed + pad
    head = _tlv(1, b"\x01\x02") + _tlv(2, struct.pack(">H", header_length)) + middle
    rest = tail + bytes([13]) * pad + b"".join(records) + body
    unsigned = head + rest
    sig = signer_key.sign(unsigned, padding.PKCS1v15(), digest.algorithm())
    return head + _tlv(12, sig) + rest


def _text(value: bytes) -> str:
    return (
        value[:-1].decode("utf-8", "replace") if value.endswith(b"\0") else value.decode("utf-8", "replace")
    )


def _walk(data: bytes, pos: int, end: int) -> list[tuple[int, int, bytes]]:
    """(tag, offset, value) of the TLVs in ``data[pos:end]``; padding bytes are skipped."""
    out = []
    while pos < end:
        tag = data[pos]
        if tag == 13:
            pos += 1
            continue
        if pos + 3 > end:
            raise TlvError("truncated element", offset=pos)
        (length,) = struct.unpack_from(">H", data, pos + 1)
        if pos + 3 + length > end:
            raise TlvError(f"tag {tag} overruns its container", offset=pos)
        out.append((tag, pos, data[pos + 3 : pos + 3 + length]))
        pos += 3 + length
    return out


def read(data: bytes, *, records: bool = True) -> LabTlvFile:
    """Parse a file as a phone reads it; ``TlvError`` when it cannot be walked. ``records=False`` for a
    signed configuration file (its body is XML, kept in ``body``)."""
    if len(data) < 10 or data[0] != 1 or data[5] != 2:
        raise TlvError("not an ITL/CTL file (VERSION and HEADER_LENGTH expected first)", offset=0)
    (header_length,) = struct.unpack_from(">H", data, 8)
    if header_length > len(data):
        raise TlvError("HEADER_LENGTH beyond the end of the file", offset=3)
    head: dict[int, tuple[int, bytes]] = {}
    for tag, offset, value in _walk(data, 0, header_length):
        head[tag] = (offset, value)
    missing = [t for t in (1, 3, 7, 12, 14, 15) if t not in head]
    if missing:
        raise TlvError(f"header lacks tag(s) {missing}", offset=0)
    signer = {t: v for t, _, v in _walk(head[3][1], 0, len(head[3][1]))}
    info = {t: v for t, _, v in _walk(head[7][1], 0, len(head[7][1]))}
    algo = {t: v for t, _, v in _walk(info.get(9, b""), 0, len(info.get(9, b"")))}
    found = []
    pos = header_length if records else len(data)
    while pos < len(data):
        if data[pos] != 1 or pos + 5 > len(data):
            raise TlvError("a record must start with RECORD_LENGTH", offset=pos)
        (length,) = struct.unpack_from(">H", data, pos + 3)
        if length < 5 or pos + length > len(data):
            raise TlvError("bad RECORD_LENGTH", offset=pos)
        fields = {t: v for t, _, v in _walk(data, pos + 5, pos + length)}
        ip = fields.get(10, b"")
        found.append(
            LabRecord(
                role=struct.unpack(">H", fields[4])[0] if len(fields.get(4, b"")) == 2 else -1,
                subject=_text(fields.get(3, b"")),
                issuer=_text(fields.get(5, b"")),
                serial=fields.get(6, b""),
                dns_name=_text(fields.get(2, b"")),
                ip=str(ipaddress.IPv4Address(ip)) if len(ip) == 4 else "",
                certificate=fields.get(9, b""),
            )
        )
        pos += length
    sig_offset, sig = head[12]
    return LabTlvFile(
        version=(head[1][1][0], head[1][1][1]) if len(head[1][1]) == 2 else (0, 0),
        header_length=header_length,
        signer_name=_text(signer.get(4, b"")),
        signer_serial=signer.get(5, b""),
        signer_issuer=_text(signer.get(6, b"")),
        digest=info.get(8, b"\x01")[0],
        modulus_code=algo.get(11, b"\x02")[0],
        signature=sig,
        filename=_text(head[14][1]),
        timestamp=struct.unpack(">I", head[15][1])[0] if len(head[15][1]) == 4 else 0,
        records=tuple(found),
        body=b"" if records else data[header_length:],
        signed_part=data[:sig_offset] + data[sig_offset + 3 + len(sig) :],
    )
