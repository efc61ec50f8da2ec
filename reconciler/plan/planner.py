"""The planner: refresh → desired resources → diff → rules → graph → ``Plan``. Never mutates anything.

Called by ``reconciler plan`` (and ``apply FILE``). Reads the world only through a ``LiveEstate``
(which has no mutating method), so a plan is built from reads alone. The steps:

1. ``reconciler.live.refresh.refresh`` reads every fact with bounded parallelism;
2. ``reconciler.config.desired`` resolves the declared trust, parameters and option 150 against live
   identities;
3. diff: trust certificates to add (or, ``mode: exact``, owned ones to remove), replication checks (R7)
   and rolling TVS restarts (R8) wherever trust changes or a TVS is stale, parameters (R2), option 150
   per scope (R12), a reset (unless the wave waits for reboots) and a gate (R13) per wave with phones
   still to move;
4. rules (``reconciler.plan.checks``): declared trust against R4–R6 (and R11 with ``allow_rollback``),
   preflight R1–R3, R9–R10, per-phone ITL (R1);
5. ``reconciler.plan.graph`` orders the steps (rule-given edges plus ``depends_on``); ``--target``/
   ``--exclude`` filter them like Terraform's ``-target``/``-exclude``;
6. the forecast per wave on the planned end state, and the fingerprint for the stale check (R14).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from reconciler.config.desired import DesiredCert, cert_value, desired_option150, resolve_trust
from reconciler.cucm.certs import CertIdentity
from reconciler.cucm.facts import ClusterFacts
from reconciler.diagnostics import Diagnostic, Severity
from reconciler.live.protocol import LiveEstate
from reconciler.live.refresh import LiveSnapshot, refresh
from reconciler.model import Action, Address, Change, freeze
from reconciler.plan.canary import plan_expansion
from reconciler.plan.checks import (
    Coverage,
    coverage,
    forecast_verdict,
    gap_summary,
    preflight_all,
    r1_honesty,
    with_stranded,
)
from reconciler.plan.cost import with_costs
from reconciler.plan.document import Plan, PlanEdge, PlanStep
from reconciler.plan.drift import changed_outside
from reconciler.plan.fingerprint import fingerprint_of
from reconciler.plan.forecast import PlannedTrust, forecast
from reconciler.plan.graph import TrustTrack, WaveSpec, build_migration_graph
from reconciler.plan.reversibility import reversibility_of, with_wave_policies
from reconciler.plan.steps import Draft, WaveTrack, bulk_steps, param_steps, wave_steps
from reconciler.plan.tvsfresh import Freshness, TvsFreshness, loads_value, tvs_freshness, when_recorded
from reconciler.plan.windows import with_windows
from reconciler.state.store import StateSnapshot, utc_now
from reconciler.vocabulary import PHONE_TRUST_STORES, ROLLBACK_ALIAS, ROLLBACK_PARAMETER, Method, ProviderKind
from schemas.document import DesiredState
from schemas.trust import TrustMode

__all__ = ["PlanOptions", "build_plan", "plan_from_snapshot", "select_steps"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanOptions:
    """``targets``/``excludes``: address (or address prefix) filters; ``parallelism``: refresh threads."""

    targets: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    parallelism: int = 4
    plan_id: str | None = None
    created_at: str | None = None


def build_plan(
    *,
    desired: DesiredState,
    desired_path: str,
    desired_sha256: str,
    estate: LiveEstate,
    state: StateSnapshot,
    options: PlanOptions | None = None,
) -> Plan:
    """Read the estate and plan the migration ``desired`` declares."""
    opts = options or PlanOptions()
    snap = refresh(desired, estate, parallelism=opts.parallelism)
    return plan_from_snapshot(
        desired=desired,
        desired_path=desired_path,
        desired_sha256=desired_sha256,
        snap=snap,
        state=state,
        options=opts,
    )


def _trust_steps(
    draft: Draft,
    certs: list[DesiredCert],
    facts: Mapping[str, ClusterFacts],
    state: StateSnapshot,
    rules: Mapping[tuple[str, str, CertIdentity], str],
) -> dict[str, dict[str, set[CertIdentity]]]:
    """CREATE missing declared certificates; DELETE owned, undeclared ones under ``mode: exact``."""
    added: dict[str, dict[str, set[CertIdentity]]] = {}
    for cert in certs:
        holder = facts.get(cert.cluster)
        pub = holder.publisher if holder else None
        if holder is None or pub is None or pub.holds(cert.store, cert.cert.identity):
            continue
        rule = rules.get((cert.cluster, cert.store, cert.cert.identity))
        change = Change(
            address=Address.parse(cert.address),
            action=Action.CREATE,
            after=freeze(cert_value(cert)),
            reason=f"{cert.origin} must be in {cert.store} of {cert.cluster}"
            + (f" ({rule})" if rule else ""),
            rule=rule,
        )
        draft.tracks.cluster(cert.cluster).trust.append(
            draft.add(change, provider=ProviderKind.CUCM_CERTS, endpoint=f"{cert.cluster}/{pub.name}")
        )
        added.setdefault(cert.cluster, {}).setdefault(cert.store, set()).add(cert.cert.identity)
    exact = {(c.cluster, c.store) for c in certs if c.mode is TrustMode.EXACT}
    declared = {(c.cluster, c.store, c.cert_id) for c in certs}
    for owned in state.owned:
        if (owned.cluster, owned.store) in exact and (
            owned.cluster,
            owned.store,
            owned.cert_id,
        ) not in declared:
            holder = facts.get(owned.cluster)
            pub = holder.publisher if holder else None
            change = Change(
                address=Address.parse(owned.address),
                action=Action.DELETE,
                before=freeze({"cert_id": owned.cert_id, "sha256": owned.sha256}),
                reason="added by reconciler and no longer declared (mode: exact)",
            )
            key = draft.add(
                change,
                provider=ProviderKind.CUCM_CERTS,
                endpoint=f"{owned.cluster}/{pub.name if pub else '?'}",
            )
            draft.tracks.cluster(owned.cluster).trust.append(key)
            added.setdefault(owned.cluster, {})
    return added


def _tvs_steps(
    draft: Draft,
    holder: ClusterFacts,
    *,
    adds: Mapping[str, set[CertIdentity]] | None,
    required: Iterable[CertIdentity],
    state: StateSnapshot,
) -> tuple[set[str], dict[str, dict[str, frozenset[CertIdentity]]], dict[str, TvsFreshness]]:
    """Replication checks (R7) and rolling TVS restarts (R8); returns the restarted nodes, the stores
    each TVS node will hold after the plan, and each TVS node's freshness as read. A TVS whose freshness
    is not *known* (``reconciler.plan.tvsfresh``) is restarted like a stale one."""
    pub = holder.publisher
    changed = adds is not None
    new = {s: frozenset((adds or {}).get(s, ())) for s in PHONE_TRUST_STORES}
    wanted = set(required)
    restarted: set[str] = set()
    stores_after: dict[str, dict[str, frozenset[CertIdentity]]] = {}
    freshness: dict[str, TvsFreshness] = {}
    track = draft.tracks.cluster(holder.name)
    for node in holder.tvs_nodes:
        after: dict[str, frozenset[CertIdentity]] = {s: node.store(s) | new[s] for s in PHONE_TRUST_STORES}
        lagging = (
            pub is not None
            and node is not pub
            and any(
                (i in pub.store(s)) and (i not in node.store(s)) for s in PHONE_TRUST_STORES for i in wanted
            )
        )
        fresh = tvs_freshness(cluster=holder.name, node=node, state=state, relevant=wanted)
        freshness[node.name] = fresh
        if (changed or lagging) and pub is not None and node is not pub:
            after = {s: after[s] | pub.store(s) | new[s] for s in PHONE_TRUST_STORES}
            key = draft.add(
                Change(
                    address=Address.of("replication", holder.name, node.name),
                    action=Action.RUN,
                    after=freeze({"stores": [str(s) for s in PHONE_TRUST_STORES]}),
                    reason=f"wait until {node.name} lists the certificates uploaded to {pub.name}",
                    rule="R7",
                ),
                provider=ProviderKind.CUCM_CERTS,
                endpoint=f"{holder.name}/{node.name}",
            )
            track.replication.append(key)
        if changed or lagging or not fresh.fresh:
            before = None if node.tvs_started_at is None else {"started_at": node.tvs_started_at.isoformat()}
            why = "trust stores change" if changed or lagging else f"{fresh.state.value}: {fresh.reason}"
            loads = loads_value(i for s in PHONE_TRUST_STORES for i in after[s] if i in wanted)
            key = draft.add(
                Change(
                    address=Address.of("tvs", holder.name, node.name),
                    action=Action.RUN,
                    before=freeze(before),
                    after=freeze({"restart": True, "loads": loads}),
                    reason=f"restart Cisco Trust Verification Service on {node.name}: {why} (R8)",
                    rule="R8",
                ),
                provider=ProviderKind.CUCM_SERVICEABILITY,
                endpoint=f"{holder.name}/{node.name}",
            )
            track.tvs.append(key)
            restarted.add(node.name)
        stores_after[node.name] = after
    return restarted, stores_after, freshness


def plan_from_snapshot(
    *,
    desired: DesiredState,
    desired_path: str,
    desired_sha256: str,
    snap: LiveSnapshot,
    state: StateSnapshot,
    options: PlanOptions | None = None,
) -> Plan:
    """The plan for ``desired`` given what ``refresh`` read (pure; used directly by tests)."""
    opts = options or PlanOptions()
    created_at = opts.created_at or utc_now()  # also "now" for the maintenance windows
    desired, canary, problems = plan_expansion(desired, phones=snap.phones)  # waves: {auto: ...}
    mig = desired.migration
    diags: list[Diagnostic] = list(problems)
    draft = Draft()
    source, target = snap.facts.get(mig.source), snap.facts.get(mig.target)
    certs, unresolved = resolve_trust(desired, snap.facts, snap.pems)
    diags.extend(unresolved)
    option150 = desired_option150(desired)
    forecasts = []
    planned: dict[str, dict[str, frozenset[CertIdentity]]] = {}
    fresh: set[str] = set()
    gaps: tuple[str, ...] = ()
    rollback_possible: bool | None = None
    cover: Coverage | None = None
    src_fresh: dict[str, TvsFreshness] = {}
    if source is None or target is None:
        missing = mig.source if source is None else mig.target
        diags.append(
            Diagnostic(
                severity=Severity.ERROR,
                rule="R3",
                summary=f"cluster {missing} could not be read",
                fix="check its endpoints and credentials",
            )
        )
    else:
        cover = coverage(desired=desired, source=source, target=target, certs=certs)
        diags.extend(cover.diagnostics)
        rollback_possible = cover.rollback_possible
        added = _trust_steps(draft, certs, snap.facts, state, cover.rules)
        if mig.method is Method.BULK and cover.bulk_needed:
            bulk_steps(draft, desired, source, target)
            for holder in (source, target):
                imports = added.setdefault(holder.name, {})
                for store, ident in cover.bulk_imports.get(holder.name, ()):
                    imports.setdefault(store, set()).add(ident)
        for holder in (source, target):
            restarted, after, freshness = _tvs_steps(
                draft,
                holder,
                adds=added.get(holder.name),
                required=cover.required.get(holder.name, ()),
                state=state,
            )
            if holder is source:
                planned, fresh, src_fresh = after, restarted, freshness
        diags.extend(preflight_all(desired=desired, snap=snap, source=source, target=target))
        gaps = gap_summary(cover.diagnostics)
        param_steps(draft, desired, snap, diags)
    wave_steps(draft, desired, snap, option150)
    ordered, edges = _order(draft, desired, diags)
    steps = select_steps(ordered, targets=opts.targets, excludes=opts.excludes)
    kept_keys = {str(s.address) for s in steps}  # PlanEdge holds the written text
    edges = [e for e in edges if e.before in kept_keys and e.after in kept_keys]
    if source is not None and target is not None and cover is not None:
        # the forecast follows what will run: dropped uploads and TVS restarts are not in the end state
        kept = {s.address for s in steps}
        dropped = [s for s in ordered if s.address not in kept]
        gone = {
            (s.address.parts[2], _identity(s.change.after))
            for s in dropped
            if s.address.kind == "trust" and s.address.parts[1] == source.name
        }
        not_restarted = {
            s.address.name for s in dropped if s.address.kind == "tvs" and s.address.parts[1] == source.name
        }
        trimmed = {
            node: {st: frozenset(i for i in ids if (st, i) not in gone) for st, ids in stores.items()}
            for node, stores in planned.items()
        }
        by_state = {
            kind: frozenset(
                n for n, f in src_fresh.items() if f.state is kind and n not in fresh - not_restarted
            )
            for kind in Freshness
        }
        forecasts = forecast(
            state=desired,
            snap=snap,
            planned=PlannedTrust(
                stores=trimmed,
                fresh=frozenset(fresh - not_restarted),
                loaded=by_state[Freshness.FRESH],
                stale=by_state[Freshness.STALE],
                uncertain=cover.required.get(source.name, frozenset()),
            ),
            option150=option150,
            procedure_gaps=gaps,
            blanked_since=_blanked_since(state, source.name),
        )
        forecasts = with_costs(forecasts, desired=desired, steps=steps)
        now = datetime.fromisoformat(created_at.replace("Z", "+00:00"))
        forecasts, window_diags = with_windows(forecasts, desired=desired, steps=steps, now=now)
        diags.extend(window_diags)
        diags = with_stranded(diags, cover, forecasts=forecasts)
        moving = {s.wave for s in steps if s.wave is not None}
        diags = forecast_verdict(diags, desired=desired, forecasts=forecasts, moving=moving)
        diags.extend(r1_honesty(forecasts=forecasts))
    return Plan(
        plan_id=opts.plan_id or uuid.uuid4().hex,
        created_at=created_at,
        desired_path=desired_path,
        desired_sha256=desired_sha256,
        state_lineage=state.lineage,
        state_serial=state.serial,
        steps=tuple(steps),
        edges=tuple(edges),
        diagnostics=tuple(diags),
        drift=tuple(changed_outside(snap=snap, state=state, desired=desired)),
        forecast=tuple(with_wave_policies(forecasts, desired=desired)),
        fingerprint=fingerprint_of(facts=snap.facts, params=snap.params, option150=snap.option150),
        rollback_possible=rollback_possible,
        targets=opts.targets,
        excludes=opts.excludes,
        canary=canary,
    )


def _order(
    draft: Draft, desired: DesiredState, diags: list[Diagnostic]
) -> tuple[list[PlanStep], list[PlanEdge]]:
    """The steps in graph order, and the graph's edges with their rule ids."""
    mig = desired.migration
    t = draft.tracks
    tracks = [
        TrustTrack(bulk=ct.bulk, trust=ct.trust, replication=ct.replication, tvs=ct.tvs)
        for ct in (t.cluster(mig.source), t.cluster(mig.target))
    ]
    waves = []
    for wave in mig.wave_list:
        wt = t.waves.get(wave.name, WaveTrack())
        waves.append(
            WaveSpec(
                name=wave.name,
                option150=wt.option150,
                window=wt.window,
                reset=wt.reset,
                gate=wt.gate,
                restore=wt.restore,
                revert_reset=wt.revert_reset,
                revert_gate=wt.revert_gate,
            )
        )
    placed = t.placed()
    others = [k for k in draft.steps if k not in placed]
    by_text = {str(k): k for k in draft.steps}  # depends_on is written as text (not always well-formed)
    deps: dict[Address | str, list[Address | str]] = {
        by_text[d.address]: [by_text[a] for a in d.after if a in by_text]
        for d in desired.depends_on
        if d.address in by_text
    }
    graph = build_migration_graph(
        tracks=tracks,
        params=t.params,
        waves=waves,
        depends_on=deps,
        others=others,
    )
    cycle = graph.cycle_diagnostic()
    if cycle is not None:
        diags.append(cycle)
        order = list(graph.nodes())
    else:
        order = list(graph.order())
    steps = [
        PlanStep(
            change=draft.steps[k].change,
            provider=draft.steps[k].provider,
            endpoint=draft.steps[k].endpoint,
            wave=draft.steps[k].wave,
            depends_on=graph.dependencies(k),
            contingent_on=draft.steps[k].contingent_on,
            reversibility=reversibility_of(draft.steps[k], desired=desired),
        )
        for k in order
    ]
    edges = [
        PlanEdge(before=str(e.before), after=str(e.after), rule=e.rule, reason=e.reason)
        for e in graph.edges()
    ]
    return steps, edges


