"""Semantic checks of the flow of a migration: DHCP servers and scopes (option 150 feasibility), the
migration section (roles, R9 SFTP, R10 warning), waves (a scope in two waves, empty waves, scopes in
no wave; R12, R13) and ``depends_on`` addresses.

Plain functions over a ``reconciler.config.semantic_report.Report``, called in order by
``reconciler.config.semantic.check``.
"""

from __future__ import annotations

import ipaddress

from reconciler.config.semantic_report import Report, cluster_ref
from reconciler.config.yamlsource import DataPath
from reconciler.diagnostics import Severity
from schemas.cluster import Role, Service
from schemas.dhcp import CucmDhcpServer, IosDhcpServer, KeaDhcpServer, TftpNodesOf
from schemas.document import DesiredState
from schemas.migration import CanaryGrowth, Method
from schemas.version import CucmVersion

__all__ = ["check_depends_on", "check_dhcp", "check_migration", "check_waves"]

#: R10: bulk consolidation between 8.x/9.x and this version or newer is affected by CSCuy43181.
_R10_BOUNDARY = CucmVersion("10.5.2.13900-12")


def check_dhcp(report: Report, desired: DesiredState) -> None:
    """DHCP servers (references, TLS) and scopes (duplicates, overlaps, relay, option 150)."""
    servers = {s.name: s for s in desired.dhcp.servers}
    report.duplicates(
        [s.name for s in desired.dhcp.servers],
        base=("dhcp", "servers"),
        field="name",
        what="DHCP server",
    )
    for si, server in enumerate(desired.dhcp.servers):
        base: DataPath = ("dhcp", "servers", si)
        if isinstance(server, CucmDhcpServer):
            cluster = cluster_ref(report, desired, (*base, "cluster"), server.cluster)
            if cluster is not None and cluster.node(server.node) is None:
                report.unknown(
                    (*base, "node"), what="node", name=server.node, known=[n.name for n in cluster.nodes]
                )
        elif isinstance(server, IosDhcpServer):
            report.file_should_exist((*base, "known_hosts"), server.known_hosts, what="known_hosts")
        elif isinstance(server, KeaDhcpServer) and server.tls.insecure:
            report.add(
                (*base, "tls", "insecure"),
                "TLS verification is off",
                rule="tls",
                severity=Severity.WARNING,
            )
    scopes = desired.dhcp.scopes
    report.duplicates([s.name for s in scopes], base=("dhcp", "scopes"), field="name", what="scope")
    subnets: dict[ipaddress.IPv4Network, int] = {}
    for si, scope in enumerate(scopes):
        base = ("dhcp", "scopes", si)
        for other, oi in subnets.items():
            if scope.subnet.overlaps(other):
                report.add(
                    (*base, "subnet"),
                    f"subnet {scope.subnet} overlaps {other} of dhcp.scopes[{oi}]",
                    rule="duplicate",
                )
        subnets.setdefault(scope.subnet, si)
        if (
            scope.relay is not None
            and scope.relay in scope.subnet
            and scope.relay in (scope.subnet.network_address, scope.subnet.broadcast_address)
        ):
            report.add(
                (*base, "relay"),
                f"{scope.relay} is the network/broadcast address of the subnet",
                rule="ip",
            )
        target = servers.get(scope.server)
        if target is None:
            report.unknown((*base, "server"), what="DHCP server", name=scope.server, known=servers)
        elif isinstance(target, IosDhcpServer) and not scope.pool:
            report.add(base, "an ios scope needs 'pool' (the 'ip dhcp pool' name)", rule="dhcp")
        addresses = _option150(report, desired, base, scope.option150)
        if isinstance(target, CucmDhcpServer) and addresses is not None and len(addresses) > 2:
            report.add(
                (*base, "option150"),
                f"the CUCM DHCP server holds at most 2 TFTP addresses "
                f"(primary, secondary); this resolves to {len(addresses)}",
                rule="dhcp",
            )


