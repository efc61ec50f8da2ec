"""What a well-typed lab spec must also satisfy before the lab is built: names that refer to something,
addresses on loopback, one publisher per cluster, sizes the lab can hold.

``check_spec(spec)`` returns every problem as ``(path, text, fix)``: ``path`` is where in the
document (``clusters[0].nodes[1].ip``), so ``simulator.lab.specfile`` can give its ``FILE:LINE:COL``.
Nothing here decides anything about trust: it only keeps the builder (``simulator.model.build``) from
meeting a dangling name. Called by ``simulator.lab.specfile`` only.
"""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Iterable, Iterator

from reconciler.errors import ReconcilerError
from reconciler.yamlsource import DataPath
from schemas.version import CucmVersion
from simulator.labcerts import parse_dn
from simulator.model.identities import parse_serial
from simulator.model.services import KNOWN_SERVICES, TFTP, TVS
from simulator.model.truststore import ALL_STORES
from simulator.spec import ClusterSpec, LabSpec, StandIn

__all__ = ["LIMITS", "Problem", "check_spec"]

#: (where in the document, what is wrong, how to fix it)
Problem = tuple[DataPath, str, str | None]

#: What one lab may hold (the largest supported estate is 80,000 phones on 2 × 21 nodes, 1,000 scopes).
LIMITS = {"phones": 100_000, "nodes": 64, "scopes": 4_000, "filler_trust_certs": 2_000}
_LOOPBACK = ipaddress.IPv4Network("127.0.0.0/8")
_ROLLBACK = "Prepare Cluster for Rollback to pre 8.0"


def _suggest(name: str, known: Iterable[str]) -> str | None:
    options = sorted(set(known))
    close = difflib.get_close_matches(name, options, n=1)
    if close:
        return f"did you mean '{close[0]}'?"
    return f"known: {', '.join(options)}" if options and len(options) <= 12 else None


def _dupes(names: Iterable[str]) -> Iterator[tuple[int, str]]:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            yield i, name
        seen.add(name)


def _loopback(ip: str) -> str | None:
    try:
        addr = ipaddress.IPv4Address(ip)
    except ValueError:
        return f"'{ip}' is not an IPv4 address"
    return None if addr in _LOOPBACK else f"'{ip}' is not a loopback address (the lab listens on 127.0.0.0/8)"


def _stand_in(at: DataPath, cert: StandIn) -> Iterator[Problem]:
    """A stand-in's subject and issuer must be distinguished names, its serial hex."""
    for key in ("subject", "issuer"):
        text = getattr(cert, key)
        if text is None:
            continue
        try:
            parse_dn(text)
        except ValueError as exc:
            yield (*at, key), f"not a distinguished name ({exc})", "e.g. CN=cucm-pub;OU=voice;O=Example;C=US"
    try:
        parse_serial(cert.serial)
    except ValueError:
        yield (*at, "serial"), f"'{cert.serial}' is not a positive hex serial", "e.g. 019a335878ce16c1c1"


