"""Unit tests of the model's clock, scheduler and services (timed transitions, start failures)."""

from __future__ import annotations

import pytest

from reconciler.errors import RemoteFaultError
from simulator.model.clock import ManualClock, Scheduler
from simulator.model.services import Service, ServiceAction, ServiceStatus


def make(duration: float = 10.0) -> tuple[ManualClock, Scheduler, Service, list[float]]:
    clock = ManualClock(start=1000.0)
    sched = Scheduler()
    loads: list[float] = []
    service = Service(
        node="n1",
        name="Cisco Trust Verification Service",
        scheduler=sched,
        started_at=900.0,
        restart_duration=duration,
        on_started=loads.append,
    )
    return clock, sched, service, loads


def step(clock: ManualClock, sched: Scheduler, seconds: float) -> None:
    clock.advance(seconds)
    sched.settle(clock.now())


def test_manual_clock_never_goes_backwards() -> None:
    clock = ManualClock(start=5.0)
    assert clock.advance(2.5) == 7.5
    with pytest.raises(ValueError):
        clock.advance(-1)
    with pytest.raises(ValueError):
        clock.set(1.0)


def test_scheduler_runs_due_events_in_time_then_insertion_order() -> None:
    sched = Scheduler()
    seen: list[str] = []
    sched.at(5.0, lambda t: seen.append(f"b{t:g}"))
    sched.at(1.0, lambda t: seen.append(f"a{t:g}"))
    sched.at(5.0, lambda t: seen.append(f"c{t:g}"))
    sched.at(9.0, lambda t: seen.append("late"))
    assert sched.settle(5.0) == 3
    assert seen == ["a1", "b5", "c5"]
    assert sched.pending() == 1 and sched.next_due() == 9.0


def test_restart_goes_stopping_starting_started_and_records_the_start_time() -> None:
    clock, sched, service, loads = make(duration=10.0)
    assert service.snapshot().start_time == 900.0
    service.control(ServiceAction.RESTART, clock.now())
    assert service.status is ServiceStatus.STOPPING
    assert service.snapshot().start_time is None
    step(clock, sched, 5.0)
    assert service.snapshot().status is ServiceStatus.STARTING
    step(clock, sched, 4.9)
    assert service.snapshot().status is ServiceStatus.STARTING and loads == []
    step(clock, sched, 0.1)
    snap = service.snapshot()
    assert snap.status is ServiceStatus.STARTED and snap.start_time == 1010.0
    assert snap.uptime(1015.0) == 5.0
    assert loads == [1010.0]  # the on-started hook (TVS cache load) ran at the start time


def test_commands_while_transitioning_are_refused() -> None:
    clock, _, service, _ = make()
    service.control(ServiceAction.RESTART, clock.now())
    with pytest.raises(RemoteFaultError):
        service.control(ServiceAction.STOP, clock.now())


def test_injected_start_failure_leaves_the_service_stopped_with_a_reason_then_clears() -> None:
    clock, sched, service, loads = make()
    service.inject_start_failure(times=1)
    service.control(ServiceAction.RESTART, clock.now())
    step(clock, sched, 10)
    snap = service.snapshot()
    assert snap.status is ServiceStatus.STOPPED and snap.reason == "failed to start" and loads == []
    service.control(ServiceAction.START, clock.now())
    step(clock, sched, 5)
    assert service.status is ServiceStatus.STARTED and loads == [clock.now()]


def test_stop_then_start() -> None:
    clock, sched, service, _ = make(duration=4)
    service.control(ServiceAction.STOP, clock.now())
    step(clock, sched, 2)
    assert service.snapshot().reason == "Commanded Out of Service"
    assert service.control(ServiceAction.STOP, clock.now()) is ServiceStatus.STOPPED  # idempotent
    service.control(ServiceAction.START, clock.now())
    step(clock, sched, 2)
    assert service.running
