"""A lab that contradicts the planner on purpose (docs/simulator.md#trust-knobs): one flipped trust knob,
and the tool must show it.

- ``tvs_answer_cache_s: 86400`` (the seed's "the phone caches the answer for 24 hours"; the planner's
  model: a phone asks TVS every time). Before the migration an operator pointed scope-b at the target too
  early and reset its phones (through AXL, as an admin would): they asked the source TVS about the target's
  signer, got "unknown", stayed, and — in this lab — remember that answer. The plan cannot see a phone's
  memory: it uploads the certificates, restarts TVS (R8) and forecasts every phone moving. The pilot wave
  (scope-b) is reset, its phones boot over the wire (DHCP, TFTP, TVS), reuse the remembered "unknown" and
  stay on the source; the gate fails (R13); ``lab phones`` shows each phone's own reason (the cached
  answer); nothing beyond the pilot is touched (scope-a and scope-c keep option 150 on the source's TFTP
  nodes, the lab's boot log has only the pilot's phones and its operation log no DHCP change outside
  scope-b's subnet).
  The pilot says ``on_failure: stop`` so the phones' reasons are still there after apply; the default
  revert on a failed pilot is covered by tests/e2e/test_lab_revert.py.
- ``itl_recovery_cluster_wide_from: [15, 0]``: the lab's 14.0 target has one ITLRecovery per node (the
  planner's model: one per cluster from 12.5, R6) and the pilot's option 150 names the target's subscriber
  TFTP node first. The planner reads the ITL that node really serves, so here the tool shows the
  disagreement before anything changes: the plan forecasts the pilot stranded (R6), naming the
  subscriber's ITLRecovery as the signer no source TVS knows, fails, and the lab records no operation.

Each test starts its own small lab (3 phones per scope, 1-second restarts) on a leased prefix
(``tests.loopback``, ``tests.e2e.labrun``; ``lab down`` always), the CLI in subprocesses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from simulator.lab.control import control_request
from tests.e2e.labdoc import lab_data
from tests.e2e.labrun import RunningLab, raise_ris_allowance, running_lab
from tests.loopback import Loopback

pytestmark = pytest.mark.lab

TVS_ANSWERS_CACHED = {"base": "default", "phones_per_scope": 3, "trust": {"tvs_answer_cache_s": 86400}}
ITL_RECOVERY_PER_NODE = {
    "base": "default",
    "phones_per_scope": 3,
    "trust": {"itl_recovery_cluster_wide_from": [15, 0]},
}


def _events(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def _prepare(lab: RunningLab) -> dict[str, Any]:
    """The lab's desired state with scope-b as the pilot wave (``on_failure: stop``), scope-a second."""
    doc = lab_data(
        lab_dir=lab.lab_dir,
        prefix=lab.prefix,
        reset_every_wave=True,
        gate_deadline="6s",
        ris_queries_per_minute=60,
    )
    waves = doc["migration"]["waves"]
    waves[0]["scopes"], waves[1]["scopes"] = ["scope-b"], ["scope-a"]
    waves[0]["on_failure"] = "stop"
    lab.write(doc)
    raise_ris_allowance(lab.yaml)
    return doc


def _too_early(lab: RunningLab) -> None:
    """An operator's premature try, through AXL: scope-b's option 150 on the target, its phones reset, the
    option put back. No certificate has been uploaded yet, so the phones ask TVS and learn "unknown"."""
    from providers.cucm_axl import AxlClient
    from reconciler.config.loader import load

    state = load(lab.yaml).state
    assert state is not None
    old = next(c for c in state.clusters if c.name == "old")
    phones = [p["name"] for p in lab.lab("phones") if p["scope"] == "scope-b"]
    with AxlClient.connect(old) as axl:
        (subnet,) = [s for s in axl.dhcp_subnets() if s.subnet == "198.51.100.0"]
        axl.update_dhcp_subnet_tftp(
            server=subnet.server,
            subnet=subnet.subnet,
            primary=f"{lab.prefix}.20.1",
            secondary=f"{lab.prefix}.20.2",
        )
        for name in phones:
            axl.reset_phone(name)
        axl.update_dhcp_subnet_tftp(
            server=subnet.server,
            subnet=subnet.subnet,
            primary=subnet.primary_tftp,
            secondary=subnet.secondary_tftp,
        )
    for phone in (p for p in lab.lab("phones") if p["scope"] == "scope-b"):
        assert (phone["cluster"], phone["status"]) == ("old", "Registered"), phone
        assert "does not know the signer" in phone["reason"], phone


