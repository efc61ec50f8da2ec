"""Canary growth on the real lab (docs/waves.md, "Canary growth"): ``waves: {auto: ...}``.

examples/lab.yaml with its three declared waves replaced by ``auto: {first_phones: 3, growth: 2}`` over a
lab of 3 phones per scope. ``plan -o`` reads each scope's phones over RisPort70 and expands smallest
scopes first, ties by name (R12): canary-1 = scope-a (3 phones, aim 3), canary-2 = scope-b and scope-c
(6 phones, aim 2 x 3); the expansion is in the plan output and the JSON. ``apply`` of the saved plan
runs exactly those waves: canary-2's option 150 changes only after canary-1's gate passed (R13), and
every phone ends Registered on new.

A small lab (1-second restarts) on a leased prefix (``tests.e2e.labrun``), the CLI in subprocesses.
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


@pytest.fixture
def lab(tmp_path: Path, loopback: Loopback) -> Iterator[RunningLab]:
    with running_lab(tmp_path, loopback=loopback, spec=SPEC) as running:
        doc = lab_data(lab_dir=running.lab_dir, prefix=running.prefix, ris_queries_per_minute=60)
        doc["migration"]["waves"] = {
            "auto": {
                "first_phones": 3,
                "growth": 2,
                "gate": {"min_registered_share": 1.0, "deadline": "60s"},
            }
        }
        running.write(doc)
        raise_ris_allowance(running.yaml)
        yield running


def test_auto_waves_are_expanded_in_the_plan_and_applied_wave_by_wave(lab: RunningLab) -> None:
    human = lab.run("plan", "lab.yaml")
    assert human.returncode == 0, human.stdout + human.stderr
    text = " ".join(human.stdout.split())
    assert (
        "Waves (auto: first 3 phones, growth x2): canary-1: 1 scope, 3 phones; canary-2: 2 scopes, 6 phones"
        in text
    ), human.stdout

    ops = lab.operations()
    saved = lab.run("plan", "lab.yaml", "-o", "plan.json", "--detailed-exitcode")
    assert saved.returncode == 2, saved.stdout + saved.stderr
    assert lab.operations() == ops, "plan must not change anything"
    doc = json.loads((lab.workdir / "plan.json").read_text())
    assert not doc["errored"]
    assert doc["canary"]["waves"] == [
        {"name": "canary-1", "scopes": ["scope-a"], "phones": 3, "aim": 3},
        {"name": "canary-2", "scopes": ["scope-b", "scope-c"], "phones": 6, "aim": 6},
    ]
    waves = {s["address"]: s["wave"] for s in doc["steps"] if s["address"].startswith("option150.")}
    assert sorted(waves.values()) == ["canary-1", "canary-2", "canary-2"]

    result = lab.run("--json", "apply", "plan.json", "--auto-approve", timeout=240)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    order = [
        (e["event"], e.get("address")) for e in events if e["event"] in ("step_started", "step_finished")
    ]
    gate_1 = order.index(("step_finished", "gate.canary-1"))
    second = [a for a, w in waves.items() if w == "canary-2"]
    assert all(order.index(("step_started", a)) > gate_1 for a in second), "canary-2 after canary-1's gate"
    first = next(a for a, w in waves.items() if w == "canary-1")
    assert order.index(("step_started", first)) < gate_1
    assert ("step_finished", "gate.canary-2") in order
    phones = lab.lab("phones")
    assert len(phones) == 9 and {(p["cluster"], p["status"]) for p in phones} == {("new", "Registered")}


def test_apply_file_plans_the_auto_waves_and_runs_them(lab: RunningLab) -> None:
    """``apply FILE`` plans and applies in one run: the resets and gates use the generated waves."""
    result = lab.run("--json", "apply", "lab.yaml", "--auto-approve", timeout=240)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    finished = [json.loads(line) for line in result.stdout.splitlines() if '"step_finished"' in line]
    assert [e["address"] for e in finished if e["address"].startswith("gate.")] == [
        "gate.canary-1",
        "gate.canary-2",
    ]
    phones = lab.lab("phones")
    assert {(p["cluster"], p["status"]) for p in phones} == {("new", "Registered")}
