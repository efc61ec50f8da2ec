"""Rendering of a parsed ITL/CTL file: ``show itl``/``show ctl``-like text and a stable JSON document.

Called by ``reconciler inspect tlv`` (``reconciler.commands.inspect``). Returns strings and dicts; never
prints. The JSON shape (keys ``version``, ``signer``, ``digest``, ``signature_valid``, ``records[]`` with
``role``, ``subject``, ``issuer``, ``serial``, ``sha1``, ``dns_name``, ``ip``) is documented in
docs/cucm-domain.md and kept stable; extra keys may be added, none removed.
"""

from __future__ import annotations

import hashlib

from reconciler.cucm.tlv import Role, TlvFile, TlvRecord

__all__ = ["role_short_name", "tlv_document", "tlv_text"]

_SHORT = {
    Role.SAST: "SAST",
    Role.CCM: "CCM",
    Role.CCM_TFTP: "CCM+TFTP",
    Role.TFTP: "TFTP",
    Role.CAPF: "CAPF",
    Role.APP_SERVER: "APP-SERVER",
    Role.TVS: "TVS",
}


def role_short_name(code: int) -> str:
    for role, name in _SHORT.items():
        if role == code:
            return name
    return f"UNKNOWN({code})"


def _colon_hex(raw: bytes | None) -> str:
    return ":".join(f"{b:02x}" for b in raw) if raw else ""


def _is_signer(file: TlvFile, record: TlvRecord) -> bool:
    return record.serial == file.signer_serial and record.issuer == file.signer_issuer


def tlv_document(file: TlvFile, *, signature_error: str | None) -> dict[str, object]:
    """The stable JSON document for ``file``; ``signature_error`` is None when the signature verified."""
    return {
        "kind": file.kind,
        "filename": file.filename,
        "version": f"{file.version[0]}.{file.version[1]}",
        "header_length": file.header_length,
        "timestamp": file.timestamp_utc.isoformat(),
        "signer_version": None if file.signer_version is None else "{}.{}".format(*file.signer_version),
        "signer": {
            "name": file.signer_name,
            "serial": file.signer_serial.hex(),
            "issuer": file.signer_issuer,
        },
        "digest": file.digest.name,
        "signature_valid": signature_error is None,
        "signature_error": signature_error,
        "records": [
            {
                "role": role_short_name(r.role),
                "role_code": int(r.role),
                "subject": r.subject,
                "issuer": r.issuer,
                "serial": None if r.serial is None else r.serial.hex(),
                "sha1": r.certificate_sha1,
                "dns_name": r.dns_name,
                "ip": r.ip,
                "signer": _is_signer(file, r),
            }
            for r in file.records
        ],
    }


def tlv_text(file: TlvFile, *, signature_error: str | None) -> str:
    """Text laid out like CUCM's ``show ctl`` / ``show itl``."""
    kind = file.kind or "TLV"
    raw = file.raw
    lines = [
        f"The checksum value of the {kind} file:",
        f"{hashlib.md5(raw, usedforsecurity=False).hexdigest()}(MD5)",
        f"{hashlib.sha1(raw, usedforsecurity=False).hexdigest()}(SHA1)",
        "",
        f"Length of {kind} file: {len(raw)}",
        "",
        f"Parse {kind} File",
        "-" * 16,
        "",
        f"Version: {file.version[0]}.{file.version[1]}",
        f"HeaderLength: {file.header_length} (BYTES)",
        "",
        f"{'SIGNERNAME':<18}{file.signer_name}",
        f"{'SERIALNUMBER':<18}{_colon_hex(file.signer_serial)}",
        f"{'CANAME':<18}{file.signer_issuer}",
        f"{'DIGESTALGORITHM':<18}{file.digest.name}",
        f"{'SIGNATUREMODULUS':<18}{file.signature_modulus}",
        f"{'SIGNATURE':<18}{len(file.signature)} bytes",
        f"{'FILENAME':<18}{file.filename}",
        f"{'TIMESTAMP':<18}{file.timestamp_utc:%Y-%m-%d %H:%M:%S} UTC",
    ]
    if file.signer_version is not None:
        lines.append(f"{'SIGNERVERSION':<18}{file.signer_version[0]}.{file.signer_version[1]}")
    for number, record in enumerate(file.records, start=1):
        lines += ["", f"{kind} Record #:{number}", "-" * 16]
        rows = [
            ("DNSNAME", record.dns_name or ""),
            ("SUBJECTNAME", record.subject or ""),
            ("FUNCTION", record.role_label),
            ("ISSUERNAME", record.issuer or ""),
            ("SERIALNUMBER", _colon_hex(record.serial)),
            ("CERTIFICATE", f"{record.certificate_sha1} (SHA1 Hash HEX)" if record.certificate else "(none)"),
            ("IPADDRESS", record.ip or ""),
        ]
        lines += [f"{name:<18}{value}".rstrip() for name, value in rows]
        if _is_signer(file, record):
            lines.append(f"This etoken was used to sign the {kind} file.")
    lines.append("")
    if signature_error is None:
        lines.append(f"The {kind} file was verified successfully.")
    else:
        lines.append(f"The {kind} file could not be verified: {signature_error}")
    return "\n".join(lines)
