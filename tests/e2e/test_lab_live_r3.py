"""Live R3 on the real lab (docs/waves.md#live-r3): a source TVS made unreachable while a wave's gate polls
pauses the wave — apply exits 3, resets no more phones, starts no revert — and ``apply --resume`` after
the fault is cleared continues from the gate (the option 150 change and the reset are not redone).

scope-b's phones hold a stale ITL (``defects: {stale_itl_scopes: [scope-b]}``), so wave-2's gate keeps
polling until its deadline: long enough to outlast the watch's cache (one gate poll interval, 1 s in the
tests' ``policy.gate_poll_interval``; ten seconds at most). The faulted nodes are the
source TVS nodes that serve the CallManager groups of wave-2's phones, as the lab's inventory and phone
list tell them (the lab spec's CallManager group ``old-cmg``), all of them, through ``lab fault
unreachable``. After the resume the wave ends as it would have without the fault: its gate fails by the
stale ITL (R1) and it is reverted (exit 1).

The lab is leased per test (``tests.loopback``, ``tests.e2e.labrun``; ``lab down`` always).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.labrun import RunningLab, gated_lab
from tests.loopback import Loopback

pytestmark = pytest.mark.lab
SPEC = {"base": "default", "phones_per_scope": 3, "defects": {"stale_itl_scopes": ["scope-b"]}}
GATE_DEADLINE = 12  # seconds wave-2's gate polls (stale ITL); it polls, and the watch re-reads, every 1 s
WAIT = 150.0


@pytest.fixture
def lab(tmp_path: Path, loopback: Loopback) -> Iterator[RunningLab]:
    with gated_lab(tmp_path, loopback=loopback, spec=SPEC, gate_deadline=f"{GATE_DEADLINE}s") as running:
        yield running


def _journal(workdir: Path) -> list[dict[str, Any]]:
    files = sorted((workdir / ".reconciler" / "journal").glob("*.jsonl"))
    out = []
    for line in files[-1].read_text().splitlines() if files else ():
        try:
            out.append(json.loads(line))
        except ValueError:  # a line being written
            break
    return out


def _serving_source_tvs(lab: RunningLab, *, scope: str) -> list[str]:
    """The source nodes running TVS in the CallManager groups of ``scope``'s phones, from the lab's own
    spec (device pool -> group -> members) and node list — not from the product."""
    spec = yaml.safe_load((lab.workdir / "spec.yaml").read_text())
    assert spec["base"] == "default"  # default_lab: device pool DP-PHONES -> old-cmg = [sub1, sub2]
    from simulator.spec import default_lab

    old = default_lab().cluster("old")
    phones = [p for p in lab.lab("phones") if p["scope"] == scope]
    assert phones and {p["cluster"] for p in phones} == {"old"}
    pool = next(s.device_pool for s in default_lab().scopes if s.name == scope)
    groups = {old.device_pools[pool]}
    members = {m for g in groups for m in old.cm_groups[g]}
    tvs = {n.name for n in old.nodes if "Cisco Trust Verification Service" in n.services}
    serving = sorted(members & tvs)
    assert {p["node"] for p in phones} <= set(members)  # the phones do register on those groups
    return serving


def test_an_unreachable_source_tvs_pauses_the_wave_and_resume_continues(lab: RunningLab) -> None:
    serving = _serving_source_tvs(lab, scope="scope-b")
    assert serving == ["cucm-old-sub1", "cucm-old-sub2"]
    saved = lab.run("plan", "lab.yaml", "-o", "plan.json", "--detailed-exitcode")
    assert saved.returncode == 2, saved.stdout + saved.stderr

    proc = lab.popen("--json", "apply", "--auto-approve", "plan.json")
    faulted_at = None
    try:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline and proc.poll() is None:
            if faulted_at is None and any(
                r.get("kind") == "started" and r.get("address") == "gate.wave-2"
                for r in _journal(lab.workdir)
            ):
                for node in serving:
                    lab.fault("unreachable", "--node", node)
                faulted_at = time.monotonic()
            time.sleep(0.05)
        assert faulted_at is not None, (
            "gate.wave-2 never started: " + (lab.workdir / "popen.err").read_text()[-2000:]
        )
        proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        for node in serving:
            lab.fault("unreachable", "--node", node, "--off")
    out = (lab.workdir / "popen.out").read_text()
    err = (lab.workdir / "popen.err").read_text()
    assert proc.returncode == 3, out[-3000:] + err[-3000:]
    # paused, and said why: the rule and every faulted node
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    finished = next(e for e in events if e["event"] == "apply_finished")
    assert "R3" in finished["message"] and "wave-2" in finished["message"]
    assert all(node in finished["message"] for node in serving), finished["message"]
    paused = _journal(lab.workdir)
    started = [r["address"] for r in paused if r.get("kind") == "started"]
    assert not any(a.startswith(("restore.", "revert-")) for a in started)  # a pause is not a failure
    assert not any(a.endswith("wave-3") or a.endswith("scope-c") for a in started)
    assert not any(r.get("kind") == "completed" for r in paused)  # the journal stays open
    phones = lab.lab("phones")
    assert all(p["cluster"] == "old" for p in phones if p["scope"] == "scope-c")  # no more resets

    resumed = lab.run("--json", "apply", "--resume", "--auto-approve", "plan.json", timeout=240)
    records = _journal(lab.workdir)
    again = [r["address"] for r in records[len(paused) :] if r.get("kind") == "started"]
    assert again and again[0] == "gate.wave-2", again  # continued at the gate...
    assert "option150.old-cucm-dhcp.scope-b" not in again and "reset.wave-2" not in again  # ...not redone
    # the wave then ends as it would have: the stale ITL fails its gate (R1, R13) and it is reverted
    assert resumed.returncode == 1, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert "revert-gate.wave-2" in again
    assert (records[-1]["kind"], records[-1]["status"]) == ("completed", "failed")
