"""The doctor's bookkeeping without a lab: verdicts from errors (the fix per class), the slow rule, the
table, the support bundle's scrubbing, and the IOS ``show privilege`` parser."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from providers.dhcp.ios import parse_privilege
from reconciler.errors import (
    AuthenticationError,
    RemoteFaultError,
    TemporaryError,
    UnreachableError,
)
from reconciler.redact import scrub
from reconciler.wiring.doctor import Doctor, table_lines, write_bundle
from reconciler.wiring.doctor.runner import Verdict, fix_for


def test_scrub_removes_resolved_secrets_and_url_passwords_but_not_short_words() -> None:
    text = "login as admin with S3cretPass at https://u:pw@host/ ok=abc"
    out = scrub(text, ["S3cretPass", "abc"])
    assert "S3cretPass" not in out and "u:***@host" in out
    assert "ok=abc" in out  # a 3-character "secret" would mangle ordinary text: not scrubbed


def test_fix_names_the_role_for_bad_credentials_and_the_cause_for_transport_errors() -> None:
    assert "Standard AXL API Access" in fix_for(AuthenticationError("401"), role="AXL")
    assert "OS" in fix_for(AuthenticationError("denied"), role="OS admin")
    assert "throttles" in fix_for(TemporaryError("cucm-pub is busy (HTTP 503)"))
    dropped = TemporaryError("SSH session to x dropped during 'show'", hint="a retry reconnects")
    assert fix_for(dropped).startswith("the SSH session dropped") and "retry" in fix_for(dropped)
    assert "unreachable" in fix_for(UnreachableError("refused"))
    assert fix_for(UnreachableError("refused", hint="open port 8443")) == "open port 8443"
    assert "refused the request" in fix_for(RemoteFaultError("AXL fault"))


def test_a_failing_check_is_recorded_with_its_fix_and_an_unexpected_answer_is_captured() -> None:
    doc = Doctor()
    doc.run(endpoint="a/pub", check="axl", body=lambda: _raise(AuthenticationError("HTTP 401")), role="AXL")
    doc.run(endpoint="a/pub", check="ris.query", body=lambda: _raise(ValueError("invalid literal 'x'")))
    doc.run(endpoint="a/pub", check="tls", body=lambda: "fine")
    statuses = [(f.check, f.status) for f in doc.report.findings]
    assert statuses == [("axl", "fail"), ("ris.query", "fail"), ("tls", "pass")]
    assert not doc.report.ok
    assert doc.report.captures and "invalid literal" in doc.report.captures[0].text


def test_a_check_slower_than_the_limit_fails_and_says_slow() -> None:
    doc = Doctor(slow_s=0.0)  # any measurable duration is over the limit
    verdict = doc.run(endpoint="a/sub", check="tls", body=lambda: "fine")
    assert verdict.status == "fail" and verdict.fix is not None and verdict.fix.startswith("slow:")


def test_warnings_keep_their_status_and_the_table_shows_fixes_and_a_summary() -> None:
    doc = Doctor()
    doc.run(endpoint="a/pub", check="axl", body=lambda: Verdict(status="warn", detail="v", fix="set version"))
    doc.add(endpoint="a/sub", check="replication", status="fail", detail="differs", fix="wait (R7)")
    lines = table_lines(doc.report)
    assert any(line.startswith("WARN") for line in lines)
    assert any("fix: wait (R7)" in line for line in lines)
    assert lines[-1].startswith("0 passed, 1 warnings, 1 failed")


def test_the_bundle_holds_report_versions_timings_captures_and_no_secret(tmp_path: Path) -> None:
    doc = Doctor()
    doc.report.versions["old"] = "11.5.1"
    doc.capture(endpoint="old/pub", what="admin CLI: show x", text="Password: Hunter2Hunter2 echoed")
    doc.add(endpoint="old/pub", check="cli", status="fail", detail="the node echoed Hunter2Hunter2")
    path = tmp_path / "bundle.zip"
    write_bundle(doc.report, path, secrets=["Hunter2Hunter2"])
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        text = "".join(z.read(n).decode() for n in names)
        report = json.loads(z.read("report.json"))
    assert {"report.json", "versions.json", "timings.json"} <= set(names)
    assert any(n.startswith("captures/") for n in names)
    assert "Hunter2Hunter2" not in text and "***" in text
    assert report["versions"] == {"old": "11.5.1"} and report["ok"] is False


def test_show_privilege_is_parsed_and_an_unknown_answer_is_none() -> None:
    assert parse_privilege("Current privilege level is 15\n") == 15
    assert parse_privilege("Current privilege level is 1") == 1
    assert parse_privilege("% Invalid input detected at '^' marker.") is None


def _raise(exc: Exception) -> str:
    raise exc
