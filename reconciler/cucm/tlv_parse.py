"""The ITL/CTL parser (internal half of ``reconciler.cucm.tlv``; import ``parse`` from there).

Every read is bounds-checked; every malformation is a ``TlvError`` carrying the byte offset where the
offending element starts and the reason. Each loop step consumes at least one byte, so no input hangs.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

from reconciler.cucm.tlv_format import (
    H_DIGEST,
    H_FILENAME,
    H_HEADER_LENGTH,
    H_PADDING,
    H_SIG_ALGO,
    H_SIG_ALGO_INFO,
    H_SIG_MODULUS,
    H_SIGNATURE,
    H_SIGNATURE_INFO,
    H_SIGNER_INFO,
    H_SIGNER_ISSUER,
    H_SIGNER_NAME,
    H_SIGNER_SERIAL,
    H_SIGNER_VERSION,
    H_VERSION,
    HEADER_TOP,
    R_DNS,
    R_HASH_ALGO,
    R_IP,
    R_ISSUER,
    R_LENGTH,
    R_ROLE,
    R_SUBJECT,
    RECORD_FIELDS,
    Digest,
    TlvFile,
    TlvRecord,
)
from reconciler.errors import TlvError

__all__ = ["parse"]


class _Cursor:
    """Bounds-checked reading of ``data[pos:end]``."""

    __slots__ = ("data", "end", "pos")

    def __init__(self, data: bytes, pos: int, end: int) -> None:
        self.data, self.pos, self.end = data, pos, end

    def tlv(self, where: str) -> tuple[int, int, bytes]:
        """Read tag, 2-byte length and value; returns (tag, start offset, value)."""
        start = self.pos
        if start + 3 > self.end:
            raise TlvError(f"truncated tag/length in {where} ({self.end - start} byte(s) left)", offset=start)
        tag = self.data[start]
        (length,) = struct.unpack_from(">H", self.data, start + 1)
        if start + 3 + length > self.end:
            raise TlvError(
                f"tag {tag} in {where} declares length {length}, but only {self.end - start - 3} "
                "byte(s) remain",
                offset=start,
            )
        self.pos = start + 3 + length
        return tag, start, self.data[start + 3 : self.pos]


@dataclass(slots=True)
class _Header:
    """The header parts found so far."""

    signer_version: tuple[int, int] | None = None
    signer: tuple[str, bytes, str] | None = None
    signature_info: tuple[Digest, int, int] | None = None
    signature: bytes | None = None
    filename: str | None = None
    timestamp: int | None = None


def _text(value: bytes, *, tag: int, offset: int) -> str:
    if not value or value[-1] != 0:
        raise TlvError(f"string of tag {tag} is not NUL-terminated", offset=offset)
    try:
        return value[:-1].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TlvError(f"string of tag {tag} is not UTF-8 ({exc.reason})", offset=offset) from exc


def _fixed(value: bytes, size: int, *, tag: int, offset: int) -> bytes:
    if len(value) != size:
        raise TlvError(f"tag {tag} must have length {size}, has {len(value)}", offset=offset)
    return value


def _children(value: bytes, base: int, expected: tuple[int, ...], *, name: str) -> list[tuple[int, bytes]]:
    """A container's value: exactly the ``expected`` tags, in order, filling it completely.
    Returns (file offset, value) per child."""
    cursor = _Cursor(value, 0, len(value))
    out: list[tuple[int, bytes]] = []
    for wanted in expected:
        if cursor.pos >= len(value):
            raise TlvError(f"{name} ends before tag {wanted}", offset=base + cursor.pos)
        try:
            tag, start, child = cursor.tlv(name)
        except TlvError as exc:  # re-anchor the offset from the container's value to the file
            raise TlvError(exc.reason, offset=base + exc.offset) from None
        if tag != wanted:
            raise TlvError(f"{name} holds tag {tag} where tag {wanted} belongs", offset=base + start)
        out.append((base + start, child))
    if cursor.pos != len(value):
        raise TlvError(
            f"{name} has {len(value) - cursor.pos} unexpected trailing byte(s)", offset=base + cursor.pos
        )
    return out


def parse(data: bytes) -> TlvFile:
    """Parse an ITL or CTL file; ``TlvError(reason, offset=)`` on any malformation (truncation, overrunning
    lengths, unknown or duplicate tags, missing header parts, malformed strings)."""
    data = bytes(data)
    if not data:
        raise TlvError("empty file", offset=0)
    top = _Cursor(data, 0, len(data))
    tag, start, value = top.tlv("header")
    if tag != H_VERSION:
        raise TlvError(f"file must start with VERSION (tag 1), found tag {tag}", offset=start)
    major, minor = _fixed(value, 2, tag=tag, offset=start)
    tag, start, value = top.tlv("header")
    if tag != H_HEADER_LENGTH:
        raise TlvError(f"HEADER_LENGTH (tag 2) must follow VERSION, found tag {tag}", offset=start)
    (header_length,) = struct.unpack(">H", _fixed(value, 2, tag=tag, offset=start))
    if not top.pos <= header_length <= len(data):
        raise TlvError(
            f"HEADER_LENGTH {header_length} is outside the file (minimum {top.pos}, size {len(data)})",
            offset=start,
        )
    header = _Header()
    layout: list[int] = []
    head = _Cursor(data, top.pos, header_length)
    while head.pos < header_length:
        if data[head.pos] == H_PADDING:
            layout.append(H_PADDING)
            head.pos += 1
            continue
        tag, start, value = head.tlv("header")
        if tag not in HEADER_TOP:
            raise TlvError(f"unknown header tag {tag}", offset=start)
        if tag in layout:
            raise TlvError(f"duplicate header tag {tag}", offset=start)
        layout.append(tag)
        _header_part(header, tag, value, start)
    if header.signer is None:
        raise TlvError("header lacks SIGNER_INFO (tag 3)", offset=header_length)
    if header.signature_info is None:
        raise TlvError("header lacks SIGNATURE_INFO (tag 7)", offset=header_length)
    if header.signature is None:
        raise TlvError("header lacks SIGNATURE (tag 12)", offset=header_length)
    if header.filename is None:
        raise TlvError("header lacks FILENAME (tag 14)", offset=header_length)
    if header.timestamp is None:
        raise TlvError("header lacks TIMESTAMP (tag 15)", offset=header_length)
    records: list[TlvRecord] = []
    pos = header_length
    while pos < len(data):
        record, pos = _parse_record(data, pos)
        records.append(record)
    return TlvFile(
        version=(major, minor),
        header_length=header_length,
        signer_version=header.signer_version,
        signer_name=header.signer[0],
        signer_serial=header.signer[1],
        signer_issuer=header.signer[2],
        digest=header.signature_info[0],
        signature_algorithm=header.signature_info[1],
        signature_modulus=header.signature_info[2],
        signature=header.signature,
        filename=header.filename,
        timestamp=header.timestamp,
        records=tuple(records),
        layout=tuple(layout),
        raw=data,
    )


def _header_part(header: _Header, tag: int, value: bytes, start: int) -> None:
    base = start + 3
    if tag == H_SIGNER_VERSION:
        major, minor = _fixed(value, 2, tag=tag, offset=start)
        header.signer_version = (major, minor)
    elif tag == H_SIGNER_INFO:
        (n_at, name), (s_at, serial), (i_at, issuer) = _children(
            value, base, (H_SIGNER_NAME, H_SIGNER_SERIAL, H_SIGNER_ISSUER), name="SIGNER_INFO"
        )
        if not serial:
            raise TlvError("signer SERIAL_NUMBER is empty", offset=s_at)
        header.signer = (
            _text(name, tag=H_SIGNER_NAME, offset=n_at),
            serial,
            _text(issuer, tag=H_SIGNER_ISSUER, offset=i_at),
        )
    elif tag == H_SIGNATURE_INFO:
        (d_at, digest), (a_at, algo_info) = _children(
            value, base, (H_DIGEST, H_SIG_ALGO_INFO), name="SIGNATURE_INFO"
        )
        code = _fixed(digest, 1, tag=H_DIGEST, offset=d_at)[0]
        if code not in Digest._value2member_map_:
            raise TlvError(f"unknown digest algorithm code {code}", offset=d_at)
        (g_at, algo), (m_at, modulus) = _children(
            algo_info, a_at + 3, (H_SIG_ALGO, H_SIG_MODULUS), name="SIGNATURE_ALGORITHM_INFO"
        )
        header.signature_info = (
            Digest(code),
            _fixed(algo, 1, tag=H_SIG_ALGO, offset=g_at)[0],
            _fixed(modulus, 1, tag=H_SIG_MODULUS, offset=m_at)[0],
        )
    elif tag == H_SIGNATURE:
        if not value:
            raise TlvError("SIGNATURE is empty", offset=start)
        header.signature = value
    elif tag == H_FILENAME:
        header.filename = _text(value, tag=tag, offset=start)
    else:  # H_TIMESTAMP, the last of HEADER_TOP
        (header.timestamp,) = struct.unpack(">I", _fixed(value, 4, tag=tag, offset=start))


def _parse_record(data: bytes, start: int) -> tuple[TlvRecord, int]:
    cursor = _Cursor(data, start, len(data))
    tag, _, value = cursor.tlv("record")
    if tag != R_LENGTH:
        raise TlvError(f"record must start with RECORD_LENGTH (tag 1), found tag {tag}", offset=start)
    (length,) = struct.unpack(">H", _fixed(value, 2, tag=tag, offset=start))
    if length < 5 or start + length > len(data):
        raise TlvError(
            f"RECORD_LENGTH {length} does not fit (record at {start}, file size {len(data)})", offset=start
        )
    cursor.end = start + length
    values: dict[str, object] = {}
    tags: list[int] = []
    while cursor.pos < cursor.end:
        tag, at, value = cursor.tlv("record")
        name = RECORD_FIELDS.get(tag)
        if name is None:
            raise TlvError(f"unknown record tag {tag}", offset=at)
        if name in values:
            raise TlvError(f"duplicate record tag {tag}", offset=at)
        tags.append(tag)
        values[name] = _record_value(tag, value, at)
    if "role" not in values:
        raise TlvError("record lacks FUNCTION (tag 4)", offset=start)
    return TlvRecord(tags=tuple(tags), **values), cursor.end  # type: ignore[arg-type]


def _record_value(tag: int, value: bytes, at: int) -> object:
    if tag in (R_DNS, R_SUBJECT, R_ISSUER):
        return _text(value, tag=tag, offset=at)
    if tag == R_ROLE:
        return int.from_bytes(_fixed(value, 2, tag=tag, offset=at), "big")
    if tag == R_IP:
        return str(ipaddress.IPv4Address(_fixed(value, 4, tag=tag, offset=at)))
    if tag == R_HASH_ALGO:
        return _fixed(value, 1, tag=tag, offset=at)[0]
    return value