def _cluster(ci: int, c: ClusterSpec) -> Iterator[Problem]:
    at: DataPath = ("clusters", ci)
    try:
        CucmVersion(c.version)
    except (ValueError, ReconcilerError) as exc:
        yield (*at, "version"), f"not a CUCM version ({exc})", "e.g. 14.0.1.11900-132"
    if not c.nodes:
        yield (*at, "nodes"), "a cluster needs at least one node", None
    publishers = [n.name for n in c.nodes if n.publisher]
    if c.nodes and len(publishers) != 1:
        yield (*at, "nodes"), f"exactly one node is the publisher, not {len(publishers)}", None
    names = [n.name for n in c.nodes]
    for i, name in _dupes(names):
        yield (*at, "nodes", i, "name"), f"node '{name}' is declared twice", None
    for i, n in enumerate(c.nodes):
        if (bad := _loopback(n.ip)) is not None:
            yield (*at, "nodes", i, "ip"), bad, None
        for si, service in enumerate(n.services):
            if service not in KNOWN_SERVICES:
                yield (
                    (*at, "nodes", i, "services", si),
                    f"unknown service '{service}'",
                    _suggest(service, KNOWN_SERVICES),
                )
        if n.tvs_started_ago is not None and n.tvs_started_ago < 0:
            yield (*at, "nodes", i, "tvs_started_ago"), "must not be negative", None
        for kind, cert in n.identities.items():
            where: DataPath = (*at, "nodes", i, "identities", kind)
            yield from _stand_in(where, cert)
            if kind == "capf" and not n.publisher:
                yield where, "only the publisher has a CAPF identity", None
            elif kind == "tvs" and TVS not in n.services:
                yield where, f"{n.name} does not run TVS", None
    if not c.cm_groups:
        yield (*at, "cm_groups"), "a cluster needs at least one CallManager group", None
    for group, members in c.cm_groups.items():
        for mi, member in enumerate(members):
            if member not in names:
                yield (
                    (*at, "cm_groups", group, mi),
                    f"no node '{member}' in {c.name}",
                    _suggest(member, names),
                )
    for pool, group in c.device_pools.items():
        if group not in c.cm_groups:
            yield (*at, "device_pools", pool), f"no CallManager group '{group}'", _suggest(group, c.cm_groups)
    for name, value in c.parameters.items():
        if name == _ROLLBACK and str(value).strip().lower() not in ("true", "false"):
            yield (*at, "parameters", name), "must be true or false (R2)", None
    for field in ("replication_lag", "restart_duration"):
        if getattr(c, field) < 0:
            yield (*at, field), "must not be negative", None


def _trust(spec: LabSpec) -> Iterator[Problem]:
    clusters = {c.name: c for c in spec.clusters}
    for ci, c in enumerate(spec.clusters):
        own = [n.name for n in c.nodes]
        for ti, seed in enumerate(c.trust):
            at: DataPath = ("clusters", ci, "trust", ti)
            if not any(s.lower() == seed.store.lower() for s in ALL_STORES):
                yield (*at, "store"), f"unknown trust store '{seed.store}'", _suggest(seed.store, ALL_STORES)
            for ni, node in enumerate(seed.nodes):
                if node not in own:
                    yield (*at, "nodes", ni), f"no node '{node}' in {c.name}", _suggest(node, own)
            if seed.added_ago is not None and seed.added_ago < 0:
                yield (*at, "added_ago"), "must not be negative", None
            if seed.cert is not None:
                if seed.cluster is not None or seed.identity is not None or seed.node is not None:
                    yield at, "give either 'cert' or 'cluster'/'identity'/'node', not both", None
                yield from _stand_in((*at, "cert"), seed.cert)
                continue
            if seed.cluster is None or seed.identity is None:
                yield at, "a trust entry names 'cluster' and 'identity', or gives 'cert'", None
                continue
            origin = clusters.get(seed.cluster)
            if origin is None:
                yield (*at, "cluster"), f"no cluster '{seed.cluster}'", _suggest(seed.cluster, clusters)
                continue
            names = {n.name: n for n in origin.nodes}
            whose = (
                names.get(seed.node) if seed.node else next((n for n in origin.nodes if n.publisher), None)
            )
            if seed.node is not None and whose is None:
                yield (*at, "node"), f"no node '{seed.node}' in {origin.name}", _suggest(seed.node, names)
            elif whose is not None and seed.identity == "capf" and not whose.publisher:
                yield (*at, "identity"), "only the publisher has a CAPF identity", None
            elif whose is not None and seed.identity == "tvs" and TVS not in whose.services:
                yield (*at, "identity"), f"{whose.name} does not run TVS", None


