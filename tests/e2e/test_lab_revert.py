"""A wave that protects itself on the real lab (docs/waves.md): ``on_failure: revert`` (the default).

scope-b's phones hold a stale ITL (``defects: {stale_itl_scopes: [scope-b]}``): no interface shows a
phone's own ITL, so the plan forecasts them moving (R1). apply moves wave-1, wave-2's gate fails (R13),
and the wave is reverted: scope-b's option 150 is back on the source's TFTP nodes, its phones are
Registered on the source again, wave-3 is untouched, and apply exits 1 naming every phone of the wave as
moved, reverted or stranded. Then the same with the apply SIGKILLed inside the revert: ``apply --resume``
converges to the same end.

Each test starts its own small lab (3 phones per scope, 1-second restarts) on a leased address prefix
(``tests.loopback``, ``tests.e2e.labrun``; ``lab down`` always), the CLI in subprocesses.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.labrun import RunningLab, gated_lab
from tests.loopback import Loopback

pytestmark = pytest.mark.lab
SPEC = {"base": "default", "phones_per_scope": 3, "defects": {"stale_itl_scopes": ["scope-b"]}}
KILL_WAIT = 120.0


@pytest.fixture
def lab(tmp_path: Path, loopback: Loopback) -> Iterator[RunningLab]:
    with gated_lab(tmp_path, loopback=loopback, spec=SPEC, gate_deadline="6s") as running:
        yield running


def _events(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def _option150(lab: RunningLab) -> dict[str, list[str]]:
    """Option 150 per scope as a fresh plan reads it: scope -> the value before the planned change."""
    doc = json.loads(lab.run("plan", "lab.yaml", "--json").stdout)
    steps = [s for s in doc["steps"] if s["address"].startswith("option150.")]
    return {s["address"].rsplit(".", 1)[1]: s["before"] for s in steps}


def _journal(workdir: Path) -> list[dict[str, Any]]:
    files = sorted((workdir / ".reconciler" / "journal").glob("*.jsonl"))
    out = []
    for line in files[-1].read_text().splitlines() if files else ():
        try:
            out.append(json.loads(line))
        except ValueError:  # a line being written
            break
    return out


def _assert_reverted(lab: RunningLab, finished: dict[str, Any]) -> None:
    phones = {p["name"]: p for p in lab.lab("phones")}
    scope = {name: p["scope"] for name, p in phones.items()}
    wave2 = {n for n, s in scope.items() if s == "scope-b"}
    # every phone of the reverted wave is reported, with its fate
    fates = {p["device"]: p for p in finished["phones"]}
    assert set(fates) == wave2
    assert {p["fate"] for p in fates.values()} == {"reverted"}
    for device, report in fates.items():
        assert (report["status"], report["node"]) == ("Registered", phones[device]["node"])
        assert phones[device]["cluster"] == "old" and phones[device]["status"] == "Registered"
    assert finished["stranded"] == []
    # wave-1 stays moved; wave-3 was never touched
    assert all((phones[n]["cluster"], phones[n]["status"]) == ("new", "Registered")
               for n, s in scope.items() if s == "scope-a")  # fmt: skip
    assert all(phones[n]["cluster"] == "old" for n, s in scope.items() if s == "scope-c")
    old_tftp = [f"{lab.prefix}.10.1", f"{lab.prefix}.10.2"]
    assert _option150(lab) == {"scope-b": old_tftp, "scope-c": old_tftp}


def test_a_failed_gate_reverts_its_wave_on_the_lab(lab: RunningLab) -> None:
    plan = lab.run("plan", "lab.yaml", "--detailed-exitcode")
    assert plan.returncode == 2, plan.stdout + plan.stderr
    assert "Only if a wave's gate fails" in plan.stdout and "restore.old-cucm-dhcp.scope-b" in plan.stdout

    result = lab.run("--json", "apply", "lab.yaml", "--auto-approve", timeout=240)
    assert result.returncode == 1, result.stdout + result.stderr
    events = _events(result.stdout)
    started = [e["address"] for e in events if e["event"] == "step_started"]
    assert started[-3:] == ["restore.old-cucm-dhcp.scope-b", "revert-reset.wave-2", "revert-gate.wave-2"]
    assert not [a for a in started if a.endswith(("wave-3", "scope-c")) or a.startswith("restore.lab-router")]
    finished = next(e for e in events if e["event"] == "apply_finished")
    assert finished["status"] == "failed" and "gate.wave-2 failed" in finished["message"]
    _assert_reverted(lab, finished)


def test_a_revert_killed_midway_resumes_and_converges(lab: RunningLab) -> None:
    saved = lab.run("plan", "lab.yaml", "-o", "plan.json", "--detailed-exitcode")
    assert saved.returncode == 2, saved.stdout + saved.stderr
    proc = lab.popen("apply", "--auto-approve", "plan.json")
    try:
        deadline = time.monotonic() + KILL_WAIT
        while time.monotonic() < deadline:
            if any(r.get("kind") == "started" and r.get("address") == "revert-reset.wave-2"
                   for r in _journal(lab.workdir)):  # fmt: skip
                proc.send_signal(signal.SIGKILL)
                break
            assert proc.poll() is None, (lab.workdir / "popen.err").read_text()[-2000:]
            time.sleep(0.01)
        else:
            pytest.fail("the revert did not start")
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    killed = _journal(lab.workdir)
    assert not any(r.get("kind") == "completed" for r in killed)

    resumed = lab.run("--json", "apply", "--resume", "--auto-approve", "plan.json", timeout=240)
    assert resumed.returncode == 1, resumed.stdout + resumed.stderr[-4000:]
    records = _journal(lab.workdir)
    assert (records[-1]["kind"], records[-1]["status"]) == ("completed", "failed")
    again = [r["address"] for r in records[len(killed) :] if r.get("kind") == "started"]
    assert "gate.wave-2" not in again and "revert-gate.wave-2" in again  # the journal decided the revert
    finished = next(e for e in _events(resumed.stdout) if e["event"] == "apply_finished")
    _assert_reverted(lab, finished)
