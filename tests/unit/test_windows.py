"""Maintenance windows (docs/waves.md, "Maintenance windows"): the window math, the schema, the plan's
expected start per wave, and the apply-time wait on an injected clock — journaled and resumable, with a
countdown through the hooks, and never starting a wave whose gate deadline would end outside (R13)."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from reconciler.apply.executor import ApplyOptions, Executor
from reconciler.apply.hooks import ApplyHooks, ApplyStatus
from reconciler.apply.resume import find_resumable
from reconciler.apply.retry import FakeClock
from reconciler.apply.window import WindowHandler
from reconciler.model import Action, Address, Change, Outcome, OutcomeStatus
from reconciler.plan.document import Plan, PlanStep, WaveForecast
from reconciler.plan.windows import WindowSpec, expected_runs, with_windows
from reconciler.state.store import StateStore
from schemas.migration import Window
from tests.unit.executor_fakes import SOURCE_TFTP, TARGET_TFTP, FakeSystem, migration_plan, registry

BERLIN = ZoneInfo("Europe/Berlin")
WEEKNIGHTS = WindowSpec(
    start="22:00", duration=4 * 3600, days=("mon", "tue", "wed", "thu"), tz="Europe/Berlin"
)


def _at(text: str) -> datetime:
    """A Berlin local time, as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN)


# --- the window math --------------------------------------------------------------------------------
def test_inside_an_opening_with_the_budget_left_a_wave_starts_now() -> None:
    now = _at("2026-11-30T22:30")  # a Monday
    start, closes = WEEKNIGHTS.next_start(now, budget=3600) or (None, None)
    assert start == now and closes == _at("2026-12-01T02:00")


def test_a_budget_that_would_run_past_the_close_waits_for_the_next_opening() -> None:
    now = _at("2026-12-01T01:30")  # Tuesday 01:30: Monday's opening closes at 02:00
    slot = WEEKNIGHTS.next_start(now, budget=3600)
    assert slot is not None and slot[0] == _at("2026-12-01T22:00"), "the gate deadline must end inside (R13)"
    assert WEEKNIGHTS.next_start(now, budget=1200) == (now, _at("2026-12-01T02:00"))


def test_an_opening_past_midnight_belongs_to_the_day_it_started() -> None:
    friday_night = _at("2026-12-04T23:00")  # Friday: no opening; Thursday's closed at 02:00
    slot = WEEKNIGHTS.next_start(friday_night, budget=600)
    assert slot is not None and slot[0] == _at("2026-12-07T22:00"), "next is Monday 22:00"
    assert WEEKNIGHTS.opening_at(_at("2026-12-04T01:00")) == (
        _at("2026-12-03T22:00"),
        _at("2026-12-04T02:00"),
    )


def test_a_budget_longer_than_the_window_never_fits() -> None:
    assert WEEKNIGHTS.next_start(_at("2026-11-30T12:00"), budget=4 * 3600 + 1) is None


def test_local_time_holds_across_a_daylight_saving_change() -> None:
    every_day = WindowSpec(start="22:00", duration=3600, tz="Europe/Berlin")
    before = every_day.next_start(_at("2026-10-24T12:00"), budget=60)  # CEST (UTC+2)
    after = every_day.next_start(_at("2026-10-25T12:00"), budget=60)  # CET (UTC+1) from that night
    assert before and after
    assert before[0].astimezone(UTC).hour == 20 and after[0].astimezone(UTC).hour == 21


def test_expected_runs_chain_waves_and_say_when_one_never_fits() -> None:
    now = _at("2026-11-30T12:00")
    runs = expected_runs(
        [
            ("w1", None, 900, 600),
            ("w2", WEEKNIGHTS, 3600, 1800),
            ("w3", WEEKNIGHTS, 5 * 3600, 60),
            ("w4", None, 1, 1),
        ],
        now=now,
    )
    assert runs[0].start == now
    assert runs[1].start == _at("2026-11-30T22:00")
    assert "expected to start 2026-11-30T22:00+01:00" in runs[1].describe()
    assert runs[2].start is None and "never fits" in runs[2].describe()
    assert runs[3].start is None