def _dhcp_and_scopes(spec: LabSpec) -> Iterator[Problem]:
    clusters = {c.name: c for c in spec.clusters}
    sources = {d.name: d for d in spec.dhcp}
    for i, name in _dupes(d.name for d in spec.dhcp):
        yield ("dhcp", i, "name"), f"DHCP source '{name}' is declared twice", None
    if sum(1 for d in spec.dhcp if d.kind == "ios") > 1:
        yield ("dhcp",), "the lab serves one IOS router; declare one 'kind: ios' source", None
    for di, d in enumerate(spec.dhcp):
        if d.kind == "ios":
            if d.address is None:
                yield ("dhcp", di), "an ios source needs 'address' (the router's loopback address)", None
            elif (bad := _loopback(d.address)) is not None:
                yield ("dhcp", di, "address"), bad, None
        if d.kind == "cucm" and d.cluster not in clusters:
            what = f"no cluster '{d.cluster}'" if d.cluster else "a cucm source needs 'cluster'"
            yield (
                ("dhcp", di, "cluster") if d.cluster else ("dhcp", di),
                what,
                _suggest(d.cluster or "", clusters),
            )
        if d.kind == "kea" and (d.server is None) != (d.client_port is None):
            yield ("dhcp", di), "a kea source has both 'server' and 'client_port', or neither", None
    target = spec.target()
    for i, name in _dupes(s.name for s in spec.scopes):
        yield ("scopes", i, "name"), f"scope '{name}' is declared twice", None
    for si, s in enumerate(spec.scopes):
        at: DataPath = ("scopes", si)
        if s.dhcp not in sources:
            yield (*at, "dhcp"), f"no DHCP source '{s.dhcp}'", _suggest(s.dhcp, sources)
        try:
            hosts = ipaddress.IPv4Network(s.subnet).num_addresses - 2
        except ValueError as exc:
            yield (*at, "subnet"), f"not an IPv4 subnet ({exc})", "e.g. 192.0.2.0/24"
            hosts = None
        if (bad := _loopback(s.relay)) is not None:
            yield (*at, "relay"), bad, None
        if s.phones < 0 or s.phones > 65_536 or (hosts is not None and s.phones > hosts):
            yield (*at, "phones"), f"{s.phones} phones do not fit the scope ({hosts} addresses)", None
        if not 0 <= s.on_target <= max(s.phones, 0):
            yield (*at, "on_target"), f"must be between 0 and the scope's {s.phones} phones", None
        if s.on_target and target is None:
            yield (*at, "on_target"), "no cluster has 'role: target'", None
        home = clusters.get(s.tftp_cluster or spec.home)
        if s.tftp_cluster is not None and home is None:
            yield (*at, "tftp_cluster"), f"no cluster '{s.tftp_cluster}'", _suggest(s.tftp_cluster, clusters)
        for oi, address in enumerate(s.option150 or ()):
            try:
                ipaddress.IPv4Address(address)
            except ValueError:
                yield (*at, "option150", oi), f"'{address}' is not an IPv4 address", None
        if s.option150 is not None and not s.option150:
            yield (*at, "option150"), "name at least one address (or leave option150 out)", None
        source = sources.get(s.dhcp)
        if s.option150 and source is not None and source.kind == "cucm" and len(s.option150) > 2:
            text = "a CUCM DhcpSubnet holds at most two TFTP servers (tftpServer1Ip, tftpServer2Ip)"
            yield (*at, "option150"), text, None
        grouped = 0
        for gi, group in enumerate(s.groups):
            grouped += max(group.phones, 0)
            if group.phones < 0:
                yield (*at, "groups", gi, "phones"), "must not be negative", None
            pools = clusters[spec.home].device_pools if spec.home in clusters else {}
            if group.device_pool is not None and pools and group.device_pool not in pools:
                yield (
                    (*at, "groups", gi, "device_pool"),
                    f"no device pool '{group.device_pool}' in {spec.home}",
                    _suggest(group.device_pool, pools),
                )
        if s.groups and grouped + s.on_target > s.phones:
            yield (
                (*at, "groups"),
                f"{grouped} grouped + {s.on_target} on target > the scope's {s.phones}",
                None,
            )
        if home is not None and not any(TFTP in n.services for n in home.nodes):
            yield (*at, "tftp_cluster"), f"cluster {home.name} has no node running Cisco Tftp", None
        for c in {
            spec.home: clusters.get(spec.home),
            **({target.name: target} if s.on_target and target else {}),
        }.values():
            if c is not None and c.device_pools and s.device_pool not in c.device_pools:
                yield (
                    (*at, "device_pool"),
                    f"no device pool '{s.device_pool}' in {c.name}",
                    _suggest(s.device_pool, c.device_pools),
                )


