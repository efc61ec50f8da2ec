"""``reconciler init``'s reads: a seed (two publishers, credential references, DHCP servers) in, what is
there out — nodes, their addresses and services, versions, CallManager groups, device pools, the TFTP
nodes, the RisPort70 allowance and today's option 150 of every scope of every DHCP server.

Called by ``reconciler.commands.init`` (through ``reconciler.wiring.init``). Every call is a read over
the same clients ``plan`` uses (AXL on the publisher, the DHCP backends). The seed is the desired
state's ``clusters`` entries without ``nodes`` but with ``publisher: HOST``, and its ``dhcp.servers``
as they are (docs/first-contact.md); ``read_seed`` checks it with the desired state's own schema
models, so a typo gets the same precise error.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from providers.cucm_axl import AxlClient
from providers.cucm_axl.client import ENTERPRISE_SERVICE, ENTERPRISE_WIDE_NODE
from reconciler.boundedio import MAX_DESIRED_BYTES, read_bounded
from reconciler.errors import ConfigError
from reconciler.vocabulary import SERVICE_NAMES, Service
from reconciler.wiring.connections import Connections
from schemas.cluster import Cluster
from schemas.dhcp import DhcpServer
from schemas.document import DesiredState

__all__ = ["ClusterFound", "Discovery", "NodeFound", "ScopeFound", "Seed", "discover", "read_seed"]

#: The services a desired state names per node (the ones the rules read: R4, R5, R8).
NODE_SERVICES = (Service.CALLMANAGER, Service.TFTP, Service.TVS, Service.CTL_PROVIDER, Service.CAPF)
_IPV4 = re.compile(r"\b(\d{1,3}(?:\.\d{1,3}){3})\b")


@dataclass(frozen=True, slots=True)
class Seed:
    path: Path
    raw: dict[str, Any]  # the seed as written (paths and references kept verbatim)
    clusters: tuple[Cluster, ...]  # validated, the publisher as the only node
    servers: tuple[DhcpServer, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeFound:
    name: str
    host: str
    host_from: str  # where the address came from ("the node name", "the description", ...)
    publisher: bool
    services: tuple[Service, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterFound:
    name: str
    role: str
    version: str
    nodes: tuple[NodeFound, ...]
    cm_groups: Mapping[str, tuple[str, ...]]
    device_pools: Mapping[str, str]  # pool -> CallManager group
    ris_allowance: int | None

    @property
    def tftp_nodes(self) -> tuple[str, ...]:
        return tuple(n.name for n in self.nodes if Service.TFTP in n.services)

    def tftp_hosts(self) -> tuple[str, ...]:
        return tuple(n.host for n in self.nodes if Service.TFTP in n.services)


@dataclass(frozen=True, slots=True, kw_only=True)
class ScopeFound:
    server: str
    name: str  # a Name for the YAML
    subnet: str
    pool: str | None
    relay: str | None
    option150: tuple[str, ...]


@dataclass(slots=True)
class Discovery:
    clusters: list[ClusterFound] = field(default_factory=list)
    scopes: list[ScopeFound] = field(default_factory=list)


def read_seed(path: Path) -> Seed:
    """Load and check a seed file; ``ConfigError`` with the first problem and where it is."""
    try:
        raw = yaml.safe_load(read_bounded(path, limit=MAX_DESIRED_BYTES))
    except OSError as exc:
        raise ConfigError(f"cannot read the seed {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not YAML: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("clusters"), list):
        raise ConfigError(f"{path}: a seed needs 'clusters:' (two entries with 'publisher:')",
                          hint="see docs/first-contact.md for the seed's shape")  # fmt: skip
    context = {"base_dir": path.resolve().parent}
    clusters = []
    for n, entry in enumerate(raw["clusters"]):
        if not isinstance(entry, dict) or "publisher" not in entry:
            raise ConfigError(f"{path}: clusters[{n}] needs 'publisher: HOST'")
        data = {k: v for k, v in entry.items() if k != "publisher"}
        data.setdefault("version", "14.0")  # discovered; only the shape is checked here
        data["nodes"] = [{"name": "publisher", "host": entry["publisher"], "publisher": True}]
        try:
            clusters.append(Cluster.model_validate(data, context=context))
        except ValidationError as exc:
            raise ConfigError(f"{path}: clusters[{n}]: {_first(exc)}") from exc
    roles = sorted(str(c.role) for c in clusters)
    if roles != ["source", "target"]:
        raise ConfigError(f"{path}: a seed names one source and one target cluster, got {roles}")
    servers = []
    adapter: TypeAdapter[DhcpServer] = TypeAdapter(DhcpServer)
    for n, entry in enumerate((raw.get("dhcp") or {}).get("servers") or []):
        try:
            servers.append(adapter.validate_python(entry, context=context))
        except ValidationError as exc:
            raise ConfigError(f"{path}: dhcp.servers[{n}]: {_first(exc)}") from exc
    return Seed(path=path, raw=raw, clusters=tuple(clusters), servers=tuple(servers))


def _first(exc: ValidationError) -> str:
    err = exc.errors()[0]
    return f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"


def _host(name: str, description: str) -> tuple[str, str]:
    try:
        ipaddress.ip_address(name)
        return name, "the process node's name"
    except ValueError:
        pass
    match = _IPV4.search(description)
    if match:
        return match.group(1), "the process node's description"
    return name, "the process node's name (a DNS name)"


def _cluster(cluster: Cluster) -> ClusterFound:
    with AxlClient.connect(cluster) as axl:
        version = axl.version()
        processes = axl.process_nodes()
        active: dict[str, set[str]] = {}
        for row in axl.node_services():
            if row.enabled:
                active.setdefault(row.node.lower(), set()).add(row.service)
        groups = {g.name: g.members for g in axl.callmanager_groups()}
        pools = {p.name: p.callmanager_group for p in axl.device_pools()}
        allowance = axl.service_parameter(
            node=ENTERPRISE_WIDE_NODE, service=ENTERPRISE_SERVICE, name="AllowedDeviceQueriesPerMinute"
        )
    nodes = []
    for proc in sorted(processes, key=lambda p: (not p.publisher, p.name)):
        host, source = _host(proc.name, proc.description)
        names = active.get(proc.name.lower(), set())
        services = tuple(s for s in NODE_SERVICES if str(SERVICE_NAMES[s]) in names)
        nodes.append(
            NodeFound(
                name=proc.name, host=host, host_from=source, publisher=proc.publisher, services=services
            )
        )
    value = allowance.value.strip() if allowance is not None else ""
    return ClusterFound(
        name=cluster.name,
        role=str(cluster.role),
        version=version,
        nodes=tuple(nodes),
        cm_groups=groups,
        device_pools=pools,
        ris_allowance=int(value) if value.isdigit() else None,
    )


def _scope_name(server: str, pool: str | None, subnet: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9_.-]+", "-", (pool or f"{server}-{subnet}").lower()).strip("-.") or "scope"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    taken.add(name)
    return name


def discover(seed: Seed, *, desired_for_dhcp: DesiredState | None = None) -> Discovery:
    """Read every cluster of ``seed`` and, given the desired state built from the clusters found
    (``desired_for_dhcp``: it names the CUCM DHCP server's node), every scope of every DHCP server."""
    found = Discovery(clusters=[_cluster(c) for c in seed.clusters])
    if desired_for_dhcp is None:
        return found
    conns = Connections(desired_for_dhcp)
    taken: set[str] = set()
    try:
        for server in desired_for_dhcp.dhcp.servers:
            backend = conns.dhcp(server.name)
            for scope in sorted(backend.list_scopes(), key=lambda s: s.subnet):
                pool = scope.name if str(server.kind) == "ios" else None
                found.scopes.append(
                    ScopeFound(
                        server=server.name,
                        name=_scope_name(
                            server.name,
                            pool or _short(scope.name, str(scope.subnet)),
                            str(scope.subnet),
                            taken,
                        ),
                        subnet=str(scope.subnet),
                        pool=pool,
                        relay=str(scope.relay) if scope.relay is not None else None,
                        option150=tuple(str(a) for a in scope.option150),
                    )
                )
    finally:
        conns.close()
    found.scopes.sort(key=lambda s: ipaddress.ip_network(s.subnet))  # waves follow the address plan
    return found


def _short(name: str, subnet: str) -> str | None:
    """A scope's own name when it is a usable YAML name (Kea/CUCM scopes are often named by subnet)."""
    return None if "/" in name or name == subnet.split("/", maxsplit=1)[0] else name


def cluster_for_nodes(seed_cluster: Cluster, found: ClusterFound) -> dict[str, Any]:
    """The seed cluster's data with the nodes found (for building the desired state to read DHCP)."""
    data: dict[str, Any] = seed_cluster.model_dump(mode="json", exclude_none=True)
    data["version"] = found.version
    data["nodes"] = [
        {"name": n.name, "host": n.host, "publisher": n.publisher, "services": [str(s) for s in n.services]}
        for n in found.nodes
    ]
    return data