# --- the schema -------------------------------------------------------------------------------------
def test_the_schema_reads_the_issue_example_and_rejects_what_it_cannot_honour() -> None:
    w = Window.model_validate({"start": "22:00", "duration": "4h", "days": ["mon", "tue", "wed", "thu"],
                               "tz": "Europe/Berlin"})  # fmt: skip
    assert WindowSpec.of(w) == WEEKNIGHTS
    with pytest.raises(ValidationError, match='quote the time: start: "22:00"'):
        Window.model_validate({"start": 1320, "duration": "4h"})  # YAML 1.1 reads 22:00 as 1320
    with pytest.raises(ValidationError, match="HH:MM"):
        Window.model_validate({"start": "24:00", "duration": "4h"})
    with pytest.raises(ValidationError, match="unknown time zone"):
        Window.model_validate({"start": "22:00", "duration": "4h", "tz": "Mars/Olympus"})
    with pytest.raises(ValidationError, match="days"):
        Window.model_validate({"start": "22:00", "duration": "4h", "days": ["someday"]})


# --- the plan ---------------------------------------------------------------------------------------
def _desired(*, wave_window: Window | None, migration_window: Window | None = None) -> Any:
    from schemas.policy import Policy

    gate = type("G", (), {"deadline": timedelta(minutes=30), "min_registered_share": 1.0})
    waves = (
        type("W", (), {"name": "w1", "window": None, "gate": gate, "reset": True})(),
        type("W", (), {"name": "w2", "window": wave_window, "gate": gate, "reset": True})(),
    )
    mig = type("M", (), {"window": migration_window, "waves": waves, "wave_list": waves})()
    return type("D", (), {"migration": mig, "policy": Policy()})()


def _fc(wave: str) -> WaveForecast:
    return WaveForecast(wave=wave, scopes=("a",), phones=10, already=0, move=10,
                        cost={"option150_seconds": 5.0, "resets_seconds": 1.0, "gate_seconds": 40.0,
                              "total_seconds": 46.0})  # fmt: skip


def test_the_plan_shows_when_each_wave_is_expected_to_run() -> None:
    window = Window.model_validate(
        {"start": "22:00", "duration": "4h", "days": ["mon"], "tz": "Europe/Berlin"}
    )
    out, diags = with_windows([_fc("w1"), _fc("w2")], desired=_desired(wave_window=window), steps=[],
                              now=_at("2026-11-30T12:00"))  # fmt: skip
    assert diags == []
    assert out[0].window is not None and out[0].window.startswith(
        "no window; expected to start 2026-11-30T12:00+01:00"
    )
    assert out[1].window is not None and "expected to start 2026-11-30T22:00+01:00" in out[1].window
    assert "needs up to 30 min 6 s" in out[1].window  # option 150 5 s + resets 1 s + gate deadline 30 min
    again = WaveForecast.from_dict(out[1].to_dict())
    assert again.window == out[1].window, "the plan JSON (and so the HTML report) carries it"
    plain, none = with_windows(
        [_fc("w1")], desired=_desired(wave_window=None), steps=[], now=_at("2026-11-30T12:00")
    )
    assert plain[0].window is None and none == [], "no window declared: the forecast is as before"


def test_a_wave_no_opening_can_hold_is_a_plan_error() -> None:
    short = Window.model_validate({"start": "22:00", "duration": "20m"})
    both = _desired(wave_window=None, migration_window=short)
    _, diags = with_windows([_fc("w1"), _fc("w2")], desired=both, steps=[], now=_at("2026-11-30T12:00"))
    assert [d.address for d in diags] == ["window.w1", "window.w2"]
    assert all(d.rule == "R13" and d.severity.value == "error" and "never fits" in d.summary for d in diags)


