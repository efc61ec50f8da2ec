"""The way back: ``reconciler plan FILE --rollback`` plans the reverse migration of the scopes that moved.

Called by ``reconciler.commands.plan`` (``build_rollback_plan``) and ``reconciler.commands.apply``
(``reverse_desired``, so that a rollback plan's gates wait for phones Registered on the *source*).

The rollback is the normal planner over a *reversed* desired state: source and target swapped (cluster
roles too), and, for every scope of the waves whose live option 150 already points at the target's TFTP
nodes, ``option150: {tftp_nodes_of: <source>}``. Waves keep their order, gates, ``on_failure`` and
windows, each restricted to its moved scopes (a wave with none is left out). The reverse trust is not
established by a rollback plan: it needs R11 live — the source's certificates in the target's trust
stores — and the target's TVS restarted after it (R8). Any upload, replication wait, TVS restart or bulk
step the reversed plan would need becomes an error naming what is missing, instead of a step
(docs/waves.md, "The way back").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from reconciler.cucm.facts import ClusterFacts, Direction
from reconciler.cucm.movetrust import required_trust, rollback_readiness
from reconciler.diagnostics import Diagnostic, Severity
from reconciler.errors import PlanError
from reconciler.live.protocol import LiveEstate
from reconciler.live.refresh import refresh
from reconciler.plan.document import Plan
from reconciler.plan.planner import PlanOptions, plan_from_snapshot
from reconciler.plan.tvsfresh import tvs_freshness
from reconciler.state.store import StateSnapshot
from reconciler.vocabulary import Service
from schemas.cluster import Role
from schemas.dhcp import TftpNodesOf
from schemas.document import DesiredState
from schemas.migration import AutoWaves, Wave

__all__ = ["ESTABLISHING_KINDS", "build_rollback_plan", "moved_scopes", "reverse_desired", "target_tvs_ready"]

#: Step kinds that establish trust (R4–R11 uploads, R7 replication, R8 TVS restarts, R9 bulk): a
#: rollback plan never plans them, it requires their result to be live.
ESTABLISHING_KINDS = frozenset({"trust", "replication", "tvs", "bulk"})

_FIX = (
    "declare the reverse trust (R11), set migration.allow_rollback: true and run "
    "`reconciler apply FILE` forward first; it uploads the certificates and restarts the TVS (R8)"
)


def moved_scopes(
    desired: DesiredState, *, option150: Mapping[tuple[str, str], tuple[str, ...] | None]
) -> tuple[str, ...]:
    """The waves' scopes whose live option 150 (``option150``, keyed by (server, scope)) names only TFTP
    nodes of the target: the scopes that have moved (R12), in wave order."""
    target = desired.cluster(desired.migration.target)
    hosts = {n.host for n in target.nodes_running(Service.TFTP)} if target else set()
    servers = {s.name: s.server for s in desired.dhcp.scopes}
    out: list[str] = []
    for scope in desired.wave_scopes():
        live = option150.get((servers.get(scope, ""), scope))
        if live and set(live) <= hosts and scope not in out:
            out.append(scope)
    return tuple(out)


def reverse_desired(desired: DesiredState, *, moved: Iterable[str]) -> DesiredState:
    """``desired`` turned around for the ``moved`` scopes: source and target swapped, those scopes'
    option 150 = every TFTP node of the source, the waves restricted to them. Never needs the
    reverse of reverse trust (``allow_rollback`` off). ``PlanError`` when no scope moved."""
    mig = desired.migration
    back = set(moved)
    waves: tuple[Wave, ...] | AutoWaves
    if mig.auto is not None:  # canary growth again, over the moved scopes (the planner expands it)
        kept = tuple(s for s in desired.wave_scopes() if s in back)
        waves = AutoWaves(auto=mig.auto.model_copy(update={"scopes": kept})) if kept else ()
    else:
        waves = tuple(
            w.model_copy(update={"scopes": tuple(s for s in w.scopes if s in back)})
            for w in mig.wave_list
            if any(s in back for s in w.scopes)
        )
    if not waves:
        raise PlanError(
            f"nothing to roll back: no scope of the waves has option 150 pointing at {mig.target} (R12)",
            hint="a rollback moves back only the scopes that have moved",
        )
    swap = {Role.SOURCE: Role.TARGET, Role.TARGET: Role.SOURCE}
    clusters = tuple(c.model_copy(update={"role": swap.get(c.role, c.role)}) for c in desired.clusters)
    scopes = tuple(
        s.model_copy(update={"option150": TftpNodesOf(tftp_nodes_of=mig.source)}) if s.name in back else s
        for s in desired.dhcp.scopes
    )
    return desired.model_copy(
        update={
            "clusters": clusters,
            "dhcp": desired.dhcp.model_copy(update={"scopes": scopes}),
            "migration": mig.model_copy(
                update={"source": mig.target, "target": mig.source, "waves": waves, "allow_rollback": False}
            ),
        }
    )


def build_rollback_plan(
    *,
    desired: DesiredState,
    desired_path: str,
    desired_sha256: str,
    estate: LiveEstate,
    state: StateSnapshot,
    options: PlanOptions | None = None,
) -> Plan:
    """Read the estate and plan moving the moved scopes' phones back to ``desired``'s source."""
    opts = options or PlanOptions()
    mig = desired.migration
    every = desired.wave_scopes()
    snap = refresh(reverse_desired(desired, moved=every), estate, parallelism=opts.parallelism)
    moved = moved_scopes(desired, option150=snap.option150)
    reversed_state = reverse_desired(desired, moved=moved)
    plan = plan_from_snapshot(
        desired=reversed_state,
        desired_path=desired_path,
        desired_sha256=desired_sha256,
        snap=snap,
        state=state,
        options=opts,
    )
    source, target = snap.facts.get(mig.source), snap.facts.get(mig.target)
    missing: list[Diagnostic] = []
    if source is not None and target is not None:
        missing = rollback_readiness(source=source, target=target, severity=Severity.ERROR)
        missing += target_tvs_ready(source=source, target=target, state=state)
    return _without_establishing(plan, missing=missing, scopes=moved)


def target_tvs_ready(*, source: ClusterFacts, target: ClusterFacts, state: StateSnapshot) -> list[Diagnostic]:
    """R8 after R11: every TVS node of ``target`` must be *known* to have loaded the reverse trust, by the
    forward plan's freshness logic (``reconciler.plan.tvsfresh``: the node's own trust-change time, or
    reconciler's recorded restart and what it loaded). Stale and unknown are errors (rule R11, the
    rollback's readiness), each naming the node and why; unknown is not fresh."""
    relevant = {
        r.cert.identity for r in required_trust(source=source, target=target, direction=Direction.REVERSE)
    }
    out: list[Diagnostic] = []
    for node in target.tvs_nodes:
        fresh = tvs_freshness(cluster=target.name, node=node, state=state, relevant=relevant)
        if fresh.fresh:
            continue
        out.append(
            Diagnostic(
                severity=Severity.ERROR,
                rule="R11",
                summary=f"rollback to {source.name} is not possible: TVS on {node.name} ({target.name}) is "
                f"{fresh.state.value} (R8): {fresh.reason}",
                address=f"tvs.{target.name}.{node.name}",
                fix=_FIX,
            )
        )
    return out


