"""``build_lab(spec)``: turn a ``simulator.spec.LabSpec`` into a running in-process ``Lab``.

Creates the clusters (identities, services, trust stores, CM groups), the DHCP sources with every scope's
initial option 150 (the home cluster's TFTP nodes), and the phone fleet: every phone registered to the
home cluster with the CTL/ITL its first TFTP node serves (shared objects). Applies the spec's defects:
stale ITLs in some scopes (R1), services that fail to start, per-node replication lag. Nothing here is
logged in the operation log (building is not an operation). Called by the lab CLI, tests and bench.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime

from reconciler.cucm import certs
from reconciler.cucm.certs import IdentityKind
from schemas.version import CucmVersion

from ..spec import LabSpec
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
    key = certs.shared_lab_key("ec-p256", slot=999_983)
    when = datetime.fromtimestamp(now, UTC)
    for cluster in clusters:
        for i in range(count):
            cert = certs.generate_identity(
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


def build_lab(spec: LabSpec, *, clock: Clock | None = None) -> Lab:
    clock = clock or RealClock()
    now = clock.now()
    scheduler = Scheduler()
    factory = IdentityFactory(lab_name=spec.name, key_pool=spec.key_pool)
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
    for (cluster, node), lag in spec.defects.node_lag.items():
        clusters[cluster].trust.node_lag[node] = lag
    for cluster, node, service in spec.defects.failing_services:
        clusters[cluster].nodes[node].services[service].inject_start_failure(times=-1)

    home = clusters[spec.home]
    home_tftp = tuple(n.ip for n in home.nodes.values() if n.has(svc.TFTP))
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
    scopes: dict[str, Scope] = {}
    for ss in spec.scopes:
        scopes[ss.name] = Scope(name=ss.name, subnet=ss.subnet, relay=ss.relay, source=ss.dhcp)
        source = sources[ss.dhcp]
        if isinstance(source, IosRouter):
            source.put_pool(name=ss.pool or f"POOL-{ss.name}", network=ss.subnet, option150=home_tftp)
        elif isinstance(source, CucmDhcpServer):
            source.put_subnet(subnet=ss.subnet, tftp=home_tftp[:2])

    first_tftp = next(n for n in home.nodes.values() if n.has(svc.TFTP))
    itl, ctl = home.files(first_tftp.name, now)
    fleet = PhoneFleet()
    stale: ServedFile | None = None
    for si, ss in enumerate(spec.scopes):
        phone_itl = itl
        if ss.name in spec.defects.stale_itl_scopes:
            stale = stale or _stale_itl(home, first_tftp.name, factory, now)
            phone_itl = stale
        group = home.group_of(ss.device_pool)
        reg_node: str | None = next(
            (n for n in home.cm_groups[group] if home.nodes[n].runs(svc.CALLMANAGER)), None
        )
        for pi in range(ss.phones):
            phone = Phone(
                mac=mac_for(si, pi),
                model=ss.model,
                scope=ss.name,
                ip=host_ip(ss.subnet, pi),
                device_pool=ss.device_pool,
                cluster=home.name,
                cm_group=group,
                ctl=ctl,
                itl=phone_itl,
            )
            phone.status = RegStatus.REGISTERED if reg_node else RegStatus.UNREGISTERED
            phone.node = reg_node
            phone.timestamp = now
            phone.tftp = first_tftp.ip
            fleet.add(phone)
    roles = {cs.name: cs.role for cs in spec.clusters}
    return Lab(
        name=spec.name,
        clock=clock,
        scheduler=scheduler,
        clusters=clusters,
        roles=roles,
        sources=sources,
        scopes=scopes,
        fleet=fleet,
        ca=factory.ca(now),
        knobs=spec.trust,
    )
