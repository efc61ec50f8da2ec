"""Building gate handlers from a plan and a ``LiveEstate``: wave phones, target nodes, forecast reasons.

Called by ``reconciler apply`` (``reconciler.commands.apply``) to make the ``GateHandler`` it puts in
the executor's registry under the ``ris`` provider kind. The plan's ``gate.<wave>`` change carries
``min_registered_share`` and ``deadline_seconds`` (planner); the phones of the wave come from the
estate (``phones(scopes)``), the target's call-processing nodes from its ``ClusterFacts`` (nodes that
run Cisco CallManager, R13), and forecast reasons: the group's reason for the plan's example phones,
the wave's stranded/unknown groups with counts for every other phone (the plan keeps examples only).
``EstateRegistrations`` adapts ``LiveEstate.registrations`` to the gate's ``RegistrationReader``; it gives
every phone not Registered on the target a reason (R13: never a stranded phone without a report),
looking up on the source cluster the phones the target does not know (they did not move: R1/R8).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from reconciler.apply.gates import GateSpec
from reconciler.apply.risport import Registration
from reconciler.cucm.facts import Service
from reconciler.errors import PlanError, ReconcilerError
from reconciler.live.protocol import LiveEstate
from reconciler.live.protocol import Registration as LiveRegistration
from reconciler.model import FrozenMap
from reconciler.plan.document import Plan

__all__ = ["EstateRegistrations", "gate_specs_from_plan", "target_call_nodes"]


class EstateRegistrations:
    """A ``RegistrationReader`` over the estate's RisPort70 view of one cluster (the target).

    With ``source``, devices the target does not list are looked up on the source (best effort: the
    target's answer alone decides the gate), so a phone that never moved is reported with where it
    still is and why (R13). Non-registered records carry a reason naming what to check."""

    def __init__(self, estate: LiveEstate, *, cluster: str, source: str | None = None) -> None:
        self._estate = estate
        self._cluster = cluster
        self._source = source

    def registrations(self, devices: Sequence[str]) -> Mapping[str, Registration]:
        found = self._estate.registrations(self._cluster, list(devices))
        out = {name: self._on_target(name, reg) for name, reg in found.items()}
        missing = [d for d in devices if d not in found]
        if self._source is not None and missing:
            try:
                elsewhere = self._estate.registrations(self._source, missing)
            except ReconcilerError:  # the source's view only explains; it must not fail the gate
                elsewhere = {}
            for name, reg in elsewhere.items():
                out[name] = Registration(
                    device=name,
                    status=reg.status,
                    node=reg.node,
                    reason=(
                        f"still {reg.status}{_code(reg)} on the source cluster {self._source}"
                        + (f" ({reg.node})" if reg.node else "")
                        + ": it did not accept the target's trust list; check the phone's CTL/ITL (R1) "
                        f"and that TVS on {self._source} was restarted after the trust change (R8)"
                    ),
                )
        return out

    def _on_target(self, name: str, reg: LiveRegistration) -> Registration:
        reason = ""
        if not reg.registered:
            reason = (
                f"{reg.status}{_code(reg)} on the target cluster {self._cluster}: it took the target's "
                "configuration but no call-processing node accepted its registration; check that Cisco "
                "CallManager runs on the target nodes of its CallManager group (R13)"
            )
        return Registration(device=name, status=reg.status, node=reg.node, reason=reason)


def _code(reg: LiveRegistration) -> str:
    """RisPort70's StatusReason code of a record that is not Registered, as text (empty when 0/none)."""
    return f" (RisPort70 StatusReason {reg.status_reason})" if reg.status_reason else ""


def _forecast_reasons(plan: Plan) -> dict[str, tuple[dict[str, str], str]]:
    """Per wave: the forecast's reason per example phone, and one line for every other phone of the
    wave (the plan keeps only examples per group): the wave's stranded groups with their counts."""
    out: dict[str, tuple[dict[str, str], str]] = {}
    for predicted in plan.forecast:
        named: dict[str, str] = {}
        lines: list[str] = []
        for group in predicted.stranded:
            why = f"{group.reason} ({group.rule})" if group.rule else group.reason
            lines.append(f"{group.phones} for: {why}")
            for device in group.examples:
                named[device] = why
        for unknown in predicted.unknown:
            lines.append(f"{unknown.phones} unknown: {unknown.missing}")
        wave = (
            "the forecast for this wave: " + "; ".join(lines)
            if lines
            else "the forecast expected every phone of this wave to move"
        )
        out[predicted.wave] = (named, wave)
    return out


def target_call_nodes(estate: LiveEstate, *, cluster: str) -> frozenset[str]:
    """Nodes of ``cluster`` that run Cisco CallManager: where a moved phone registers (R13); for the
    source, where a reverted one registers again."""
    facts = estate.clusters([cluster]).get(cluster)
    if facts is None:
        raise PlanError(f"cluster {cluster} could not be read for the wave gates", hint="check its endpoints")
    return frozenset(n.name for n in facts.nodes if n.runs(Service.CALLMANAGER))


def gate_specs_from_plan(
    plan: Plan,
    *,
    phones: Mapping[str, Sequence[str]],
    target_nodes: frozenset[str],
    source_nodes: frozenset[str] = frozenset(),
) -> dict[str, GateSpec]:
    """A ``GateSpec`` per ``gate.<wave>`` step; ``phones`` maps a wave to its device names;
    ``source_nodes`` (call-processing nodes of the source) is where its revert gate looks (R13)."""
    reasons = _forecast_reasons(plan)
    specs: dict[str, GateSpec] = {}
    for step in plan.steps:
        if step.address.kind != "gate":
            continue
        wave = step.address.name
        after = step.change.after
        if not isinstance(after, FrozenMap):
            raise PlanError(f"{step.address}: the plan gives no share/deadline", hint="re-run plan")
        specs[wave] = GateSpec(
            wave=wave,
            phones=tuple(phones.get(wave, ())),
            min_share=float(after.get("min_registered_share", 1.0)),
            deadline=float(after.get("deadline_seconds", 0)),
            target_nodes=target_nodes,
            forecast=reasons.get(wave, ({}, ""))[0],
            forecast_wave=reasons.get(wave, ({}, ""))[1],
            source_nodes=source_nodes,
        )
    return specs
