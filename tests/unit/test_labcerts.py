"""The lab's own certificate module (``simulator.labcerts``): CUCM-like identities, a key cache that makes
rebuilding cheap, stand-ins with a given subject/serial/issuer, and names printed the way CUCM prints
them. The product reads the lab's certificates on the wire, so where both sides name a certificate
(``;``-form DN, trust file name, TVS key) the two independent implementations must agree: checked here
on the lab's certificates and on a few odd ones."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from reconciler.cucm import certs
from simulator import labcerts
from simulator.labcerts import IdentityKind

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _odd() -> x509.Certificate:
    """No CN, a multi-valued RDN, an attribute without a short name, a slash and spaces."""
    name = x509.Name(
        [
            x509.RelativeDistinguishedName(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Acme / Voice"),
                    x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Ops team"),
                ]
            ),
            x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.BUSINESS_CATEGORY, "x")]),
        ]
    )
    key = labcerts.lab_key("ec-p256", slot=7)
    return labcerts.mint_identity(
        kind="CallManager", host="h", cluster="c", key=key, now=NOW, subject=name, serial=0x00FF01
    ).cert


def _lab_certificates() -> list[x509.Certificate]:
    key = labcerts.lab_key("ec-p256", slot=1)
    ca = labcerts.mint_ca(common_name="Reconciler Lab CA (t)", key=key, now=NOW)
    out = [ca.cert, _odd()]
    for kind in IdentityKind:
        out.append(labcerts.mint_identity(kind=kind, host="cucm-pub", cluster="old", key=key, now=NOW).cert)
    out.append(
        labcerts.mint_tls_server(host="cucm-pub", issuer=ca, ips=("127.0.0.9",), key=key, now=NOW).cert
    )
    return out


@pytest.mark.parametrize("cert", _lab_certificates())
def test_the_lab_names_a_certificate_as_the_product_reads_it(cert: x509.Certificate) -> None:
    assert labcerts.dn_text(cert.subject) == certs.subject_of(cert)
    assert labcerts.dn_text(cert.issuer) == certs.issuer_of(cert)
    assert labcerts.trust_file_names(cert) == certs.trust_file_names(cert)
    key = labcerts.cert_key(cert)
    assert certs.CertIdentity(serial=key.serial, issuer=key.issuer) == certs.identity_of(cert)
    assert labcerts.sha256(cert) == certs.sha256_hex(cert)
    assert labcerts.load_cert(labcerts.pem(cert)) == cert


def test_cucm_like_subjects_and_the_key_cache() -> None:
    key = labcerts.lab_key("ec-p256", slot=3)
    assert labcerts.lab_key("ec-p256", slot=3) is key  # rebuilding a lab costs no key generation
    assert labcerts.lab_key("ec-p256", slot=4) is not key
    made = {k: labcerts.mint_identity(kind=k, host="cucm-pub", cluster="old", key=key, now=NOW).cert
            for k in IdentityKind}  # fmt: skip
    assert (
        labcerts.dn_text(made[IdentityKind.CALLMANAGER].subject) == "CN=cucm-pub;OU=old;O=Reconciler Lab;C=US"
    )
    assert labcerts.dn_text(made[IdentityKind.ITLRECOVERY].subject).startswith("CN=ITLRECOVERY_cucm-pub;")
    capf = labcerts.dn_text(made[IdentityKind.CAPF].subject)
    assert capf.startswith("CN=CAPF-") and len(capf.split(";")[0]) == len("CN=CAPF-") + 8
    tomcat_sans = made[IdentityKind.TOMCAT].extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert tomcat_sans.value.get_values_for_type(x509.DNSName) == ["cucm-pub"]
    for cert in made.values():
        cert.verify_directly_issued_by(cert)  # self-signed, as CUCM's identities are by default


def test_parse_dn_keeps_the_order_given_and_refuses_junk() -> None:
    name = labcerts.parse_dn("CN=a b;OU=x;O=Acme;C=US")
    assert labcerts.dn_text(name) == "CN=a b;OU=x;O=Acme;C=US"
    assert labcerts.dn_text(labcerts.parse_dn("CN=a, OU=x, 2.5.4.15=cat")) == "CN=a;OU=x;2.5.4.15=cat"
    for bad in ("", "CN", "XX=1", "CN=;OU=x"):
        with pytest.raises(ValueError):
            labcerts.parse_dn(bad)