def _option150(report: Report, desired: DesiredState, base: DataPath, value: object) -> list[str] | None:
    """The addresses option 150 resolves to (``None`` when it cannot be resolved), reporting why not."""
    if isinstance(value, TftpNodesOf):
        cluster = cluster_ref(report, desired, (*base, "option150", "tftp_nodes_of"), value.tftp_nodes_of)
        if cluster is None:
            return None
        nodes = cluster.nodes_running(Service.TFTP)
        if not nodes:
            report.add(
                (*base, "option150", "tftp_nodes_of"),
                f"cluster '{cluster.name}' has no node running tftp (R4)",
                rule="R4",
            )
        for node in nodes:
            try:
                ipaddress.IPv4Address(node.host)
            except ValueError:
                report.add(
                    (*base, "option150"),
                    f"TFTP node '{node.name}' has host '{node.host}', but option 150 carries IPv4 addresses",
                    rule="dhcp",
                    fix="give the node's IPv4 address as host",
                )
        return [n.host for n in nodes]
    if isinstance(value, tuple):
        if not value:
            report.add((*base, "option150"), "option 150 needs at least one address", rule="dhcp")
        return [str(v) for v in value]
    return None


def check_migration(report: Report, desired: DesiredState) -> None:
    """The migration section: roles of source and target, R9 SFTP, consolidation cluster, R10."""
    mig = desired.migration
    source = cluster_ref(report, desired, ("migration", "source"), mig.source)
    target = cluster_ref(report, desired, ("migration", "target"), mig.target)
    if source is not None and source.role is not Role.SOURCE:
        report.add(
            ("migration", "source"),
            f"cluster '{source.name}' has role {source.role.value}, not source",
            rule="migration",
        )
    if target is not None and target.role is not Role.TARGET:
        report.add(
            ("migration", "target"),
            f"cluster '{target.name}' has role {target.role.value}, not target",
            rule="migration",
        )
    if mig.source == mig.target:
        report.add(("migration", "target"), "source and target are the same cluster", rule="migration")
    if mig.method is Method.BULK and mig.sftp is None:
        report.add(
            ("migration", "method"),
            "method bulk needs 'sftp' (both clusters export to the same SFTP server and directory, R9)",
            rule="R9",
        )
    if mig.method is Method.MANUAL and mig.sftp is not None:
        report.add(
            ("migration", "sftp"),
            "sftp is only used by method bulk; it is ignored",
            rule="R9",
            severity=Severity.WARNING,
        )
    if mig.consolidate_on is not None and mig.consolidate_on not in (mig.source, mig.target):
        report.unknown(
            ("migration", "consolidate_on"),
            what="migration cluster",
            name=mig.consolidate_on,
            known=[mig.source, mig.target],
        )
    if mig.method is Method.BULK and source is not None and target is not None:
        old, new = sorted((source.version, target.version))
        if old.major in (8, 9) and new >= _R10_BOUNDARY:
            report.add(
                ("migration", "method"),
                f"bulk between {old} and {new} is affected by Cisco bug "
                "CSCuy43181 (R10); method manual is recommended",
                rule="R10",
                severity=Severity.WARNING,
            )


def _check_auto(report: Report, desired: DesiredState, auto: CanaryGrowth) -> dict[str, str]:
    """Canary growth (``waves: {auto: ...}``): its scopes exist and appear once; no scopes at all is an
    error. Returns the scopes it places (each → the generated waves' name prefix)."""
    scopes = {s.name for s in desired.dhcp.scopes}
    base: DataPath = ("migration", "waves", "auto")
    placed: dict[str, str] = {}
    if auto.scopes is None:
        if not scopes:
            report.add(
                base,
                "canary growth has no scopes to move: dhcp.scopes is empty",
                rule="wave",
                fix="declare the DHCP scopes (dhcp.scopes), or list them under waves.auto.scopes",
            )
        return dict.fromkeys(scopes, auto.name)
    _place_scopes(report, base, auto.scopes, wave=auto.name, known=scopes, placed=placed)
    return placed


