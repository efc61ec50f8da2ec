"""providers.cucm_serviceability against the lab's real ControlCenterServices and RisPort70 faces (zeep over
verified HTTPS on 127.0.40.1): status, restart polling until Started (fake clock, no wall-time waits), the
``tvs`` provider's contract (R8), RisPort70 paging/cap/de-duplication, and pacing that never trips the
face's own per-minute allowance (both driven by one fake clock)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from providers.cucm_serviceability import (
    TVS_SERVICE,
    ControlCenterClient,
    RestartProgress,
    RisClient,
    RisPacer,
    TvsProvider,
)
from reconciler.errors import PermanentError, RemoteFaultError, TemporaryError, VerificationError
from reconciler.model import Action, Address, Change, freeze
from reconciler.provider import Provider
from simulator.faces.backends import ControlAction, RisDevice, ServiceState, ServiceStatus
from tests.prov_cucm_lab import CucmFaceLab

pytestmark = pytest.mark.lab


@pytest.fixture(params=["11.5.1.21900-40", "14.0.1.11900-132"])
def lab(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CucmFaceLab]:
    lab = CucmFaceLab(tmp_path, version=request.param)
    try:
        yield lab
    finally:
        lab.stop()


def _ccs(lab: CucmFaceLab) -> ControlCenterClient:
    ep = lab.endpoint()
    return ControlCenterClient(endpoint=ep, session=lab.session(ep), clock=lab.clock, sleep=lab.clock.sleep)


def test_status_reads_make_no_write(lab: CucmFaceLab) -> None:
    ccs = _ccs(lab)
    assert {s.name: s.status for s in ccs.statuses()} == {name: "Started" for name in lab.backend.services}
    assert ccs.status(TVS_SERVICE).started
    with pytest.raises(RemoteFaultError, match="no service 'Cisco Nope'"):
        ccs.status("Cisco Nope")
    assert lab.writes() == []


def test_restart_polls_until_started_and_reports_progress(lab: CucmFaceLab) -> None:
    events: list[RestartProgress] = []
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    info = _ccs(lab).restart(TVS_SERVICE, progress=events.append)
    assert info.started and info.start_time is not None and info.start_time >= before
    assert [e.status for e in events][-1] == "Started" and events[0].node == "cucm-pub"
    assert lab.writes() == [("control", (ControlAction.RESTART, TVS_SERVICE))]


def test_restart_of_a_service_that_stays_down_times_out_with_verification_error(lab: CucmFaceLab) -> None:
    lab.backend.failing_services = {TVS_SERVICE}
    events: list[RestartProgress] = []
    with pytest.raises(VerificationError) as caught:
        _ccs(lab).restart(TVS_SERVICE, timeout=30, poll_interval=5, progress=events.append)
    assert "Stopped" in str(caught.value) and "cucm-pub" in str(caught.value)
    assert 6 <= len(events) <= 8 and sum(lab.clock.sleeps) == pytest.approx(30)  # bounded, fake time only


def test_restart_does_not_accept_a_stale_started(lab: CucmFaceLab) -> None:
    """A node that ignores the restart keeps reporting the old start time: not good enough (R8)."""
    old = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    lab.backend.services[TVS_SERVICE] = ServiceState(TVS_SERVICE, ServiceStatus.STARTED, start_time=old)

    def ignore(*, action: ControlAction, names: Sequence[str]) -> Sequence[ServiceState]:
        return [lab.backend.services[n] for n in names]

    lab.backend.control_services = ignore  # type: ignore[method-assign]
    with pytest.raises(VerificationError):
        _ccs(lab).restart(TVS_SERVICE, timeout=10, poll_interval=5)


def _refuse_in_transition(lab: CucmFaceLab) -> list[str]:
    """The backend refuses to control a service that is Starting/Stopping (as the lab's model does);
    returns the list of control requests it accepted."""
    accepted: list[str] = []
    original = lab.backend.control_services

    def control(*, action: ControlAction, names: Sequence[str]) -> Sequence[ServiceState]:
        for name in names:
            if lab.backend.services[name].status in (ServiceStatus.STARTING, ServiceStatus.STOPPING):
                raise RemoteFaultError(f"{name} on cucm-pub is stopping; try again when it settles")
        accepted.append(action.value)
        return original(action=action, names=names)

    lab.backend.control_services = control  # type: ignore[method-assign]
    return accepted


def test_restart_waits_for_a_service_in_transition_then_restarts(lab: CucmFaceLab) -> None:
    """An interrupted apply left TVS Stopping: the restart waits until it settles, then restarts it
    (the restart that counts for R8 is the one sent after the trust change, so it is sent anyway)."""
    old = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    lab.backend.services[TVS_SERVICE] = ServiceState(TVS_SERVICE, ServiceStatus.STOPPING, start_time=old)
    accepted = _refuse_in_transition(lab)
    sleep = lab.clock.sleep

    def settle_then_sleep(seconds: float) -> None:
        lab.backend.services[TVS_SERVICE] = ServiceState(TVS_SERVICE, ServiceStatus.STARTED, start_time=old)
        sleep(seconds)

    lab.clock.sleep = settle_then_sleep  # type: ignore[method-assign]
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    info = _ccs(lab).restart(TVS_SERVICE, timeout=60, poll_interval=5)
    assert accepted == ["Restart"] and info.started and info.start_time is not None
    assert info.start_time >= before


def test_a_refused_control_is_a_soap_fault_not_a_missing_operation(lab: CucmFaceLab) -> None:
    lab.backend.services[TVS_SERVICE] = ServiceState(TVS_SERVICE, ServiceStatus.STOPPING)
    _refuse_in_transition(lab)
    with pytest.raises(RemoteFaultError, match="try again when it settles") as caught:
        _ccs(lab).restart(TVS_SERVICE, timeout=10, poll_interval=5)
    assert "WSDL" not in str(caught.value)


def test_a_server_error_page_is_temporary(lab: CucmFaceLab) -> None:
    """A node's servlet failing with a plain-text HTTP 500 is an HTTP error worth retrying, not a
    parse failure dressed up as a missing WSDL operation."""

    def crash(*, action: ControlAction, names: Sequence[str]) -> Sequence[ServiceState]:
        raise RuntimeError("boom")

    lab.backend.control_services = crash  # type: ignore[method-assign]
    with pytest.raises(TemporaryError, match="HTTP 500") as caught:
        _ccs(lab).control("Restart", [TVS_SERVICE])
    assert "WSDL" not in str(caught.value)


def _tvs(lab: CucmFaceLab) -> TvsProvider:
    return TvsProvider({"cucm-pub": _ccs(lab)}, cluster="old", timeout=30, poll_interval=5)


def _restart(address: Address, *, seen: str | None) -> Change:
    """The plan's TVS step: restart, with the start time the plan saw."""
    before = freeze({"started_at": seen}) if seen else None
    return Change(address=address, action=Action.RUN, before=before, after=freeze({"restart": True}),
                  reason="R8", rule="R8")  # fmt: skip


def test_tvs_provider_verify_compares_with_the_start_the_plan_saw_and_writes_nothing(
    lab: CucmFaceLab,
) -> None:
    provider = _tvs(lab)
    assert isinstance(provider, Provider)
    lab.backend.services[TVS_SERVICE] = ServiceState(
        TVS_SERVICE, ServiceStatus.STARTED, start_time=dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
    )
    address = Address.of("tvs", "old", "cucm-pub")
    stale = provider.verify(_restart(address, seen="2026-01-01T12:00:00+00:00"))
    assert stale.observed == {"status": "Started", "started_at": "2026-01-01T12:00:00+00:00"}
    assert not stale.complies and [m.field for m in stale.mismatched] == ["started_at"]
    assert provider.verify(_restart(address, seen="2026-01-01T11:00:00+00:00")).complies
    assert lab.writes() == []


def test_tvs_provider_apply_twice_is_once_and_verifies(lab: CucmFaceLab) -> None:
    provider = _tvs(lab)
    lab.backend.services[TVS_SERVICE] = ServiceState(
        TVS_SERVICE, ServiceStatus.STARTED, start_time=dt.datetime(2020, 1, 1, 12, 0, tzinfo=dt.UTC)
    )
    address = Address.of("tvs", "old", "cucm-pub")
    change = _restart(address, seen="2020-01-01T12:00:00+00:00")
    assert not provider.verify(change).complies
    first = provider.apply(change)
    second = provider.apply(change)
    assert first.changed and not second.changed
    assert lab.writes() == [("control", (ControlAction.RESTART, TVS_SERVICE))]
    assert provider.verify(change).complies


def test_tvs_provider_unknown_node_is_permanent(lab: CucmFaceLab) -> None:
    with pytest.raises(PermanentError, match="unknown node 'cucm-sub9'"):
        _tvs(lab).verify(_restart(Address.of("tvs", "old", "cucm-sub9"), seen=None))


def _ris(lab: CucmFaceLab, *, per_minute: int = 15, max_devices: int | None = None) -> RisClient:
    ep = lab.endpoint()
    pacer = RisPacer(per_minute=per_minute, burst=3, clock=lab.clock, sleep=lab.clock.sleep)
    return RisClient(endpoint=ep, session=lab.session(ep), pacer=pacer, max_devices=max_devices)


def test_ris_pages_up_to_the_version_cap(lab: CucmFaceLab) -> None:
    lab.backend.devices = [
        RisDevice(f"SEP{i:012X}", node="cucm-sub1", status="Registered") for i in range(2500)
    ]
    ris = _ris(lab)
    assert ris.max_devices == (2000 if lab.version.startswith("14") else 1000)
    found = ris.registrations(["SEP*"])
    assert len(found) == 2500 and ris.queries == (2 if lab.version.startswith("14") else 3)


def test_ris_dedupes_devices_seen_on_several_nodes(lab: CucmFaceLab) -> None:
    lab.backend.devices = [
        RisDevice(
            "SEP000000000001", node="cucm-sub1", status="UnRegistered", ip_address="10.0.0.1", timestamp=100
        ),
        RisDevice(
            "SEP000000000001", node="cucm-sub2", status="Registered", ip_address="10.0.0.2", timestamp=200
        ),
        RisDevice(
            "SEP000000000002", node="cucm-sub2", status="UnRegistered", ip_address="10.0.0.3", timestamp=300
        ),
        RisDevice(
            "SEP000000000002", node="cucm-sub1", status="Registered", ip_address="10.0.0.4", timestamp=250
        ),
    ]
    ris = _ris(lab)
    assert len(ris.raw_registrations(["SEP*"])) == 4
    latest = {
        r.name: (r.node, r.status, r.ip, int(r.timestamp.timestamp()))
        for r in ris.registrations(["SEP*"])
        if r.timestamp
    }
    assert latest == {
        "SEP000000000001": ("cucm-sub2", "Registered", "10.0.0.2", 200),
        "SEP000000000002": ("cucm-sub2", "UnRegistered", "10.0.0.3", 300),
    }


def test_ris_pacing_never_exceeds_the_allowance(lab: CucmFaceLab) -> None:
    """45 one-device pages in a row: the face's own sliding-minute allowance (same fake clock) never
    refuses one; a pacer configured above the allowance does get refused (the check has teeth)."""
    lab.backend.devices = [
        RisDevice(f"SEP{i:012X}", node="cucm-sub1", status="Registered") for i in range(45)
    ]
    ris = _ris(lab, max_devices=1)
    assert len(ris.registrations(["SEP*"])) == 45 and ris.queries == 45
    assert lab.clock.sleeps  # it had to wait
    lab.clock.t += 120
    greedy = _ris(lab, per_minute=40, max_devices=1)
    with pytest.raises(TemporaryError, match="allowance"):
        greedy.registrations(["SEP*"])