def _defects(spec: LabSpec) -> Iterator[Problem]:
    clusters = {c.name: c for c in spec.clusters}
    scopes = [s.name for s in spec.scopes]
    for i, name in enumerate(spec.defects.stale_itl_scopes):
        if name not in scopes:
            yield ("defects", "stale_itl_scopes", i), f"no scope '{name}'", _suggest(name, scopes)
    refs = [("failing_services", i, r.cluster, r.node) for i, r in enumerate(spec.defects.failing_services)]
    refs += [("node_lag", i, r.cluster, r.node) for i, r in enumerate(spec.defects.node_lag)]
    for kind, i, cluster, node in refs:
        at: DataPath = ("defects", kind, i)
        c = clusters.get(cluster)
        if c is None:
            yield (*at, "cluster"), f"no cluster '{cluster}'", _suggest(cluster, clusters)
        elif node not in {n.name for n in c.nodes}:
            yield (*at, "node"), f"no node '{node}' in {cluster}", _suggest(node, [n.name for n in c.nodes])
    for i, ref in enumerate(spec.defects.failing_services):
        c = clusters.get(ref.cluster)
        spec_node = next((n for n in c.nodes if n.name == ref.node), None) if c else None
        if spec_node is not None and ref.service not in spec_node.services:
            text = f"{ref.service} is not activated on {ref.node}"
            yield ("defects", "failing_services", i, "service"), text, None


def check_spec(spec: LabSpec) -> list[Problem]:
    """Every problem of ``spec`` (empty when the builder can build it)."""
    problems: list[Problem] = []
    names = [c.name for c in spec.clusters]
    if not spec.clusters:
        problems.append((("clusters",), "a lab needs at least one cluster", None))
    for i, name in _dupes(names):
        problems.append((("clusters", i, "name"), f"cluster '{name}' is declared twice", None))
    if spec.clusters and spec.home not in names:
        problems.append((("home",), f"no cluster '{spec.home}'", _suggest(spec.home, names)))
    ips = [n.ip for c in spec.clusters for n in c.nodes]
    for _, ip in _dupes(ips):
        problems.append((("clusters",), f"two nodes listen on {ip}", None))
    for ci, c in enumerate(spec.clusters):
        problems += _cluster(ci, c)
    problems += _trust(spec)
    problems += _dhcp_and_scopes(spec)
    problems += _defects(spec)
    total = sum(max(s.phones, 0) for s in spec.scopes)
    if total > LIMITS["phones"]:
        problems.append((("scopes",), f"{total:,} phones; the lab holds at most {LIMITS['phones']:,}", None))
    if len(ips) > LIMITS["nodes"]:
        problems.append((("clusters",), f"{len(ips)} nodes; the lab runs at most {LIMITS['nodes']}", None))
    if len(spec.scopes) > LIMITS["scopes"]:
        problems.append((("scopes",), f"{len(spec.scopes)} scopes; at most {LIMITS['scopes']}", None))
    if not 0 <= spec.filler_trust_certs <= LIMITS["filler_trust_certs"]:
        problems.append((("filler_trust_certs",), f"between 0 and {LIMITS['filler_trust_certs']}", None))
    if spec.key_pool is not None and spec.key_pool < 1:
        problems.append((("key_pool",), "at least 1", None))
    return problems