def _without_establishing(plan: Plan, *, missing: list[Diagnostic], scopes: tuple[str, ...]) -> Plan:
    """The reversed plan with its trust-establishing steps turned into errors (R11): the live readiness
    findings first, then one per step they do not already name; the reversed plan's own findings on
    the same addresses (its R4/R5 view of the same gap) are left out."""
    dropped = [s for s in plan.steps if s.address.kind in ESTABLISHING_KINDS]
    named = {d.address for d in missing if d.address}
    diags = list(missing)
    for step in dropped:
        if str(step.address) in named:
            continue
        diags.append(
            Diagnostic(
                severity=Severity.ERROR,
                rule="R11",
                summary=f"rollback needs what {step.address} would do to be live already: "
                f"{step.change.reason}",
                address=str(step.address),
                fix=_FIX,
            )
        )
    gone = {str(s.address) for s in dropped}
    kept = tuple(
        dataclasses.replace(s, depends_on=tuple(d for d in s.depends_on if str(d) not in gone))
        for s in plan.steps
        if str(s.address) not in gone
    )
    return dataclasses.replace(
        plan,
        steps=kept,
        edges=tuple(e for e in plan.edges if e.before not in gone and e.after not in gone),
        diagnostics=(*diags, *(d for d in plan.diagnostics if _own(d, named))),
        rollback=scopes,
    )


def _own(diag: Diagnostic, named: set[str]) -> bool:
    """Keep the reversed plan's diagnostic unless a readiness finding already names its address, or it
    is the reversed plan's own R11 verdict (about moving forward again, not about this rollback)."""
    return diag.rule != "R11" and not (diag.address and diag.address in named)
