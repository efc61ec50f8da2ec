"""Wave gates (R13): share on TARGET nodes, deadline, paced RisPort70 queries, stranded reasons."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from reconciler.apply.gates import GateHandler, GateSpec
from reconciler.apply.hooks import ApplyHooks, GateProgress
from reconciler.apply.retry import FakeClock
from reconciler.apply.risport import Registration, RisPacer
from reconciler.errors import PermanentError, TemporaryError
from reconciler.model import Action, Address, Change

TARGETS = frozenset({"new-sub1"})
GATE = Change(address=Address.of("gate", "w1"), action=Action.RUN, rule="R13")


class Reader:
    def __init__(self, table: dict[str, Registration], *, clock: FakeClock) -> None:
        self.table = table
        self.clock = clock
        self.queries: list[tuple[float, int]] = []
        self.fail: list[BaseException] = []

    def registrations(self, devices: Sequence[str]) -> Mapping[str, Registration]:
        self.queries.append((self.clock.monotonic(), len(devices)))
        if self.fail:
            raise self.fail.pop(0)
        return {d: self.table[d] for d in devices if d in self.table}


def _phones(n: int) -> tuple[str, ...]:
    return tuple(f"SEP{i:012X}" for i in range(n))


def _handler(
    reader: Reader, clock: FakeClock, spec: GateSpec, *, per_minute: int = 15, max_devices: int = 1000
) -> GateHandler:
    return GateHandler(
        specs={spec.wave: spec},
        reader=reader,
        pacer=RisPacer(per_minute=per_minute, clock=clock),
        clock=clock,
        poll_interval=10.0,
        max_devices=max_devices,
    )


def test_only_registered_on_a_target_node_counts() -> None:
    """R13: Registered on a source node is not moved."""
    clock = FakeClock()
    phones = _phones(4)
    table = {
        phones[0]: Registration(device=phones[0], status="Registered", node="new-sub1"),
        phones[1]: Registration(device=phones[1], status="Registered", node="old-sub1"),
        phones[2]: Registration(device=phones[2], status="Rejected", reason="config file signature"),
    }
    spec = GateSpec(
        wave="w1",
        phones=phones,
        min_share=0.25,
        deadline=30,
        target_nodes=TARGETS,
        forecast={phones[3]: "bad ITL (R1)"},
    )
    gate = _handler(Reader(table, clock=clock), clock, spec)
    gate.apply(GATE)
    result = gate.verify(GATE)
    assert result.complies
    stranded = {s["device"]: s for s in result.extra["stranded"]}
    assert set(stranded) == set(phones[1:])
    assert stranded[phones[1]]["node"] == "old-sub1" and "not a target" in stranded[phones[1]]["reason"]
    assert (
        stranded[phones[2]]["status"] == "Rejected"
        and stranded[phones[2]]["reason"] == "config file signature"
    )
    assert stranded[phones[3]]["status"] == "Unknown" and stranded[phones[3]]["forecast"] == "bad ITL (R1)"


def test_gate_fails_after_the_deadline_with_the_count() -> None:
    clock = FakeClock()
    phones = _phones(10)
    table = {p: Registration(device=p, status="Registered", node="new-sub1") for p in phones[:8]}
    spec = GateSpec(wave="w1", phones=phones, min_share=0.9, deadline=95, target_nodes=TARGETS)
    gate = _handler(Reader(table, clock=clock), clock, spec)
    start = clock.monotonic()
    gate.apply(GATE)
    result = gate.verify(GATE)
    assert not result.complies
    assert "8/10" in result.detail and "need 9" in result.detail and "R13" in result.detail
    assert 95 <= clock.monotonic() - start < 95 + 10 + 1e-6
    assert len(result.extra["stranded"]) == 2


def test_queries_are_batched_and_paced_within_the_allowance() -> None:
    """2,500 phones = 3 queries per poll; at 4 queries/minute no 60 s window holds more than 4."""
    clock = FakeClock()
    phones = _phones(2500)
    reader = Reader({}, clock=clock)
    spec = GateSpec(wave="w1", phones=phones, min_share=1.0, deadline=300, target_nodes=TARGETS)
    gate = _handler(reader, clock, spec, per_minute=4)
    gate.apply(GATE)
    assert [n for _, n in reader.queries[:3]] == [1000, 1000, 500]
    times = [t for t, _ in reader.queries]
    for i, t in enumerate(times):
        assert sum(1 for u in times[i:] if u < t + 60) <= 4
    assert len(times) >= 12  # it kept polling until the deadline


def test_allowance_exhausted_is_waited_out() -> None:
    clock = FakeClock()
    phones = _phones(2)
    reader = Reader(
        {p: Registration(device=p, status="Registered", node="new-sub1") for p in phones}, clock=clock
    )
    reader.fail = [TemporaryError("RisPort70 allowance exhausted", delay=20.0)]
    gate = _handler(
        reader, clock, GateSpec(wave="w1", phones=phones, min_share=1.0, deadline=120, target_nodes=TARGETS)
    )
    gate.apply(GATE)
    assert gate.verify(GATE).complies
    assert 20.0 in clock.sleeps


def test_a_permanent_reader_error_propagates() -> None:
    clock = FakeClock()
    reader = Reader({}, clock=clock)
    reader.fail = [PermanentError("401")]
    gate = _handler(
        reader,
        clock,
        GateSpec(wave="w1", phones=_phones(1), min_share=1.0, deadline=60, target_nodes=TARGETS),
    )
    with pytest.raises(PermanentError):
        gate.apply(GATE)


def test_progress_hook_sees_every_poll() -> None:
    clock = FakeClock()
    phones = _phones(3)
    table: dict[str, Registration] = {}
    reader = Reader(table, clock=clock)
    seen: list[int] = []

    class Hooks(ApplyHooks):
        def wave_gate_progress(self, *, progress: GateProgress) -> None:
            seen.append(progress.registered)
            if len(seen) <= len(phones):  # one more phone comes up after each poll
                table[phones[len(seen) - 1]] = Registration(device="x", status="Registered", node="new-sub1")

    gate = _handler(
        reader, clock, GateSpec(wave="w1", phones=phones, min_share=1.0, deadline=600, target_nodes=TARGETS)
    )
    gate.attach_hooks(Hooks())
    gate.apply(GATE)
    assert seen == [0, 1, 2, 3]


def test_verify_without_apply_polls_once() -> None:
    """A resumed apply re-verifies a gate that was in doubt with one query."""
    clock = FakeClock()
    phones = _phones(2)
    reader = Reader(
        {p: Registration(device=p, status="Registered", node="new-sub1") for p in phones}, clock=clock
    )
    gate = _handler(
        reader, clock, GateSpec(wave="w1", phones=phones, min_share=1.0, deadline=60, target_nodes=TARGETS)
    )
    assert gate.verify(GATE).complies
    assert len(reader.queries) == 1


def test_share_rounding_and_bad_specs() -> None:
    spec = GateSpec(wave="w", phones=_phones(3), min_share=0.98, deadline=1, target_nodes=TARGETS)
    assert spec.needed == 3
    assert (
        GateSpec(wave="w", phones=_phones(100), min_share=0.98, deadline=1, target_nodes=TARGETS).needed == 98
    )
    with pytest.raises(ValueError):
        GateSpec(wave="w", phones=(), min_share=0, deadline=1, target_nodes=TARGETS)


def test_pacer_window() -> None:
    clock = FakeClock()
    pacer = RisPacer(per_minute=2, clock=clock)
    pacer.acquire()
    pacer.acquire()
    assert pacer.wait_time() == 60.0
    clock.advance(30)
    assert pacer.wait_time() == 30.0
    pacer.acquire()
    assert clock.sleeps == [30.0]
