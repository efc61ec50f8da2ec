"""``build_lab(spec)``: turn a ``simulator.spec.LabSpec`` into a running in-process ``Lab``.

Creates the clusters (identities, services, trust stores, CM groups), the DHCP sources with every scope's
initial option 150 (the home cluster's TFTP nodes), and the phone fleet: every phone registered to the
home cluster with the CTL/ITL its first TFTP node serves (shared objects), or — ``on_target`` — already
on the target. Applies the spec's initial state (enterprise parameters, certificates already in trust
stores with their upload times, TVS start times, stale or empty ITLs, R1, phone groups with their own
device pool or ITL, option 150 values naming any address) and defects (services that fail to start,
per-node replication lag). Stand-in certificates (``StandIn``: an estate's subject, serial, issuer) are
minted by the ``IdentityFactory``. Nothing here is
logged in the operation log (building is not an operation). Called by the lab CLI, tests and bench.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from schemas.version import CucmVersion

from .. import labcerts
from ..labcerts import IdentityKind, IssuedCert
from ..spec import ItlState, LabSpec, ScopeSpec, StandIn, TrustSeed
from . import services as svc
from .clock import Clock, RealClock, Scheduler
from .cluster import Cluster, NodeSetup
from .dhcp import CucmDhcpServer, DhcpSource, IosRouter, KeaDhcpSource, Scope
from .identities import IdentityFactory
from .lab import Lab
from .phones import Phone, PhoneFleet, RegStatus, host_ip, mac_for
from .trustfiles import ServedFile, build_itl
from .truststore import CALLMANAGER_TRUST, PHONE_SAST_TRUST
from .tvs import TvsInterner

__all__ = ["build_lab"]


def _stale_itl(cluster: Cluster, node: str, factory: IdentityFactory, now: float) -> ServedFile:
    """An ITL signed by ``node``'s real signer whose TVS records name certificates the cluster no longer
    uses (as after a TVS regeneration the phone missed, R1)."""
    inputs = cluster.file_inputs(now)
    nodes = []
    for n in inputs.nodes:
        if n.tvs is None:
            nodes.append(n)
            continue
        ghost = factory.mint(
            kind=IdentityKind.TVS, host=n.host, cluster=cluster.name, ip=n.ip, generation=-1, now=now - 86_400
        )
        nodes.append(replace(n, tvs=ghost))
    stale = build_itl(replace(inputs, nodes=nodes), tftp_node=node, rollback_pre8=False)
    return replace(stale, label="stale")


def _fill_trust_stores(clusters: Iterable[Cluster], count: int, now: float) -> None:
    """Seed ``count`` unrelated certificates (as a long-lived cluster accumulates) into CallManager-trust
    and Phone-SAST-trust of every node, then reload the TVS caches (which therefore hold them too)."""
    key = labcerts.lab_key("ec-p256", slot=999_983)
    when = datetime.fromtimestamp(now, UTC)
    for cluster in clusters:
        for i in range(count):
            cert = labcerts.mint_identity(
                kind=IdentityKind.CALLMANAGER,
                host=f"legacy-{i:04d}",
                cluster=f"{cluster.name}-legacy",
                key=key,
                now=when,
            ).cert
            for store in (CALLMANAGER_TRUST, PHONE_SAST_TRUST):
                cluster.trust.seed(node=None, store=store, cert=cert)
        for node in cluster.nodes.values():
            if node.has(svc.TVS):
                node.services[svc.TVS].load_on_start(now)


def _seed_cert(
    seed: TrustSeed, clusters: dict[str, Cluster], factory: IdentityFactory, now: float
) -> IssuedCert:
    """The certificate a trust seed places: a cluster's identity, or a stand-in that is none."""
    if seed.cert is not None:
        return factory.stand_in(seed.cert, now=now)
    if seed.cluster is None or seed.identity is None:
        raise ValueError(f"a trust seed of {seed.store} names neither cluster/identity nor cert")
    origin = clusters[seed.cluster]
    kind = IdentityKind[seed.identity.upper()]
    node = seed.node or origin.publisher.name
    ident = origin.identity(node, kind)
    if ident is None:
        raise ValueError(f"{node} of {origin.name} has no {kind.value} identity")
    return ident


def _stand_ins(spec: LabSpec) -> tuple[dict[tuple[str, str, IdentityKind], StandIn], tuple[StandIn, ...]]:
    identities = {
        (cs.name, ns.name, IdentityKind[name.upper()]): stand_in
        for cs in spec.clusters
        for ns in cs.nodes
        for name, stand_in in ns.identities.items()
    }
    extra = tuple(dict.fromkeys(seed.cert for cs in spec.clusters for seed in cs.trust if seed.cert))
    return identities, extra


