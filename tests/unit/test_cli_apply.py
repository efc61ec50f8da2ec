"""``reconciler apply`` end to end over in-process fakes (the wiring seam is replaced, nothing else).

Covers: a saved PLAN applied with --auto-approve, refusing to prompt without a TTY, the lock held by
another process (message names the holder), a stale plan (state serial; a live fact, R14), a desired
file changed since the plan, --json events, Ctrl-C → exit 130 then --resume, --resume with nothing to do.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from reconciler.apply.retry import FakeClock
from reconciler.cli import app
from reconciler.commands.common import GlobalOptions
from reconciler.cucm.facts import ClusterFacts, NodeFacts, Service
from reconciler.live.protocol import PhoneFacts, Registration
from reconciler.model import Change
from reconciler.plan.document import Plan
from reconciler.provider import ApplyResult
from reconciler.state.store import StateStore
from reconciler.wiring.factory import ApplyWiring
from schemas.version import CucmVersion
from tests.unit.executor_fakes import PHONES, WAVES, FakeSystem, FakeTvs, migration_plan, registry
from tests.unit.fake_wiring import FakeWiring

DESIRED = """\
version: 1
clusters:
  - name: old
    role: source
    version: "11.5.1.21900-40"
    credentials:
      axl: {username: axladmin, password: "env:OLD_AXL"}
      os: {username: admin, password: "env:OLD_OS"}
    nodes:
      - {name: pub, host: 127.0.10.1, publisher: true, services: [callmanager, tftp, tvs]}
      - {name: sub1, host: 127.0.10.2, services: [callmanager, tvs]}
      - {name: sub2, host: 127.0.10.3, services: [callmanager, tvs]}
  - name: new
    role: target
    version: "14.0.1.11900-132"
    credentials:
      axl: {username: axladmin, password: "env:NEW_AXL"}
      os: {username: admin, password: "env:NEW_OS"}
    nodes:
      - {name: new-sub1, host: 127.0.20.1, publisher: true, services: [callmanager, tftp, tvs]}
trust:
  - cluster: old
    store: Phone-SAST-trust
    certificates:
      - identity: callmanager
        cluster: new
        nodes: {role: tftp}
dhcp:
  servers:
    - {name: lab-ios, kind: ios, host: 127.0.30.254, credentials: {username: netops, password: "env:IOS"}}
  scopes:
    - {name: a, server: lab-ios, subnet: 192.0.2.0/26, pool: A, option150: {tftp_nodes_of: new}}
    - {name: b, server: lab-ios, subnet: 192.0.2.64/26, pool: B, option150: {tftp_nodes_of: new}}
    - {name: c, server: lab-ios, subnet: 192.0.2.128/26, pool: C, option150: {tftp_nodes_of: new}}
migration:
  source: old
  target: new
  waves:
    - {name: wave1, scopes: [a], gate: {min_registered_share: 1.0, deadline: 2m}}
    - {name: wave2, scopes: [b, c], gate: {min_registered_share: 1.0, deadline: 2m}}
"""


class FakeEstate:
    """The read-only estate the command's gate handler and stale check use."""

    def __init__(self, system: FakeSystem) -> None:
        self.system = system
        self.params: dict[str, str | None] = {"X": "1"}

    def clusters(self, names: Sequence[str]) -> Mapping[str, ClusterFacts]:
        nodes = (NodeFacts(name="new-sub1", services=frozenset({Service.CALLMANAGER})),)
        return {"new": ClusterFacts(name="new", version=CucmVersion.parse("14.0.1.11900-132"), nodes=nodes)}

    def phones(self, scopes: Sequence[str]) -> Mapping[str, tuple[PhoneFacts, ...]]:
        return {
            s: tuple(PhoneFacts(name=p, scope=s, cluster="old", cm_group="g1") for p in PHONES[s])
            for s in scopes
        }

    def parameters(self, cluster: str, names: Sequence[str]) -> Mapping[str, str | None]:
        return {n: self.params.get(n) for n in names}

    def callmanager_groups(self, cluster: str) -> Mapping[str, tuple[str, ...]]:
        return {"g1": ("new-sub1",)} if cluster == "new" else {}

    def registrations(self, cluster: str, names: Sequence[str]) -> Mapping[str, Registration]:
        phones = self.system.data["phones"]
        return {
            n: Registration(name=n, cluster=cluster, node=phones[n]["node"], status=phones[n]["status"])
            for n in names
        }