# --- apply: the wait --------------------------------------------------------------------------------
def _with_window(plan: Plan, *, wave: str, spec: WindowSpec, budget: float) -> Plan:
    """``plan`` with ``window.<wave>`` before the wave's first step, as the planner places it."""
    steps = list(plan.steps)
    first = next(i for i, s in enumerate(steps) if s.wave == wave)
    window = PlanStep(
        change=Change(
            address=Address.of("window", wave),
            action=Action.RUN,
            after={**spec.to_dict(), "budget_seconds": budget},
            rule="R13",
        ),
        provider="window",
        endpoint="clock",
        wave=wave,
        depends_on=steps[first].depends_on,
    )
    for i, s in enumerate(steps):
        if s.wave == wave and s.address.kind == "option150":
            steps[i] = dataclasses.replace(s, depends_on=(window.address,))
    steps.insert(first, window)
    return dataclasses.replace(plan, steps=tuple(steps))


class Recorder(ApplyHooks):
    def __init__(self, clock: FakeClock, *, cancel: threading.Event | None = None) -> None:
        self.clock = clock
        self.cancel = cancel
        self.waits: list[tuple[str, str, float]] = []
        self.started: dict[str, datetime] = {}

    def window_wait(self, *, wave: str, opens: str, remaining: float, window: str) -> None:
        self.waits.append((wave, opens, remaining))
        if self.cancel is not None:
            self.cancel.set()  # Ctrl-C during the wait

    def step_started(self, *, change: Change, index: int, total: int, attempt: int) -> None:
        self.started.setdefault(str(change.address), self.clock.now())

    def step_finished(self, *, change: Change, outcome: Outcome) -> None:
        pass


def _executor(system: FakeSystem, directory: Path, clock: FakeClock, hooks: ApplyHooks,
              cancel: threading.Event | None = None) -> Executor:  # fmt: skip
    reg = registry(system, clock=clock, deadline=60.0)
    reg["window"] = WindowHandler(clock=clock, cancel=cancel, tick=600.0)
    options = ApplyOptions(parallelism=2)
    return Executor(registry=reg, store=StateStore(directory), hooks=hooks, options=options, clock=clock,
                    cancel=cancel)  # fmt: skip


def test_apply_waits_for_the_window_with_a_countdown_then_runs_the_wave(tmp_path: Path) -> None:
    system = FakeSystem()
    clock = FakeClock(start=_at("2026-11-30T20:00").timestamp())  # Monday, two hours before the window
    hooks = Recorder(clock)
    plan = _with_window(migration_plan(), wave="wave2", spec=WEEKNIGHTS, budget=1800)
    report = _executor(system, tmp_path / ".reconciler", clock, hooks).apply(plan)
    assert report.status is ApplyStatus.SUCCEEDED, report.message
    assert hooks.started["option150.lab-ios.a"] < _at("2026-11-30T22:00"), "wave1 has no window"
    assert hooks.started["option150.lab-ios.b"] >= _at("2026-11-30T22:00"), "wave2 waited for its window"
    remaining = [r for w, _, r in hooks.waits if w == "wave2"]
    assert len(remaining) > 2 and remaining == sorted(remaining, reverse=True), "a visible countdown"
    assert {o for _, o, _ in hooks.waits} == {_at("2026-11-30T22:00").astimezone(UTC).isoformat()}
    assert system.data["option150"]["b"] == TARGET_TFTP
    by = {str(o.address): o for o in report.outcomes}
    assert by["window.wave2"].status is OutcomeStatus.UNCHANGED and "may start" in by["window.wave2"].detail


def test_a_wave_whose_gate_would_end_after_the_close_waits_for_the_next_opening(tmp_path: Path) -> None:
    system = FakeSystem()
    clock = FakeClock(start=_at("2026-12-01T01:30").timestamp())  # Tuesday 01:30, closes at 02:00
    hooks = Recorder(clock)
    plan = _with_window(migration_plan(waves=("wave1",)), wave="wave1", spec=WEEKNIGHTS, budget=3600)
    report = _executor(system, tmp_path / ".reconciler", clock, hooks).apply(plan)
    assert report.status is ApplyStatus.SUCCEEDED, report.message
    assert hooks.started["option150.lab-ios.a"] >= _at("2026-12-01T22:00")