def _plan(lab: RunningLab) -> tuple[int, dict[str, Any], str]:
    result = lab.run("plan", "lab.yaml", "--detailed-exitcode", "-o", "plan.json")
    return (
        result.returncode,
        json.loads((lab.workdir / "plan.json").read_text()),
        result.stdout + result.stderr,
    )


def _option150(lab: RunningLab) -> dict[str, list[str]]:
    doc = json.loads(lab.run("plan", "lab.yaml", "--json").stdout)
    return {
        s["address"].rsplit(".", 1)[1]: s["before"]
        for s in doc["steps"]
        if s["address"].startswith("option150.")
    }


def test_cached_tvs_answers_fail_the_pilot_with_the_phones_own_reasons(
    tmp_path: Path, loopback: Loopback
) -> None:
    with running_lab(tmp_path, loopback=loopback, spec=TVS_ANSWERS_CACHED) as lab:
        _prepare(lab)
        _too_early(lab)

        code, plan, out = _plan(lab)
        assert code == 2, out
        for wave in plan["forecast"]:  # the planner's model: every phone moves
            assert (wave["move"], wave["stranded"], wave["unknown"]) == (3, 0, 0), wave

        control = lab.inventory()["control"]
        ops_before = len(control_request(control, "GET", "/operations"))
        boots_before = len(control_request(control, "GET", "/boots"))
        result = lab.run("--json", "apply", "plan.json", "--auto-approve", timeout=240)
        assert result.returncode == 1, result.stdout + result.stderr
        events = _events(result.stdout)
        finished = next(e for e in events if e["event"] == "apply_finished")
        assert "gate.wave-1 failed" in finished["message"], finished
        started = [e["address"] for e in events if e["event"] == "step_started"]
        assert "gate.wave-1" in started and "tvs.old.cucm-old-sub1" in started  # R8 restart happened
        assert not [a for a in started if a.endswith(("wave-2", "wave-3", "scope-a", "scope-c"))], started

        phones = {p["name"]: p for p in lab.lab("phones")}
        pilot = [p for p in phones.values() if p["scope"] == "scope-b"]
        assert len(pilot) == 3
        for phone in pilot:
            # the phone's own account: it asked about the CTL's signer before and reused that answer
            assert (phone["cluster"], phone["status"]) == ("old", "Registered"), phone
            assert "CTL from TFTP cucm-new-pub (new) rejected" in phone["reason"], phone
            assert "TVS (cached answer) does not know the signer" in phone["reason"], phone
        for phone in phones.values():
            if phone["scope"] != "scope-b":
                assert (phone["cluster"], phone["status"], phone["reason"]) == ("old", "Registered", ""), (
                    phone
                )
        old_tftp = [f"{lab.prefix}.10.1", f"{lab.prefix}.10.2"]
        assert _option150(lab) == {"scope-a": old_tftp, "scope-c": old_tftp}  # scope-b is done: not listed

        # the lab's own records: the pilot's phones booted over the wire, no other phone booted, and no
        # DHCP change touched scope-a (IOS pool PHONES-A) or scope-c (PHONES-C)
        boots = control_request(control, "GET", "/boots")[boots_before:]
        assert {b["target"] for b in boots} == {p["name"] for p in pilot}, boots
        assert all(b["detail"].startswith("dhcp ") and "tftp " in b["detail"] for b in boots), boots
        operations = control_request(control, "GET", "/operations")[ops_before:]
        dhcp = [o for o in operations if o["op"] in ("set_ios_pool_option150", "set_cucm_dhcp_subnet")]
        assert dhcp and all("198.51.100.0" in o["target"] for o in dhcp), operations  # scope-b's subnet only


def test_itl_recovery_per_node_is_seen_by_the_plan_before_anything_changes(
    tmp_path: Path, loopback: Loopback
) -> None:
    with running_lab(tmp_path, loopback=loopback, spec=ITL_RECOVERY_PER_NODE) as lab:
        doc = _prepare(lab)
        scope_b = next(s for s in doc["dhcp"]["scopes"] if s["name"] == "scope-b")
        scope_b["option150"] = [f"{lab.prefix}.20.2", f"{lab.prefix}.20.1"]  # the subscriber's ITL first
        lab.write(doc)
        operations = lab.operations()

        code, plan, out = _plan(lab)
        assert code == 1, out
        pilot = plan["forecast"][0]
        assert (pilot["wave"], pilot["stranded"]) == ("wave-1", 3), pilot
        assert "error[R6]: wave wave-1: 3 of 3 phones still to move would be stranded (R6)" in out
        assert "ITL rejected: no TVS server knows signer CN=ITLRECOVERY_cucm-new-sub1" in out
        assert lab.operations() == operations  # plan changed nothing
