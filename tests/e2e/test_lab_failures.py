"""The failure scenarios of the procedure (R1–R14) on the real lab (issue 7, Done-when 2): each is caught by
``plan`` (exit 1, the rule id and a fix, nothing mutated: the lab's operation count is unchanged) or stops
``apply`` safely (exit 1, the rule id, every stranded phone reported with a reason, later waves not started,
option 150 of their scopes unchanged) — never a stranded phone without a report.

Every test starts its own small lab (4 phones per scope, 1-second service restarts) on a leased address
prefix (``--prefix``, ``tests.loopback``) in a temporary directory and stops it with ``lab down``
(``tests.e2e.labrun``). The CLI runs in subprocesses against the lab's real faces. The YAML is
examples/lab.yaml moved to the lab (``tests.e2e.labdoc``), with every wave resetting its phones and short
gate deadlines. docs/troubleshooting.md describes each scenario for operators.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.labdoc import lab_data
from tests.e2e.labrun import RunningLab, raise_ris_allowance, running_lab
from tests.loopback import Loopback

pytestmark = pytest.mark.lab
SMALL = {"base": "default", "phones_per_scope": 4}


def old_tftp(lab: RunningLab) -> list[str]:
    return [f"{lab.prefix}.10.1", f"{lab.prefix}.10.2"]


SCOPE_OPTION150 = {
    "scope-a": "option150.lab-router.scope-a",
    "scope-b": "option150.old-cucm-dhcp.scope-b",
    "scope-c": "option150.lab-router.scope-c",
}


def _doc(lab: RunningLab, *, deadline: str = "6s") -> dict[str, Any]:
    """The lab's document with ``on_failure: stop`` on every wave: these scenarios check that a failed
    gate stops safely and reports; the default (``revert``) is tested in test_lab_revert.py."""
    doc = lab_data(
        lab_dir=lab.lab_dir,
        prefix=lab.prefix,
        reset_every_wave=True,
        gate_deadline=deadline,
        ris_queries_per_minute=60,
    )
    for wave in doc["migration"]["waves"]:
        wave["on_failure"] = "stop"
    return doc


@pytest.fixture
def lab(tmp_path: Path, request: pytest.FixtureRequest, loopback: Loopback) -> Iterator[RunningLab]:
    spec = getattr(request, "param", SMALL)
    with running_lab(tmp_path, loopback=loopback, spec=spec) as running:
        running.write(_doc(running))
        raise_ris_allowance(running.yaml)
        yield running


def _events(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def _apply_json(lab: RunningLab, doc: str = "lab.yaml") -> tuple[int, list[dict[str, Any]], str]:
    result = lab.run("--json", "apply", doc, "--auto-approve", timeout=180)
    return result.returncode, _events(result.stdout), result.stdout + result.stderr


def _started(events: list[dict[str, Any]]) -> list[str]:
    return [e["address"] for e in events if e["event"] == "step_started"]


def _finished(events: list[dict[str, Any]]) -> dict[str, Any]:
    return next(e for e in events if e["event"] == "apply_finished")


def _option150_pending(lab: RunningLab) -> dict[str, list[str]]:
    """Option 150 as a fresh plan reads it (through the real DHCP providers): address -> current value."""
    result = lab.run("plan", "lab.yaml", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    doc = json.loads(result.stdout)
    return {s["address"]: s["before"] for s in doc["steps"] if s["address"].startswith("option150.")}


def _phones(lab: RunningLab) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in lab.lab("phones")}


def _off_target(lab: RunningLab) -> set[str]:
    return {n for n, p in _phones(lab).items() if (p["cluster"], p["status"]) != ("new", "Registered")}


# --- caught by plan ------------------------------------------------------------------------------


def test_r4_declaration_missing_a_target_tftp_node_certificate_is_a_plan_error(lab: RunningLab) -> None:
    """(a) cucm-new-sub1 runs TFTP on the target but the declaration names only the publisher: plan exits
    1 naming the node, the rule (R4, and R5 for the second store), the phones stranded and the fix."""
    doc = _doc(lab)
    for entry in doc["trust"]:
        for ref in entry["certificates"]:
            if ref["identity"] == "callmanager":
                ref["nodes"] = {"names": ["cucm-new-pub"]}
    lab.write(doc, "missing.yaml")
    ops = lab.operations()

    result = lab.run("plan", "missing.yaml", "--detailed-exitcode")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "error[R4]" in result.stdout and "error[R5]" in result.stdout
    assert "misses CallManager of cucm-new-sub1" in result.stdout
    # the count is the forecast's: option 150 names new's publisher first, so the model moves them all
    # (the procedure, R4, still requires the certificate of every TFTP node)
    assert "the forecast strands 0 phones on it" in result.stdout
    assert "fix: declare it under trust" in result.stdout and "nodes: {role: tftp}" in result.stdout

    as_json = json.loads(lab.run("plan", "missing.yaml", "--json").stdout)
    assert as_json["errored"] is True
    r4 = [d for d in as_json["diagnostics"] if d["rule"] == "R4" and d["severity"] == "error"]
    assert len(r4) == 1 and "cucm-new-sub1" in r4[0]["summary"] and r4[0]["fix"]
    assert lab.operations() == ops, "a plan must not mutate anything"

    refused = lab.run("apply", "missing.yaml", "--auto-approve")
    assert refused.returncode == 1 and "nothing was applied" in refused.stderr
    assert lab.operations() == ops
    assert _off_target(lab) == set(_phones(lab))  # every phone still where it was


def test_r2_rollback_parameter_declared_true_is_refused_before_anything_is_read(lab: RunningLab) -> None:
    """(b, declared) 'Prepare Cluster for Rollback to pre 8.0' True on the secure source: a validation
    error with R2, its position and the fix; plan and apply refuse it and nothing is touched."""
    doc = _doc(lab)
    doc["parameters"]["old"]["prepare_cluster_for_rollback"] = True
    lab.write(doc, "rollback.yaml")
    ops = lab.operations()
    for command in (("validate",), ("plan", "--detailed-exitcode")):
        result = lab.run(command[0], "rollback.yaml", *command[1:])
        out = result.stdout + result.stderr
        assert result.returncode == 1, out
        assert "error[R2]" in out and "parameters.old.prepare_cluster_for_rollback" in out
        assert "fix: set prepare_cluster_for_rollback: false" in out
    refused = lab.run("apply", "rollback.yaml", "--auto-approve")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "must be False on the secure source cluster 'old' (R2)" in refused.stderr
    assert "hint: run `reconciler validate rollback.yaml`" in refused.stderr
    assert lab.operations() == ops


def test_r2_rollback_parameter_live_true_plan_sets_it_false_first(lab: RunningLab) -> None:
    """(b, live) an admin set the parameter True on old while the declaration says False: the plan warns
    (R2, with the fix), changes it to False before any option 150 change, and forecasts the phones as
    unknown (R2): whether they fetched the blanked ITL cannot be known — it neither pretends they move nor
    that they stay."""
    from providers.cucm_axl import AxlClient
    from reconciler.config.loader import load

    state = load(lab.yaml).state
    assert state is not None
    old = state.cluster("old")
    assert old is not None
    with AxlClient.connect(old) as axl:
        axl.update_service_parameter(node="EnterpriseWideData", service="Enterprise Wide",
                                     name="PrepareClusterForRollbackToPre80", value="T")  # fmt: skip
    ops = lab.operations()

    result = lab.run("plan", "lab.yaml", "--detailed-exitcode", "-o", "plan.json")
    assert result.returncode == 2, result.stdout + result.stderr
    assert lab.operations() == ops
    plan = json.loads((lab.workdir / "plan.json").read_text())
    steps = [s["address"] for s in plan["steps"]]
    param = next(s for s in plan["steps"] if s["address"].startswith("param.old."))
    assert (param["before"], param["after"], param["rule"]) == ("True", "False", "R2")
    first_option150 = min(i for i, a in enumerate(steps) if a.startswith("option150."))
    assert steps.index(param["address"]) < first_option150
    option150 = [s for s in plan["steps"] if s["address"].startswith("option150.")]
    assert all(param["address"] in s["depends_on"] for s in option150[:1])
    warning = next(d for d in plan["diagnostics"] if d["rule"] == "R2")
    assert warning["severity"] == "warning" and "True on the secure source cluster old" in warning["summary"]
    assert "sets it to False first" in warning["fix"]
    assert sum(f["stranded"] for f in plan["forecast"]) == 0
    assert sum(f["unknown"] for f in plan["forecast"]) == 12
    assert all("(R2)" in g["missing"] for f in plan["forecast"] for g in f["unknown_groups"])


# --- stopped by apply ----------------------------------------------------------------------------


def test_r8_tvs_failing_to_restart_stops_apply_before_any_wave(lab: RunningLab) -> None:
    """(d) ``lab fault tvs-fail`` on cucm-old-sub1: apply stops at that TVS step naming the node and R8;
    the next node's restart, option 150, resets and gates never start; option 150 is unchanged and every
    phone is still on old. Clearing the fault and re-running apply (the fix) completes the migration."""
    lab.fault("tvs-fail", "--node", "cucm-old-sub1")
    code, events, out = _apply_json(lab)
    assert code == 1, out
    failed = [e for e in events if e["event"] == "step_finished" and e["status"] == "failed"]
    assert [e["address"] for e in failed] == ["tvs.old.cucm-old-sub1"]
    assert "cucm-old-sub1" in failed[0]["detail"] and "R8" in failed[0]["detail"]
    assert "failed to start" in failed[0]["detail"]
    started = _started(events)
    assert "tvs.old.cucm-old-pub" in started and "tvs.old.cucm-old-sub2" not in started
    assert not [a for a in started if a.split(".")[0] in ("param", "option150", "reset", "gate")]
    assert _finished(events)["status"] == "failed" and _finished(events)["stranded"] == []
    assert _option150_pending(lab) == dict.fromkeys(SCOPE_OPTION150.values(), old_tftp(lab))
    assert _off_target(lab) == set(_phones(lab))

    lab.fault("tvs-fail", "--node", "cucm-old-sub1", "--off")
    code, events, out = _apply_json(lab)
    assert code == 0, out
    assert "tvs.old.cucm-old-sub1" in _started(events)
    assert _off_target(lab) == set()


@pytest.mark.parametrize("lab", [{**SMALL, "defects": {"stale_itl_scopes": ["scope-b"]}}], indirect=True)
def test_r1_phones_with_a_stale_itl_fail_their_wave_gate_with_a_reason(lab: RunningLab) -> None:
    """(c) scope-b's phones hold an ITL whose TVS records the source no longer has. No interface shows a
    phone's own ITL, so plan cannot see it (it checks the ITL the TFTP nodes serve, R1): the plan
    forecasts them moving. apply moves wave-1, then wave-2's gate fails: each scope-b phone is reported
    still Registered on old with the R1 reason; wave-3 never starts and scope-c keeps old's TFTP."""
    plan = lab.run("plan", "lab.yaml", "--detailed-exitcode")
    assert plan.returncode == 2, plan.stdout + plan.stderr

    code, events, out = _apply_json(lab)
    assert code == 1, out
    phones = _phones(lab)
    scope = {name: p["scope"] for name, p in phones.items()}
    gate2 = next(e for e in events if e["event"] == "step_finished" and e["address"] == "gate.wave-2")
    assert gate2["status"] == "failed" and "R13" in gate2["detail"]
    finished = _finished(events)
    stranded = {p["device"]: p for p in finished["stranded"]}
    assert set(stranded) == {n for n, s in scope.items() if s == "scope-b"}
    for device, report in stranded.items():
        assert (report["status"], report["node"]) == ("Registered", phones[device]["node"])
        assert report["node"].startswith("cucm-old-") and "R1" in report["reason"]
        assert phones[device]["rule"] == "R1"  # what the lab's model says happened to the phone
    assert not [a for a in _started(events) if a.endswith("wave-3") or a.endswith("scope-c")]
    assert _option150_pending(lab) == {SCOPE_OPTION150["scope-c"]: old_tftp(lab)}
    assert {n for n, s in scope.items() if s == "scope-a"} & _off_target(lab) == set()
    assert _off_target(lab) == set(stranded) | {n for n, s in scope.items() if s == "scope-c"}
    assert all(phones[n]["cluster"] == "old" for n, s in scope.items() if s == "scope-c")