def test_the_wait_is_journaled_and_a_resume_waits_again(tmp_path: Path) -> None:
    system = FakeSystem()
    directory = tmp_path / ".reconciler"
    cancel = threading.Event()
    clock = FakeClock(start=_at("2026-11-30T20:00").timestamp())
    plan = _with_window(migration_plan(), wave="wave2", spec=WEEKNIGHTS, budget=1800)
    first = _executor(system, directory, clock, Recorder(clock, cancel=cancel), cancel).apply(plan)
    assert first.status is ApplyStatus.INTERRUPTED
    assert system.data["option150"]["a"] == TARGET_TFTP and system.data["option150"]["b"] == SOURCE_TFTP
    journal = find_resumable(directory / "journal", plan=plan)
    assert journal is not None and '"window.wave2"' in journal.read_text(), "the wait is journaled"

    later = FakeClock(start=_at("2026-11-30T21:00").timestamp())  # resumed an hour later: still closed
    hooks = Recorder(later)
    second = _executor(system, directory, later, hooks).apply(plan, resume=journal)
    assert second.status is ApplyStatus.SUCCEEDED, second.message
    assert hooks.waits and hooks.waits[0][2] == pytest.approx(3600.0), "the resume waits out the rest"
    assert hooks.started["option150.lab-ios.b"] >= _at("2026-11-30T22:00")
    assert "option150.lab-ios.a" not in hooks.started, "wave1 was done before the interruption"


class StopAfter(Recorder):
    """Ctrl-C right after ``address`` finished: the apply stops before the next step starts."""

    def __init__(self, clock: FakeClock, *, cancel: threading.Event, address: str) -> None:
        super().__init__(clock)
        self.stop, self.address = cancel, address

    def step_finished(self, *, change: Change, outcome: Outcome) -> None:
        if str(change.address) == self.address:
            self.stop.set()


def _stopped_after(tmp_path: Path, address: str) -> tuple[FakeSystem, Path, Plan, Path]:
    """wave1 behind the weeknight window, started Monday 23:50 (inside, 30 minutes of budget left
    before 02:00) and interrupted right after ``address``."""
    system, directory, cancel = FakeSystem(), tmp_path / ".reconciler", threading.Event()
    clock = FakeClock(start=_at("2026-11-30T23:50").timestamp())
    plan = _with_window(migration_plan(waves=("wave1",)), wave="wave1", spec=WEEKNIGHTS, budget=1800)
    hooks = StopAfter(clock, cancel=cancel, address=address)
    first = _executor(system, directory, clock, hooks, cancel).apply(plan)
    assert first.status is ApplyStatus.INTERRUPTED and not hooks.waits
    journal = find_resumable(directory / "journal", plan=plan)
    assert journal is not None
    return system, directory, plan, journal


def _starts(journal: Path, address: str) -> int:
    return sum(
        1 for line in journal.read_text().splitlines() if f'"{address}"' in line and '"started"' in line
    )


def test_a_resume_after_the_window_closed_waits_again_before_the_wave_starts(tmp_path: Path) -> None:
    """window.wave1 is done, but the apply stopped before the wave changed option 150; resumed Tuesday
    03:00 (closed since 02:00), it must not start the wave now: it waits, journaled, for Tuesday 22:00."""
    system, directory, plan, journal = _stopped_after(tmp_path, "window.wave1")
    assert system.data["option150"]["a"] == SOURCE_TFTP and _starts(journal, "window.wave1") == 1

    later = FakeClock(start=_at("2026-12-01T03:00").timestamp())
    hooks = Recorder(later)
    second = _executor(system, directory, later, hooks).apply(plan, resume=journal)
    assert second.status is ApplyStatus.SUCCEEDED, second.message
    assert hooks.waits and hooks.waits[0][2] == pytest.approx(19 * 3600.0), "waits for Tuesday 22:00"
    assert hooks.started["option150.lab-ios.a"] >= _at("2026-12-01T22:00")
    assert _starts(journal, "window.wave1") == 2, "the second wait is a journaled attempt"
    assert system.data["option150"]["a"] == TARGET_TFTP


