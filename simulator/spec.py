"""The small lab spec: what the builder (``simulator.model.build``) turns into a ``Lab``.

A spec names versions, nodes and their services, CallManager groups, device pools, enterprise parameters,
certificates already in trust stores, TVS start times, DHCP sources and scopes with their phone counts,
models and initial state (stale or empty ITL, phones already on the target), plus deliberate defects (a
service that fails to (re)start, replication lag). The same dataclasses are the YAML of
``lab up --spec FILE``: ``simulator.lab.specfile`` validates a document into them (pydantic over these
stdlib dataclasses) and derives the JSON Schema from them, so a field added here is a YAML key at once;
the attribute docstrings are the schema's descriptions.

``default_lab()`` is the lab of docs/lab.md (11.5 source, 14.0 target, 3 nodes each, ~300 phones in three
scopes); ``largest_estate()`` is the largest supported estate (2 × 21 nodes, 80,000 phones, 1,000
scopes). Plain frozen dataclasses: no I/O, cheap to build; used by the lab CLI, tests and bench.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from simulator.faces.dialect import WireDialect
from simulator.knobs import TrustKnobs

__all__ = [
    "CALLMANAGER",
    "CAPF",
    "CTL_PROVIDER",
    "TFTP",
    "TVS",
    "WIRE_BOOT_MAX_PHONES",
    "BootPath",
    "ClusterSpec",
    "DhcpSpec",
    "IdentityName",
    "ItlState",
    "LabDefects",
    "LabSpec",
    "NodeLag",
    "NodeSpec",
    "PhoneGroup",
    "ScopeSpec",
    "ServiceRef",
    "StandIn",
    "StandInName",
    "TrustSeed",
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


IdentityName = Literal["callmanager", "tvs", "tomcat", "itlrecovery", "capf"]
StandInName = Literal["callmanager", "tvs", "itlrecovery", "capf"]
ItlState = Literal["current", "stale", "empty"]
BootPath = Literal["auto", "wire", "model"]
WIRE_BOOT_MAX_PHONES = 5000  # ``boot: auto`` boots labs up to this size over the wire (docs/lab.md)


@dataclass(frozen=True, slots=True, kw_only=True)
class StandIn:
    """A certificate of a real estate the lab stands in for (``reconciler rehearse``): the lab mints a
    certificate with exactly this subject, serial and issuer and a key of its own. When ``issuer`` is the
    subject of another stand-in of the spec, that one's key signs it, so every trust relation holds."""

    subject: str
    """Distinguished name as CUCM prints it: ``CN=cucm-pub;OU=voice;O=Example;C=US`` (or ``,``-separated)."""
    serial: str
    """Serial number in hex as CUCM prints it (``019a335878ce16c1c1``; colons allowed)."""
    issuer: str | None = None
    """Issuer's distinguished name; default: the subject (self-signed, as CUCM's identities are)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeSpec:
    """One CUCM server."""

    name: str
    """Host name (the process-node name)."""
    ip: str
    """Loopback address its faces listen on (127.0.x.y; ``--prefix`` moves it)."""
    publisher: bool = False
    """Exactly one node per cluster is the publisher."""
    services: tuple[str, ...] = _BASE
    """Activated services, by their Control Center names (TFTP nodes add ``Cisco Tftp``)."""
    tvs_started_ago: float | None = None
    """Seconds before the lab starts that TVS last started (its cache holds the trust stores as they
    were then, R8); default: when the lab starts."""
    identities: Mapping[StandInName, StandIn] = field(default_factory=dict)
    """Stand-ins for this node's identity certificates (subject, serial, issuer of a real estate's);
    the others are the lab's own. ``itlrecovery`` from 12.5: the publisher's is the cluster's."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustSeed:
    """A certificate already in a trust store when the lab starts: another cluster's (or this
    cluster's) identity, as after an earlier exchange (R3, R5) or a half-done migration."""

    store: str
    """The trust store (``CallManager-trust``, ``Phone-SAST-trust``, ``tomcat-trust``, ...)."""
    cluster: str | None = None
    """The cluster whose identity it is (with ``identity``; or give ``cert``)."""
    identity: IdentityName | None = None
    """Which identity of that cluster's ``node`` (``itlrecovery``: the cluster's from 12.5, else the
    node's)."""
    cert: StandIn | None = None
    """Instead of ``cluster``/``identity``: a certificate that is no cluster's identity (another CA, a
    phone's LSC, ...), given by its subject, serial and issuer."""
    node: str | None = None
    """The node whose identity it is; default: that cluster's publisher."""
    nodes: tuple[str, ...] = ()
    """The nodes of this cluster that hold it; default: every node."""
    added_ago: float | None = None
    """Seconds before the lab starts that it was uploaded (the store's last change then; a TVS that
    started earlier does not know it, R8); default: long before (no change recorded)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterSpec:
    """One CUCM cluster."""

    name: str
    role: Literal["source", "target"]
    """``source``: the phones' cluster before the migration; ``target``: where they move."""
    version: str
    """CUCM version, e.g. ``11.5.1.21900-40``, ``12.5.1.10000-22``, ``14.0.1.11900-132``."""
    nodes: tuple[NodeSpec, ...]
    cm_groups: Mapping[str, tuple[str, ...]]
    """CallManager group -> its member nodes, in order."""
    device_pools: Mapping[str, str]
    """Device pool -> its CallManager group."""
    mixed_mode: bool = True
    """Cluster security mode 1 (a CTL file exists)."""
    replication_lag: float = 0.0
    """Seconds a trust change takes from the node it was made on to the others (R7)."""
    restart_duration: float = 10.0
    """Seconds a service restart takes (Stopping half, Starting half)."""
    parameters: Mapping[str, str | bool | int] = field(default_factory=dict)
    """Enterprise parameters by their GUI name, e.g. ``Prepare Cluster for Rollback to pre 8.0: true``
    (R2); others keep CUCM's defaults."""
    trust: tuple[TrustSeed, ...] = ()
    """Certificates already in this cluster's trust stores (besides its own identities)."""

    def tftp_ips(self) -> tuple[str, ...]:
        return tuple(n.ip for n in self.nodes if TFTP in n.services)


