"""Plan steps for parameters (R2), bulk certificate management (R9), option 150 per scope (R12), and the
maintenance window wait, reset (R12) and gate (R13) of each wave; plus ``Draft``, the planner's scratch
pad of steps by track.

Called by ``reconciler.plan.planner`` only. Pure functions over the desired state and a ``LiveSnapshot``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from reconciler.config.desired import desired_parameters
from reconciler.cucm.facts import ROLLBACK_PARAMETER, ClusterFacts
from reconciler.diagnostics import Diagnostic
from reconciler.insync import in_sync
from reconciler.live.refresh import LiveSnapshot
from reconciler.model import Action, Address, Change, freeze
from reconciler.plan.cost import ris_devices_per_query, wave_cost
from reconciler.plan.document import PlanStep
from reconciler.plan.poolreset import decide
from reconciler.plan.windows import WindowSpec, format_seconds
from reconciler.vocabulary import OnFailure, ProviderKind
from schemas.document import DesiredState
from schemas.migration import Wave, Window

__all__ = ["ClusterTrack", "Draft", "Tracks", "WaveTrack", "bulk_steps", "param_steps", "wave_steps",
           "window_budget"]  # fmt: skip


@dataclass(slots=True)
class ClusterTrack:
    """The trust work of one cluster, each list in order (R9 bulk, R4–R6 uploads, R7, R8)."""

    bulk: list[Address] = field(default_factory=list)
    trust: list[Address] = field(default_factory=list)
    replication: list[Address] = field(default_factory=list)
    tvs: list[Address] = field(default_factory=list)

    def keys(self) -> list[Address]:
        return [*self.bulk, *self.trust, *self.replication, *self.tvs]


@dataclass(slots=True)
class WaveTrack:
    """One wave's steps: option 150 per scope, then its reset and its gate (R12, R13); and the revert run
    only when the gate fails: option 150 restored per scope, the reset back, the gate on the source."""

    option150: list[Address] = field(default_factory=list)
    window: Address | None = None  # window.<wave>: wait for the maintenance window first
    reset: Address | None = None
    gate: Address | None = None
    restore: list[Address] = field(default_factory=list)
    revert_reset: Address | None = None
    revert_gate: Address | None = None

    def keys(self) -> list[Address]:
        singles = (self.window, self.reset, self.gate, self.revert_reset, self.revert_gate)
        return [*self.option150, *self.restore, *(k for k in singles if k is not None)]


@dataclass(slots=True)
class Tracks:
    """Step keys by the track the graph orders them in: per cluster, the parameters, per wave."""

    clusters: dict[str, ClusterTrack] = field(default_factory=dict)
    params: list[Address] = field(default_factory=list)
    waves: dict[str, WaveTrack] = field(default_factory=dict)

    def cluster(self, name: str) -> ClusterTrack:
        """The track of cluster ``name`` (made empty on first use)."""
        return self.clusters.setdefault(name, ClusterTrack())

    def placed(self) -> set[Address]:
        """Every key on some track (the rest are ordered only by ``depends_on``)."""
        found = set(self.params)
        for cluster in self.clusters.values():
            found.update(cluster.keys())
        for wave in self.waves.values():
            found.update(wave.keys())
        return found


@dataclass(slots=True)
class Draft:
    """The planner's scratch pad: steps by address, and the tracks that order them."""

    steps: dict[Address, PlanStep] = field(default_factory=dict)
    tracks: Tracks = field(default_factory=Tracks)

    def add(
        self,
        change: Change,
        *,
        provider: str,
        endpoint: str,
        wave: str | None = None,
        contingent_on: Address | None = None,
    ) -> Address:
        key = change.address
        self.steps[key] = PlanStep(
            change=change, provider=provider, endpoint=endpoint, wave=wave, contingent_on=contingent_on
        )
        return key


