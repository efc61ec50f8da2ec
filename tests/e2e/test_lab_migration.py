"""End to end on the built-in lab (issue 7): ``reconciler lab up --detach`` → plan → apply → plan → drift,
through the real CLI in subprocesses, the real providers and the lab's real faces (zeep over HTTPS with
the lab CA, paramiko to the admin CLI and the IOS router, certmgr REST, TFTP over HTTP, RisPort70).

The lab runs at its own address prefix (``--prefix``, leased from ``tests.loopback``) in a temporary
directory, with 1-second service restarts so the rolling TVS restarts (R8) are quick; the YAML is
examples/lab.yaml moved to that prefix (``tests.e2e.labdoc``) with every wave resetting its phones (the lab
has no natural reboots) and 1-minute gates. The lab's RisPort70 allowance is raised to 60 queries/minute
through AXL before the run and the policy says the same, because four commands in a row share one minute of
allowance (R13); the product defaults are untouched. Needs nothing but Python: it always runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.labdoc import lab_document
from tests.loopback import Loopback

pytestmark = pytest.mark.lab
TARGET_CALL_NODES = {"cucm-new-sub1", "cucm-new-sub2"}  # new-cmg: where moved phones register
ROOT = Path(__file__).resolve().parents[2]
COMMAND_TIMEOUT = 120


@dataclass(frozen=True)
class Lab:
    workdir: Path
    lab_dir: Path
    yaml: Path


def run(lab: Lab, *args: str, timeout: float = COMMAND_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """``reconciler ARGS`` in the lab's working directory (state and journal land there)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1", COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-m", "reconciler", *args],
        cwd=lab.workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def lab_json(lab: Lab, *args: str) -> Any:
    result = run(lab, "lab", *args, "--dir", str(lab.lab_dir), "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _raise_ris_allowance(lab_dir: Path, doc: Path) -> None:
    """Lab setup: 'Allowed Device Queries Per Minute' = 60 on both clusters (AXL, like an admin would)."""
    from providers.cucm_axl import AxlClient
    from reconciler.config.loader import load

    state = load(doc).state
    assert state is not None
    for cluster in state.clusters:
        with AxlClient.connect(cluster) as axl:
            axl.update_service_parameter(
                node="EnterpriseWideData",
                service="Enterprise Wide",
                name="AllowedDeviceQueriesPerMinute",
                value="60",
            )


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, loopback: Loopback) -> Iterator[Lab]:
    workdir = tmp_path_factory.mktemp("e2e")
    lab = Lab(workdir=workdir, lab_dir=workdir / "lab", yaml=workdir / "lab.yaml")
    with loopback.lease() as lease:
        up = run(lab, "lab", "up", "--detach", "--dir", str(lab.lab_dir), "--prefix", lease.prefix,
                 "--restart-seconds", "1", timeout=150)  # fmt: skip
        try:
            assert up.returncode == 0, up.stdout + up.stderr
            lab.yaml.write_text(
                lab_document(
                    lab_dir=lab.lab_dir,
                    prefix=lease.prefix,
                    reset_every_wave=True,
                    gate_deadline="60s",
                    ris_queries_per_minute=60,
                )
            )
            _raise_ris_allowance(lab.lab_dir, lab.yaml)
            yield lab
        finally:
            down = run(lab, "lab", "down", "--dir", str(lab.lab_dir), timeout=60)
            assert down.returncode == 0, down.stdout + down.stderr


def _delete_trust_cert_through_the_admin_cli(lab: Lab, *, subject_cn: str) -> str:
    """``set cert delete`` on old's publisher over SSH (paramiko), as an operator would; returns the file."""
    from providers.cucm_certs import cli_session_for
    from reconciler.config.loader import load

    state = load(lab.yaml).state
    assert state is not None
    old = state.cluster("old")
    assert old is not None
    with cli_session_for(old, old.publisher) as cli:
        listed = [c for c in cli.cert_list("trust") if c.unit.startswith("CallManager")]
        victim = next(c for c in listed if c.filename.startswith(f"{subject_cn}_"))
        cli.delete_cert(store="CallManager-trust", filename=victim.filename)
    return victim.filename


def test_lab_migration_plan_apply_replan_and_drift(lab: Lab) -> None:
    """Done-when of issue 7 on the default lab: plan forecasts all 300 phones moving and mutates nothing;
    apply moves every phone (RisPort70 and `lab phones` show them Registered on target nodes); a second
    plan has no changes; drift is clean, then finds the trust certificate deleted through the CLI (R4)."""
    ops_before = lab_json(lab, "status")["operations"]

    plan = run(lab, "plan", str(lab.yaml), "--detailed-exitcode", "-o", "plan.json")
    assert plan.returncode == 2, plan.stdout + plan.stderr
    doc = json.loads((lab.workdir / "plan.json").read_text())
    assert not doc["errored"]
    phones = lab_json(lab, "phones")
    assert len(phones) == 300
    assert [f["phones"] for f in doc["forecast"]] == [100, 100, 100]
    assert sum(f["move"] for f in doc["forecast"]) == len(phones)
    assert sum(f["stranded"] for f in doc["forecast"]) == 0
    kinds = {s["address"].split(".")[0] for s in doc["steps"]}
    assert {"trust", "replication", "tvs", "option150", "reset", "gate"} <= kinds
    assert lab_json(lab, "status")["operations"] == ops_before, "plan must not mutate anything"

    apply = run(lab, "apply", str(lab.yaml), "--auto-approve", timeout=240)
    assert apply.returncode == 0, apply.stdout + apply.stderr[-4000:]
    moved = lab_json(lab, "phones")
    assert {(p["cluster"], p["status"]) for p in moved} == {("new", "Registered")}
    assert {p["node"] for p in moved} <= TARGET_CALL_NODES
    ris = _ris_view(lab)
    assert len(ris) == 300
    assert all(r.status == "Registered" and r.node in TARGET_CALL_NODES for r in ris)

    replan = run(lab, "plan", str(lab.yaml), "--detailed-exitcode")
    assert replan.returncode == 0, replan.stdout + replan.stderr

    clean = run(lab, "drift", str(lab.yaml), "--detailed-exitcode")
    assert clean.returncode == 0, clean.stdout + clean.stderr

    _delete_trust_cert_through_the_admin_cli(lab, subject_cn="cucm-new-pub")
    drifted = run(lab, "drift", str(lab.yaml), "--detailed-exitcode", "--json")
    assert drifted.returncode == 2, drifted.stdout + drifted.stderr
    assert "trust.old.CallManager-trust.cucm-new-pub" in drifted.stdout
    assert "R4" in drifted.stdout


def _ris_view(lab: Lab) -> tuple[Any, ...]:
    """What RisPort70 of the target reports, read with the product's RisPort70 client."""
    from providers.cucm_serviceability import RisClient
    from reconciler.config.loader import load

    state = load(lab.yaml).state
    assert state is not None
    new = state.cluster("new")
    assert new is not None
    with RisClient.connect(new) as ris:
        return ris.registrations(("SEP*",))
