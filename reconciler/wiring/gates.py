"""The wave gates ``apply`` adds to the executor's registry (under the ``ris`` provider kind), and the live
R3 watch over the source TVS nodes that serve each wave.

Called by ``reconciler apply`` (``reconciler.commands.apply``) once the plan is known: the phones of
each gated wave come from the estate (``phones(scopes)``), the target's call-processing nodes from its
facts (R13; the source's too when the plan can revert a wave), the pacing from the policy's RisPort70
allowance, the time between polls from ``policy.gate_poll_interval``. The handler itself and the gate
specs are ``reconciler.apply.gates`` and ``reconciler.apply.gate_specs``; the watch is
``reconciler.apply.tvswatch``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from reconciler.apply.gate_specs import EstateRegistrations, gate_specs_from_plan, target_call_nodes
from reconciler.apply.gates import GateHandler
from reconciler.apply.retry import Clock
from reconciler.apply.risport import RisPacer
from reconciler.apply.tvswatch import TvsWatch, serving_tvs_nodes
from reconciler.live.protocol import LiveEstate
from reconciler.plan.document import Plan
from schemas.document import DesiredState

__all__ = ["WATCH_TTL", "gate_handler", "tvs_watch", "watch_ttl"]

WATCH_TTL = 10.0  # seconds live R3 reuses a read of the source TVS nodes (docs/waves.md#live-r3)


def tvs_watch(plan: Plan, desired: DesiredState, estate: LiveEstate, *, clock: Clock) -> TvsWatch:
    """Live R3 over ``estate``: the source TVS nodes serving each wave's CallManager groups."""
    scopes = {w.name: w.scopes for w in desired.migration.wave_list}
    waves = {w: scopes.get(w, ()) for w in sorted({s.wave for s in plan.steps if s.wave is not None})}
    source = desired.migration.source
    serving = serving_tvs_nodes(estate, source=source, waves=waves) if waves else {}
    return TvsWatch(estate, source=source, serving=serving, clock=clock, ttl=watch_ttl(desired))


def watch_ttl(desired: DesiredState) -> float:
    """How long live R3 reuses a read of the source TVS nodes: ten seconds, or one gate poll interval
    when the gates poll more often (each poll then sees a fresh read)."""
    return min(WATCH_TTL, desired.policy.gate_poll_interval.total_seconds())


def gate_handler(
    plan: Plan,
    desired: DesiredState,
    estate: LiveEstate,
    *,
    clock: Clock,
    cancel: threading.Event,
    watch: Callable[[str], str | None] | None = None,
) -> GateHandler:
    """The ``GateHandler`` for every ``gate.<wave>`` (and ``revert-gate.<wave>``) step of ``plan``,
    reading ``estate``; ``watch`` (live R3) pauses a wave whose source TVS is down."""
    target, source = desired.migration.target, desired.migration.source
    waves = {w.name: w.scopes for w in desired.migration.wave_list}
    gate_waves = [s.address.name for s in plan.steps if s.address.kind == "gate"]
    reverting = any(s.address.kind == "revert-gate" for s in plan.steps)
    phones: dict[str, tuple[str, ...]] = {}
    if gate_waves:
        scopes = sorted({s for w in gate_waves for s in waves.get(w, ())})
        by_scope = estate.phones(scopes)
        phones = {w: tuple(p.name for s in waves.get(w, ()) for p in by_scope.get(s, ())) for w in gate_waves}
    nodes = target_call_nodes(estate, cluster=target) if gate_waves else frozenset()
    back = target_call_nodes(estate, cluster=source) if reverting else frozenset()
    per_minute = desired.policy.ris_queries_per_minute
    return GateHandler(
        specs=gate_specs_from_plan(plan, phones=phones, target_nodes=nodes, source_nodes=back),
        reader=EstateRegistrations(estate, cluster=target, source=source),
        pacer=RisPacer(per_minute=per_minute, clock=clock),
        clock=clock,
        cancel=cancel,
        endpoint=f"{target}/risport70",
        source_reader=EstateRegistrations(estate, cluster=source) if reverting else None,
        source_pacer=RisPacer(per_minute=per_minute, clock=clock),
        watch=watch,
        poll_interval=desired.policy.gate_poll_interval.total_seconds(),
    )
