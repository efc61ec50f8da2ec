"""``reconciler inspect tlv FILE [--json]`` on real, really signed ITL/CTL files."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reconciler.cli import app
from reconciler.cucm import certs, tlv
from tests.cucm_material import identity

TS = 1_760_000_000


def _ctl() -> bytes:
    recovery = identity("ITLRecovery", "cucm-new-pub", "new")
    cm = identity("CallManager", "cucm-new-pub", "new")
    records = [
        tlv.record_from_certificate(recovery.cert, role=tlv.Role.SAST),
        tlv.record_from_certificate(cm.cert, role=tlv.Role.CCM_TFTP, dns_name="cucm-new-pub", ip="127.0.3.1"),
    ]
    return tlv.build(
        records=records,
        signer_cert=recovery.cert,
        signer_key=recovery.key,
        filename="CTLFile.tlv",
        digest=tlv.Digest.SHA512,
        timestamp=TS,
    )


@pytest.fixture
def ctl_file(tmp_path: Path) -> Path:
    path = tmp_path / "CTLFile.tlv"
    path.write_bytes(_ctl())
    return path


def test_text_output_looks_like_show_ctl(ctl_file: Path) -> None:
    result = CliRunner().invoke(app, ["inspect", "tlv", str(ctl_file)])
    assert result.exit_code == 0, result.output
    cm = identity("CallManager", "cucm-new-pub", "new").cert
    out = result.output
    assert "Parse CTL File" in out and "Version: 1.2" in out
    assert "SIGNERNAME        CN=ITLRECOVERY_cucm-new-pub;OU=new;O=Reconciler Lab;C=US" in out
    assert "DIGESTALGORITHM   SHA512" in out
    assert "FUNCTION          System Administrator Security Token" in out
    assert "FUNCTION          CCM+TFTP" in out
    assert f"CERTIFICATE       {certs.sha1_hex(cm)} (SHA1 Hash HEX)" in out
    assert "IPADDRESS         127.0.3.1" in out
    assert out.count("This etoken was used to sign the CTL file.") == 1
    assert "The CTL file was verified successfully." in out


def test_json_document_is_stable(ctl_file: Path) -> None:
    result = CliRunner().invoke(app, ["inspect", "tlv", str(ctl_file), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    recovery = identity("ITLRecovery", "cucm-new-pub", "new").cert
    cm = identity("CallManager", "cucm-new-pub", "new").cert
    assert {"version", "signer", "digest", "signature_valid", "records"} <= doc.keys()
    assert doc["version"] == "1.2" and doc["digest"] == "SHA512" and doc["signature_valid"] is True
    assert doc["signer"]["name"] == certs.subject_of(recovery)
    assert doc["signer"]["serial"] == certs.serial_hex(recovery.serial_number)
    assert [r["role"] for r in doc["records"]] == ["SAST", "CCM+TFTP"]
    second = doc["records"][1]
    assert {k: second[k] for k in ("subject", "issuer", "serial", "sha1", "dns_name", "ip")} == {
        "subject": certs.subject_of(cm),
        "issuer": certs.issuer_of(cm),
        "serial": certs.serial_hex(cm.serial_number),
        "sha1": certs.sha1_hex(cm),
        "dns_name": "cucm-new-pub",
        "ip": "127.0.3.1",
    }
    # the global --json option gives the same document
    assert json.loads(CliRunner().invoke(app, ["--json", "inspect", "tlv", str(ctl_file)]).output) == doc


def test_bad_signature_exits_1_with_reason(tmp_path: Path) -> None:
    parsed = tlv.parse(_ctl())
    tampered = tmp_path / "tampered.tlv"
    tampered.write_bytes(tlv.encode(dataclasses.replace(parsed, timestamp=TS + 60)))
    result = CliRunner().invoke(app, ["inspect", "tlv", str(tampered), "--json"])
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["signature_valid"] is False and "does not verify" in doc["signature_error"]
    text = CliRunner().invoke(app, ["inspect", "tlv", str(tampered)])
    assert text.exit_code == 1 and "could not be verified" in text.output


def test_malformed_and_missing_files_exit_1(tmp_path: Path) -> None:
    broken = tmp_path / "broken.tlv"
    broken.write_bytes(_ctl()[:50])
    result = CliRunner().invoke(app, ["inspect", "tlv", str(broken)])
    assert result.exit_code == 1
    assert "is not a valid ITL/CTL file: malformed TLV at byte" in result.output
    as_json = CliRunner().invoke(app, ["inspect", "tlv", str(broken), "--json"])
    assert as_json.exit_code == 1 and json.loads(as_json.stdout)["offset"] == 5
    missing = CliRunner().invoke(app, ["inspect", "tlv", str(tmp_path / "nope.tlv")])
    assert missing.exit_code == 1 and "cannot read" in missing.output


def test_cli_module_does_not_import_cryptography_at_top() -> None:
    import subprocess
    import sys

    code = "import sys, reconciler.cli; print('cryptography' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "False"