@dataclass(frozen=True, slots=True, kw_only=True)
class DhcpSpec:
    """A DHCP source: ``kind`` cucm (``cluster`` names whose server), ios (``address`` of the router,
    scopes map to pools by ``ScopeSpec.pool``) or kea (a real ``kea-dhcp4``: without ``server`` the lab
    starts one for the scopes it serves; with ``server`` host/port and ``client_port``, that one)."""

    name: str
    kind: Literal["ios", "cucm", "kea"]
    cluster: str | None = None
    """cucm: the cluster whose DHCP server it is."""
    address: str | None = None
    """ios: the router's loopback address (its SSH face)."""
    server: tuple[str, int] | None = None
    """kea: an already running Kea (host, port); default: the lab starts one."""
    client_port: int | None = None
    """kea: the UDP port the lab's phones use as DHCP clients (with ``server``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ScopeSpec:
    """A DHCP scope and its phones."""

    name: str
    subnet: str
    """The phones' subnet (data only: phones get addresses from it)."""
    relay: str
    """The relay (giaddr) address, on loopback."""
    dhcp: str
    """The DHCP source that serves it (a ``dhcp[].name``)."""
    phones: int
    """How many phones."""
    pool: str | None = None
    """ios: the pool name on the router."""
    device_pool: str = "DP-PHONES"
    """The phones' device pool (its CallManager group, per cluster, is where they register)."""
    model: str = "Cisco 8845"
    tftp_cluster: str | None = None
    """The cluster whose TFTP nodes option 150 names; default: the lab's ``home``."""
    itl: ItlState = "current"
    """What the phones on the home cluster hold: ``current`` (the ITL their TFTP serves), ``stale``
    (TVS records the cluster no longer has, R1) or ``empty`` (no ITL at all)."""
    on_target: int = 0
    """How many of the scope's phones (the first ones) already run on the target cluster: registered
    there with its CTL and ITL, as after an earlier wave."""
    option150: tuple[str, ...] | None = None
    """Option 150 as the scope's DHCP source serves it today, any IPv4 addresses (also ones that are no
    lab node's); default: the TFTP nodes of ``tftp_cluster``."""
    groups: tuple[PhoneGroup, ...] = ()
    """Phones of the scope that differ from its ``device_pool``/``itl``: after the ``on_target`` ones,
    in order, each group takes its ``phones``; the rest are as the scope says."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PhoneGroup:
    """Some phones of a scope with their own device pool (so CallManager group) or ITL."""

    phones: int
    """How many phones."""
    device_pool: str | None = None
    """Their device pool; default: the scope's."""
    itl: ItlState | None = None
    """What they hold (as ``ScopeSpec.itl``); default: the scope's."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceRef:
    """A service of a node."""

    cluster: str
    node: str
    service: str


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeLag:
    """Replication lag of one node (overrides its cluster's)."""

    cluster: str
    node: str
    seconds: float


@dataclass(frozen=True, slots=True, kw_only=True)
class LabDefects:
    """Deliberate faults that are part of the estate (``faults`` are applied once the faces listen)."""

    stale_itl_scopes: tuple[str, ...] = ()
    """Phones there hold an ITL whose TVS records name certificates the source no longer has (R1); the
    same as ``itl: stale`` on those scopes."""
    failing_services: tuple[ServiceRef, ...] = ()
    """Every later start of that service fails."""
    node_lag: tuple[NodeLag, ...] = ()
    """Per-node replication lag (R7)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LabSpec:
    """The whole estate. ``lab up --spec FILE`` reads the same fields from YAML
    (``simulator.lab.specfile``; docs/lab.md)."""

    name: str
    """The lab's name (shown by ``lab status``)."""
    clusters: tuple[ClusterSpec, ...]
    dhcp: tuple[DhcpSpec, ...]
    scopes: tuple[ScopeSpec, ...]
    home: str
    """The cluster every phone starts on (registered, with its CTL/ITL), unless ``on_target``."""
    defects: LabDefects = field(default_factory=LabDefects)
    key_pool: int | None = None
    """Cap on distinct RSA keys (large estates start faster)."""
    filler_trust_certs: int = 0
    """Unrelated certificates per CallManager-trust/Phone-SAST-trust (scale)."""
    dialect: WireDialect = field(default_factory=WireDialect)
    """How the faces phrase uncertain answers (``simulator.faces.dialect``)."""
    trust: TrustKnobs = field(default_factory=TrustKnobs)
    """The trust model's uncertain points as lab knobs (``simulator.knobs``): how the lab's phones and TVS
    behave where the model is not certain."""
    boot: BootPath = "auto"
    """How a running lab's phones boot on reset: ``wire`` (each phone asks DHCP, downloads its files from
    the TFTP face and asks TVS over TLS, asynchronously), ``model`` (at once, identical phones batched and
    memoized, same phone code, no sockets) or ``auto`` (wire up to ``WIRE_BOOT_MAX_PHONES`` phones)."""

    def cluster(self, name: str) -> ClusterSpec:
        return next(c for c in self.clusters if c.name == name)

    def with_defects(self, defects: LabDefects) -> LabSpec:
        return replace(self, defects=defects)

    def with_dialect(self, dialect: WireDialect) -> LabSpec:
        return replace(self, dialect=dialect)

    def target(self) -> ClusterSpec | None:
        """The cluster with role ``target`` (the first, if several)."""
        return next((c for c in self.clusters if c.role == "target"), None)

    def itl_state(self, scope: ScopeSpec) -> ItlState:
        return "stale" if scope.name in self.defects.stale_itl_scopes else scope.itl


def _cluster(
    *,
    name: str,
    role: Literal["source", "target"],
    version: str,
    base: str,
    subs: int,
    tftp_subs: int,
    groups: int = 1,
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