def _stop_callmanager_on_the_target_group(lab: RunningLab) -> None:
    """Cisco CallManager stopped on new-cmg's nodes (ControlCenterServices, as an admin would)."""
    from providers.cucm_serviceability import ControlCenterClient
    from reconciler.config.loader import load

    state = load(lab.yaml).state
    assert state is not None
    new = state.cluster("new")
    assert new is not None
    for node in new.nodes:
        if node.name in ("cucm-new-sub1", "cucm-new-sub2"):
            with ControlCenterClient.connect(new, node) as control:
                control.control("Stop", ["Cisco CallManager"])


def test_r13_gate_missed_when_moved_phones_cannot_register_stops_later_waves(lab: RunningLab) -> None:
    """(e) the trust chain works but the target's call-processing nodes of the phones' CallManager group
    are down: wave-1's phones take the target's files and stay UnRegistered. The gate misses its share by
    the deadline (R13); apply's summary lists each phone with its status and what to check, and wave-2/3
    are untouched (no step started, option 150 unchanged, phones Registered on old)."""
    _stop_callmanager_on_the_target_group(lab)
    result = lab.run("apply", "lab.yaml", "--auto-approve", timeout=180)  # the human output this time
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stderr
    assert "failed gate.wave-1" in out and "deadline 6s passed (R13)" in out
    assert "phones of old: " in out and " listed" in out  # apply's own refresh, shown as plan shows it
    phones = _phones(lab)
    wave1 = {n for n, p in phones.items() if p["scope"] == "scope-a"}
    assert _off_target(lab) - {n for n, p in phones.items() if p["cluster"] == "old"} == wave1
    assert "4 phone(s) not Registered on the target (R13):" in out
    flat = " ".join(x.strip() for x in out.splitlines())  # long lines wrap at the terminal width
    for device in wave1:
        entry = flat.split(f"{device} (wave-1): UnRegistered", 1)[1].split("]", 1)[0]
        assert "check that Cisco CallManager runs" in entry and "(R13)" in entry
    started = [x.split()[1] for x in out.splitlines() if x.endswith(" …") and len(x.split()) == 3]
    assert "gate.wave-1" in started
    later = [a for a in started if a.endswith(("wave-2", "wave-3", "scope-b", "scope-c"))]
    assert later == []
    pending = _option150_pending(lab)
    assert pending == {SCOPE_OPTION150["scope-b"]: old_tftp(lab), SCOPE_OPTION150["scope-c"]: old_tftp(lab)}
    assert all(p["cluster"] == "old" and p["status"] == "Registered"
               for p in phones.values() if p["scope"] in ("scope-b", "scope-c"))  # fmt: skip