def _seed_trust(
    spec: LabSpec, clusters: dict[str, Cluster], factory: IdentityFactory, now: float
) -> list[tuple[float, Callable[[], None]]]:
    """The spec's certificates already in trust stores. Those without ``added_ago`` are placed now (long
    before any TVS start); the others come back as (when, place) events for ``_replay``."""
    events: list[tuple[float, Callable[[], None]]] = []
    for cs in spec.clusters:
        cluster = clusters[cs.name]
        for seed in cs.trust:
            ident = _seed_cert(seed, clusters, factory, now)
            targets = seed.nodes or tuple(cluster.nodes)
            if seed.added_ago is None:
                for target in targets:
                    cluster.trust.seed(node=target, store=seed.store, cert=ident.cert)
                continue
            when = now - seed.added_ago

            def place(cluster: Cluster = cluster, seed: TrustSeed = seed, cert: Any = ident.cert,
                      targets: tuple[str, ...] = targets, when: float = when) -> None:  # fmt: skip
                for target in targets:
                    cluster.trust.seed(node=target, store=seed.store, cert=cert, at=when)

            events.append((when, place))
    return events


def _replay(spec: LabSpec, clusters: dict[str, Cluster], events: list[tuple[float, Callable[[], None]]],
            now: float) -> None:  # fmt: skip
    """Place timed trust entries and (re)load TVS caches in time order, so a TVS that started before an
    upload does not know it (R8). Nodes without ``tvs_started_ago`` start TVS at ``now``, after all."""
    seeded = any(cs.trust for cs in spec.clusters)
    steps: list[tuple[float, int, Callable[[], None]]] = [(when, 0, place) for when, place in events]
    for cs in spec.clusters:
        for ns in cs.nodes:
            node = clusters[cs.name].nodes[ns.name]
            if node.has(svc.TVS) and (seeded or ns.tvs_started_ago is not None):
                when = now - (ns.tvs_started_ago or 0.0)
                steps.append((when, 1, functools.partial(node.services[svc.TVS].load_on_start, when)))
    # in time order; at equal times the upload first (a TVS started in that second has it)
    for _, _, step in sorted(steps, key=lambda s: (s[0], s[1])):
        step()


def _set_parameters(spec: LabSpec, clusters: dict[str, Cluster]) -> None:
    for cs in spec.clusters:
        for name, value in cs.parameters.items():
            text = ("True" if value else "False") if isinstance(value, bool) else str(value)
            clusters[cs.name].set_parameter(name, text)


def build_lab(spec: LabSpec, *, clock: Clock | None = None) -> Lab:
    clock = clock or RealClock()
    now = clock.now()
    scheduler = Scheduler()
    identities, extra = _stand_ins(spec)
    factory = IdentityFactory(lab_name=spec.name, key_pool=spec.key_pool, stand_ins=identities, extra=extra)
    interner = TvsInterner(spec.trust)
    clusters: dict[str, Cluster] = {}
    for cs in spec.clusters:
        clusters[cs.name] = Cluster(
            name=cs.name,
            version=CucmVersion(cs.version),
            mixed_mode=cs.mixed_mode,
            nodes=[
                NodeSetup(name=n.name, ip=n.ip, publisher=n.publisher, services=n.services) for n in cs.nodes
            ],
            cm_groups=cs.cm_groups,
            device_pools=cs.device_pools,
            scheduler=scheduler,
            factory=factory,
            interner=interner,
            now=now,
            replication_lag=cs.replication_lag,
            restart_duration=cs.restart_duration,
            knobs=spec.trust,
        )
    if spec.filler_trust_certs:
        _fill_trust_stores(clusters.values(), spec.filler_trust_certs, now)
    _set_parameters(spec, clusters)
    _replay(spec, clusters, _seed_trust(spec, clusters, factory, now), now)
    for lag in spec.defects.node_lag:
        clusters[lag.cluster].trust.node_lag[lag.node] = lag.seconds
    for ref in spec.defects.failing_services:
        clusters[ref.cluster].nodes[ref.node].services[ref.service].inject_start_failure(times=-1)

    sources = _dhcp(spec, clusters)
    fleet = _phones(spec, clusters, factory, now)
    roles = {cs.name: cs.role for cs in spec.clusters}
    return Lab(
        name=spec.name,
        clock=clock,
        scheduler=scheduler,
        clusters=clusters,
        roles=roles,
        sources=sources,
        scopes={
            ss.name: Scope(name=ss.name, subnet=ss.subnet, relay=ss.relay, source=ss.dhcp)
            for ss in spec.scopes
        },
        fleet=fleet,
        ca=factory.ca(now),
        knobs=spec.trust,
    )


def _tftp_ips(cluster: Cluster) -> tuple[str, ...]:
    return tuple(n.ip for n in cluster.nodes.values() if n.has(svc.TFTP))