def bulk_steps(draft: Draft, desired: DesiredState, source: ClusterFacts, target: ClusterFacts) -> None:
    """Method 1 (R9): export on both, consolidate on exactly one, import on both. Each cluster's import
    sits on that cluster's own track, so its replication check (R7) and TVS restarts (R8) wait for it;
    the target's track starts at the consolidation (its import needs the consolidated bundle)."""
    on = desired.migration.consolidate_on or target.name
    consolidator = source if on == source.name else target
    order = [(source, "export"), (target, "export"), (consolidator, "consolidate")]
    order += [(source, "import"), (target, "import")]
    keys: dict[tuple[str, str], Address] = {}
    for cluster, step in order:
        pub = cluster.publisher
        keys[(cluster.name, step)] = draft.add(
            Change(
                address=Address.of("bulk", cluster.name, step),
                action=Action.RUN,
                reason=f"bulk certificate management: {step} on {cluster.name} (R9)",
                rule="R9",
            ),
            provider=ProviderKind.CUCM_CLI,
            endpoint=f"{cluster.name}/{pub.name if pub else '?'}",
        )
    shared = [
        keys[(source.name, "export")],
        keys[(target.name, "export")],
        keys[(consolidator.name, "consolidate")],
    ]
    draft.tracks.cluster(source.name).bulk.extend([*shared, keys[(source.name, "import")]])
    draft.tracks.cluster(target.name).bulk.extend([shared[-1], keys[(target.name, "import")]])


def param_steps(draft: Draft, desired: DesiredState, snap: LiveSnapshot, diags: list[Diagnostic]) -> None:
    for cluster, values in desired_parameters(desired).items():
        live = snap.params.get(cluster, {})
        for name, value in values.items():
            now = live.get(name)
            if in_sync("param", live=now, want=value):
                continue
            rule = "R2" if name == ROLLBACK_PARAMETER else None
            draft.tracks.params.append(
                draft.add(
                    Change(
                        address=Address.of("param", cluster, name),
                        action=Action.UPDATE,
                        before=freeze(now),
                        after=freeze(value),
                        reason=f"enterprise parameter '{name}' of {cluster}: {now!r} -> {value!r}",
                        rule=rule,
                    ),
                    provider=ProviderKind.CUCM_AXL,
                    endpoint=cluster,
                )
            )


def wave_steps(
    draft: Draft, desired: DesiredState, snap: LiveSnapshot, option150: Mapping[str, tuple[str, ...]]
) -> None:
    scopes = {s.name: s for s in desired.dhcp.scopes}
    kinds = {s.name: s.kind for s in desired.dhcp.servers}
    mig = desired.migration
    for wave in mig.wave_list:
        keys: list[Address] = []
        for name in wave.scopes:
            scope = scopes.get(name)
            if scope is None:
                continue
            live = snap.option150.get((scope.server, name))
            want = option150.get(name, ())
            if in_sync("option150", live=live, want=want):
                continue
            keys.append(
                draft.add(
                    Change(
                        address=Address.of("option150", scope.server, name),
                        action=Action.UPDATE if live is not None else Action.CREATE,
                        before=freeze(list(live) if live is not None else None),
                        after=freeze(list(want)),
                        reason=f"point scope {name} at the TFTP nodes of {mig.target} (R12)",
                        rule="R12",
                    ),
                    provider=ProviderKind.dhcp(kinds.get(scope.server, "unknown")),
                    endpoint=scope.server,
                    wave=wave.name,
                )
            )
        phones = [p for s in wave.scopes for p in snap.phones.get(s, ())]
        pending = [p for p in phones if not (r := snap.registrations.get(p.name)) or not r.registered]
        track = draft.tracks.waves.setdefault(wave.name, WaveTrack(option150=keys))
        if not keys and not pending:
            continue
        count = {"phones": len(pending), "scopes": list(wave.scopes)}
        window = wave.window or mig.window
        if window is not None:
            track.window = _window_step(draft, desired, wave=wave, window=window, keys=keys,
                                        pending=len(pending), phones=len(phones))  # fmt: skip
        if wave.reset:
            resets = decide(
                mode=desired.policy.resets.pool_level,
                wave_phones=[p.name for p in phones],
                pending=[p.name for p in pending],
                listing=snap.pools,
            )
            track.reset = draft.add(
                Change(
                    address=Address.of("reset", wave.name),
                    action=Action.RUN,
                    after=freeze({**count, "resets": resets.to_dict()}),
                    reason=f"reset {len(pending)} phones of wave {wave.name} (R12); {resets.describe()}",
                    rule="R12",
                ),
                provider=ProviderKind.CUCM_AXL,
                endpoint=mig.source,
                wave=wave.name,
            )
        gate = {**count, "min_registered_share": wave.gate.min_registered_share}
        gate["on_failure"] = str(wave.on_failure)
        gate["deadline_seconds"] = int(wave.gate.deadline.total_seconds())
        track.gate = draft.add(
            Change(
                address=Address.of("gate", wave.name),
                action=Action.RUN,
                after=freeze(gate),
                reason=f"{wave.gate.min_registered_share:.0%} of wave {wave.name} Registered on "
                f"{mig.target} within {gate['deadline_seconds']}s (R13)",
                rule="R13",
            ),
            provider=ProviderKind.RIS,
            endpoint=mig.target,
            wave=wave.name,
        )
        if wave.on_failure is OnFailure.REVERT:
            _revert_steps(draft, track, wave=wave, source=mig.source, gate=Address.of("gate", wave.name))