class QuickTvs(FakeTvs):
    polls = 1  # Started at the first verify: the CLI runs on the real clock


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.chdir(tmp_path)
    desired = tmp_path / "desired.yaml"
    desired.write_text(DESIRED)
    system = FakeSystem()
    estate = FakeEstate(system)
    reg = registry(system, clock=FakeClock())
    reg["cucm_serviceability"] = QuickTvs(system)
    del reg["ris"]  # the command builds the gate handler itself, from the plan and the estate
    closed: list[bool] = []

    def fake_apply(desired_state: Any, *, state_dir: Path) -> ApplyWiring:
        return ApplyWiring(estate=estate, registry=reg, close=lambda: closed.append(True))  # type: ignore[arg-type]

    wiring = FakeWiring(lambda _desired: estate, apply=fake_apply)
    plan = replace(
        migration_plan(),
        desired_path=str(desired),
        desired_sha256=hashlib.sha256(desired.read_bytes()).hexdigest(),
    )
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(plan.to_json())
    return {
        "system": system,
        "estate": estate,
        "plan": plan,
        "plan_file": plan_file,
        "reg": reg,
        "closed": closed,
        "dir": tmp_path,
        "wiring": wiring,
    }


def _run(world: dict[str, Any], *args: str) -> Any:
    """Run the CLI with the world's fake wiring in the global options (the one seam)."""
    return CliRunner().invoke(
        app, list(args), catch_exceptions=False, obj=GlobalOptions(wiring=world["wiring"])
    )


def test_apply_saved_plan_moves_every_phone(world: dict[str, Any]) -> None:
    result = _run(world, "--no-color", "apply", str(world["plan_file"]), "--auto-approve")
    assert result.exit_code == 0, result.output
    assert "Apply complete!" in result.output
    assert all(p["node"] == "new-sub1" for p in world["system"].data["phones"].values())
    snap = StateStore(world["dir"] / ".reconciler").read()
    assert snap.serial == len(world["plan"].steps)  # one atomic write per verified step
    assert {c.address for c in snap.owned} == {
        "trust.old.CallManager-trust.new-pub",
        "trust.old.Phone-SAST-trust.new-pub",
    }
    assert snap.essence_of("option150.lab-ios.a") == {"tftp": ["127.0.0.21", "127.0.0.22"]}
    assert world["closed"] == [True]


def test_state_dir_holds_state_and_journal_and_is_what_the_wiring_reads(world: dict[str, Any]) -> None:
    """``apply --state-dir`` (as plan and drift have it): the state, the lock and the journal live
    there, not in ``.reconciler`` of the working directory, and the providers' ``owned()`` reads it."""
    elsewhere = world["dir"] / "elsewhere"
    result = _run(
        world, "--no-color", "apply", str(world["plan_file"]), "--auto-approve", "--state-dir", str(elsewhere)
    )
    assert result.exit_code == 0, result.output
    assert StateStore(elsewhere).read().serial == len(world["plan"].steps)
    assert list((elsewhere / "journal").glob("*.jsonl"))
    assert not (world["dir"] / ".reconciler").exists()
    assert world["wiring"].state_dirs == [elsewhere]


def test_without_state_dir_the_global_options_state_dir_is_used(world: dict[str, Any]) -> None:
    given = world["dir"] / "embedded"
    result = CliRunner().invoke(
        app,
        ["--no-color", "apply", str(world["plan_file"]), "--auto-approve"],
        catch_exceptions=False,
        obj=GlobalOptions(wiring=world["wiring"], state_dir=given),
    )
    assert result.exit_code == 0, result.output
    assert StateStore(given).read().serial == len(world["plan"].steps)
    assert world["wiring"].state_dirs == [given]


def test_refuses_to_prompt_without_a_terminal(world: dict[str, Any]) -> None:
    result = _run(world, "apply", str(world["plan_file"]))
    assert result.exit_code == 1
    assert "use --auto-approve" in result.output
    assert world["system"].calls == []