def _dhcp(spec: LabSpec, clusters: dict[str, Cluster]) -> dict[str, DhcpSource]:
    """Every DHCP source, with each scope's option 150: the TFTP nodes of its ``tftp_cluster``."""
    sources: dict[str, DhcpSource] = {}
    for ds in spec.dhcp:
        if ds.kind == "ios":
            sources[ds.name] = IosRouter(name=ds.name, address=ds.address or "127.0.30.254")
        elif ds.kind == "cucm":
            sources[ds.name] = clusters[ds.cluster or spec.home].dhcp_server
        elif ds.kind == "kea":
            if ds.server is None or ds.client_port is None:
                raise ValueError(f"Kea DHCP source {ds.name} needs server and client_port")
            sources[ds.name] = KeaDhcpSource(name=ds.name, server=ds.server, client_port=ds.client_port)
        else:
            raise ValueError(f"unknown DHCP kind {ds.kind!r}")
    for ss in spec.scopes:
        tftp = ss.option150 if ss.option150 is not None else _tftp_ips(clusters[ss.tftp_cluster or spec.home])
        source = sources[ss.dhcp]
        if isinstance(source, IosRouter):
            source.put_pool(name=ss.pool or f"POOL-{ss.name}", network=ss.subnet, option150=tftp)
        elif isinstance(source, CucmDhcpServer):
            source.put_subnet(subnet=ss.subnet, tftp=tftp[:2])
    return sources


def _phones(spec: LabSpec, clusters: dict[str, Cluster], factory: IdentityFactory, now: float) -> PhoneFleet:
    """Every phone: on the home cluster with its CTL and the ITL the scope's ``itl`` says (current, stale
    R1, or none), or — the first ``on_target`` of a scope — already registered on the target."""
    home = clusters[spec.home]
    target_spec = spec.target()
    target = clusters[target_spec.name] if target_spec is not None else None
    first_tftp = next(n for n in home.nodes.values() if n.has(svc.TFTP))
    itl, ctl = home.files(first_tftp.name, now)
    fleet = PhoneFleet()
    files: dict[str, ServedFile | None] = {"current": itl, "empty": None}
    for si, ss in enumerate(spec.scopes):
        for pi, (device_pool, state) in enumerate(_phone_shapes(spec, ss)):
            if state not in files:
                files[state] = _stale_itl(home, first_tftp.name, factory, now)
            group = home.group_of(device_pool)
            reg_node = _first_running(home, group)
            phone = Phone(
                mac=mac_for(si, pi),
                model=ss.model,
                scope=ss.name,
                ip=host_ip(ss.subnet, pi),
                device_pool=device_pool,
                cluster=home.name,
                cm_group=group,
                ctl=ctl,
                itl=files[state],
            )
            phone.status = RegStatus.REGISTERED if reg_node else RegStatus.UNREGISTERED
            phone.node = reg_node
            phone.timestamp = now
            phone.tftp = first_tftp.ip
            if target is not None and pi < ss.on_target:
                _move_to(phone, target, now)
            fleet.add(phone)
    return fleet


def _phone_shapes(spec: LabSpec, scope: ScopeSpec) -> list[tuple[str, ItlState]]:
    """(device pool, ITL state) of each phone of ``scope``: the ``on_target`` ones, then its groups in
    order, then the rest, as the scope says."""
    default = (scope.device_pool, spec.itl_state(scope))
    shapes = [default] * min(scope.on_target, scope.phones)
    for group in scope.groups:
        shapes += [(group.device_pool or default[0], group.itl or default[1])] * group.phones
    shapes += [default] * (scope.phones - len(shapes))
    return shapes[: scope.phones]


def _first_running(cluster: Cluster, group: str) -> str | None:
    return next((n for n in cluster.cm_groups[group] if cluster.nodes[n].runs(svc.CALLMANAGER)), None)


def _move_to(phone: Phone, target: Cluster, now: float) -> None:
    """The phone as after an earlier wave: registered on ``target`` with the files its first TFTP node
    serves; RisPort70 of the cluster it left lists it UnRegistered."""
    tftp = next(n for n in target.nodes.values() if n.has(svc.TFTP))
    itl, ctl = target.files(tftp.name, now)
    group = target.group_of(phone.device_pool)
    node = _first_running(target, group)
    phone.left_cluster, phone.left_node, phone.left_at = phone.cluster, phone.node, now
    phone.cluster, phone.cm_group, phone.ctl, phone.itl, phone.tftp = target.name, group, ctl, itl, tftp.ip
    phone.node = node
    phone.status = RegStatus.REGISTERED if node else RegStatus.UNREGISTERED
    phone.timestamp = now
