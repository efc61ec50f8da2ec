"""What a desired state means, in plain terms: the clusters, the trust the procedure requires (R4–R6,
R11) compared with what is declared, the method's steps (R7–R9), and the waves with their gates.

A pure function over ``schemas.DesiredState`` used by ``reconciler explain`` (and ``make demo``). It reads
the declaration only, never a live system; the planner repeats the trust check against live state
through ``reconciler.cucm.rules``.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.cucm.signers import itl_recovery_per_node
from schemas.cluster import Cluster, Node, Service
from schemas.dhcp import TftpNodesOf
from schemas.document import DesiredState
from schemas.migration import Method
from schemas.trust import Identity, IdentityRef, NodeRole, TrustStore

__all__ = [
    "ClusterSummary",
    "Explanation",
    "NodeSummary",
    "Requirement",
    "ScopeSummary",
    "WaveSummary",
    "explain",
]

_STORES = (TrustStore.CALLMANAGER_TRUST, TrustStore.PHONE_SAST_TRUST)


@dataclass(frozen=True, slots=True)
class Requirement:
    """One certificate the procedure requires in a store: ``identity`` of ``node`` (``None`` for a
    cluster-wide identity) of cluster ``owner``, in ``store`` of cluster ``cluster``."""

    rule: str
    cluster: str
    store: str
    identity: str
    owner: str
    node: str | None
    declared: bool

    def describe(self) -> str:
        where = f"{self.owner}/{self.node}" if self.node else self.owner
        return f"{self.identity} of {where} -> {self.cluster} {self.store}"


@dataclass(frozen=True, slots=True)
class NodeSummary:
    name: str
    host: str
    services: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ClusterSummary:
    name: str
    role: str
    version: str
    certificate_api: str
    nodes: tuple[NodeSummary, ...]


@dataclass(frozen=True, slots=True)
class ScopeSummary:
    name: str
    subnet: str
    server: str
    option150: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class WaveSummary:
    name: str
    scopes: tuple[ScopeSummary, ...]
    reset: bool
    min_registered_share: float
    deadline_seconds: int


@dataclass(frozen=True, slots=True)
class Explanation:
    source: str
    target: str
    method: str
    clusters: tuple[ClusterSummary, ...]
    requirements: tuple[Requirement, ...]
    rollback_possible: bool
    steps: tuple[str, ...]
    waves: tuple[WaveSummary, ...]


def _selected(ref: IdentityRef, cluster: Cluster) -> set[str]:
    """Node names a reference selects (the publisher for cluster-wide identities)."""
    per_node = ref.identity is Identity.ITLRECOVERY and itl_recovery_per_node(cluster.version)
    if ref.identity is Identity.CAPF or (
        ref.identity is Identity.ITLRECOVERY and (not per_node or ref.nodes is None)
    ):
        return {cluster.publisher.name}
    if ref.nodes is None or ref.nodes.role is NodeRole.ALL:
        return {n.name for n in cluster.nodes}
    if ref.nodes.names is not None:
        return set(ref.nodes.names)
    if ref.nodes.role is NodeRole.PUBLISHER:
        return {cluster.publisher.name}
    service = ref.nodes.role.service if ref.nodes.role is not None else None
    return {n.name for n in cluster.nodes_running(service)} if service else set()


def _declared(
    state: DesiredState, *, cluster: str, store: TrustStore, identity: Identity, owner: Cluster, node: Node
) -> bool:
    for decl in state.trust:
        if decl.cluster != cluster or decl.store is not store:
            continue
        for ref in decl.certificates:
            if (
                isinstance(ref, IdentityRef)
                and ref.identity is identity
                and ref.cluster == owner.name
                and node.name in _selected(ref, owner)
            ):
                return True
    return False


def _required(state: DesiredState, *, into: Cluster, owner: Cluster, rule: str) -> list[Requirement]:
    """R4/R5 (and R11 in reverse): owner's CallManager cert of every TFTP node, in both stores of
    ``into`` — before 12.0 also the publisher's, which signs the CTL; R6: owner's ITLRecovery when
    ``owner`` is 12.0+ (it signs owner's ITL and CTL; before 12.5 each TFTP node's own and the
    publisher's). The same conditions as ``reconciler.cucm.rules.required_trust``, which the planner
    checks against live certificates."""
    result: list[Requirement] = []
    signers = list(owner.nodes_running(Service.TFTP))
    if not owner.version.at_least(12) and owner.publisher not in signers:
        signers.append(owner.publisher)
    for store in _STORES:
        for node in signers:
            result.append(
                Requirement(
                    rule,
                    into.name,
                    store.value,
                    Identity.CALLMANAGER.value,
                    owner.name,
                    node.name,
                    _declared(
                        state,
                        cluster=into.name,
                        store=store,
                        identity=Identity.CALLMANAGER,
                        owner=owner,
                        node=node,
                    ),
                )
            )
        if owner.version.at_least(12):
            pub = owner.publisher
            per_node = itl_recovery_per_node(owner.version)  # R6: before 12.5 every TFTP node's own
            recovery = [pub, *(n for n in owner.nodes_running(Service.TFTP) if n is not pub)]
            for node in recovery if per_node else [pub]:
                result.append(
                    Requirement(
                        "R6" if rule == "R4/R5" else rule,
                        into.name,
                        store.value,
                        Identity.ITLRECOVERY.value,
                        owner.name,
                        node.name if per_node else None,
                        _declared(
                            state,
                            cluster=into.name,
                            store=store,
                            identity=Identity.ITLRECOVERY,
                            owner=owner,
                            node=node,
                        ),
                    )
                )
    return result


def _steps(state: DesiredState, source: Cluster, target: Cluster) -> tuple[str, ...]:
    tvs = ", ".join(n.name for n in source.nodes_running(Service.TVS)) or "(none)"
    common = (
        f"R2: keep 'Prepare Cluster for Rollback to pre 8.0' False on {source.name}",
        f"R7: wait until every {source.name} node running TVS lists the new certificates",
        f"R8: restart Cisco Trust Verification Service one node at a time on {tvs}",
        "R12: then, wave by wave, set option 150 of the wave's scopes to the target TFTP nodes",
        "R13: a wave passes when its share of phones is Registered on the target within the deadline",
    )
    if state.migration.method is Method.BULK:
        sftp = state.migration.sftp
        where = f"{sftp.host}:{sftp.directory}" if sftp else "(sftp missing)"
        on = state.migration.consolidate_on or target.name
        return (
            f"R9: both clusters export their certificates to {where}; consolidate on {on} only; "
            "both import (CallManager/ITLRecovery -> CallManager-trust and Phone-SAST-trust)",
            *common,
        )
    return (f"R4-R6: upload the certificates listed above on {source.publisher.name} (publisher)", *common)


def _covered(r: Requirement) -> Requirement:
    return Requirement(r.rule, r.cluster, r.store, r.identity, r.owner, r.node, True)


def explain(state: DesiredState) -> Explanation:
    """Summarise ``state`` (which must have passed validation)."""
    mig = state.migration
    source, target = state.cluster(mig.source), state.cluster(mig.target)
    if source is None or target is None:
        raise ValueError("explain needs a validated desired state (source and target clusters)")
    clusters = tuple(
        ClusterSummary(
            c.name,
            c.role.value,
            str(c.version),
            c.effective_certificate_api.value,
            tuple(NodeSummary(n.name, n.host, tuple(s.value for s in n.services)) for n in c.nodes),
        )
        for c in state.clusters
    )
    requirements = _required(state, into=source, owner=target, rule="R4/R5")
    reverse = _required(state, into=target, owner=source, rule="R11") if mig.allow_rollback else []
    if mig.method is Method.BULK:  # R9 imports both ways: the method itself provides both directions
        requirements = [_covered(r) for r in requirements]
        reverse = [_covered(r) for r in _required(state, into=target, owner=source, rule="R11")]
    scopes = {s.name: s for s in state.dhcp.scopes}
    waves = []
    auto = mig.auto
    shown = mig.wave_list if auto is None else (auto.wave(name=auto.name, scopes=state.wave_scopes()),)
    for wave in shown:
        rows = []
        for name in wave.scopes:
            scope = scopes[name]
            value = scope.option150
            if isinstance(value, TftpNodesOf):
                owner = state.cluster(value.tftp_nodes_of)
                addresses = tuple(n.host for n in owner.nodes_running(Service.TFTP)) if owner else ()
            else:
                addresses = tuple(str(a) for a in value)
            rows.append(ScopeSummary(name, str(scope.subnet), scope.server, addresses))
        waves.append(
            WaveSummary(
                wave.name
                if auto is None
                else f"{auto.name}-1, {auto.name}-2, ... (auto: first {auto.first_phones} phones, growth "
                f"x{auto.growth:g}; the plan sizes them from live phone counts)",
                tuple(rows),
                wave.reset,
                wave.gate.min_registered_share,
                int(wave.gate.deadline.total_seconds()),
            )
        )
    rollback = bool(reverse) and all(r.declared for r in reverse)
    return Explanation(
        source.name,
        target.name,
        mig.method.value,
        clusters,
        tuple(requirements + reverse),
        rollback,
        _steps(state, source, target),
        tuple(waves),
    )
