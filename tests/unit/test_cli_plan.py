"""``reconciler plan/show/graph/drift`` end to end through typer with a FakeEstate installed through
a ``FakeWiring`` in the global options: exit codes of --detailed-exitcode, saved plans, JSON, JUnit."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reconciler.cli import app
from reconciler.commands.common import GlobalOptions
from reconciler.plan.document import Plan
from tests.unit.fake_estate import FakeEstate, World, desired_yaml, make_world
from tests.unit.fake_wiring import FakeWiring

runner = CliRunner()


@pytest.fixture
def world() -> World:
    return make_world()


def run(world: World, tmp_path: Path, *args: str, yaml: str | None = None):  # type: ignore[no-untyped-def]
    path = tmp_path / "m.yaml"
    path.write_text(yaml or desired_yaml())
    return runner.invoke(
        app,
        [a.replace("FILE", str(path)) for a in args] + ["--state-dir", str(tmp_path / "st")]
        if args[0] in ("plan", "drift")
        else [a.replace("FILE", str(path)) for a in args],
        obj=GlobalOptions(wiring=FakeWiring(lambda _state: FakeEstate(world))),
    )


def test_detailed_exitcode_2_with_changes_then_0_after_apply(world: World, tmp_path: Path) -> None:
    result = run(world, tmp_path, "plan", "FILE", "--detailed-exitcode")
    assert result.exit_code == 2, result.output
    assert (
        "Plan: 6 to add, 2 to change, 0 to destroy, 8 to run, 2 waves, 12 phones to move, 0 stranded, "
        "0 unknown." in result.output
    )
    assert "+ trust.old.Phone-SAST-trust.cucm-new-sub1" in result.output and "[R5]" in result.output
    world.apply_all()
    again = run(world, tmp_path, "plan", "FILE", "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    assert "No changes." in again.output


def test_without_detailed_exitcode_changes_exit_0(world: World, tmp_path: Path) -> None:
    assert run(world, tmp_path, "plan", "FILE").exit_code == 0


def test_error_exits_1_and_names_the_rule(world: World, tmp_path: Path) -> None:
    yaml = desired_yaml(stores=("CallManager-trust",))
    result = run(world, tmp_path, "plan", "FILE", "--detailed-exitcode", yaml=yaml)
    assert result.exit_code == 1
    assert "error[R5]" in result.output and "the forecast strands" in result.output


def test_saved_plan_json_and_show(world: World, tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    result = run(world, tmp_path, "plan", "FILE", "-o", str(out), "--json")
    assert result.exit_code == 0
    doc = json.loads(result.output)
    assert doc == json.loads(out.read_text()) and doc["format_version"] == 1
    assert Plan.from_json(out.read_text()).summary.add == 6
    shown = runner.invoke(app, ["show", str(out)])
    assert shown.exit_code == 0 and "Plan: 6 to add" in shown.output and "Forecast per wave" in shown.output


def test_graph_dot_and_mermaid(world: World, tmp_path: Path) -> None:
    dot = run(world, tmp_path, "graph", "FILE")
    assert dot.exit_code == 0 and dot.output.startswith("digraph")
    rollback = "param.old.Prepare Cluster for Rollback to pre 8.0"
    assert f'"tvs.old.cucm-old-sub2" -> "{rollback}" [label="R12"]' in dot.output
    assert f'"{rollback}" -> "option150.router.scope-a" [label="R2"]' in dot.output
    mermaid = run(world, tmp_path, "graph", "FILE", "--format", "mermaid")
    assert mermaid.exit_code == 0 and mermaid.output.startswith("flowchart LR") and "|R13|" in mermaid.output


def test_drift_exit_codes_and_junit(world: World, tmp_path: Path) -> None:
    world.apply_all()
    clean = run(world, tmp_path, "drift", "FILE", "--detailed-exitcode")
    assert clean.exit_code == 0, clean.output
    # a trust certificate deleted behind our back (as through the admin CLI)
    pub = world.source.publisher
    pub.trust["Phone-SAST-trust"].clear()
    junit = tmp_path / "drift.xml"
    drifted = run(world, tmp_path, "drift", "FILE", "--detailed-exitcode", "--junit", str(junit))
    assert drifted.exit_code == 2, drifted.output
    assert "error[R5]" in drifted.output
    assert "<failure" in junit.read_text() and 'type="R5"' in junit.read_text()


def test_plan_wording_run_steps_and_option150_values(world: World, tmp_path: Path) -> None:
    result = run(world, tmp_path, "--no-color", "plan", "FILE")
    assert result.exit_code == 0, result.output
    runs = [line for line in result.output.splitlines() if re.match(r"\s*\d+\.\s+run ", line)]
    assert runs, result.output
    assert all("will run" not in line for line in runs), runs  # not "run replication.x.y will run"
    option150 = result.output[result.output.index("option150.") :]
    assert "('" not in result.output and "')" not in result.output, result.output  # no Python tuples
    assert re.search(r"\d+\.\d+\.\d+\.\d+, \d+\.\d+\.\d+\.\d+", option150), option150


def test_graph_json(world: World, tmp_path: Path) -> None:
    result = run(world, tmp_path, "--json", "graph", "FILE")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["nodes"] and document["edges"]
    assert {"before", "after", "rule", "reason"} <= set(document["edges"][0])
    assert set(document["nodes"]) >= {e["after"] for e in document["edges"]}
