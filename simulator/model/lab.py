"""``Lab``: the thread-safe façade over the model — the only object faces and tests talk to.

One re-entrant lock guards everything; every public method first settles due timed events (replication,
service transitions, TVS cache loads) against the lab's ``Clock``; every mutating method records one
``Operation`` in ``operation_log`` (reads record nothing; a wire boot's commit is the phone's own doing and
goes to the boot worker's log instead). Returned values are immutable snapshots
(``ClusterInfo``, ``NodeInfo``, ``ServiceSnapshot``, ``TrustEntry``, ``PhoneView``, ``Registration``) or
bytes, so callers never hold live model state. Built by ``simulator.model.build.build_lab``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from reconciler.errors import RemoteFaultError, UnreachableError

from ..knobs import TrustKnobs
from ..labcerts import IdentityKind, IssuedCert
from . import services as svc
from .boot import BootStats, boot_phones
from .clock import Clock, Scheduler
from .cluster import Cluster
from .dhcp import CucmDhcpServer, DhcpSource, IosRouter, KeaDhcpSource, Scope
from .lablock import locked as _locked
from .labwire import WireBoots
from .oplog import OperationLog
from .phones import PhoneFleet, PhoneView, Registration
from .truststore import TrustEntry, UploadResult
from .tvs import LabTvsCache

__all__ = ["ClusterInfo", "Lab", "NodeInfo"]

_PER_PHONE = re.compile(r"^(CTL|ITL)SEP[0-9A-F]{12}\.tlv$", re.IGNORECASE)


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeInfo:
    name: str
    ip: str
    publisher: bool
    cluster: str
    services: tuple[str, ...]  # activated services


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterInfo:
    name: str
    role: str
    version: str
    mixed_mode: bool
    publisher: str
    nodes: tuple[NodeInfo, ...]
    cm_groups: Mapping[str, tuple[str, ...]]
    device_pools: Mapping[str, str]

    def node(self, name: str) -> NodeInfo:
        for n in self.nodes:
            if name in (n.name, n.ip):
                return n
        raise KeyError(f"cluster {self.name} has no node {name}")

    def nodes_running(self, service: str) -> tuple[NodeInfo, ...]:
        """Nodes where ``service`` is activated (e.g. every TFTP node, R4)."""
        return tuple(n for n in self.nodes if service in n.services)


class Lab(WireBoots):
    """Two (or more) clusters, DHCP sources, scopes and a phone fleet behind one lock."""

    def __init__(
        self,
        *,
        name: str,
        clock: Clock,
        scheduler: Scheduler,
        clusters: Mapping[str, Cluster],
        roles: Mapping[str, str],
        sources: Mapping[str, DhcpSource],
        scopes: Mapping[str, Scope],
        fleet: PhoneFleet,
        ca: IssuedCert,
        knobs: TrustKnobs | None = None,
    ) -> None:
        self.knobs = knobs or TrustKnobs()
        self.name = name
        self.clock = clock
        self.operation_log = OperationLog()
        self._lock = threading.RLock()
        self._scheduler = scheduler
        self._clusters = dict(clusters)
        self._roles = dict(roles)
        self._sources = dict(sources)
        self._scopes = dict(scopes)
        self._fleet = fleet
        self.ca = ca
        self.last_boot: BootStats | None = None
        self._init_boots()

    # -- plumbing ------------------------------------------------------------------------------------

    def _settle(self) -> None:
        self._scheduler.settle(self.clock.now())

    def _log(self, op: str, target: str, detail: str = "") -> None:
        self.operation_log.record(at=self.clock.now(), op=op, target=target, detail=detail)

    def _cluster(self, name: str) -> Cluster:
        try:
            return self._clusters[name]
        except KeyError:
            raise KeyError(f"no cluster {name!r}; clusters: {', '.join(self._clusters)}") from None

    def _node(self, cluster: str, node: str) -> tuple[Cluster, str]:
        c = self._cluster(cluster)
        for n in c.nodes.values():
            if node in (n.name, n.ip):
                return c, n.name
        raise KeyError(f"cluster {cluster} has no node {node!r}")

    def _service(self, cluster: str, node: str, name: str) -> svc.Service:
        c, n = self._node(cluster, node)
        found = c.nodes[n].services.get(name)
        if found is None:
            raise RemoteFaultError(f"{name} is not activated on {n}", endpoint=n, code="ServiceNotActivated")
        return found

    @_locked
    def settle(self) -> None:
        """Apply every event due by now (the other methods do this themselves)."""

    # -- topology (reads) ----------------------------------------------------------------------------

    @_locked
    def cluster(self, name: str) -> ClusterInfo:
        c = self._cluster(name)
        nodes = tuple(
            NodeInfo(name=n.name, ip=n.ip, publisher=n.publisher, cluster=c.name, services=tuple(n.services))
            for n in c.nodes.values()
        )
        return ClusterInfo(
            name=c.name,
            role=self._roles.get(c.name, ""),
            version=str(c.version),
            mixed_mode=c.mixed_mode,
            publisher=c.publisher.name,
            nodes=nodes,
            cm_groups=dict(c.cm_groups),
            device_pools=dict(c.device_pools),
        )

    def clusters(self) -> tuple[ClusterInfo, ...]:
        return tuple(self.cluster(name) for name in self._clusters)

    @_locked
    def node_at(self, ip: str) -> NodeInfo | None:
        """The node listening on ``ip`` (faces bind one loopback IP per node)."""
        for c in self._clusters.values():
            for n in c.nodes.values():
                if n.ip == ip:
                    return self.cluster(c.name).node(n.name)
        return None

    @_locked
    def identity(self, cluster: str, node: str, kind: IdentityKind | str) -> IssuedCert | None:
        c, n = self._node(cluster, node)
        return c.identity(n, IdentityKind(kind))

    @_locked
    def regenerate_identity(self, *, cluster: str, node: str, kind: IdentityKind | str) -> IssuedCert:
        """Regenerate an identity certificate (R14); ITL/CTL are rebuilt, TVS caches are not."""
        c, n = self._node(cluster, node)
        self._log("regenerate_identity", f"{cluster}/{n}", str(IdentityKind(kind)))
        return c.regenerate(node=n, kind=IdentityKind(kind), now=self.clock.now())

    @_locked
    def set_mixed_mode(self, *, cluster: str, enabled: bool) -> None:
        c = self._cluster(cluster)
        self._log("set_mixed_mode", cluster, str(enabled))
        c.mixed_mode = enabled
        c.invalidate_files()

    # -- trust stores --------------------------------------------------------------------------------

    @_locked
    def trust_store(self, cluster: str, node: str, store: str) -> tuple[TrustEntry, ...]:
        c, n = self._node(cluster, node)
        return c.trust.node(n).entries(store)

    @_locked
    def trust_store_changed_at(self, cluster: str, node: str, store: str | None = None) -> float | None:
        c, n = self._node(cluster, node)
        return c.trust.node(n).changed_at(store)

    @_locked
    def upload_trust(self, *, cluster: str, node: str, store: str, cert: x509.Certificate) -> UploadResult:
        """Upload a trust certificate on ``node`` (normally the publisher); replicates after the lag."""
        c, n = self._node(cluster, node)
        self._log("upload_trust", f"{cluster}/{n}/{store}", cert.subject.rfc4514_string())
        return c.trust.upload(node=n, store=store, cert=cert, now=self.clock.now())

    @_locked
    def delete_trust(
        self, *, cluster: str, node: str, store: str, subject: str | None = None, file_name: str | None = None
    ) -> bool:
        """Delete by subject (CUCM ``;`` form) or trust file name, cluster-wide; False when absent."""
        c, n = self._node(cluster, node)
        self._log("delete_trust", f"{cluster}/{n}/{store}", subject or file_name or "")
        if subject is None and file_name is not None:
            subject = c.trust.node(n).subject_for_file(store, file_name)
        if subject is None:
            return False
        return c.trust.delete(node=n, store=store, subject=subject, now=self.clock.now())

    @_locked
    def set_replication_lag(self, *, cluster: str, seconds: float, node: str | None = None) -> None:
        c = self._cluster(cluster)
        self._log("set_replication_lag", f"{cluster}/{node or '*'}", f"{seconds:g}s")
        if node is None:
            c.trust.replication_lag = seconds
        else:
            c.trust.node_lag[self._node(cluster, node)[1]] = seconds

    # -- services ------------------------------------------------------------------------------------

    @_locked
    def service_status(self, cluster: str, node: str, name: str) -> svc.ServiceSnapshot:
        c, n = self._node(cluster, node)
        found = c.nodes[n].services.get(name)
        if found is None:
            return svc.ServiceSnapshot(
                node=n,
                name=name,
                activated=False,
                status=svc.ServiceStatus.STOPPED,
                start_time=None,
                reason="Service Not Activated",
            )
        return found.snapshot()

    @_locked
    def services(self, cluster: str, node: str) -> tuple[svc.ServiceSnapshot, ...]:
        c, n = self._node(cluster, node)
        return tuple(s.snapshot() for s in c.nodes[n].services.values())

    @_locked
    def control_service(
        self, *, cluster: str, node: str, name: str, action: svc.ServiceAction | str
    ) -> svc.ServiceSnapshot:
        """Start/Stop/Restart; the transition takes the service's restart duration of lab time."""
        service = self._service(cluster, node, name)
        act = svc.ServiceAction(action.title() if isinstance(action, str) else action)
        self._log("control_service", f"{cluster}/{service.node}", f"{act.value} {name}")
        service.control(act, self.clock.now())
        return service.snapshot()

    @_locked
    def inject_service_failure(self, *, cluster: str, node: str, name: str, times: int = -1) -> None:
        """Fault injection: the next ``times`` starts of the service fail (-1: all; 0: clear)."""
        service = self._service(cluster, node, name)
        self._log("inject_service_failure", f"{cluster}/{service.node}", f"{name} x{times}")
        service.inject_start_failure(times=times)

    @_locked
    def tvs_cache(self, cluster: str, node: str) -> tuple[LabTvsCache | None, float | None]:
        """(cache, loaded_at) of TVS on ``node``: what it answers from until its next start."""
        c, n = self._node(cluster, node)
        return c.nodes[n].tvs_cache, c.nodes[n].tvs_loaded_at

    # -- enterprise parameters -----------------------------------------------------------------------

    @_locked
    def enterprise_parameter(self, cluster: str, name: str) -> str | None:
        return self._cluster(cluster).parameters.get(name)

    @_locked
    def enterprise_parameters(self, cluster: str) -> dict[str, str]:
        return dict(self._cluster(cluster).parameters)

    @_locked
    def set_enterprise_parameter(self, *, cluster: str, name: str, value: str) -> str | None:
        """Set a parameter; returns the previous value. The rollback parameter rebuilds the ITL (R2)."""
        self._log("set_enterprise_parameter", cluster, f"{name}={value}")
        return self._cluster(cluster).set_parameter(name, value)

    # -- TFTP ----------------------------------------------------------------------------------------

    @_locked
    def tftp_file(self, cluster: str, node: str, filename: str) -> bytes | None:
        """A file as TFTP on ``node`` serves it: ITLFile.tlv, CTLFile.tlv, ITLSEP<MAC>.tlv, CTLSEP<MAC>.tlv
        (same content). None when the file does not exist (no CTL outside mixed mode); raises
        ``UnreachableError`` when Cisco Tftp is not running there."""
        c, n = self._node(cluster, node)
        if not c.nodes[n].runs(svc.TFTP):
            raise UnreachableError(f"Cisco Tftp is not running on {n}", endpoint=n)
        upper = filename.upper()
        if _PER_PHONE.match(filename):
            upper = upper[:3] + "FILE.TLV"
        if upper not in ("ITLFILE.TLV", "CTLFILE.TLV"):
            return None
        itl, ctl = c.files(n, self.clock.now())
        chosen = itl if upper.startswith("ITL") else ctl
        return chosen.data if chosen is not None else None

    # -- DHCP ----------------------------------------------------------------------------------------

    @_locked
    def scopes(self) -> tuple[Scope, ...]:
        return tuple(self._scopes.values())

    @_locked
    def dhcp_source(self, name: str) -> DhcpSource:
        """The source object (read its pools/subnets; change them only through the Lab methods)."""
        return self._sources[name]

    def option150(self, scope: str, *, mac: str | None = None) -> tuple[str, ...]:
        """What a phone in ``scope`` gets as option 150 now (asks Kea over the wire for Kea scopes, with the
        lock released: booting phones ask it at once, each with its own ``mac``; the model's IOS and CUCM
        sources under the lock)."""
        with self._lock:
            target = self._scopes[scope]
            source = self._sources[target.source]
            if not isinstance(source, KeaDhcpSource):
                return tuple(source.option150(target))
        return source.option150(target) if mac is None else source.option150(target, mac=mac)

    @_locked
    def set_option150(self, *, scope: str, addresses: Iterable[str]) -> None:
        """Change option 150 for ``scope`` on its IOS pool or CUCM DHCP subnet (R12)."""
        target = self._scopes[scope]
        source = self._sources[target.source]
        addrs = tuple(addresses)
        if isinstance(source, IosRouter):
            pool = source.pool_for(target.subnet)
            if pool is None:
                raise RemoteFaultError(f"no IOS pool serves {target.subnet}", endpoint=source.name)
            self.set_ios_pool_option150(router=source.name, pool=pool.name, addresses=addrs)
        elif isinstance(source, CucmDhcpServer):
            self.set_cucm_dhcp_subnet(cluster=source.cluster, subnet=target.subnet, tftp=addrs)
        else:
            raise RemoteFaultError(
                f"scope {scope} is served by {source.kind} {source.name}; change it there",
                endpoint=source.name,
            )

    @_locked
    def set_ios_pool_option150(self, *, router: str, pool: str, addresses: Iterable[str]) -> None:
        source = self._sources[router]
        if not isinstance(source, IosRouter):
            raise KeyError(f"{router} is not an IOS router")
        addrs = tuple(addresses)
        self._log("set_ios_pool_option150", f"{router}/{pool}", " ".join(addrs))
        source.set_option150(pool=pool, addresses=addrs)

    @_locked
    def set_cucm_dhcp_subnet(self, *, cluster: str, subnet: str, tftp: Iterable[str]) -> None:
        addrs = tuple(tftp)
        self._log("set_cucm_dhcp_subnet", f"{cluster}/{subnet}", " ".join(addrs))
        self._cluster(cluster).dhcp_server.put_subnet(subnet=subnet, tftp=addrs)

    # -- phones --------------------------------------------------------------------------------------

    @_locked
    def phones(
        self, names: Iterable[str] | None = None, *, scope: str | None = None
    ) -> tuple[PhoneView, ...]:
        return tuple(PhoneView.of(p) for p in self._fleet.select(names, scope=scope))

    @_locked
    def phone(self, name: str) -> PhoneView:
        found = self._fleet.get(name)
        if found is None:
            raise KeyError(name)
        return PhoneView.of(found)

    @_locked
    def phone_count(self) -> int:
        return len(self._fleet)

    @_locked
    def reset_phones(
        self, names: Iterable[str] | None = None, *, scope: str | None = None, device_pool: str | None = None
    ) -> BootStats:
        """Reset phones (by name and/or scope; all when both None): each boots as boot.py describes —
        at once on the model path; with a booter attached (the wire path, ``simulator.lab.wireboot``) the
        phones show as rebooting (unregistered) and the booter boots them over the faces later.
        ``device_pool``: the reset is one pool-level reset (AXL ``resetDevicePool``) of ``names``; it is
        logged as ``reset_device_pool`` of that pool instead of ``reset_phones``."""
        chosen = self._fleet.select(names, scope=scope)
        if device_pool is not None:
            self._log("reset_device_pool", device_pool, f"{len(chosen)} phones")
        else:
            self._log("reset_phones", scope or "*", f"{len(chosen)} phones")
        if self._boot_later(chosen):
            return BootStats(phones=len(chosen), distinct_decisions=0, registered=0)
        stats = boot_phones(
            chosen,
            clusters=self._clusters,
            sources=self._sources,
            scopes=self._scopes,
            now=self.clock.now(),
            knobs=self.knobs,
        )
        self.last_boot = stats
        return stats

    @_locked
    def registrations(
        self, cluster: str | None = None, *, names: Iterable[str] | None = None
    ) -> tuple[Registration, ...]:
        """What RisPort70 of ``cluster`` reports (device, node, status, IP, timestamp, reason); only
        the devices ``names`` when given."""
        return tuple(self._fleet.registrations(cluster, names=names))

    def describe(self) -> dict[str, Any]:
        """A small JSON-able summary (for ``lab status``)."""
        return {
            "name": self.name,
            "clusters": [c.name for c in self.clusters()],
            "phones": self.phone_count(),
            "scopes": [s.name for s in self.scopes()],
            "operations": len(self.operation_log),
        }
