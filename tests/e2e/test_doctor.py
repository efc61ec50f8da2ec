"""``reconciler doctor`` against the lab: it passes, changes nothing (the lab's operation log), writes a
support bundle without any of the lab's passwords, and fails with a fix that names each lab fault.

One small lab (4 phones per scope) on a leased prefix (``tests.e2e.labrun``); the faults run one after
the other in one test (each is cleared before the next), because several leave traces a later doctor
would see.
"""

from __future__ import annotations

import contextlib
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.labdoc import lab_data
from tests.e2e.labrun import RunningLab, running_lab
from tests.loopback import Loopback

pytestmark = pytest.mark.lab
SMALL = {"base": "default", "phones_per_scope": 4}


@pytest.fixture
def lab(tmp_path: Path, loopback: Loopback) -> Iterator[RunningLab]:
    with running_lab(tmp_path, loopback=loopback, spec=SMALL) as running:
        running.write(lab_data(lab_dir=running.lab_dir, prefix=running.prefix, ris_queries_per_minute=10))
        yield running


def _doctor(lab: RunningLab, *args: str) -> tuple[int, dict[str, Any]]:
    result = lab.run("doctor", "lab.yaml", "--json", *args)
    assert result.stdout, result.stderr
    return result.returncode, json.loads(result.stdout)


def _failed(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["status"] == "fail"]


def _passwords(lab: RunningLab) -> list[str]:
    return [p.read_text().strip() for p in sorted((lab.lab_dir / "credentials").iterdir()) if p.is_file()]


def test_doctor_passes_on_the_lab_changes_nothing_and_the_bundle_has_no_secret(lab: RunningLab) -> None:
    before = lab.operations()
    human = lab.run("doctor", "lab.yaml", "--bundle", "bundle.zip")
    assert human.returncode == 0, human.stdout + human.stderr
    assert "0 failed" in human.stdout
    # its progress as plan shows a read: off a terminal one line per cluster and for the DHCP servers
    assert "checks of old: 0 of 3 nodes done" in human.stderr and "checks of new: 0 of" in human.stderr
    assert "checks of DHCP: 0 of" in human.stderr and "checks of" not in human.stdout
    code, report = _doctor(lab)
    assert code == 0 and report["ok"], _failed(report)
    assert lab.operations() == before  # read-only: the lab model recorded no mutation
    checks = {(f["endpoint"], f["check"]) for f in report["findings"]}
    for wanted in [
        ("old/cucm-old-pub", "axl"),
        ("old/cucm-old-pub", "ris.query"),
        ("old/cucm-old-sub2", "ssh.hostkey"),
        ("old/cucm-old-sub2", "cli"),
        ("new/cucm-new-sub1", "tls"),
        ("new/cucm-new-sub1", "certapi"),
        ("new/cucm-new-sub1", "replication"),
        ("new/cucm-new-sub1", "tftp.files"),
        ("dhcp/lab-router", "ios.privilege"),
        ("dhcp/old-cucm-dhcp", "scopes"),
    ]:
        assert wanted in checks, wanted
    assert report["versions"]["old"].startswith("11.5") and report["versions"]["new"].startswith("14.0")
    bundle = lab.workdir / "bundle.zip"
    with zipfile.ZipFile(bundle) as z:
        names = z.namelist()
        text = "".join(z.read(n).decode() for n in names)
    assert {"report.json", "versions.json", "timings.json"} <= set(names)
    passwords = _passwords(lab)
    assert passwords and all(len(p) >= 4 for p in passwords)
    for password in passwords:
        assert password not in text
    assert oct(bundle.stat().st_mode & 0o777) == "0o600"


def _restart_tvs(lab: RunningLab, node: str) -> None:
    from providers.cucm_serviceability import ControlCenterClient
    from reconciler.config.loader import load
    from reconciler.errors import VerificationError

    state = load(lab.yaml).state
    assert state is not None
    cluster = state.cluster("old")
    assert cluster is not None
    found = cluster.node(node)
    # with the fault the start fails: that is the point
    with ControlCenterClient.connect(cluster, found) as control, contextlib.suppress(VerificationError):
        control.restart("Cisco Trust Verification Service", timeout=20.0, poll_interval=0.5)


