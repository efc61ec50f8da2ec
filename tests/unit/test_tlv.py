"""reconciler.cucm.tlv: the ITL/CTL codec (docs/cucm-domain.md#itlctl-format-support) — round trip,
signatures, a CTL laid out byte by byte from the field table, and clean rejection of every malformed or
mutated file."""

from __future__ import annotations

import dataclasses
import struct

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.cucm import certs, tlv
from reconciler.errors import CertificateError, SignatureError, TlvError
from tests.cucm_material import NOW, identity

TS = 1_760_000_000


def _itl(digest: tlv.Digest = tlv.Digest.SHA1, *, signer_version: tuple[int, int] | None = None) -> bytes:
    cm = identity("CallManager", "cucm-pub", "old")
    tvs = identity("TVS", "cucm-pub", "old", ec=True)
    rec = identity("ITLRecovery", "cucm-pub", "old")
    records = [
        tlv.record_from_certificate(cm.cert, role=tlv.Role.SAST, dns_name="cucm-pub", ip="127.0.1.1"),
        tlv.record_from_certificate(cm.cert, role=tlv.Role.CCM_TFTP, dns_name="cucm-pub", ip="127.0.1.1"),
        tlv.record_from_certificate(tvs.cert, role=tlv.Role.TVS, dns_name="cucm-pub"),
        tlv.record_from_certificate(rec.cert, role=tlv.Role.SAST),
    ]
    return tlv.build(
        records=records,
        signer_cert=cm.cert,
        signer_key=cm.key,
        filename="ITLFile.tlv",
        digest=digest,
        timestamp=TS,
        signer_version=signer_version,
    )


VALID = _itl()


@pytest.mark.parametrize("digest", list(tlv.Digest))
@pytest.mark.parametrize("signer_version", [None, (1, 1)])
def test_build_parse_encode_round_trip_is_byte_exact(
    digest: tlv.Digest, signer_version: tuple[int, int] | None
) -> None:
    data = _itl(digest, signer_version=signer_version)
    parsed = tlv.parse(data)
    assert tlv.encode(parsed) == data
    assert parsed.raw == data
    assert parsed.digest is digest
    assert parsed.signer_version == signer_version
    assert parsed.version == (1, 2)
    assert parsed.header_length % 4 == 0
    assert parsed.filename == "ITLFile.tlv" and parsed.kind == "ITL"
    assert parsed.timestamp == TS and parsed.timestamp_utc.year == 2025
    assert parsed.signature_modulus == 2 and len(parsed.signature) == 256
    signer = tlv.verify(parsed)
    assert signer.role is tlv.Role.SAST
    assert signer.identity == certs.identity_of(identity("CallManager", "cucm-pub", "old").cert)
    # building again from the parsed records reproduces the same bytes (PKCS#1 v1.5 is deterministic)
    cm = identity("CallManager", "cucm-pub", "old")
    again = tlv.build(
        records=parsed.records,
        signer_cert=cm.cert,
        signer_key=cm.key,
        filename="ITLFile.tlv",
        digest=digest,
        timestamp=TS,
        signer_version=signer_version,
    )
    assert again == data


def test_records_carry_cucm_fields() -> None:
    parsed = tlv.parse(VALID)
    cm = identity("CallManager", "cucm-pub", "old").cert
    first = parsed.records[0]
    assert first.subject == certs.subject_of(cm) == parsed.signer_name
    assert first.issuer == certs.issuer_of(cm) == parsed.signer_issuer
    assert first.serial_number == cm.serial_number
    assert first.dns_name == "cucm-pub" and first.ip == "127.0.1.1"
    assert first.certificate_sha1 == certs.sha1_hex(cm)
    assert first.load_certificate() == cm
    assert first.public_key == cm.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.PKCS1
    )
    tvs = parsed.records_with_role(tlv.Role.TVS)[0]
    assert tvs.public_key is not None and len(tvs.public_key) == 65 and tvs.public_key[0] == 4  # EC point
    assert parsed.records[2].ip is None and parsed.records[3].dns_name == ""
    assert tlv.role_label(2) == "CCM+TFTP" and tlv.role_label(0) == "System Administrator Security Token"
    assert tlv.role_label(99) == "UNKNOWN(99)"


