"""The lab spec keys ``reconciler rehearse`` writes (docs/lab.md "Stand-ins"): node identities with a
given subject/serial/issuer, trust entries that are no cluster's identity, option 150 naming any
address, and phone groups that differ from their scope in ITL or CallManager group: docs/lab.md's
example, read through the one spec reader (``load_lab_text``) and built in process; errors are
FILE:LINE:COL diagnostics."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509

from reconciler.errors import LabSpecError
from simulator import labcerts
from simulator.lab.specfile import load_lab_text
from simulator.model import build_lab

ROOT = Path(__file__).resolve().parents[2]
#: docs/lab.md's stand-ins example (the page shows what this test builds)
_PAGE = (ROOT / "docs" / "lab.md").read_text()
SPEC = _PAGE.split("```yaml\n# lab spec (stand-ins)\n", 1)[1].split("```", 1)[0]


def _lab():  # type: ignore[no-untyped-def]
    return build_lab(load_lab_text(SPEC, file="lab.yaml").spec)


def _trust(lab, node: str, store: str) -> dict[str, x509.Certificate]:  # type: ignore[no-untyped-def]
    return {e.view.subject: e.view.cert for e in lab.trust_store("old", node, store)}


def test_a_node_identity_keeps_the_given_subject_serial_and_issuer_and_is_signed_by_the_issuer() -> None:
    lab = _lab()
    cm = lab.identity("old", "cucm-old-pub", "CallManager").cert
    assert labcerts.dn_text(cm.subject) == "CN=cm-pub;OU=voice;O=Acme;C=US"
    assert cm.serial_number == 0x019A33
    assert labcerts.dn_text(cm.issuer) == "CN=Acme Issuing CA;O=Acme"
    ca = _trust(lab, "cucm-old-pub", "CallManager-trust")["CN=Acme Issuing CA;O=Acme"]
    assert ca.serial_number == 0x1234
    cm.verify_directly_issued_by(ca)  # the stand-in CA's key signed it: the trust relation holds
    tvs = lab.identity("old", "cucm-old-pub", "TVS").cert
    assert (labcerts.dn_text(tvs.subject), tvs.serial_number) == ("CN=tvs-pub;OU=voice;O=Acme;C=US", 0x2A)
    assert tvs.issuer == tvs.subject  # no issuer given: self-signed, as CUCM's identities
    tvs.verify_directly_issued_by(tvs)
    recovery = lab.identity("old", "cucm-old-pub", "ITLRecovery").cert
    assert recovery.serial_number == 0x0777
    # a node without stand-ins keeps the lab's own identities
    sub = lab.identity("old", "cucm-old-sub1", "CallManager").cert
    assert labcerts.dn_text(sub.subject).startswith("CN=cucm-old-sub1;OU=old")


def test_the_stand_in_is_the_first_generation_only() -> None:
    """R14: a regenerated identity is a new certificate (the lab's own), not the estate's again."""
    lab = _lab()
    new = lab.regenerate_identity(cluster="old", node="cucm-old-pub", kind="CallManager").cert
    assert new.serial_number != 0x019A33 and "cm-pub" not in labcerts.dn_text(new.subject)


def test_a_trust_entry_that_is_no_identity_sits_on_the_nodes_given() -> None:
    lab = _lab()
    on_pub = _trust(lab, "cucm-old-pub", "Phone-SAST-trust")
    assert on_pub["CN=stand-in-55"].serial_number == 0x55
    assert labcerts.dn_text(on_pub["CN=stand-in-55"].issuer) == "CN=Elsewhere Root;O=Other"
    assert "CN=stand-in-55" not in _trust(lab, "cucm-old-sub1", "Phone-SAST-trust")
    assert "CN=Acme Issuing CA;O=Acme" in _trust(lab, "cucm-old-sub2", "CallManager-trust")


def test_option150_may_name_addresses_that_are_no_lab_node() -> None:
    assert _lab().option150("scope-a") == ("127.0.10.2", "10.20.30.40")


def test_phone_groups_differ_in_itl_and_callmanager_group() -> None:
    lab = _lab()
    phones = sorted(lab.phones(scope="scope-a"), key=lambda p: tuple(int(x) for x in p.ip.split(".")))
    assert [p.cm_group for p in phones] == ["old-cmg"] * 2 + ["old-cmg2"] + ["old-cmg"] * 3
    assert [p.device_pool for p in phones] == ["DP-PHONES"] * 2 + ["DP-2"] + ["DP-PHONES"] * 3
    itl = [p.itl for p in phones]
    assert itl[:2] == [None, None]  # empty
    assert itl[2] is not None and itl[2].label == "stale"
    assert all(i is not None and i.label != "stale" for i in itl[3:])  # what their TFTP serves


@pytest.mark.parametrize(
    ("bad", "written", "says"),
    [
        ('serial: "01:9a:33"', 'serial: "zz"', "callmanager.serial: 'zz' is not a positive hex serial"),
        ('issuer: "CN=Acme Issuing CA;O=Acme"', 'issuer: "Acme Issuing CA"', "issuer: not a distinguished"),
        ("tvs: {", "tomcat: {", "identities.tomcat"),
        ("{store: CallManager-trust, cert:", "{store: CallManager-trust, cluster: new, cert:", "not both"),
        ("10.20.30.40", "tftp.example.com", "option150[1]: 'tftp.example.com' is not an IPv4 address"),
    ],
)
def test_bad_stand_in_keys_are_errors_at_their_place(bad: str, written: str, says: str) -> None:
    text = SPEC.replace(bad, written, 1)
    line = text[: text.index(written)].count("\n") + 1
    with pytest.raises(LabSpecError) as caught:
        load_lab_text(text, file="lab.yaml")
    found = [f"{d.position}: {d.summary}" for d in caught.value.diagnostics]
    assert len(found) == 1 and found[0].startswith(f"lab.yaml:{line}:") and says in found[0], found


def test_issuers_that_name_each_other_do_not_loop() -> None:
    """A signs B and B signs A (a snapshot can say so): each is minted once, one of them over its own key."""
    text = SPEC.replace(
        '{subject: "CN=Acme Issuing CA;O=Acme", serial: "1234"}',
        '{subject: "CN=Acme Issuing CA;O=Acme", serial: "1234", issuer: "CN=cm-pub;OU=voice;O=Acme;C=US"}',
    )
    lab = build_lab(load_lab_text(text, file="lab.yaml").spec)
    cm = lab.identity("old", "cucm-old-pub", "CallManager").cert
    ca = _trust(lab, "cucm-old-pub", "CallManager-trust")["CN=Acme Issuing CA;O=Acme"]
    assert labcerts.dn_text(ca.issuer) == "CN=cm-pub;OU=voice;O=Acme;C=US"
    assert labcerts.dn_text(cm.issuer) == "CN=Acme Issuing CA;O=Acme"
    cm.verify_directly_issued_by(ca)  # minted first (its node's identity), it is signed by the CA's key


def test_a_cucm_dhcp_scope_takes_at_most_two_option150_addresses() -> None:
    text = SPEC.replace("pool: PHONES-A, phones: 6", "phones: 6", 1).replace("dhcp: ios", "dhcp: old-dhcp", 1)
    text = text.replace("option150: [127.0.10.2, 10.20.30.40]", "option150: [10.0.0.1, 10.0.0.2, 10.0.0.3]")
    with pytest.raises(LabSpecError, match="at most two TFTP servers"):
        load_lab_text(text, file="lab.yaml")
