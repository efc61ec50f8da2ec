"""Live R3 against the executor's fakes: a wave whose serving source TVS is down does not start (no
option 150 change, no reset); a TVS going down while the gate polls pauses the wave there. Either way
the journal stays open and ``--resume`` continues once TVS is back. ``TvsWatch`` over a fake estate
names the unreachable or stopped node."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from reconciler.apply.executor import ApplyOptions, Executor
from reconciler.apply.hooks import ApplyHooks, ApplyStatus
from reconciler.apply.resume import find_resumable
from reconciler.apply.retry import FakeClock
from reconciler.apply.tvswatch import TvsWatch, serving_tvs_nodes
from reconciler.cucm.facts import ClusterFacts, NodeFacts, Service
from reconciler.live.protocol import PhoneFacts
from reconciler.model import Change
from reconciler.state.journal import Journal
from reconciler.state.store import StateStore
from schemas.version import CucmVersion
from tests.unit.executor_fakes import TARGET_TFTP, FakeSystem, migration_plan, registry


class Seen(ApplyHooks):
    def __init__(self) -> None:
        self.started: list[str] = []
        self.paused: list[tuple[str, str]] = []

    def step_started(self, *, change: Change, index: int, total: int, attempt: int) -> None:
        self.started.append(str(change.address))

    def wave_paused(self, *, wave: str, reason: str) -> None:
        self.paused.append((wave, reason))


def _run(system: FakeSystem, directory: Path, watch: Any, *, resume: Path | None = None) -> Any:
    clock = FakeClock()
    hooks = Seen()
    ex = Executor(
        registry=registry(system, clock=clock, watch=watch),
        store=StateStore(directory),
        hooks=hooks,
        options=ApplyOptions(parallelism=2),
        clock=clock,
        watch=watch,
    )
    return ex.apply(migration_plan(), resume=resume), hooks


def test_a_wave_whose_tvs_is_down_does_not_start_and_resumes_later(tmp_path: Path) -> None:
    system = FakeSystem()
    down = {"wave2"}

    def watch(wave: str) -> str | None:
        return f"wave {wave} paused: old-sub1: unreachable (R3)" if wave in down else None

    directory = tmp_path / ".reconciler"
    report, hooks = _run(system, directory, watch)
    assert report.status is ApplyStatus.PAUSED and "R3" in report.message
    assert hooks.paused == [("wave2", "wave wave2 paused: old-sub1: unreachable (R3)")]
    assert not [a for a in hooks.started if a.endswith(("wave2", ".b", ".c"))]
    assert system.data["option150"]["b"] != TARGET_TFTP
    journal = find_resumable(directory / "journal")
    assert journal is not None and Journal.read(journal).completed_status is None

    down.clear()
    report, _ = _run(system, directory, watch, resume=journal)
    assert report.status is ApplyStatus.SUCCEEDED, report.message
    assert system.data["option150"]["b"] == TARGET_TFTP


def test_tvs_going_down_while_the_gate_polls_pauses_the_wave(tmp_path: Path) -> None:
    system = FakeSystem()
    system.bad_phones = {"SEP000000000002"}  # the gate keeps polling
    calls: dict[str, int] = {}

    def watch(wave: str) -> str | None:
        calls[wave] = calls.get(wave, 0) + 1
        return "old-sub1: TVS is not Started (R3)" if calls[wave] > 2 else None

    directory = tmp_path / ".reconciler"
    report, hooks = _run(system, directory, watch)
    assert report.status is ApplyStatus.PAUSED, report.message
    assert hooks.paused == [("wave1", "old-sub1: TVS is not Started (R3)")]
    gate = next(o for o in report.outcomes if str(o.address) == "gate.wave1")
    assert gate.status.value == "skipped"  # in doubt, not failed: the wave is not reverted or stopped
    assert not [a for a in hooks.started if a.endswith("wave2")]


class _Estate:
    def __init__(self, nodes: tuple[NodeFacts, ...]) -> None:
        self.nodes = nodes

    def clusters(self, names: Sequence[str]) -> Mapping[str, ClusterFacts]:
        version = CucmVersion.parse("11.5.1.21900-40")
        return {"old": ClusterFacts(name="old", version=version, nodes=self.nodes)}

    def callmanager_groups(self, cluster: str) -> Mapping[str, tuple[str, ...]]:
        return {"g1": ("sub1",), "g2": ("sub2",)}

    def phones(self, scopes: Sequence[str]) -> Mapping[str, tuple[PhoneFacts, ...]]:
        group = {"a": "g1", "b": "g2"}
        return {s: (PhoneFacts(name=f"SEP-{s}", scope=s, cluster="old", cm_group=group[s]),) for s in scopes}


def test_tvs_watch_names_the_serving_node_that_is_down() -> None:
    started = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    tvs = frozenset({str(Service.TVS), str(Service.CALLMANAGER)})
    nodes = (
        NodeFacts(name="sub1", services=tvs, tvs_started_at=started),
        NodeFacts(name="sub2", services=tvs, tvs_started_at=started, reachable=False),
    )
    estate: Any = _Estate(nodes)
    serving = serving_tvs_nodes(estate, source="old", waves={"w1": ("a",), "w2": ("b",)})
    assert serving == {"w1": frozenset({"sub1"}), "w2": frozenset({"sub2"})}
    watch = TvsWatch(estate, source="old", serving=serving, clock=FakeClock())
    assert watch.check("w1") is None
    why = watch.check("w2")
    assert why is not None and "sub2: unreachable" in why and "(R3)" in why
    estate.nodes = (nodes[0].__class__(name="sub1", services=tvs, tvs_started_at=None), nodes[1])
    assert watch.check("w1") is None  # cached within the ttl: no read per poll
    fresh = TvsWatch(estate, source="old", serving=serving, clock=FakeClock())
    assert "sub1: TVS is not Started" in (fresh.check("w1") or "")
