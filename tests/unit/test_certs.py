"""reconciler.cucm.certs: loading, fingerprints, CUCM names, identities, validity and the generators."""

from __future__ import annotations

import base64
import hashlib
import socket
import ssl
import tempfile
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from reconciler.cucm import certs
from reconciler.errors import CertificateError
from tests.cucm_material import NOW, identity, lab_ca


def test_load_pem_bundle_der_and_single() -> None:
    a = identity("CallManager", "cucm-pub", "old").cert
    b = identity("TVS", "cucm-pub", "old").cert
    bundle = certs.certificate_pem(a) + b"\n" + certs.certificate_pem(b)
    loaded = certs.load_certificates(bundle)
    assert [c.serial_number for c in loaded] == [a.serial_number, b.serial_number]
    assert certs.load_certificates(certs.certificate_der(a)) == [a]
    assert certs.load_certificate(certs.certificate_pem(b)) == b
    with pytest.raises(CertificateError, match="expected one certificate, found 2"):
        certs.load_certificate(bundle)


@pytest.mark.parametrize(
    "junk",
    [
        b"",
        b"hello world",
        b"\x30\x82\x01\x00garbage",
        b"-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
    ],
)
def test_load_rejects_junk_with_certificate_error(junk: bytes) -> None:
    with pytest.raises(CertificateError):
        certs.load_certificates(junk)


def test_a_certificate_with_an_unknown_version_field_is_a_certificate_error() -> None:
    # cryptography raises InvalidVersion (not a ValueError) for a version other than v1/v3; found by the
    # TLV fuzz test in a mutated ITL. DER and PEM both give the one error of our tree.
    der = certs.certificate_der(identity("CallManager", "cucm-pub", "old").cert)
    v3 = b"\xa0\x03\x02\x01\x02"  # [0] EXPLICIT INTEGER 2 (= X.509 v3)
    assert der.count(v3) == 1
    bad = der.replace(v3, b"\xa0\x03\x02\x01\x03")
    with pytest.raises(CertificateError):
        certs.load_certificates(bad)
    pem = b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(bad) + b"-----END CERTIFICATE-----\n"
    with pytest.raises(CertificateError):
        certs.load_certificates(pem)


def test_private_key_round_trip_and_junk() -> None:
    key = identity("CallManager", "cucm-pub", "old").key
    loaded = certs.load_private_key(certs.private_key_pem(key))
    assert isinstance(loaded, rsa.RSAPrivateKey)
    assert loaded.private_numbers() == key.private_numbers()
    with pytest.raises(CertificateError):
        certs.load_private_key(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")


def test_fingerprints_match_der_digests() -> None:
    cert = identity("CallManager", "cucm-pub", "old").cert
    der = certs.certificate_der(cert)
    assert certs.sha1_hex(cert) == hashlib.sha1(der).hexdigest() == cert.fingerprint(hashes.SHA1()).hex()
    assert certs.sha256_hex(cert) == cert.fingerprint(hashes.SHA256()).hex()
    assert len(certs.sha1_hex(cert)) == 40


def test_cucm_dn_keeps_der_order_and_short_names() -> None:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "PL"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Cisco"),
            x509.NameAttribute(NameOID.COMMON_NAME, "cucm pub"),
        ]
    )
    assert certs.cucm_dn(name) == "C=PL;O=Cisco;CN=cucm pub"
    multi = x509.Name(
        [
            x509.RelativeDistinguishedName(
                [
                    x509.NameAttribute(NameOID.COMMON_NAME, "a"),
                    x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "b"),
                ]
            )
        ]
    )
    assert set(certs.cucm_dn(multi).split("+")) == {"CN=a", "OU=b"}
    assert certs.common_name(name) == "cucm pub"
    assert certs.common_name(x509.Name([])) is None


def test_generated_subjects_are_cucm_like() -> None:
    cm = identity("CallManager", "cucm-pub", "old").cert
    assert certs.subject_of(cm) == "CN=cucm-pub;OU=old;O=Reconciler Lab;C=US"
    assert certs.subject_of(identity("ITLRecovery", "cucm-pub", "old").cert).startswith(
        "CN=ITLRECOVERY_cucm-pub;"
    )
    assert certs.subject_of(identity("TVS", "cucm-sub1", "old").cert).startswith("CN=cucm-sub1;OU=old;")
    capf_cn = certs.common_name(identity("CAPF", "cucm-pub", "old").cert.subject)
    assert capf_cn is not None and capf_cn.startswith("CAPF-") and len(capf_cn) == 13
    int(capf_cn[5:], 16)  # eight hex digits
    tomcat = identity("tomcat", "cucm-pub.example.org", "old").cert
    san = tomcat.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["cucm-pub.example.org"]


def test_self_signed_and_ca_signed_identities_verify() -> None:
    self_signed = identity("CallManager", "cucm-pub", "old").cert
    self_signed.verify_directly_issued_by(self_signed)
    assert certs.issuer_of(self_signed) == certs.subject_of(self_signed)
    ca = lab_ca()
    issued = certs.generate_identity(
        kind="CallManager", host="cucm-sub1", cluster="new", issuer=ca, now=NOW, key=certs.shared_lab_key()
    )
    issued.cert.verify_directly_issued_by(ca.cert)
    assert certs.issuer_of(issued.cert) == "CN=Reconciler Test CA;O=Reconciler Lab"
    assert not issued.cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_identity_is_serial_plus_issuer_and_hashable() -> None:
    cert = identity("CallManager", "cucm-pub", "old").cert
    ident = certs.identity_of(cert)
    assert ident == certs.CertIdentity(serial=cert.serial_number, issuer=certs.issuer_of(cert))
    assert {ident: 1}[certs.CertIdentity(cert.serial_number, certs.issuer_of(cert))] == 1
    assert ident.serial_hex == certs.serial_hex(cert.serial_number)
    other = certs.generate_identity(
        kind="CallManager", host="cucm-pub", cluster="old", key=certs.shared_lab_key(), now=NOW
    )
    assert certs.identity_of(other.cert) != ident  # regenerated: same subject, new serial (R14)


