"""The plan's rule errors against the lab's outcome: R6 per node (a 12.0 target), a CallManager group
without a reachable TVS (R3), and bulk ordering under ``--parallelism 4`` (R9, R7, R8).

Each test starts its own small lab (4 phones per scope, 1-second service restarts) on a leased address
prefix (``tests.loopback``), plans through the CLI, applies when the plan allows it, and compares the
forecast with where the lab's phones are, wave by wave.
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
TWELVE = "12.0.1.10000-10"


def _doc(lab: RunningLab) -> dict[str, Any]:
    return lab_data(
        lab_dir=lab.lab_dir,
        prefix=lab.prefix,
        reset_every_wave=True,
        gate_deadline="20s",
        ris_queries_per_minute=60,
    )


def _plan(lab: RunningLab, *extra: str) -> tuple[int, dict[str, Any], str]:
    result = lab.run("plan", "lab.yaml", "--detailed-exitcode", "-o", "plan.json", *extra)
    assert (lab.workdir / "plan.json").exists(), result.stdout + result.stderr
    return (
        result.returncode,
        json.loads((lab.workdir / "plan.json").read_text()),
        result.stdout + result.stderr,
    )


def _outcome(lab: RunningLab, plan: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """Per wave: (phones Registered on new, phones elsewhere), from the lab's own model."""
    phones = lab.lab("phones")
    out = {}
    for wave in plan["forecast"]:
        mine = [p for p in phones if p.get("scope") in wave["scopes"]]
        on_new = sum(1 for p in mine if (p["cluster"], p["status"]) == ("new", "Registered"))
        out[wave["wave"]] = (on_new, len(mine) - on_new)
    return out


def _errors(plan: dict[str, Any], rule: str) -> list[dict[str, Any]]:
    return [d for d in plan["diagnostics"] if d["rule"] == rule and d["severity"] == "error"]


def test_r6_a_12_0_target_needs_every_tftp_nodes_itlrecovery(tmp_path: Path, loopback: Loopback) -> None:
    """Before 12.5 each node of the target has its own ITLRecovery and signs its own ITL. With only the
    publisher's declared (``itlrecovery`` without ``nodes:``), the plan is an error naming the other TFTP
    node (cucm-new-sub1); declared with ``nodes: {role: tftp}``, it is clean, apply uploads both, and
    every phone moves as forecast."""
    spec = {"base": "default", "phones_per_scope": 4, "versions": {"new": TWELVE}}
    with running_lab(tmp_path, loopback=loopback, spec=spec) as lab:
        doc = _doc(lab)
        new = next(c for c in doc["clusters"] if c["name"] == "new")
        new["version"] = TWELVE
        lab.write(doc)
        raise_ris_allowance(lab.yaml)

        code, plan, out = _plan(lab)
        assert code == 1, out
        r6 = _errors(plan, "R6")
        assert r6 and all("cucm-new-sub1" in d["summary"] for d in r6), r6
        assert {d["address"] for d in r6} == {
            f"trust.old.{store}.ITLRecovery-cucm-new-sub1"
            for store in ("CallManager-trust", "Phone-SAST-trust")
        }
        assert not any("cucm-new-pub" in d["summary"] for d in r6)  # the publisher's is declared
        refused = lab.run("apply", "plan.json", "--auto-approve")
        assert refused.returncode != 0

        for decl in doc["trust"]:
            for ref in decl["certificates"]:
                if ref.get("identity") == "itlrecovery":
                    ref["nodes"] = {"role": "tftp"}
        lab.write(doc)
        code, plan, out = _plan(lab)
        assert code == 2, out
        assert not [d for d in plan["diagnostics"] if d["severity"] == "error"], out
        uploads = {s["address"] for s in plan["steps"] if s["address"].startswith("trust.")}
        assert {a.rsplit(".", 1)[1] for a in uploads} == {
            "cucm-new-pub",
            "cucm-new-sub1",
            "ITLRecovery-new",
            "ITLRecovery-cucm-new-sub1",
        }
        assert [(f["move"], f["stranded"], f["unknown"]) for f in plan["forecast"]] == [(4, 0, 0)] * 3

        applied = lab.run("apply", "plan.json", "--auto-approve", timeout=240)
        assert applied.returncode == 0, applied.stdout + applied.stderr
        assert _outcome(lab, plan) == {f["wave"]: (f["move"], 0) for f in plan["forecast"]}


