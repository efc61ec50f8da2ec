"""Simulated CUCM clusters and nodes: version, mixed mode, services, identities, trust stores, enterprise
parameters, CallManager groups, the TFTP files and each node's TVS cache.

These objects hold state and domain behaviour but no lock and no operation log: ``simulator.model.lab``
wraps every call (one lock, one log). Faces and tests go through the ``Lab`` API.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from reconciler.errors import RemoteFaultError
from reconciler.vocabulary import EnterpriseParameter
from schemas.version import CucmVersion

from ..knobs import DEFAULT_KNOBS, TrustKnobs
from ..labcerts import IdentityKind, IssuedCert
from . import labtlv
from . import services as svc
from .certview import CertView, view_of
from .clock import Scheduler
from .dhcp import CucmDhcpServer
from .identities import IdentityFactory
from .labtlv import LabTlvFile
from .trustfiles import FileInputs, NodeCerts, ServedFile, build_config, build_ctl, build_itl
from .truststore import CALLMANAGER_TRUST, PHONE_SAST_TRUST, TOMCAT_TRUST, ClusterTrust
from .tvs import LabTvsCache, TvsInterner

__all__ = ["ROLLBACK_PARAMETER", "Cluster", "Node", "NodeSetup"]

ROLLBACK_PARAMETER = str(EnterpriseParameter.ROLLBACK_TO_PRE8)
DEFAULT_PARAMETERS: Mapping[str, str] = {
    ROLLBACK_PARAMETER: "False",
    "Allowed Device Queries Per Minute": "15",
    "Cluster Security Mode": "1",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeSetup:
    """How to build one node: name, loopback IP, publisher flag and activated services."""

    name: str
    ip: str
    publisher: bool
    services: tuple[str, ...]


class Node:
    """One CUCM server."""

    def __init__(self, *, setup: NodeSetup, cluster: str) -> None:
        self.name = setup.name
        self.ip = setup.ip
        self.publisher = setup.publisher
        self.cluster = cluster
        self.services: dict[str, svc.Service] = {}
        self.identities: dict[IdentityKind, IssuedCert] = {}
        self.tvs_cache: LabTvsCache | None = None
        self.tvs_loaded_at: float | None = None

    def runs(self, service: str) -> bool:
        """True when ``service`` is activated and Started right now."""
        found = self.services.get(service)
        return found is not None and found.running

    def has(self, service: str) -> bool:
        """True when ``service`` is activated on this node (whatever its status)."""
        return service in self.services

    def identity(self, kind: IdentityKind) -> IssuedCert | None:
        return self.identities.get(kind)


class Cluster:
    """One CUCM cluster."""

    def __init__(
        self,
        *,
        name: str,
        version: CucmVersion,
        mixed_mode: bool,
        nodes: Sequence[NodeSetup],
        cm_groups: Mapping[str, Sequence[str]],
        device_pools: Mapping[str, str],
        scheduler: Scheduler,
        factory: IdentityFactory,
        interner: TvsInterner,
        now: float,
        replication_lag: float = 0.0,
        restart_duration: float = 10.0,
        knobs: TrustKnobs = DEFAULT_KNOBS,
    ) -> None:
        self.name = name
        self.knobs = knobs
        self.version = version
        self.mixed_mode = mixed_mode
        self.nodes: dict[str, Node] = {s.name: Node(setup=s, cluster=name) for s in nodes}
        pubs = [n for n in self.nodes.values() if n.publisher]
        if len(pubs) != 1:
            raise ValueError(f"cluster {name} needs exactly one publisher, has {len(pubs)}")
        self.publisher = pubs[0]
        self.cm_groups: dict[str, tuple[str, ...]] = {g: tuple(m) for g, m in cm_groups.items()}
        self.device_pools = dict(device_pools)
        self.parameters: dict[str, str] = dict(DEFAULT_PARAMETERS)
        self.trust = ClusterTrust(nodes=self.nodes, scheduler=scheduler, replication_lag=replication_lag)
        self.dhcp_server = CucmDhcpServer(name=f"{name}-dhcp", cluster=name)
        self._scheduler = scheduler
        self._factory = factory
        self._interner = interner
        self._generations: dict[tuple[str, IdentityKind], int] = {}
        self._files_gen = 0
        self._files: dict[str, tuple[int, ServedFile, ServedFile | None]] = {}
        self._configs: dict[tuple[str, str], tuple[int, bytes]] = {}
        self.cluster_itl_recovery: IssuedCert | None = None
        for setup in nodes:
            node = self.nodes[setup.name]
            for service in setup.services:
                node.services[service] = svc.Service(
                    node=node.name,
                    name=service,
                    scheduler=scheduler,
                    started_at=now,
                    restart_duration=restart_duration,
                )
            if svc.TVS in node.services:
                node.services[svc.TVS].set_on_started(functools.partial(self._load_tvs, node))
        self._mint_all(now)
        for node in self.nodes.values():
            if svc.TVS in node.services:
                node.services[svc.TVS].load_on_start(now)

    # -- identities ----------------------------------------------------------------------------------

    @property
    def modern(self) -> bool:
        """ITL/CTL signed by ITLRecovery (12.0 and later)."""
        return self.version.at_least(12)

    @property
    def single_itl_recovery(self) -> bool:
        """One cluster-wide ITLRecovery (12.5 and later; ``TrustKnobs.itl_recovery_cluster_wide_from``)."""
        return self.version.at_least(*self.knobs.itl_recovery_cluster_wide_from)

    def _mint(self, node: Node, kind: IdentityKind, now: float) -> IssuedCert:
        gen = self._generations.get((node.name, kind), -1) + 1
        self._generations[(node.name, kind)] = gen
        return self._factory.mint(
            kind=kind, host=node.name, cluster=self.name, ip=node.ip, generation=gen, now=now
        )

    def _mint_all(self, now: float) -> None:
        for node in self.nodes.values():
            for kind in (IdentityKind.CALLMANAGER, IdentityKind.TVS, IdentityKind.TOMCAT):
                node.identities[kind] = self._mint(node, kind, now)
            if node.publisher or not self.single_itl_recovery:
                node.identities[IdentityKind.ITLRECOVERY] = self._mint(node, IdentityKind.ITLRECOVERY, now)
            if node.publisher:
                node.identities[IdentityKind.CAPF] = self._mint(node, IdentityKind.CAPF, now)
        if self.single_itl_recovery:
            self.cluster_itl_recovery = self.publisher.identities[IdentityKind.ITLRECOVERY]
        # CUCM keeps its own nodes' CallManager certificates in CallManager-trust and the tomcat
        # certificates in tomcat-trust on every node.
        for node in self.nodes.values():
            self.trust.seed(
                node=None, store=CALLMANAGER_TRUST, cert=node.identities[IdentityKind.CALLMANAGER].cert
            )
            self.trust.seed(node=None, store=TOMCAT_TRUST, cert=node.identities[IdentityKind.TOMCAT].cert)

    def itl_recovery(self, node: str | None = None) -> IssuedCert:
        """The ITLRecovery identity (the cluster's from 12.5; ``node``'s — default publisher — before)."""
        if self.cluster_itl_recovery is not None:
            return self.cluster_itl_recovery
        return self.nodes[node or self.publisher.name].identities[IdentityKind.ITLRECOVERY]

    def identity(self, node: str, kind: IdentityKind) -> IssuedCert | None:
        if kind is IdentityKind.ITLRECOVERY:
            return self.itl_recovery(node)
        return self.nodes[node].identities.get(kind)

    def regenerate(self, *, node: str, kind: IdentityKind, now: float) -> IssuedCert:
        """Regenerate an identity (R14: phones and TVS caches do not learn about it by themselves)."""
        target = self.nodes[node]
        if kind is IdentityKind.ITLRECOVERY and self.single_itl_recovery:
            target = self.publisher
        elif kind not in target.identities:
            raise RemoteFaultError(f"{node} has no {kind.value} identity", endpoint=node)
        old = target.identities[kind]
        new = self._mint(target, kind, now)
        target.identities[kind] = new
        if kind is IdentityKind.ITLRECOVERY and self.single_itl_recovery:
            self.cluster_itl_recovery = new
        store = {IdentityKind.CALLMANAGER: CALLMANAGER_TRUST, IdentityKind.TOMCAT: TOMCAT_TRUST}.get(kind)
        if store is not None:
            old_view = view_of(old.cert)
            self.trust.delete(node=self.publisher.name, store=store, subject=old_view.subject, now=now)
            self.trust.upload(node=self.publisher.name, store=store, cert=new.cert, now=now)
        self.invalidate_files()
        return new

    # -- parameters ----------------------------------------------------------------------------------

    @property
    def rollback_pre8(self) -> bool:
        return self.parameters.get(ROLLBACK_PARAMETER, "False").strip().lower() == "true"

    def set_parameter(self, name: str, value: str) -> str | None:
        previous = self.parameters.get(name)
        if name == ROLLBACK_PARAMETER and value.strip().lower() not in ("true", "false"):
            raise RemoteFaultError(f"{name} must be True or False", endpoint=self.publisher.name)
        self.parameters[name] = value
        if name == ROLLBACK_PARAMETER:
            self.invalidate_files()
        return previous

    # -- TFTP files ----------------------------------------------------------------------------------

    def invalidate_files(self) -> None:
        self._files_gen += 1

    def file_inputs(self, now: float) -> FileInputs:
        """Everything the ITL/CTL depend on right now (identities, TFTP/TVS nodes, CAPF)."""
        certs_of = [
            NodeCerts(
                host=n.name,
                ip=n.ip,
                callmanager=n.identities[IdentityKind.CALLMANAGER],
                tvs=n.identities[IdentityKind.TVS] if n.has(svc.TVS) else None,
                runs_tftp=n.has(svc.TFTP),
                runs_callmanager=n.has(svc.CALLMANAGER),
            )
            for n in self.nodes.values()
        ]
        recovery = {n: self.itl_recovery(n) for n in self.nodes}
        capf = self.publisher.identities.get(IdentityKind.CAPF) if self.publisher.has(svc.CAPF) else None
        return FileInputs(
            cluster=self.name,
            modern=self.modern,
            publisher=self.publisher.name,
            nodes=certs_of,
            itl_recovery=recovery,
            capf=capf,
            timestamp=int(now),
        )

    def files(self, node: str, now: float) -> tuple[ServedFile, ServedFile | None]:
        """(ITL, CTL or None) as TFTP on ``node`` serves them now; rebuilt only when inputs changed."""
        cached = self._files.get(node)
        if cached is not None and cached[0] == self._files_gen:
            return cached[1], cached[2]
        inputs = self.file_inputs(now)
        itl = build_itl(inputs, tftp_node=node, rollback_pre8=self.rollback_pre8)
        ctl = build_ctl(inputs, tftp_node=node) if self.mixed_mode else None
        if (
            cached is not None
            and ctl is not None
            and cached[2] is not None
            and cached[2].parsed.records == ctl.parsed.records
        ):
            ctl = cached[2]  # the CTL did not change (e.g. only the rollback parameter did)
        self._files[node] = (self._files_gen, itl, ctl)
        return itl, ctl

    def config_file(self, node: str, *, mac: str, now: float) -> LabTlvFile:
        """The signed configuration ``SEP<MAC>.cnf.xml.sgn`` TFTP on ``node`` serves (parsed)."""
        return labtlv.read(self.config_bytes(node, mac=mac, now=now), records=False)

    def config_bytes(self, node: str, *, mac: str, now: float) -> bytes:
        key = (node, mac)
        cached = self._configs.get(key)
        if cached is None or cached[0] != self._files_gen:
            inputs = self.file_inputs(now)
            certs_of = next(n for n in inputs.nodes if n.host == node)
            data = build_config(mac=mac, cluster=self.name, tftp_node=certs_of, modern=self.modern,
                                timestamp=int(now))  # fmt: skip
            cached = (self._files_gen, data)
            self._configs[key] = cached
        return cached[1]

    # -- TVS -----------------------------------------------------------------------------------------

    def _load_tvs(self, node: Node, when: float) -> None:
        node.tvs_cache = self.store_cache(node.name)
        node.tvs_loaded_at = when

    def store_cache(self, node: str) -> LabTvsCache:
        """What TVS on ``node`` would load if it started now (its current trust stores)."""
        stores = self.trust.node(node)
        return self._interner.load(
            {
                CALLMANAGER_TRUST: stores.views(CALLMANAGER_TRUST),
                PHONE_SAST_TRUST: stores.views(PHONE_SAST_TRUST),
            }
        )

    def tvs_view(self, node: str) -> CertView | None:
        ident = self.nodes[node].identities.get(IdentityKind.TVS)
        return view_of(ident.cert) if ident else None

    def group_of(self, device_pool: str) -> str:
        return self.device_pools.get(device_pool) or next(iter(self.cm_groups))
