"""``ControlCenterClient.restart`` stops polling when the node reports that the start failed (R8).

Found on the lab (tests/e2e/test_lab_failures.py, ``lab fault tvs-fail``): Control Center showed TVS
Stopped, "failed to start", yet the restart kept polling for its whole 300 s timeout before the apply
could report it. Real faces (zeep over HTTPS to the fake node), a fake clock: no wall-time waits.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from providers.cucm_serviceability import TVS_SERVICE, ControlCenterClient, RestartProgress, TvsProvider
from reconciler.errors import VerificationError
from simulator.faces.backends import ControlAction, ServiceState, ServiceStatus
from tests.prov_cucm_lab import CucmFaceLab

pytestmark = pytest.mark.lab


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[CucmFaceLab]:
    lab = CucmFaceLab(tmp_path, version="11.5.1.21900-40")
    try:
        yield lab
    finally:
        lab.stop()


def _ccs(lab: CucmFaceLab) -> ControlCenterClient:
    ep = lab.endpoint()
    return ControlCenterClient(endpoint=ep, session=lab.session(ep), clock=lab.clock, sleep=lab.clock.sleep)


def _stopped_with(lab: CucmFaceLab, reason: str) -> None:
    def control(*, action: ControlAction, names: Sequence[str]) -> Sequence[ServiceState]:
        for n in names:
            lab.backend.services[n] = ServiceState(n, ServiceStatus.STOPPED, reason=reason)
        return [lab.backend.services[n] for n in names]

    lab.backend.control_services = control  # type: ignore[method-assign]


def test_r8_a_start_the_node_reports_failed_is_reported_at_once(lab: CucmFaceLab) -> None:
    _stopped_with(lab, "failed to start")
    events: list[RestartProgress] = []
    with pytest.raises(VerificationError) as caught:
        _ccs(lab).restart(TVS_SERVICE, timeout=300, poll_interval=5, progress=events.append)
    message = str(caught.value)
    assert "failed to start" in message and "did not reach Started" in message and "cucm-pub" in message
    assert len(events) == 1 and sum(lab.clock.sleeps) == 0


def test_r8_a_stopped_service_without_a_failure_reason_is_still_waited_for(lab: CucmFaceLab) -> None:
    _stopped_with(lab, "Commanded Out of Service")
    with pytest.raises(VerificationError, match="within 30 s"):
        _ccs(lab).restart(TVS_SERVICE, timeout=30, poll_interval=5)
    assert sum(lab.clock.sleeps) == pytest.approx(30)


def test_r8_the_tvs_provider_names_the_rule_and_the_node(lab: CucmFaceLab) -> None:
    """What ``apply`` reports for ``tvs.<cluster>.<node>`` when the restart fails: node and R8."""
    from reconciler.model import Action, Address, Change, freeze

    _stopped_with(lab, "failed to start")
    lab.backend.services[TVS_SERVICE] = ServiceState(TVS_SERVICE, ServiceStatus.STOPPED, reason="")
    tvs = TvsProvider({"cucm-pub": _ccs(lab)}, cluster="old", timeout=300, poll_interval=5)
    address = Address.of("tvs", "old", "cucm-pub")
    change = Change(address=address, action=Action.RUN, after=freeze({"restart": True}), rule="R8")
    with pytest.raises(VerificationError) as caught:
        tvs.apply(change)
    assert "R8" in str(caught.value) and "cucm-pub" in str(caught.value) and caught.value.hint