def test_r3_a_callmanager_group_without_a_reachable_tvs_is_a_plan_error(
    tmp_path: Path, loopback: Loopback
) -> None:
    """old's subscribers stop answering: the phones' CallManager group old-cmg (cucm-old-sub1,
    cucm-old-sub2) is left without a reachable TVS. The plan still reads the rest, and is an error
    naming the group and the phone count per wave (R3), with the forecast stranding exactly those
    phones; apply refuses it, and in the lab nobody moved, as forecast."""
    spec = {"base": "default", "phones_per_scope": 4}
    with running_lab(tmp_path, loopback=loopback, spec=spec) as lab:
        lab.write(_doc(lab))
        raise_ris_allowance(lab.yaml)
        for node in ("cucm-old-sub1", "cucm-old-sub2"):
            lab.fault("unreachable", "--node", node)
        ops = lab.operations()

        code, plan, out = _plan(lab)
        assert code == 1, out
        groups = [d for d in _errors(plan, "R3") if d["address"].startswith("phones.")]
        assert sorted(d["address"] for d in groups) == ["phones.wave-1", "phones.wave-2", "phones.wave-3"]
        assert all(
            d["summary"].startswith("4 phones of wave") and "CallManager group old-cmg" in d["summary"]
            for d in groups
        ), groups
        for f in plan["forecast"]:
            assert (f["move"], f["stranded"], f["unknown"]) == (0, 4, 0), f
            assert [g["rule"] for g in f["stranded_groups"]] == ["R3"]
            assert "old-cmg" in f["stranded_groups"][0]["reason"]

        refused = lab.run("apply", "plan.json", "--auto-approve")
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert lab.operations() == ops
        assert _outcome(lab, plan) == {f["wave"]: (0, f["stranded"]) for f in plan["forecast"]}


def _journal(lab: RunningLab) -> list[dict[str, Any]]:
    (path,) = (lab.workdir / ".reconciler" / "journal").glob("*.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_bulk_with_parallelism_4_each_cluster_imports_before_its_own_replication_and_tvs_restarts(
    tmp_path: Path, loopback: Loopback
) -> None:
    """Method bulk (R9) through the lab's SFTP server, applied with ``--parallelism 4``: on each cluster
    the import (the lab's ``upload_trust`` operations on that cluster) comes before the replication check
    (R7, the journal) and before every TVS restart of that cluster (R8, the lab's operation log), even
    though four steps may run at once. The forecast says everyone moves, and the lab agrees per wave."""
    spec = {"base": "default", "phones_per_scope": 4}
    with running_lab(tmp_path, loopback=loopback, spec=spec) as lab:
        doc = _doc(lab)
        inventory = lab.inventory()
        sftp = inventory["sftp"]
        doc.pop("trust")  # the bulk import itself fills both clusters' stores (R9)
        doc["migration"].update(
            method="bulk",
            consolidate_on="new",
            sftp={
                "host": sftp["host"],
                "port": sftp["port"],
                "credentials": {"username": sftp["username"], "password": f"file:{sftp['password_file']}"},
                "directory": sftp["directory"],
                "known_hosts": inventory["known_hosts"],
            },
        )
        lab.write(doc)
        raise_ris_allowance(lab.yaml)

        code, plan, out = _plan(lab)
        assert code == 2, out
        assert not [d for d in plan["diagnostics"] if d["severity"] == "error"], out
        assert [(f["move"], f["stranded"], f["unknown"]) for f in plan["forecast"]] == [(4, 0, 0)] * 3
        steps = {s["address"] for s in plan["steps"]}
        assert {"bulk.old.import", "bulk.new.import"} <= steps
        before = len(control_request(inventory["control"], "GET", "/operations"))

        applied = lab.run("apply", "plan.json", "--auto-approve", "--parallelism", "4", timeout=300)
        assert applied.returncode == 0, applied.stdout + applied.stderr

        journal = _journal(lab)
        finished = {r["address"]: r["seq"] for r in journal if r["kind"] == "finished"}
        started = {r["address"]: r["seq"] for r in journal if r["kind"] == "started"}
        operations = control_request(inventory["control"], "GET", "/operations")[before:]
        for cluster in ("old", "new"):
            imported = finished[f"bulk.{cluster}.import"]
            checks = [s for a, s in started.items() if a.startswith(f"replication.{cluster}.")]
            restarts = [s for a, s in started.items() if a.startswith(f"tvs.{cluster}.")]
            assert checks and restarts, (cluster, sorted(started))
            assert imported < min(checks) and imported < min(restarts), cluster  # journal order (R7, R8)

            mine = [o for o in operations if o["target"].startswith(f"{cluster}/")]
            uploads = [o["seq"] for o in mine if o["op"] == "upload_trust"]
            tvs = [o["seq"] for o in mine if o["op"] == "control_service" and "Trust Verif" in o["detail"]]
            assert uploads and tvs, (cluster, operations)
            assert max(uploads) < min(tvs), (cluster, operations)  # the lab saw the same order (R9 → R8)

        assert _outcome(lab, plan) == {f["wave"]: (f["move"], 0) for f in plan["forecast"]}
