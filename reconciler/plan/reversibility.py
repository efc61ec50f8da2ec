"""Whether each planned change can be undone, and how (``PlanStep.reversibility``); each wave's gate
policy on its forecast (``WaveForecast.on_failure``).

Called by ``reconciler.plan.planner`` when it orders the steps. Pure: it reads only the step and the
desired state. A change is one-way when undoing it loses something no later step gives back: removing a
certificate from a trust store (``mode: exact``; phones whose trust relies on it cannot revalidate until
it is uploaded again and TVS restarted, R8), or announcing option 150 in a scope that announced none (the
wave's revert has no value to restore). ``apply`` asks a separate confirmation before one-way steps
(``--approve-one-way``; docs/waves.md).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from reconciler.model import Action
from reconciler.plan.document import PlanStep, Reversibility, WaveForecast
from reconciler.vocabulary import OnFailure
from schemas.document import DesiredState

__all__ = ["reversibility_of", "with_wave_policies"]

_CHECK = Reversibility(one_way=False, how="a check: it changes nothing")


def reversibility_of(step: PlanStep, *, desired: DesiredState) -> Reversibility:
    """The reversibility label of ``step`` (see the module docstring)."""
    address, change = step.address, step.change
    kind = address.kind
    policy = _policy(desired, step.wave)
    if step.contingent_on is not None:
        return Reversibility(
            one_way=False, how=f"part of wave {step.wave}'s revert: apply the plan again to move the wave"
        )
    if kind == "trust":
        if change.action is Action.DELETE:
            return Reversibility(
                one_way=True,
                how=f"removes {address.name} from {address.parts[2]} of {address.parts[1]}: phones whose "
                "trust relies on it cannot revalidate until it is uploaded again and TVS restarted (R8)",
            )
        return Reversibility(
            one_way=False, how="remove it again (declare the store with mode: exact and drop the entry)"
        )
    if kind == "option150":
        if change.before is None:
            return Reversibility(
                one_way=True,
                how=f"scope {address.name} announced no option 150 before: there is no value to restore",
            )
        if policy is OnFailure.REVERT:
            return Reversibility(
                one_way=False, how=f"restored by the wave's revert when gate.{step.wave} fails (R13)"
            )
        return Reversibility(
            one_way=False, how="set the scope's option 150 back (`reconciler plan --rollback`, R11)"
        )
    if kind == "param":
        return Reversibility(one_way=False, how=f"set {address.name} back to {change.before!r}")
    if kind == "reset":
        if policy is OnFailure.REVERT:
            return Reversibility(
                one_way=False, how=f"the wave's revert resets its phones back when gate.{step.wave} fails"
            )
        return Reversibility(one_way=False, how="reset the phones again after option 150 is set back")
    if kind == "tvs":
        return Reversibility(one_way=False, how="a service restart: nothing to undo")
    if kind == "bulk":
        return Reversibility(
            one_way=False, how="the imported certificates can be removed from the trust stores again"
        )
    if kind in ("gate", "replication", "window"):
        return _CHECK
    return Reversibility(one_way=False, how="run the reverse change")


def with_wave_policies(forecasts: Iterable[WaveForecast], *, desired: DesiredState) -> list[WaveForecast]:
    """The forecasts with each wave's gate policy (``on_failure``)."""
    out = []
    for fc in forecasts:
        policy = _policy(desired, fc.wave)
        out.append(dataclasses.replace(fc, on_failure=None if policy is None else str(policy)))
    return out


def _policy(desired: DesiredState, wave: str | None) -> OnFailure | None:
    found = next((w for w in desired.migration.wave_list if w.name == wave), None)
    return None if found is None else found.on_failure
