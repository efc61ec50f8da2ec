"""The wave gates ``apply`` adds to the executor's registry (under the ``ris`` provider kind).

Called by ``reconciler apply`` (``reconciler.commands.apply``) once the plan is known: the phones of
each gated wave come from the estate (``phones(scopes)``), the target's call-processing nodes from its
facts (R13), the pacing from the policy's RisPort70 allowance. The handler itself and the gate specs are
``reconciler.apply.gates`` and ``reconciler.apply.gate_specs``.
"""

from __future__ import annotations

import threading

from reconciler.apply.gate_specs import EstateRegistrations, gate_specs_from_plan, target_call_nodes
from reconciler.apply.gates import GateHandler, RisPacer
from reconciler.apply.retry import Clock
from reconciler.live.protocol import LiveEstate
from reconciler.plan.document import Plan
from schemas.document import DesiredState

__all__ = ["gate_handler"]


def gate_handler(
    plan: Plan, desired: DesiredState, estate: LiveEstate, *, clock: Clock, cancel: threading.Event
) -> GateHandler:
    """The ``GateHandler`` for every ``gate.<wave>`` step of ``plan``, reading ``estate``."""
    target = desired.migration.target
    waves = {w.name: w.scopes for w in desired.migration.waves}
    gate_waves = [s.address.name for s in plan.steps if s.address.kind == "gate"]
    phones: dict[str, tuple[str, ...]] = {}
    if gate_waves:
        scopes = sorted({s for w in gate_waves for s in waves.get(w, ())})
        by_scope = estate.phones(scopes)
        phones = {w: tuple(p.name for s in waves.get(w, ()) for p in by_scope.get(s, ())) for w in gate_waves}
    nodes = target_call_nodes(estate, cluster=target) if gate_waves else frozenset()
    return GateHandler(
        specs=gate_specs_from_plan(plan, phones=phones, target_nodes=nodes),
        reader=EstateRegistrations(estate, cluster=target, source=desired.migration.source),
        pacer=RisPacer(per_minute=desired.policy.ris_queries_per_minute, clock=clock),
        clock=clock,
        cancel=cancel,
        endpoint=f"{target}/risport70",
    )