def test_doctor_fails_with_a_fix_that_names_each_lab_fault(lab: RunningLab) -> None:
    cases: list[tuple[tuple[str, ...], tuple[str, ...], str, str]] = [
        # (fault args, doctor args, endpoint that fails, word the fix must name)
        (("unreachable", "--node", "cucm-old-sub2"), (), "old/cucm-old-sub2", "unreachable"),
        (("latency", "--node", "cucm-new-sub2", "--face", "https", "--seconds", "1.5"), ("--slow", "1"),
         "new/cucm-new-sub2", "slow"),
        (("ris-exhausted", "--cluster", "new"), (), "new/cucm-new-pub", "allowance"),
        (("drop-ssh", "--node", "cucm-old-sub1", "--count", "3"), (), "old/cucm-old-sub1", "dropped"),
        (("axl-throttle", "--cluster", "old"), ("--probe-writes",), "old/cucm-old-pub", "throttle"),
    ]  # fmt: skip
    for fault, args, endpoint, word in cases:
        lab.fault(*fault)
        code, report = _doctor(lab, *args)
        lab.fault(fault[0], *fault[1:3], "--off")
        failed = [f for f in _failed(report) if f["endpoint"] == endpoint]
        assert code == 1 and failed, (fault, _failed(report))
        assert any(word in (f["fix"] or "").lower() for f in failed), (fault, failed)
    # TVS that fails to start shows once it was restarted (R8)
    lab.fault("tvs-fail", "--node", "cucm-old-sub1")
    _restart_tvs(lab, "cucm-old-sub1")
    code, report = _doctor(lab)
    lab.fault("tvs-fail", "--node", "cucm-old-sub1", "--off")
    failed = [f for f in _failed(report) if f["endpoint"] == "old/cucm-old-sub1"]
    assert code == 1 and any(f["check"] == "services" and "TVS" in f["fix"] for f in failed), failed
    _restart_tvs(lab, "cucm-old-sub1")
    # replication lag: a trust change on the publisher has not reached the subscribers yet (R7)
    lab.fault("replication-lag", "--cluster", "old", "--seconds", "600")
    _upload_trust(lab)
    code, report = _doctor(lab)
    failed = [f for f in _failed(report) if f["check"] == "replication"]
    assert code == 1 and failed and all("replication" in f["fix"] for f in failed), _failed(report)


def _upload_trust(lab: RunningLab) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding

    from providers.cucm_certs import clients_for_cluster
    from reconciler.config.loader import load
    from tests.contract.lab_fixtures import fresh_trust_cert

    state = load(lab.yaml).state
    assert state is not None
    cluster = state.cluster("old")
    assert cluster is not None
    publisher = clients_for_cluster(cluster)[0]
    try:
        pem = fresh_trust_cert().public_bytes(Encoding.PEM).decode()
        publisher.upload_trust(store="CallManager-trust", pem=pem, description="doctor test")
    finally:
        publisher.close()


def test_doctor_checks_a_real_kea_control_agent(tmp_path: Path, loopback: Loopback) -> None:
    from tests.conftest import require_tool
    from tests.e2e.test_lab_kea import _kea_document

    require_tool("kea-dhcp4")
    require_tool("kea-ctrl-agent")
    with running_lab(tmp_path, loopback=loopback, spec=SMALL, with_kea=True) as kea_lab:
        doc = _kea_document(kea_lab)
        doc["policy"]["ris_queries_per_minute"] = 10  # within the lab's allowance (doctor checks it)
        kea_lab.write(doc)
        code, report = _doctor(kea_lab)
        assert code == 0, _failed(report)
        kea = {f["check"]: f for f in report["findings"] if f["endpoint"] == "dhcp/lab-kea"}
        assert kea["kea.agent"]["status"] == "pass" and "Kea" in kea["kea.agent"]["detail"]
        assert kea["scopes"]["status"] == "pass" and "scope-c" in kea["scopes"]["detail"]
