"""The way back on the real lab (docs/waves.md, "The way back"): ``plan FILE --rollback``.

examples/lab.yaml with ``migration.allow_rollback: true`` and the reverse trust declared (R11: old's TFTP
nodes' CallManager certificates in both phone trust stores of new), so the forward apply uploads it and
restarts new's TVS (R8). Before anything moved, ``plan --rollback`` is an error (nothing to roll back);
after the migration, ``plan --rollback -o rb.json`` plans option 150 back to old's TFTP nodes with the same
waves and gates and no trust step, and ``apply rb.json`` brings every phone back: Registered on old.

A small lab (3 phones per scope, 1-second restarts) on a leased prefix (``tests.e2e.labrun``), the CLI in
subprocesses.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.labdoc import lab_data
from tests.e2e.labrun import RunningLab, raise_ris_allowance, running_lab
from tests.loopback import Loopback

pytestmark = pytest.mark.lab
SPEC = {"base": "default", "phones_per_scope": 3}
REVERSE_TRUST = [
    {
        "cluster": "new",
        "store": store,
        "mode": "merge",
        "certificates": [{"identity": "callmanager", "cluster": "old", "nodes": {"role": "tftp"}}],
    }
    for store in ("CallManager-trust", "Phone-SAST-trust")
]


@pytest.fixture
def lab(tmp_path: Path, loopback: Loopback) -> Iterator[RunningLab]:
    with running_lab(tmp_path, loopback=loopback, spec=SPEC) as running:
        doc = lab_data(
            lab_dir=running.lab_dir,
            prefix=running.prefix,
            reset_every_wave=True,
            gate_deadline="60s",
            ris_queries_per_minute=60,
        )
        doc["migration"]["allow_rollback"] = True
        doc["trust"] = [*doc["trust"], *REVERSE_TRUST]
        running.write(doc)
        raise_ris_allowance(running.yaml)
        yield running


def test_a_rollback_plan_moves_every_phone_back_on_the_lab(lab: RunningLab) -> None:
    early = lab.run("plan", "lab.yaml", "--rollback")
    assert early.returncode == 1 and "nothing to roll back" in early.stderr, early.stdout + early.stderr

    forward = lab.run("apply", "lab.yaml", "--auto-approve", timeout=240)
    assert forward.returncode == 0, forward.stdout + forward.stderr[-4000:]
    phones = lab.lab("phones")
    assert {(p["cluster"], p["status"]) for p in phones} == {("new", "Registered")}

    ops = lab.operations()
    plan = lab.run("plan", "lab.yaml", "--rollback", "-o", "rb.json", "--detailed-exitcode")
    assert plan.returncode == 2, plan.stdout + plan.stderr
    assert lab.operations() == ops, "plan --rollback must not change anything"
    doc = json.loads((lab.workdir / "rb.json").read_text())
    assert not doc["errored"] and doc["rollback"] == {"scopes": ["scope-a", "scope-b", "scope-c"]}
    kinds = {s["address"].split(".")[0] for s in doc["steps"]}
    assert kinds.isdisjoint({"trust", "replication", "tvs", "bulk"})  # R11 is live: nothing to establish
    old_tftp = [f"{lab.prefix}.10.1", f"{lab.prefix}.10.2"]
    back = {s["address"]: s["after"] for s in doc["steps"] if s["address"].startswith("option150.")}
    assert sorted(back) == ["option150.lab-router.scope-a", "option150.lab-router.scope-c",
                            "option150.old-cucm-dhcp.scope-b"]  # fmt: skip
    assert all(value == old_tftp for value in back.values())
    gates = [s["address"] for s in doc["steps"] if s["address"].startswith("gate.")]
    assert gates == ["gate.wave-1", "gate.wave-2", "gate.wave-3"]  # the same waves, in order

    result = lab.run("apply", "rb.json", "--auto-approve", timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr[-4000:]
    home = lab.lab("phones")
    assert len(home) == len(phones)
    assert {(p["cluster"], p["status"]) for p in home} == {("old", "Registered")}
    # and the forward plan sees the whole migration to do again
    again = json.loads(lab.run("plan", "lab.yaml", "--json").stdout)
    before = {s["address"]: s["before"] for s in again["steps"] if s["address"].startswith("option150.")}
    assert sorted(before) == sorted(back) and all(v == old_tftp for v in before.values())
