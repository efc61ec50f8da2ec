"""Pool-level resets on the real lab (docs/waves.md, "Pool-level resets"; R12, R13).

examples/lab.yaml with one wave over the three scopes of a 3-phones-per-scope lab, whose phones are all
in device pool DP-PHONES, and ``policy.resets.pool_level: auto``. ``plan`` reads the source's device
listing and says the wave is reset by one pool-level reset (human and JSON); ``apply`` of the saved plan
sends one ``resetDevicePool`` (the lab's operation log) and no per-phone reset, and the gate still finds
every phone Registered on the target.

A small lab on a leased prefix (``tests.e2e.labrun``), the CLI in subprocesses.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulator.lab.control import control_request
from tests.e2e.labdoc import lab_data
from tests.e2e.labrun import RunningLab, raise_ris_allowance, running_lab
from tests.loopback import Loopback

pytestmark = pytest.mark.lab
SPEC = {"base": "default", "phones_per_scope": 3}


@pytest.fixture
def lab(tmp_path: Path, loopback: Loopback) -> Iterator[RunningLab]:
    with running_lab(tmp_path, loopback=loopback, spec=SPEC) as running:
        doc = lab_data(lab_dir=running.lab_dir, prefix=running.prefix, ris_queries_per_minute=60)
        first = doc["migration"]["waves"][0]
        doc["migration"]["waves"] = [
            {
                **first,
                "name": "all",
                "scopes": ["scope-a", "scope-b", "scope-c"],
                "gate": {"min_registered_share": 1.0, "deadline": "60s"},
            }
        ]
        doc["policy"]["resets"] = {"pool_level": "auto"}
        running.write(doc)
        raise_ris_allowance(running.yaml)
        yield running


def test_a_wave_covering_a_whole_pool_is_moved_by_one_pool_level_reset(lab: RunningLab) -> None:
    human = lab.run("plan", "lab.yaml")
    assert human.returncode == 0, human.stdout + human.stderr
    said = "Resets of all: pool-level for 1 pool (9 phones), per phone for 0"
    assert said in " ".join(human.stdout.split()), human.stdout

    saved = lab.run("plan", "lab.yaml", "-o", "plan.json")
    assert saved.returncode == 0, saved.stdout + saved.stderr
    doc = json.loads((lab.workdir / "plan.json").read_text())
    reset = next(s for s in doc["steps"] if s["address"] == "reset.all")
    assert reset["after"]["resets"]["pools"] == [{"name": "DP-PHONES", "phones": 9}]
    forecast = next(f for f in doc["forecast"] if f["wave"] == "all")
    assert forecast["resets"] == "reset: pool-level for 1 pool (9 phones), per phone for 0"

    control = lab.inventory()["control"]
    before = len(control_request(control, "GET", "/operations"))
    result = lab.run("--json", "apply", "plan.json", "--auto-approve", timeout=240)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    ops = [(o["op"], o["target"]) for o in control_request(control, "GET", "/operations")[before:]]
    assert ("reset_device_pool", "DP-PHONES") in ops, ops
    assert not [o for o in ops if o[0] == "reset_phones"], "no per-phone reset for the pool's phones"
    phones = lab.lab("phones")
    assert len(phones) == 9 and {(p["cluster"], p["status"]) for p in phones} == {("new", "Registered")}