def test_lock_held_names_the_holder(world: dict[str, Any]) -> None:
    store = StateStore(world["dir"] / ".reconciler")
    with store.lock(timeout=1, command="reconciler apply other.yaml"):
        result = _run(world, "apply", str(world["plan_file"]), "--auto-approve", "--lock-timeout", "1s")
    assert result.exit_code == 1
    assert "held by" in result.output and "reconciler apply other.yaml" in result.output
    assert f"pid {os.getpid()}" in result.output
    assert world["system"].calls == []


def test_stale_plan_refused_when_the_state_moved(world: dict[str, Any]) -> None:
    store = StateStore(world["dir"] / ".reconciler")
    with store.lock(timeout=1, command="x"):
        store.write(store.read().with_essence("param.old.X", {"value": "1"}))
    result = _run(world, "apply", str(world["plan_file"]), "--auto-approve")
    assert result.exit_code == 1
    assert "saved plan is stale" in result.output and "serial 0" in result.output
    assert world["system"].calls == []


def test_stale_plan_refused_when_a_live_fact_moved(world: dict[str, Any]) -> None:
    """R14: check_fresh re-reads the facts of the plan's fingerprint before anything runs."""
    plan: Plan = world["plan"]
    from reconciler.plan.fingerprint import _digest  # the planner's digest of a fact

    stale = replace(plan, fingerprint={"param/old/X": _digest("0")})
    world["plan_file"].write_text(stale.to_json())
    result = _run(world, "apply", str(world["plan_file"]), "--auto-approve")
    assert result.exit_code == 1, result.output
    assert "stale" in result.output
    assert world["system"].calls == []


def test_desired_file_changed_since_the_plan(world: dict[str, Any]) -> None:
    (world["dir"] / "desired.yaml").write_text(DESIRED + "\n# edited\n")
    result = _run(world, "apply", str(world["plan_file"]), "--auto-approve")
    assert result.exit_code == 1
    assert "changed since the plan was made" in result.output


def test_json_events(world: dict[str, Any]) -> None:
    result = _run(world, "--json", "apply", str(world["plan_file"]), "--auto-approve")
    assert result.exit_code == 0
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "plan_started" and kinds[-1] == "apply_finished"
    assert kinds.count("step_finished") == len(world["plan"].steps)
    assert "wave_gate_progress" in kinds
    assert events[-1]["status"] == "succeeded" and events[-1]["stranded"] == []


def test_ctrl_c_finishes_the_step_exits_130_and_resume_completes(world: dict[str, Any]) -> None:
    trust = world["reg"]["cucm_certs"]
    original = trust.apply

    def interrupting(change: Change) -> ApplyResult:
        result = original(change)
        os.kill(os.getpid(), signal.SIGINT)  # the user presses Ctrl-C while this step runs
        return result

    trust.apply = interrupting
    result = _run(
        world, "--no-color", "apply", str(world["plan_file"]), "--auto-approve", "--parallelism", "1"
    )
    assert result.exit_code == 130, result.output
    # said once, not three times (the report's message, the summary and the command used to repeat it)
    assert result.output.lower().count("resume with `reconciler apply --resume`") == 1, result.output
    journal = sorted((world["dir"] / ".reconciler" / "journal").glob("*.jsonl"))
    assert len(journal) == 1
    trust.apply = original
    result = _run(world, "--no-color", "apply", "--resume")
    assert result.exit_code == 0, result.output
    assert all(p["node"] == "new-sub1" for p in world["system"].data["phones"].values())


def test_resume_with_nothing_to_resume(world: dict[str, Any]) -> None:
    result = _run(world, "apply", "--resume")
    assert result.exit_code == 1
    assert "no interrupted apply" in result.output


def test_waves_in_fakes_match_the_desired_file() -> None:
    assert list(WAVES) == ["wave1", "wave2"]


