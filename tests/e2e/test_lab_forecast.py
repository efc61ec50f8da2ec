"""The forecast against the lab's outcome (R1, R2, R8): each phone still to move is forecast as moving,
stranded (rule + cause) or unknown (what is missing), and the plan's verdict follows that forecast.

Every test starts its own small lab (4 phones per scope, 1-second service restarts) on a leased address
prefix (``tests.loopback``) in a temporary directory (``tests.e2e.labrun``), sets up a situation the way
an admin would (through the product's own clients, or a ``lab fault``), plans through the CLI, applies
when the plan allows it, and then compares the forecast with where the lab's phones are, wave by wave.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.labrun import RunningLab, gated_lab
from tests.loopback import Loopback

pytestmark = pytest.mark.lab
SMALL = {"base": "default", "phones_per_scope": 4}


@pytest.fixture
def lab(tmp_path: Path, loopback: Loopback) -> Iterator[RunningLab]:
    with gated_lab(tmp_path, loopback=loopback, spec=SMALL, gate_deadline="20s") as running:
        yield running


def _plan(lab: RunningLab) -> tuple[int, dict[str, Any], str]:
    result = lab.run("plan", "lab.yaml", "--detailed-exitcode", "-o", "plan.json")
    return (
        result.returncode,
        json.loads((lab.workdir / "plan.json").read_text()),
        result.stdout + result.stderr,
    )


def _outcome(lab: RunningLab, plan: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """Per wave: (phones Registered on new, phones elsewhere), from the lab's own model."""
    phones = lab.lab("phones")
    scope_of = {p["name"]: p.get("scope") for p in phones}
    out = {}
    for wave in plan["forecast"]:
        mine = [p for p in phones if scope_of[p["name"]] in wave["scopes"]]
        on_new = sum(1 for p in mine if (p["cluster"], p["status"]) == ("new", "Registered"))
        out[wave["wave"]] = (on_new, len(mine) - on_new)
    return out


def _three_way(plan: dict[str, Any]) -> None:
    for f in plan["forecast"]:
        assert f["already_on_target"] + f["move"] + f["stranded"] + f["unknown"] == f["phones"], f


def test_r8_certificates_uploaded_without_tvs_restart_plan_restarts_and_everyone_moves(
    lab: RunningLab,
) -> None:
    """An apply that uploaded the certificates and stopped before its TVS restarts (``--target trust``):
    the stores hold everything, but nothing says TVS loaded it. The plan restarts every source TVS (R8,
    unknown freshness), forecasts everyone moving, and the lab agrees wave by wave."""
    partial = lab.run("plan", "lab.yaml", "--target", "trust", "-o", "trust.json")
    assert partial.returncode == 0, partial.stdout + partial.stderr
    first = lab.run("apply", "trust.json", "--auto-approve", timeout=180)
    assert first.returncode == 0, first.stdout + first.stderr
    code, plan, out = _plan(lab)
    assert code == 2, out
    steps = [s["address"] for s in plan["steps"]]
    assert not [a for a in steps if a.startswith("trust.")]
    restarts = [s for s in plan["steps"] if s["address"].startswith("tvs.old.")]
    assert {s["address"] for s in restarts} == {f"tvs.old.cucm-old-{n}" for n in ("pub", "sub1", "sub2")}
    assert all("unknown" in s["reason"] and "R8" in s["reason"] for s in restarts)
    _three_way(plan)
    assert [(f["move"], f["stranded"], f["unknown"]) for f in plan["forecast"]] == [(4, 0, 0)] * 3

    applied = lab.run("apply", "plan.json", "--auto-approve", timeout=240)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert _outcome(lab, plan) == {f["wave"]: (f["move"], 0) for f in plan["forecast"]}

    code, _, out = _plan(lab)  # the restarts were recorded: nothing left to do
    assert code == 0, out


def test_r2_rollback_parameter_true_without_resets_phones_are_unknown_not_stranded(lab: RunningLab) -> None:
    """An admin set 'Prepare Cluster for Rollback to pre 8.0' True on old; no phone restarted since. No
    CUCM interface tells whether a phone fetched the blanked ITL, so the forecast says "unknown", not
    "stranded"; the plan sets the parameter False first and is applyable. In the lab the phones kept
    their full ITL: all of them move."""
    from providers.cucm_axl import AxlClient
    from reconciler.config.loader import load

    state = load(lab.yaml).state
    assert state is not None
    old = state.cluster("old")
    assert old is not None
    with AxlClient.connect(old) as axl:
        axl.update_service_parameter(node="EnterpriseWideData", service="Enterprise Wide",
                                     name="PrepareClusterForRollbackToPre80", value="T")  # fmt: skip
    code, plan, out = _plan(lab)
    assert code == 2, out
    _three_way(plan)
    assert [(f["move"], f["stranded"], f["unknown"]) for f in plan["forecast"]] == [(0, 0, 4)] * 3
    assert all("blanked ITL" in f["unknown_groups"][0]["missing"] for f in plan["forecast"])
    assert "0 stranded, 12 unknown" in out

    applied = lab.run("apply", "plan.json", "--auto-approve", timeout=240)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    outcome = _outcome(lab, plan)
    for f in plan["forecast"]:  # nobody forecast stranded is stranded; the unknown ones all moved here
        assert outcome[f["wave"]] == (f["move"] + f["unknown"], f["stranded"])


def test_r1_unreadable_source_tftp_phones_are_unknown_and_the_plan_is_an_error(lab: RunningLab) -> None:
    """The source's TFTP nodes do not answer TFTP/HTTP 6970 (every other face works): the phones' trust
    lists are unknown, never "empty" (which would be first use and "moves"). The plan is an error (R1),
    apply refuses it, and in the lab nobody moved."""
    for node in ("cucm-old-pub", "cucm-old-sub1"):
        lab.fault("unreachable", "--node", node, "--face", "tftp")
    ops = lab.operations()
    code, plan, out = _plan(lab)
    assert code == 1, out
    _three_way(plan)
    assert [(f["move"], f["stranded"], f["unknown"]) for f in plan["forecast"]] == [(0, 0, 4)] * 3
    assert all("could not be read" in f["unknown_groups"][0]["missing"] for f in plan["forecast"])
    assert any(
        d["rule"] == "R1" and d["severity"] == "error" and "cucm-old-pub" in d["summary"]
        for d in plan["diagnostics"]
    )
    refused = lab.run("apply", "lab.yaml", "--auto-approve")
    assert refused.returncode == 1 and "nothing was applied" in refused.stderr
    assert lab.operations() == ops
    assert _outcome(lab, plan) == {f["wave"]: (0, 4) for f in plan["forecast"]}
