"""The graph of a declaration, without reading live state: what ``reconciler graph FILE`` draws.

Every address the full migration can touch — declared trust certificates (cert ids as the planner
names them), replication checks (R7) and TVS restarts (R8) on the holders' nodes, parameters (R2),
option 150 per wave scope (R12), resets and gates (R13) — wired with ``reconciler.plan.graph``'s
rule-given edges plus ``depends_on``. ``plan`` draws the same kinds of edges over the steps it keeps.
"""

from __future__ import annotations

from pathlib import Path

from reconciler.config.desired import desired_parameters
from reconciler.cucm.signers import itl_recovery_cert_id, itl_recovery_per_node
from reconciler.model import Address
from reconciler.plan.graph import MigrationGraph, TrustTrack, WaveSpec, build_migration_graph
from schemas.cluster import Service
from schemas.document import DesiredState
from schemas.trust import Identity, IdentityRef, NodeRole, PemRef

__all__ = ["declared_graph"]


def _cert_ids(state: DesiredState, ref: IdentityRef | PemRef) -> list[str]:
    if isinstance(ref, PemRef):
        return [ref.name or Path(ref.pem).stem]
    cluster = state.cluster(ref.cluster)
    if cluster is None:
        return []
    per_node = itl_recovery_per_node(cluster.version)
    if ref.identity is Identity.ITLRECOVERY and (not per_node or ref.nodes is None):
        return [f"ITLRecovery-{cluster.name}"]
    if ref.identity is Identity.CAPF:
        return [f"capf-{cluster.publisher.name}"]
    if ref.nodes is None or ref.nodes.role is NodeRole.ALL:
        nodes = [n.name for n in cluster.nodes]
    elif ref.nodes.names is not None:
        nodes = list(ref.nodes.names)
    elif ref.nodes.role is NodeRole.PUBLISHER:
        nodes = [cluster.publisher.name]
    else:
        service = ref.nodes.role.service if ref.nodes.role else None
        nodes = [n.name for n in cluster.nodes_running(Service(service))] if service else []
    if ref.identity is Identity.ITLRECOVERY:  # R6: each node's own before 12.5
        pub = cluster.publisher.name
        return list(
            dict.fromkeys(
                itl_recovery_cert_id(cluster=cluster.name, node=n, publisher=pub, per_node=True)
                for n in nodes
            )
        )
    prefix = "" if ref.identity is Identity.CALLMANAGER else f"{ref.identity.value}-"
    return [prefix + n for n in nodes]


def declared_graph(state: DesiredState) -> MigrationGraph:
    mig = state.migration
    tracks = []
    for name in (mig.source, mig.target):
        cluster = state.cluster(name)
        trust = [
            Address.of("trust", d.cluster, d.store.value, cid)
            for d in state.trust
            if d.cluster == name
            for ref in d.certificates
            for cid in _cert_ids(state, ref)
        ]
        if cluster is None or not trust:
            continue
        pub = cluster.publisher.name
        tvs = [n.name for n in cluster.nodes_running(Service.TVS)]
        tracks.append(
            TrustTrack(
                trust=list(dict.fromkeys(trust)),
                replication=[Address.of("replication", name, n) for n in tvs if n != pub],
                tvs=[Address.of("tvs", name, n) for n in tvs],
            )
        )
    params = [Address.of("param", c, p) for c, values in desired_parameters(state).items() for p in values]
    scopes = {s.name: s.server for s in state.dhcp.scopes}
    waves = [
        WaveSpec(
            name=w.name,
            option150=[Address.of("option150", scopes[s], s) for s in w.scopes if s in scopes],
            reset=Address.of("reset", w.name) if w.reset else None,
            gate=Address.of("gate", w.name),
        )
        for w in mig.wave_list
    ]
    graph = build_migration_graph(tracks=tracks, params=params, waves=waves)
    by_text = {str(n): n for n in graph.nodes()}  # depends_on is written as text (not always well-formed)
    deps = {by_text[d.address]: list(d.after) for d in state.depends_on if d.address in by_text}
    return build_migration_graph(
        tracks=tracks,
        params=params,
        waves=waves,
        depends_on={a: [by_text[b] for b in reqs if b in by_text] for a, reqs in deps.items()},
    )
