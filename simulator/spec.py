"""The small lab spec: what the builder (``simulator.model.build``) turns into a ``Lab``.

A spec names versions, nodes and their services, CallManager groups, DHCP sources and scopes with their
phone counts, plus deliberate defects (stale ITL in a scope, a service that fails to (re)start,
replication lag). ``default_lab()`` is the lab of docs/lab.md (11.5 source, 14.0 target, 3 nodes each, ~300
phones in three scopes); ``largest_estate()`` is the largest supported estate (2 × 21 nodes, 80,000 phones,
1,000 scopes). Plain frozen dataclasses: no I/O, cheap to build; used by the lab CLI, tests and bench.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from simulator.faces.dialect import WireDialect
from simulator.knobs import TrustKnobs

__all__ = [
    "CALLMANAGER",
    "CAPF",
    "CTL_PROVIDER",
    "TFTP",
    "TVS",
    "ClusterSpec",
    "DhcpSpec",
    "LabDefects",
    "LabSpec",
    "NodeSpec",
    "ScopeSpec",
    "default_lab",
    "largest_estate",
]

CALLMANAGER = "Cisco CallManager"
TFTP = "Cisco Tftp"
TVS = "Cisco Trust Verification Service"
CTL_PROVIDER = "Cisco CTL Provider"
CAPF = "Cisco Certificate Authority Proxy Function"
_PLATFORM = ("Cisco Tomcat", "Cisco RIS Data Collector", "Cisco SOAP - Real-Time Service APIs")
_BASE = (CALLMANAGER, TVS, CTL_PROVIDER, *_PLATFORM)


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeSpec:
    name: str
    ip: str
    publisher: bool = False
    services: tuple[str, ...] = _BASE


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterSpec:
    name: str
    role: str  # "source" | "target"
    version: str
    nodes: tuple[NodeSpec, ...]
    cm_groups: Mapping[str, tuple[str, ...]]
    device_pools: Mapping[str, str]  # device pool -> CallManager group
    mixed_mode: bool = True
    replication_lag: float = 0.0
    restart_duration: float = 10.0

    def tftp_ips(self) -> tuple[str, ...]:
        return tuple(n.ip for n in self.nodes if TFTP in n.services)


@dataclass(frozen=True, slots=True, kw_only=True)
class DhcpSpec:
    """A DHCP source: ``kind`` cucm (``cluster`` names whose server), ios (``address`` of the router,
    scopes map to pools by ``ScopeSpec.pool``) or kea (``server`` host/port and ``client_port``)."""

    name: str
    kind: str
    cluster: str | None = None
    address: str | None = None
    server: tuple[str, int] | None = None
    client_port: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ScopeSpec:
    name: str
    subnet: str
    relay: str
    dhcp: str
    phones: int
    pool: str | None = None  # IOS pool name
    device_pool: str = "DP-PHONES"
    model: str = "Cisco 8845"


@dataclass(frozen=True, slots=True, kw_only=True)
class LabDefects:
    """Deliberate faults. ``failing_services`` entries are (cluster, node, service): every later start
    of that service fails. ``stale_itl_scopes``: phones there hold an ITL whose TVS records name
    certificates the source no longer has (R1). ``node_lag``: (cluster, node) -> replication lag."""

    stale_itl_scopes: tuple[str, ...] = ()
    failing_services: tuple[tuple[str, str, str], ...] = ()
    node_lag: Mapping[tuple[str, str], float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class LabSpec:
    name: str
    clusters: tuple[ClusterSpec, ...]
    dhcp: tuple[DhcpSpec, ...]
    scopes: tuple[ScopeSpec, ...]
    home: str  # the cluster every phone starts on (registered, with its CTL/ITL)
    defects: LabDefects = field(default_factory=LabDefects)
    key_pool: int | None = None  # cap on distinct RSA keys (large estates)
    filler_trust_certs: int = 0  # unrelated certificates per CallManager-trust/Phone-SAST-trust (scale)
    dialect: WireDialect = field(default_factory=WireDialect)  # how the faces phrase uncertain answers
    trust: TrustKnobs = field(default_factory=TrustKnobs)  # the trust model's uncertain points (lab knobs)

    def cluster(self, name: str) -> ClusterSpec:
        return next(c for c in self.clusters if c.name == name)

    def with_defects(self, defects: LabDefects) -> LabSpec:
        return replace(self, defects=defects)

    def with_dialect(self, dialect: WireDialect) -> LabSpec:
        return replace(self, dialect=dialect)


def _cluster(
    *, name: str, role: str, version: str, base: str, subs: int, tftp_subs: int, groups: int = 1
) -> ClusterSpec:
    prefix = f"cucm-{name}"
    nodes = [
        NodeSpec(
            name=f"{prefix}-pub",
            ip=f"{base}.1",
            publisher=True,
            services=(*_BASE, TFTP, CAPF, "Cisco AXL Web Service"),
        )
    ]
    for i in range(1, subs + 1):
        services = (*_BASE, TFTP) if i <= tftp_subs else _BASE
        nodes.append(NodeSpec(name=f"{prefix}-sub{i}", ip=f"{base}.{i + 1}", services=services))
    sub_names = [n.name for n in nodes[1:]]
    if groups == 1:
        cm_groups = {f"{name}-cmg": tuple(sub_names[:2])}
        pools = {"DP-PHONES": f"{name}-cmg"}
    else:
        cm_groups = {}
        pools = {}
        for g in range(groups):
            members = (sub_names[(2 * g) % len(sub_names)], sub_names[(2 * g + 1) % len(sub_names)])
            cm_groups[f"{name}-cmg{g + 1}"] = members
            pools[f"DP-{g + 1}"] = f"{name}-cmg{g + 1}"
    return ClusterSpec(
        name=name, role=role, version=version, nodes=tuple(nodes), cm_groups=cm_groups, device_pools=pools
    )


def default_lab(*, phones_per_scope: int = 100, with_kea: tuple[str, int, int] | None = None) -> LabSpec:
    """lab.md: ``old`` 11.5 (pub + 2 subs, TFTP on pub and sub1), ``new`` 14.0 (same shape), groups
    old-cmg/new-cmg = [sub1, sub2], three scopes of ``phones_per_scope`` phones. ``with_kea`` =
    (host, server port, client port) serves scope-c from a real Kea instead of the IOS pool PHONES-C."""
    old = _cluster(name="old", role="source", version="11.5.1.21900-40", base="127.0.10", subs=2, tftp_subs=1)
    new = _cluster(
        name="new", role="target", version="14.0.1.11900-132", base="127.0.20", subs=2, tftp_subs=1
    )
    dhcp = [
        DhcpSpec(name="ios", kind="ios", address="127.0.30.254"),
        DhcpSpec(name="old-dhcp", kind="cucm", cluster="old"),
    ]
    c_source = "ios"
    if with_kea is not None:
        dhcp.append(
            DhcpSpec(name="kea", kind="kea", server=(with_kea[0], with_kea[1]), client_port=with_kea[2])
        )
        c_source = "kea"
    scopes = (
        ScopeSpec(
            name="scope-a",
            subnet="192.0.2.0/24",
            relay="127.0.30.1",
            dhcp="ios",
            pool="PHONES-A",
            phones=phones_per_scope,
        ),
        ScopeSpec(
            name="scope-b",
            subnet="198.51.100.0/24",
            relay="127.0.30.2",
            dhcp="old-dhcp",
            phones=phones_per_scope,
        ),
        ScopeSpec(
            name="scope-c",
            subnet="203.0.113.0/24",
            relay="127.0.30.3",
            dhcp=c_source,
            pool="PHONES-C" if c_source == "ios" else None,
            phones=phones_per_scope,
        ),
    )
    return LabSpec(name="default", clusters=(old, new), dhcp=tuple(dhcp), scopes=scopes, home="old")


def largest_estate(*, phones: int = 80_000, scopes: int = 1_000) -> LabSpec:
    """The largest supported estate (docs/performance.md#scale-targets): 2 clusters × 21 nodes (TFTP on the
    publisher and 2 subscribers, 10 CallManager groups), ``phones`` phones spread evenly over ``scopes``
    IOS-served /24 scopes, 500 certificates in each CallManager-trust and Phone-SAST-trust."""
    old = _cluster(
        name="old", role="source", version="11.5.1.21900-40", base="127.0.10", subs=20, tftp_subs=2, groups=10
    )
    new = _cluster(
        name="new",
        role="target",
        version="14.0.1.11900-132",
        base="127.0.20",
        subs=20,
        tftp_subs=2,
        groups=10,
    )
    per, extra = divmod(phones, scopes)
    base = int(ipaddress.IPv4Address("10.0.0.0"))
    scope_specs = tuple(
        ScopeSpec(
            name=f"scope-{i:04d}",
            subnet=f"{ipaddress.IPv4Address(base + i * 256)}/24",
            relay=f"127.0.{40 + i // 250}.{i % 250 + 1}",
            dhcp="ios",
            pool=f"PHONES-{i:04d}",
            phones=per + (1 if i < extra else 0),
            device_pool=f"DP-{i % 10 + 1}",
        )
        for i in range(scopes)
    )
    return LabSpec(
        name="largest",
        clusters=(old, new),
        dhcp=(DhcpSpec(name="ios", kind="ios", address="127.0.30.254"),),
        scopes=scope_specs,
        home="old",
        key_pool=4,
        filler_trust_certs=500,
    )