def window_budget(desired: DesiredState, *, wave: Wave, option150_servers: list[str], pending: int,
                  phones: int) -> tuple[float, float]:  # fmt: skip
    """``(budget, typical)`` seconds of a wave: the most it may take once started (option 150 and
    resets by the cost model, plus the gate deadline, R13) and what the cost model expects in total."""
    cost = wave_cost(
        option150_servers=option150_servers,
        server_kinds={s.name: str(s.kind) for s in desired.dhcp.servers},
        phones_to_move=pending if wave.reset else 0,
        phones_in_wave=phones,
        policy=desired.policy,
        devices_per_query=ris_devices_per_query(desired),
    )
    budget = cost["option150_seconds"] + cost["resets_seconds"] + wave.gate.deadline.total_seconds()
    return round(budget, 1), cost["total_seconds"]


def _window_step(draft: Draft, desired: DesiredState, *, wave: Wave, window: Window, keys: list[Address],
                 pending: int, phones: int) -> Address:  # fmt: skip
    """``window.<wave>``: apply waits until the wave's budget fits in an opening of its window."""
    spec = WindowSpec.of(window)
    servers = [draft.steps[k].address.parts[1] for k in keys]
    budget, _ = window_budget(desired, wave=wave, option150_servers=servers, pending=pending, phones=phones)
    return draft.add(
        Change(
            address=Address.of("window", wave.name),
            action=Action.RUN,
            after=freeze({**spec.to_dict(), "budget_seconds": budget}),
            reason=f"start wave {wave.name} only inside its window {spec.describe()} with "
            f"{format_seconds(budget)} (gate deadline + estimate) left (R13)",
            rule="R13",
        ),
        provider=ProviderKind.WINDOW,
        endpoint="clock",
        wave=wave.name,
    )


def _revert_steps(draft: Draft, track: WaveTrack, *, wave: Wave, source: str, gate: Address) -> None:
    """The steps that bring a wave back when its gate fails (R13, ``on_failure: revert``): each changed
    scope's option 150 restored to the value the plan read before the change (the saved plan, kept next
    to the journal, records it), the wave's phones not Registered on the target reset, and a gate on
    those phones being Registered on the source. Contingent on the gate: not needed when it passes."""
    for key in track.option150:
        forward = draft.steps[key]
        before = forward.change.before
        if before is None:  # the scope announced no option 150: nothing to restore it to
            continue
        address = forward.address
        track.restore.append(
            draft.add(
                Change(
                    address=Address.of("restore", address.parts[1], address.name),
                    action=Action.UPDATE,
                    before=forward.change.after,
                    after=before,
                    reason=f"revert wave {wave.name}: scope {address.name} back to the source's TFTP nodes",
                    rule="R13",
                ),
                provider=forward.provider,
                endpoint=forward.endpoint,
                wave=wave.name,
                contingent_on=gate,
            )
        )
    if wave.reset:
        track.revert_reset = draft.add(
            Change(
                address=Address.of("revert-reset", wave.name),
                action=Action.RUN,
                after=freeze({"scopes": list(wave.scopes)}),
                reason=f"revert wave {wave.name}: reset its phones not Registered on the target (R12)",
                rule="R12",
            ),
            provider=ProviderKind.CUCM_AXL,
            endpoint=source,
            wave=wave.name,
            contingent_on=gate,
        )
    gate_after = {
        "scopes": list(wave.scopes),
        "deadline_seconds": int(wave.gate.deadline.total_seconds()),
    }
    track.revert_gate = draft.add(
        Change(
            address=Address.of("revert-gate", wave.name),
            action=Action.RUN,
            after=freeze(gate_after),
            reason=f"revert wave {wave.name}: every phone not on the target Registered on {source} "
            f"within {gate_after['deadline_seconds']}s (R13)",
            rule="R13",
        ),
        provider=ProviderKind.RIS,
        endpoint=source,
        wave=wave.name,
        contingent_on=gate,
    )