def test_serial_encodings() -> None:
    assert certs.serial_bytes(1) == b"\x01"
    assert certs.serial_bytes(0x019A335878CE16C1C1) == bytes.fromhex("019a335878ce16c1c1")
    assert certs.serial_hex(0x80) == "80"
    assert certs.serial_hex(0x100) == "0100"
    with pytest.raises(CertificateError):
        certs.serial_bytes(-1)


def test_trust_file_names_current_and_legacy() -> None:
    ca = certs.generate_ca(
        common_name="Cisco Root CA 2099", serial=0x019A335878CE16C1C1, key=certs.shared_lab_key(), now=NOW
    )
    assert certs.trust_file_name(ca.cert) == "Cisco_Root_CA_2099_019a335878ce16c1c1.pem"
    assert certs.trust_file_names(ca.cert) == (
        "Cisco_Root_CA_2099_019a335878ce16c1c1.pem",
        "Cisco_Root_CA_2099.pem",
    )


def test_validity_and_expiry_helpers() -> None:
    cert = certs.generate_identity(
        kind="TVS", host="h", cluster="c", days=30, now=NOW, key=certs.shared_lab_key()
    )
    assert certs.not_valid_before(cert.cert) == NOW - timedelta(days=1)
    assert certs.not_valid_after(cert.cert) == NOW + timedelta(days=29)
    assert certs.is_valid_at(cert.cert, NOW)
    assert certs.is_valid_at(cert.cert, NOW.replace(tzinfo=None))  # naive = UTC
    assert not certs.is_valid_at(cert.cert, NOW + timedelta(days=30))
    assert not certs.expires_within(cert.cert, days=28, now=NOW)
    assert certs.expires_within(cert.cert, days=29, now=NOW)
    assert certs.expires_within(cert.cert, days=0, now=NOW + timedelta(days=40))  # already expired


def test_ec_keys_and_deterministic_seed() -> None:
    a = certs.generate_key("ec-p256", seed=7)
    b = certs.generate_key("ec-p256", seed=7)
    c = certs.generate_key("ec-p256", seed=8)
    assert isinstance(a, ec.EllipticCurvePrivateKey)
    assert a.private_numbers() == b.private_numbers() != c.private_numbers()
    ec_cert = identity("TVS", "cucm-sub2", "old", ec=True).cert
    assert isinstance(ec_cert.public_key(), ec.EllipticCurvePublicKey)
    assert certs.shared_lab_key("ec-p256", slot=3) is certs.shared_lab_key("ec-p256", slot=3)
    with pytest.raises(CertificateError):
        certs.generate_key("dsa")  # type: ignore[arg-type]


@pytest.mark.lab
def test_tls_server_certificate_serves_a_real_handshake() -> None:
    """The lab's HTTPS faces: a CA-signed server cert with IP SANs verifies in a real TLS handshake."""
    ca = lab_ca()
    server = certs.generate_tls_server(
        host="cucm-pub.lab", issuer=ca, ips=["127.0.0.1"], now=NOW, key=certs.shared_lab_key()
    )
    sans = server.cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    with tempfile.TemporaryDirectory() as tmp:
        cert_file, key_file = Path(tmp, "c.pem"), Path(tmp, "k.pem")
        cert_file.write_bytes(certs.certificate_pem(server.cert))
        key_file.write_bytes(certs.private_key_pem(server.key))
        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_ctx.load_cert_chain(cert_file, key_file)
        client_ctx = ssl.create_default_context(cadata=certs.certificate_pem(ca.cert).decode())
        with socket.create_server(("127.0.0.1", 0)) as listener:
            listener.settimeout(10)
            port = listener.getsockname()[1]

            def serve() -> None:
                conn, _ = listener.accept()
                with server_ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.sendall(b"ok")

            thread = threading.Thread(target=serve, daemon=True)
            thread.start()
            with (
                socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
                client_ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
            ):
                assert tls.recv(2) == b"ok"
            thread.join(timeout=10)
    with pytest.raises(CertificateError):
        certs.generate_tls_server(host="x", issuer=ca, ips=["not-an-ip"], key=certs.shared_lab_key())


def test_generators_live_in_certgen_and_are_re_exported_by_certs() -> None:
    """certs re-exports every public name of certgen as the same object, and each module imports on its
    own in a fresh interpreter (no import cycle whichever comes first)."""
    import subprocess
    import sys

    from reconciler.cucm import certgen

    for name in certgen.__all__:
        assert getattr(certs, name) is getattr(certgen, name), name
        assert name in certs.__all__, name
    for first in ("reconciler.cucm.certgen", "reconciler.cucm.certs"):
        code = f"import {first}; from reconciler.cucm.certs import generate_identity, IdentityKind"
        done = subprocess.run(
            [sys.executable, "-c", code],
            cwd=Path(__file__).resolve().parents[2],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
