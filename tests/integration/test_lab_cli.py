"""``reconciler lab up --detach | status | phones | fault | down`` as a user runs them: real subprocesses,
the detached lab in its own session, and a /proc scan proving ``lab down`` leaves nothing behind.
Two labs run at once with different ``--dir`` and ``--prefix`` (prefixes leased from ``tests.loopback``,
except the test of the defaults, which runs ``lab up`` at 127.0 as a user would); ``examples/lab.yaml``
validates against the default lab directory without warnings (its paths match what ``lab up`` writes).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from simulator.inventory import LabPaths, read_inventory
from simulator.lab.process import alive, read_pid, session_members
from tests.loopback import Loopback

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, cwd: Path = ROOT, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reconciler", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=dict(os.environ, NO_COLOR="1"),
    )


def down_and_verify(directory: Path) -> None:
    pid = read_pid(LabPaths.at(directory).pid)
    result = cli("lab", "down", "--dir", str(directory))
    assert result.returncode == 0, result.stderr
    if pid is not None:
        assert not alive(pid), "lab down left the lab process running"
        assert session_members(pid) == [], "lab down left a process of the lab's session"
    assert not LabPaths.at(directory).pid.exists()


@pytest.fixture
def two_labs(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    first, second = tmp_path / "lab-a", tmp_path / "lab-b"
    try:
        yield first, second
    finally:
        for d in (first, second):
            if LabPaths.at(d).pid.exists():
                cli("lab", "down", "--dir", str(d))


def test_two_detached_labs_at_once_then_down_leaves_no_process(
    two_labs: tuple[Path, Path], loopback: Loopback
) -> None:
    first, second = two_labs
    with loopback.lease() as lease_a, loopback.lease() as lease_b:
        _two_labs(first, second, prefixes=(lease_a.prefix, lease_b.prefix))


def _two_labs(first: Path, second: Path, *, prefixes: tuple[str, str]) -> None:
    for directory, prefix in zip((first, second), prefixes, strict=True):
        result = cli(
            "lab", "up", "--detach", "--dir", str(directory), "--prefix", prefix, "--restart-seconds", "1"
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "lab ready" in result.stdout
    inv_a, inv_b = read_inventory(LabPaths.at(first)), read_inventory(LabPaths.at(second))
    assert inv_a["pid"] != inv_b["pid"]
    for inv, prefix in zip((inv_a, inv_b), prefixes, strict=True):
        pub = inv["clusters"]["old"]["nodes"]["cucm-old-pub"]
        assert pub["host"] == f"{prefix}.10.1"
        s = requests.Session()
        s.trust_env = False
        s.verify = inv["ca_bundle"]
        cred = inv["clusters"]["old"]["credentials"]["axl"]
        s.auth = (cred["username"], Path(cred["password_file"]).read_text().strip())
        assert s.get(pub["urls"]["axl"] + "?wsdl", timeout=5).status_code == 200
        status = json.loads(cli("lab", "status", "--json", "--dir", inv["directory"]).stdout)
        assert status["pid"] == inv["pid"] and status["registered"] == inv["phones"]
    # the two labs have different CAs: lab A's CA does not verify lab B's nodes
    s = requests.Session()
    s.trust_env = False
    s.verify = inv_a["ca_bundle"]
    with pytest.raises(requests.exceptions.SSLError):
        s.get(inv_b["clusters"]["new"]["nodes"]["cucm-new-pub"]["urls"]["axl"] + "?wsdl", timeout=5)
    down_and_verify(first)
    assert cli("lab", "status", "--dir", str(second)).returncode == 0  # the other lab is untouched
    down_and_verify(second)
    assert cli("lab", "status", "--dir", str(second)).returncode == 1


def test_lab_files_have_private_modes_and_the_phones_and_fault_commands_answer(
    tmp_path: Path, loopback: Loopback
) -> None:
    with loopback.lease() as lease:
        _files_phones_and_faults(tmp_path / "lab", prefix=lease.prefix)


def _files_phones_and_faults(directory: Path, *, prefix: str) -> None:
    try:
        result = cli("lab", "up", "--detach", "--dir", str(directory), "--prefix", prefix)
        assert result.returncode == 0, result.stdout + result.stderr
        paths = LabPaths.at(directory)
        assert paths.credentials.stat().st_mode & 0o777 == 0o700
        files = sorted(p.name for p in paths.credentials.iterdir())
        names = ("old-axl", "old-os", "new-axl", "new-os", "ios", "sftp", "control")
        assert files == sorted(f"{n}.password" for n in names)
        assert all(p.stat().st_mode & 0o777 == 0o600 for p in paths.credentials.iterdir())
        known = paths.known_hosts.read_text().splitlines()
        assert f"[{prefix}.10.1]:2222 " in "\n".join(known) and len(known) == 8  # 6 nodes, IOS router, SFTP
        phones = json.loads(cli("lab", "phones", "--json", "--dir", str(directory)).stdout)
        assert len(phones) == 300 and {p["cluster"] for p in phones} == {"old"}
        assert {p["status"] for p in phones} == {"Registered"}
        assert {p["node"] for p in phones} == {"cucm-old-sub1"}
        text = cli("lab", "phones", "--dir", str(directory), "--status", "Registered").stdout
        assert text.strip().endswith("300 phone(s)")
        answer = cli("lab", "fault", "axl-throttle", "--cluster", "old", "--dir", str(directory))
        assert answer.returncode == 0 and "HTTP 503" in answer.stdout
        bad = cli("lab", "fault", "latency", "--node", "no-such-node", "--dir", str(directory))
        assert bad.returncode == 1 and "no node" in bad.stderr
        status = json.loads(cli("--json", "lab", "status", "--dir", str(directory)).stdout)
        assert status["faults"] == [{"kind": "axl-throttle", "cluster": "old"}]
    finally:
        down_and_verify(directory)


def test_default_lab_directory_satisfies_examples_lab_yaml(tmp_path: Path) -> None:
    """examples/lab.yaml references ../.reconciler/lab/...: after ``lab up`` (default --dir, run from the
    repository root) validate finds every CA, known_hosts and credential file — no warnings."""
    directory = ROOT / ".reconciler" / "lab"
    if LabPaths.at(directory).pid.exists() and alive(read_pid(LabPaths.at(directory).pid) or 0):
        pytest.skip("a lab is already running in the repository's default directory")
    try:
        result = cli("lab", "up", "--detach")
        assert result.returncode == 0, result.stdout + result.stderr
        check = cli("validate", "examples/lab.yaml")
        assert check.returncode == 0, check.stdout
        assert "warning" not in check.stdout, check.stdout
        inv = read_inventory(LabPaths.at(directory))
        assert Path(inv["clusters"]["old"]["credentials"]["axl"]["password_file"]).name == "old-axl.password"
        assert inv["clusters"]["new"]["nodes"]["cucm-new-sub1"]["host"] == "127.0.20.2"
    finally:
        down_and_verify(directory)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_foreground_lab_stops_cleanly_on_sigterm_and_ctrl_c(
    tmp_path: Path, sig: signal.Signals, loopback: Loopback
) -> None:
    with loopback.lease() as lease:
        _foreground_stop(tmp_path / "lab", sig=sig, prefix=lease.prefix)


def _foreground_stop(directory: Path, *, sig: signal.Signals, prefix: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "lab", "up", "--dir", str(directory), "--prefix", prefix],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:  # bounded: the process ends or prints "lab ready"
            lines.append(line)
            if line.strip() == "lab ready":
                break
        assert "lab ready\n" in lines, "".join(lines)
        assert LabPaths.at(directory).ready.exists()
        proc.send_signal(sig)
        rest, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 0, rest
    assert "lab stopped" in rest
    assert session_members(proc.pid) == []
    assert not LabPaths.at(directory).pid.exists() and not LabPaths.at(directory).ready.exists()