def test_a_resume_inside_the_window_or_once_the_wave_changed_does_not_wait_again(tmp_path: Path) -> None:
    """Still open with the budget left: the done wait stands. And once the wave's option 150 and reset
    are done, only its gate (which reads) is left: the wave runs to its gate without waiting (R13)."""
    system, directory, plan, journal = _stopped_after(tmp_path / "open", "window.wave1")
    soon = FakeClock(start=_at("2026-12-01T00:10").timestamp())
    hooks = Recorder(soon)
    report = _executor(system, directory, soon, hooks).apply(plan, resume=journal)
    assert report.status is ApplyStatus.SUCCEEDED, report.message
    assert not hooks.waits and hooks.started["option150.lab-ios.a"] == _at("2026-12-01T00:10")
    assert _starts(journal, "window.wave1") == 1

    system, directory, plan, journal = _stopped_after(tmp_path / "changed", "reset.wave1")
    later = FakeClock(start=_at("2026-12-01T03:00").timestamp())
    hooks = Recorder(later)
    report = _executor(system, directory, later, hooks).apply(plan, resume=journal)
    assert report.status is ApplyStatus.SUCCEEDED, report.message
    assert not hooks.waits and "gate.wave1" in hooks.started and "window.wave1" not in hooks.started


def test_the_planner_puts_each_wave_behind_its_window_and_fills_the_forecast() -> None:
    from reconciler.plan.planner import PlanOptions, build_plan
    from reconciler.state.store import StateSnapshot
    from tests.unit.fake_estate import FakeEstate, desired, make_world

    base = desired()
    window = Window.model_validate(
        {"start": "22:00", "duration": "4h", "days": ["mon"], "tz": "Europe/Berlin"}
    )
    state = base.model_copy(update={"migration": base.migration.model_copy(update={"window": window})})
    plan = build_plan(desired=state, desired_path="test.yaml", desired_sha256="0" * 64,
                      estate=FakeEstate(make_world()), state=StateSnapshot(),
                      options=PlanOptions(created_at="2026-11-30T11:00:00Z"))  # fmt: skip
    order = [str(s.address) for s in plan.steps]
    assert order.index("window.wave-1") < order.index("option150.router.scope-a")
    assert order.index("gate.wave-1") < order.index("window.wave-2") < order.index("option150.router.scope-b")
    edges = {(e.before, e.after): e.rule for e in plan.edges}
    assert edges[("window.wave-1", "option150.router.scope-a")] == "R13"
    step = plan.step("window.wave-1")
    assert step is not None and step.provider == "window" and not step.one_way
    # the gate's deadline (10 min) + option 150 (one IOS batch: 1.75 s) and resets by the cost model
    assert step.change.after["budget_seconds"] == pytest.approx(600 + 2.0, abs=0.2)  # type: ignore[index]
    windows = [f.window or "" for f in plan.forecast]
    assert all(
        "22:00 for 4 h on mon (Europe/Berlin); expected to start 2026-11-30T22:00+01:00" in w for w in windows
    )
    assert "needs up to 10 min 2 s" in windows[0], "wave-1: gate deadline 10 min + option 150 and resets"
    assert not plan.errored
    assert plan.summary.run == sum(
        1 for s in plan.steps if s.contingent_on is None and s.change.action is Action.RUN
    )


def test_the_terminal_plan_shows_when_each_wave_runs() -> None:
    import io

    from rich.console import Console

    from reconciler.render.plan import render_plan

    fc = dataclasses.replace(_fc("w2"), window="window 22:00 for 4 h on mon (UTC); expected to start X")
    plan = Plan(plan_id="p", created_at="2026-11-30T11:00:00Z", desired_path="d.yaml", desired_sha256="0" * 4,
                state_lineage=None, state_serial=0, steps=(), forecast=(fc,))  # fmt: skip
    out = io.StringIO()
    render_plan(Console(file=out, width=200, no_color=True), plan)
    assert "When w2 runs: window 22:00 for 4 h on mon (UTC); expected to start X" in out.getvalue()
