"""Resets paced adaptively against the lab's AXL: with CUCM's write throttle modelled (``axl-queue``: HTTP
503 while the change-notification queue is long) the pacer backs off and every phone is still reset;
without it the rate grows towards the policy's ceiling and nothing is throttled (R12/R13 wave resets)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from reconciler.model import Action, Address, Change
from reconciler.wiring.connections import Connections
from reconciler.wiring.estate import ProviderEstate
from reconciler.wiring.reset import ResetProvider
from schemas.document import DesiredState
from schemas.policy import ResetPacing
from simulator.lab.faults import Fault
from simulator.lab.runtime import LabRuntime
from tests.contract.lab_fixtures import lab_desired, lab_runtime_fixture

pytestmark = pytest.mark.lab

lab = lab_runtime_fixture()


def _desired(rt: LabRuntime, *, start: float, ceiling: float) -> DesiredState:
    desired = lab_desired(rt)
    policy = desired.policy.model_copy(
        update={"resets": ResetPacing(start_per_second=start, ceiling_per_second=ceiling)}
    )
    return desired.model_copy(update={"policy": policy})


@pytest.fixture
def provider(lab: LabRuntime) -> Iterator[tuple[ResetProvider, str]]:
    desired = _desired(lab, start=40.0, ceiling=400.0)
    conns = Connections(desired)
    try:
        source = desired.migration.source
        yield (
            ResetProvider(desired=desired, conns=conns, estate=ProviderEstate(conns), cluster=source),
            source,
        )
    finally:
        conns.close()


def _reset_every_phone_of(provider: ResetProvider, wave: str) -> int:
    change = Change(
        address=Address.of("reset", wave), action=Action.UPDATE, after={"run": True}, reason="test"
    )
    pending = len(provider.pending(change.address))
    provider.apply(change)
    return pending


def test_a_throttling_cucm_makes_the_pacer_back_off_and_every_phone_is_still_reset(
    lab: LabRuntime, provider: tuple[ResetProvider, str]
) -> None:
    resets, source = provider
    wave = resets.desired.migration.waves[0].name
    lab.apply_fault(Fault(kind="axl-queue", cluster=source, count=3, seconds=0.05))
    try:
        phones = _reset_every_phone_of(resets, wave)
    finally:
        lab.apply_fault(Fault(kind="axl-queue", cluster=source, off=True))
    paced = resets.last_pacing
    assert phones > 5 and paced is not None
    assert paced.throttled > 0 and paced.backoffs > 0, "HTTP 503 made the pacer slow down"
    assert paced.rate < 40.0, "it ends below the rate it started with"
    assert paced.answers == phones + paced.throttled, "every phone was reset once, the 503s were retried"


def test_a_quick_cucm_lets_the_rate_grow_without_a_single_503(
    provider: tuple[ResetProvider, str],
) -> None:
    resets, _ = provider
    phones = _reset_every_phone_of(resets, resets.desired.migration.waves[0].name)
    paced = resets.last_pacing
    assert paced is not None and paced.answers == phones
    assert paced.throttled == 0 and paced.peak > 40.0, "quick answers raise the rate (AIMD increase)"


def test_the_next_wave_starts_at_the_rate_the_previous_one_ended_at(
    lab: LabRuntime, provider: tuple[ResetProvider, str]
) -> None:
    """A wave does not climb from ``start_per_second`` again: it starts where the previous wave left the
    rate (lower after 503s, higher after quick answers)."""
    resets, source = provider
    first, second = (w.name for w in resets.desired.migration.waves[:2])
    lab.apply_fault(Fault(kind="axl-queue", cluster=source, count=3, seconds=0.05))
    try:
        _reset_every_phone_of(resets, first)
    finally:
        lab.apply_fault(Fault(kind="axl-queue", cluster=source, off=True))
    throttled = resets.last_pacing
    assert throttled is not None and throttled.start == 40.0 and throttled.rate < 40.0
    _reset_every_phone_of(resets, second)
    quick = resets.last_pacing
    assert quick is not None and quick.start == throttled.rate, "the learnt rate, not the policy's start"
    assert quick.throttled == 0 and quick.rate > quick.start
    assert (
        "registrations read in"
        in resets.verify(
            Change(address=Address.of("reset", second), action=Action.UPDATE, after={"run": True}, reason="t")
        ).detail
    )