def _identity(value: object) -> CertIdentity | None:
    if (
        isinstance(value, Mapping)
        and isinstance(value.get("serial"), str)
        and isinstance(value.get("issuer"), str)
    ):
        return CertIdentity(int(value["serial"], 16), value["issuer"])
    return None


def _matches(address: str, patterns: Iterable[str]) -> bool:
    return any(address == p or address.startswith(p + ".") for p in patterns)


def select_steps(
    steps: list[PlanStep], *, targets: Iterable[str] = (), excludes: Iterable[str] = ()
) -> list[PlanStep]:
    """Terraform-style ``-target`` (the matching steps plus everything they depend on, transitively) and
    ``-exclude`` (drop the matching steps and everything that depends on them)."""
    targets, excludes = tuple(targets), tuple(excludes)
    by_key = {s.address: s for s in steps}
    keep = set(by_key)
    if targets:
        keep = set()
        todo = [k for k in by_key if _matches(str(k), targets)]
        while todo:
            key = todo.pop()
            if key in keep:
                continue
            keep.add(key)
            todo.extend(d for d in by_key[key].depends_on if d in by_key)
    if excludes:
        dropped = {k for k in keep if _matches(str(k), excludes)}
        changed = True
        while changed:
            changed = False
            for key in list(keep - dropped):
                if any(d in dropped for d in by_key[key].depends_on):
                    dropped.add(key)
                    changed = True
        keep -= dropped
    return [s for s in steps if s.address in keep]


def _blanked_since(state: StateSnapshot, cluster: str) -> datetime | None:
    """When reconciler set the rollback parameter True on ``cluster`` (R2), from the state; None when it
    did not (then nobody knows when it changed, and the forecast keeps those phones unknown)."""
    for name in (ROLLBACK_PARAMETER, ROLLBACK_ALIAS):
        essence = state.essence_of(f"param.{cluster}.{name}")
        if isinstance(essence, Mapping) and str(essence.get("value", "")).lower() in ("true", "t"):
            return when_recorded(essence.get("set_at"))
    return None