def test_a_one_way_step_is_refused_without_approval(world: dict[str, Any]) -> None:
    """A step the plan marks one-way (a mode: exact deletion) needs --approve-one-way; --auto-approve
    alone refuses before anything is touched."""
    from reconciler.plan.document import Reversibility

    plan: Plan = world["plan"]
    one_way = Reversibility(one_way=True, how="removes new-pub from CallManager-trust of old")
    steps = tuple(
        replace(s, reversibility=one_way) if str(s.address) == "trust.old.CallManager-trust.new-pub" else s
        for s in plan.steps
    )
    world["plan_file"].write_text(replace(plan, steps=steps).to_json())

    refused = _run(world, "--no-color", "apply", str(world["plan_file"]), "--auto-approve")
    assert refused.exit_code == 1, refused.output
    assert "1 one-way step(s)" in refused.output and "use --approve-one-way" in refused.output
    assert "trust.old.CallManager-trust.new-pub: removes new-pub" in refused.output
    assert world["system"].calls == []

    approved = _run(
        world, "--no-color", "apply", str(world["plan_file"]), "--auto-approve", "--approve-one-way"
    )
    assert approved.exit_code == 0, approved.output
    assert all(p["node"] == "new-sub1" for p in world["system"].data["phones"].values())


def test_passed_checks_read_passed_not_unchanged(world: dict[str, Any]) -> None:
    result = _run(world, "--no-color", "apply", str(world["plan_file"]), "--auto-approve")
    assert result.exit_code == 0, result.output
    gates = [line for line in result.output.splitlines() if " gate." in line and ":" in line]
    assert gates and all(line.strip().startswith("passed gate.") for line in gates), result.output
    assert "unchanged gate." not in result.output


def test_json_apply_with_nothing_to_do_prints_one_document(world: dict[str, Any]) -> None:
    empty = world["dir"] / "empty.json"
    empty.write_text(replace(world["plan"], steps=(), forecast=()).to_json())
    result = CliRunner().invoke(
        app, ["--json", "apply", str(empty), "--auto-approve"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["event"] == "apply_finished" and document["status"] == "succeeded"
    assert document["outcomes"] == [] and set(document["counts"].values()) == {0}
    assert "No changes" in document["message"]


def test_the_stale_plan_check_shows_its_read_progress_and_nothing_after_it(world: dict[str, Any]) -> None:
    """``apply PLAN`` re-reads the fingerprint's facts (R14) as ``plan`` reads: the estate's progress goes
    through the read hooks ``apply`` hands the wiring, one line per phase on stderr off a terminal. The
    gates read the same estate later: the renderer stays silent outside the check; ``--quiet`` silences
    it."""
    from reconciler.live.progress import ReadPhase, ReadProgress
    from reconciler.plan.fingerprint import _digest  # the planner's digest of a fact

    estate, wiring = world["estate"], world["wiring"]
    world["plan_file"].write_text(replace(world["plan"], fingerprint={"param/old/X": _digest("1")}).to_json())
    parameters, registrations = estate.parameters, estate.registrations

    def read_parameters(cluster: str, names: Sequence[str]) -> Mapping[str, str | None]:
        wiring.hooks.read_progress(ReadProgress(phase=ReadPhase.TRUST, subject=cluster, done=0, total=3))
        return parameters(cluster, names)

    def read_registrations(cluster: str, names: Sequence[str]) -> Mapping[str, Registration]:
        wiring.hooks.read_progress(ReadProgress(phase=ReadPhase.PHONES, subject=cluster, done=0, total=9))
        return registrations(cluster, names)

    estate.parameters, estate.registrations = read_parameters, read_registrations
    result = _run(world, "--no-color", "apply", str(world["plan_file"]), "--auto-approve")
    assert result.exit_code == 0, result.output
    assert "trust stores of old: 0 of 3 nodes read" in result.stderr  # the check, while it read
    assert "phones of new" not in result.output  # the gates' reads: after the check's block
    assert "trust stores of" not in result.stdout  # progress never on stdout
    (world["dir"] / ".reconciler" / "state.json").unlink()
    for journal in (world["dir"] / ".reconciler" / "journal").iterdir():
        journal.unlink()
    quiet = _run(world, "--no-color", "--quiet", "apply", str(world["plan_file"]), "--auto-approve")
    assert quiet.exit_code == 0, quiet.output
    assert "trust stores of" not in quiet.output