def check_waves(report: Report, desired: DesiredState) -> None:
    """Waves: duplicates, empty waves, unknown scopes, a scope in two waves, scopes in no wave (R12, R13);
    for canary growth (``waves: {auto: ...}``) its scopes (``_check_auto``)."""
    auto = desired.migration.auto
    placed: dict[str, str] = {}
    if auto is not None:
        placed = _check_auto(report, desired, auto)
    else:
        _check_declared(report, desired, placed)
    for si, scope_decl in enumerate(desired.dhcp.scopes):
        if scope_decl.name not in placed:
            report.add(
                ("dhcp", "scopes", si, "name"),
                f"scope '{scope_decl.name}' is in no wave; its "
                "option 150 would change without a gate (R12, R13)",
                rule="R12",
                severity=Severity.WARNING,
            )


def _check_declared(report: Report, desired: DesiredState, placed: dict[str, str]) -> None:
    waves = desired.migration.wave_list
    scopes = {s.name for s in desired.dhcp.scopes}
    report.duplicates([w.name for w in waves], base=("migration", "waves"), field="name", what="wave")
    for wi, wave in enumerate(waves):
        base: DataPath = ("migration", "waves", wi)
        if not wave.scopes:
            report.add((*base, "scopes"), f"wave '{wave.name}' has no scopes", rule="wave")
        _place_scopes(report, base, wave.scopes, wave=wave.name, known=scopes, placed=placed)


def _place_scopes(
    report: Report,
    base: DataPath,
    listed: tuple[str, ...],
    *,
    wave: str,
    known: set[str],
    placed: dict[str, str],
) -> None:
    """Record each scope ``listed`` at ``base`` as moved by ``wave`` in ``placed``; an unknown scope, or
    one already placed (listed twice, or in an earlier wave), is an error (R12: a scope moves once)."""
    for si, scope in enumerate(listed):
        if scope not in known:
            report.unknown((*base, "scopes", si), what="scope", name=scope, known=known)
        elif scope in placed:
            twice = placed[scope] == wave
            report.add(
                (*base, "scopes", si),
                f"scope '{scope}' is listed twice"
                if twice
                else f"scope '{scope}' is already in wave '{placed[scope]}'",
                rule="wave",
                fix="a scope moves once: " + ("list it once" if twice else "keep it in one wave"),
            )
        else:
            placed[scope] = wave


def check_depends_on(report: Report, desired: DesiredState) -> None:
    """Every ``depends_on`` address names a known kind and a declared cluster, server or wave."""
    clusters = {c.name for c in desired.clusters}
    auto = desired.migration.auto
    waves = {w.name for w in desired.migration.wave_list} if auto is None else set()
    names = {
        "trust": clusters,
        "tvs": clusters,
        "param": clusters,
        "bulk": clusters,
        "option150": {s.name for s in desired.dhcp.servers},
        "reset": waves,
        "gate": waves,
    }
    for di, dep in enumerate(desired.depends_on):
        for path, address in [((*("depends_on", di), "address"), dep.address)] + [
            (("depends_on", di, "after", ai), a) for ai, a in enumerate(dep.after)
        ]:
            kind, _, rest = address.partition(".")
            head = rest.split(".", 1)[0]
            if auto is not None and kind in ("reset", "gate") and _generated(head, prefix=auto.name):
                continue  # a generated wave (<name>-<n>): how many there are, only the plan knows
            if kind not in names:
                report.unknown(path, what="address kind", name=kind, known=names)
            elif head not in names[kind]:
                report.unknown(path, what=f"{kind} name", name=head, known=names[kind])


def _generated(name: str, *, prefix: str) -> bool:
    number = name.removeprefix(f"{prefix}-")
    return number != name and number.isdigit() and not number.startswith("0")