def _tlv(tag: int, value: bytes) -> bytes:
    return struct.pack(">BH", tag, len(value)) + value


def test_reads_a_ctl_laid_out_exactly_as_the_field_table() -> None:
    """A CTL written byte by byte from the format (docs/cucm-domain.md), independently of ``build``."""
    signer = identity("CallManager", "cucm-new-pub", "new")
    capf = identity("CAPF", "cucm-new-pub", "new")
    cm_der = signer.cert.public_bytes(serialization.Encoding.DER)
    subject = b"CN=cucm-new-pub;OU=new;O=Reconciler Lab;C=US\x00"
    serial = signer.cert.serial_number.to_bytes((signer.cert.serial_number.bit_length() + 7) // 8, "big")
    signer_info = _tlv(4, subject) + _tlv(5, serial) + _tlv(6, subject)  # self-signed: issuer == subject
    signature_info = _tlv(8, b"\x02") + _tlv(9, _tlv(10, b"\x00") + _tlv(11, b"\x02"))  # SHA-256, RSA 2048
    assert len(signature_info) == 15
    before_sig = _tlv(1, b"\x01\x02")  # VERSION 1.2
    middle = _tlv(3, signer_info) + _tlv(7, signature_info)
    after_sig = _tlv(14, b"CTLFile.tlv\x00") + _tlv(15, struct.pack(">I", TS))
    unpadded = 5 + len(before_sig) + len(middle) + 3 + 256 + len(after_sig)
    pad = b"\x0d" * (-unpadded % 4)
    header_length = unpadded + len(pad)
    head_no_sig = before_sig + _tlv(2, struct.pack(">H", header_length)) + middle

    def record(role: int, cert: certs.IssuedCert, dns: bytes, ip: bytes) -> bytes:
        der = cert.cert.public_bytes(serialization.Encoding.DER)
        pub = cert.cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.PKCS1
        )
        ser = cert.cert.serial_number.to_bytes((cert.cert.serial_number.bit_length() + 7) // 8, "big")
        name = certs.subject_of(cert.cert).encode() + b"\x00"
        body = (
            _tlv(2, dns)
            + _tlv(3, name)
            + _tlv(4, struct.pack(">H", role))
            + _tlv(5, name)
            + _tlv(6, ser)
            + _tlv(7, pub)
            + _tlv(8, cert.cert.signature)
            + _tlv(9, der)
            + _tlv(10, ip)
        )
        return _tlv(1, struct.pack(">H", len(body) + 5)) + body

    records = record(0, signer, b"cucm-new-pub\x00", bytes([127, 0, 2, 1])) + record(
        4, capf, b"\x00", bytes(4)
    )
    content = head_no_sig + after_sig + pad + records
    signature = signer.key.sign(content, padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr, call-arg]
    data = head_no_sig + _tlv(12, signature) + after_sig + pad + records

    parsed = tlv.parse(data)
    assert parsed.header_length == header_length
    assert parsed.signer_name == parsed.signer_issuer == "CN=cucm-new-pub;OU=new;O=Reconciler Lab;C=US"
    assert parsed.signer_serial == serial
    assert (
        parsed.digest is tlv.Digest.SHA256
        and parsed.signature_algorithm == 0
        and parsed.signature_modulus == 2
    )
    assert parsed.filename == "CTLFile.tlv" and parsed.kind == "CTL" and parsed.timestamp == TS
    assert [r.role for r in parsed.records] == [tlv.Role.SAST, tlv.Role.CAPF]
    assert parsed.records[0].ip == "127.0.2.1" and parsed.records[0].dns_name == "cucm-new-pub"
    assert parsed.records[1].dns_name == "" and parsed.records[1].certificate_sha1 == certs.sha1_hex(
        capf.cert
    )
    assert parsed.records[0].certificate == cm_der
    assert tlv.verify(parsed).subject == parsed.signer_name
    assert tlv.encode(parsed) == data
    assert parsed.signed_content() == content


def test_tampered_or_unsigned_files_fail_verification() -> None:
    parsed = tlv.parse(VALID)
    with pytest.raises(SignatureError, match="does not verify"):
        tlv.verify(dataclasses.replace(parsed, timestamp=TS + 1))
    with pytest.raises(SignatureError, match="has no record"):
        tlv.verify(dataclasses.replace(parsed, records=parsed.records[2:]))
    forged = dataclasses.replace(parsed, signature=bytes(len(parsed.signature)))
    with pytest.raises(SignatureError):
        tlv.verify(forged)
    # a record claiming the signer's serial/issuer but carrying another certificate is not the signer
    other = identity("CallManager", "cucm-sub9", "old").cert
    fake = dataclasses.replace(parsed.records[0], certificate=other.public_bytes(serialization.Encoding.DER))
    with pytest.raises(SignatureError, match="not the header's signer"):
        tlv.verify(dataclasses.replace(parsed, records=(fake, *parsed.records[1:])))


def test_build_refuses_ec_signers_and_mismatched_keys() -> None:
    ec_id = identity("TVS", "cucm-pub", "old", ec=True)
    with pytest.raises(CertificateError, match="RSA"):
        tlv.build(records=[], signer_cert=ec_id.cert, signer_key=ec_id.key, filename="ITLFile.tlv")
    cm = identity("CallManager", "cucm-pub", "old")
    tvs = identity("TVS", "cucm-pub", "old")
    with pytest.raises(CertificateError, match="does not belong"):
        tlv.build(records=[], signer_cert=cm.cert, signer_key=tvs.key, filename="ITLFile.tlv")


def _header_prefix() -> bytes:
    return _tlv(1, b"\x01\x02")


@pytest.mark.parametrize(
    ("data", "offset", "reason"),
    [
        (b"", 0, "empty file"),
        (b"\x01\x00", 0, "truncated tag/length"),
        (b"\x02\x00\x02\x00\x10", 0, "must start with VERSION"),
        (_tlv(1, b"\x01\x02") + _tlv(2, b"\x00\xff"), 5, "HEADER_LENGTH 255 is outside"),
        (_tlv(1, b"\x01\x02") + _tlv(2, b"\x00\x0d") + _tlv(99, b""), 10, "unknown header tag 99"),
        (_tlv(1, b"\x01\x02") + _tlv(2, b"\x00\x0a"), 10, "header lacks SIGNER_INFO"),
        (_tlv(1, b"\x01\x02") + _tlv(2, b"\x00\x11") + _tlv(14, b"abcd"), 10, "not NUL-terminated"),
        (_tlv(1, b"\x01\x02") + _tlv(2, b"\x00\x11") + _tlv(14, b"\xff\xfe\x00\x00"), 10, "not UTF-8"),
        (
            _tlv(1, b"\x01\x02") + _tlv(2, b"\x00\x14") + _tlv(15, b"\x00" * 4) + _tlv(15, b""),
            17,
            "duplicate header tag 15",
        ),
        (_tlv(1, b"\x01\x02") + _tlv(2, b"\x00\x0e") + _tlv(15, b"\x00"), 10, "must have length 4"),
        (
            _tlv(1, b"\x01\x02") + _tlv(2, b"\x00\x11") + _tlv(3, _tlv(5, b"\x01")),
            13,
            "holds tag 5 where tag 4",
        ),
        (
            _tlv(1, b"\x01\x02") + _tlv(2, b"\x00\x0e") + _tlv(3, b"\x04"),
            13,
            "truncated tag/length in SIGNER_INFO",
        ),
    ],
)
def test_malformed_headers_name_offset_and_reason(data: bytes, offset: int, reason: str) -> None:
    with pytest.raises(TlvError, match=reason) as info:
        tlv.parse(data)
    assert info.value.offset == offset


def test_malformed_records_and_signature_info() -> None:
    parsed = tlv.parse(VALID)
    header = VALID[: parsed.header_length]
    first_len = struct.unpack(">H", VALID[parsed.header_length + 3 : parsed.header_length + 5])[0]
    cases = {
        "unknown record tag 77": header + _tlv(1, b"\x00\x08") + _tlv(77, b""),
        "record lacks FUNCTION": header + _tlv(1, b"\x00\x09") + _tlv(2, b"\x00"),
        "duplicate record tag 4": header + _tlv(1, b"\x00\x0f") + _tlv(4, b"\x00\x00") + _tlv(4, b"\x00\x00"),
        "RECORD_LENGTH 3 does not fit": header + _tlv(1, b"\x00\x03"),
        "RECORD_LENGTH 64000 does not fit": header + _tlv(1, struct.pack(">H", 64000)),
        "record must start with RECORD_LENGTH": header + _tlv(4, b"\x00\x00"),
        "tag 10 must have length 4": header + _tlv(1, b"\x00\x0e") + _tlv(4, b"\x00\x00") + _tlv(10, b"\x01"),
        r"does not fit \(record at": header
        + VALID[parsed.header_length : parsed.header_length + first_len - 1],
    }
    for reason, data in cases.items():
        with pytest.raises(TlvError, match=reason) as info:
            tlv.parse(data)
        assert info.value.offset >= parsed.header_length, reason
    bad_digest = VALID.replace(_tlv(8, b"\x01"), _tlv(8, b"\x09"), 1)
    with pytest.raises(TlvError, match="unknown digest algorithm code 9"):
        tlv.parse(bad_digest)


def test_every_truncation_is_rejected_cleanly() -> None:
    for cut in range(len(VALID)):
        prefix = VALID[:cut]
        try:
            parsed = tlv.parse(prefix)
        except TlvError as exc:
            assert 0 <= exc.offset <= cut
            continue
        # a cut exactly at a record boundary still parses (records run to EOF) but no longer verifies
        # if the signer record is gone or the signed content changed
        with pytest.raises(SignatureError):
            tlv.verify(parsed)


def _parse_outcome(data: bytes) -> tlv.TlvFile | None:
    try:
        return tlv.parse(data)
    except TlvError as exc:
        assert 0 <= exc.offset <= len(data)
        assert exc.reason
        return None


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_random_bytes_raise_only_tlv_error(data: bytes) -> None:
    parsed = _parse_outcome(data)
    if parsed is not None:
        assert tlv.encode(parsed) == data


@st.composite
def _mutations(draw: st.DrawFn) -> bytes:
    data = bytearray(VALID)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        kind = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]))
        at = draw(st.integers(min_value=0, max_value=max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(min_value=0, max_value=7))
        elif kind == "set" and data:
            data[at] = draw(st.integers(min_value=0, max_value=255))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete" and data:
            del data[at : at + draw(st.integers(min_value=1, max_value=8))]
        else:
            del data[at:]
    return bytes(data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutations())
def test_mutated_files_are_rejected_cleanly(data: bytes) -> None:
    """Every change to a signed file is caught: TlvError while parsing, or SignatureError verifying."""
    parsed = _parse_outcome(data)
    if parsed is None:
        return
    assert tlv.encode(parsed) == data
    if data != VALID:
        with pytest.raises(SignatureError):
            tlv.verify(parsed)


def test_record_dataclass_validation() -> None:
    with pytest.raises(TlvError, match="not IPv4"):
        tlv.TlvRecord(role=tlv.Role.TFTP, ip="::1")
    rec = tlv.TlvRecord(role=21)
    assert rec.role is tlv.Role.TVS and rec.identity is None and rec.certificate_sha1 is None
    with pytest.raises(CertificateError):
        rec.load_certificate()
    assert tlv.TlvRecord(role=5).role_label == "UNKNOWN(5)"
    assert certs.identity_of(identity("CallManager", "cucm-pub", "old").cert).issuer.startswith("CN=cucm-pub")
    assert NOW.year == 2026
