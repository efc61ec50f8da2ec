"""Semantic checks of a schema-valid desired state, reporting every problem at once.

Called by ``reconciler.config.loader.load_text`` after the schema passed. Checks references between sections
(clusters, nodes, DHCP servers, scopes, waves), exactly one source and one target, duplicates, a scope
in two waves, option 150 feasibility, readable trust PEM files, file settings that do not exist yet
(warnings: the lab writes them later), and R2 (the rollback parameter True on the source is an error).
Each concern is a plain function over one ``Report`` (``reconciler.config.semantic_report``); the
DHCP/migration/wave/depends_on checks are in ``semantic_flow``, the credential files in
``semantic_secrets``.
The trust a migration *requires* (R4–R6, R11) is checked by the planner against live state.
"""

from __future__ import annotations

from pathlib import Path

from reconciler.boundedio import MAX_CERT_BYTES, read_bounded
from reconciler.config.semantic_flow import check_depends_on, check_dhcp, check_migration, check_waves
from reconciler.config.semantic_report import Report, cluster_ref
from reconciler.config.semantic_secrets import check_credentials
from reconciler.config.yamlsource import DataPath, SourceMap
from reconciler.cucm.signers import itl_recovery_per_node
from reconciler.diagnostics import Diagnostic, Severity
from schemas.cluster import Role, Service
from schemas.document import ROLLBACK_PARAMETER, DesiredState
from schemas.trust import Identity, IdentityRef, NodeRole, PemRef

__all__ = [
    "check",
    "check_clusters",
    "check_nodes_across_clusters",
    "check_parameters",
    "check_roles",
    "check_trust",
]


def check_clusters(report: Report, desired: DesiredState) -> None:
    """Per cluster: duplicate names and nodes, one publisher, certmgr REST version, TLS and file settings,
    a TFTP node (R4)."""
    report.duplicates([c.name for c in desired.clusters], base=("clusters",), field="name", what="cluster")
    for ci, cluster in enumerate(desired.clusters):
        base: DataPath = ("clusters", ci)
        report.duplicates([n.name for n in cluster.nodes], base=(*base, "nodes"), field="name", what="node")
        publishers = [i for i, n in enumerate(cluster.nodes) if n.publisher]
        for extra in publishers[1:]:
            report.add(
                (*base, "nodes", extra, "publisher"),
                "a cluster has exactly one publisher",
                rule="cluster",
            )
        if cluster.certificate_api.value == "rest" and not cluster.version.at_least(14):
            report.add(
                (*base, "certificate_api"),
                f"the certmgr REST API needs CUCM 14 or newer (version is {cluster.version})",
                rule="cluster",
                fix="use certificate_api: cli or auto",
            )
        if cluster.tls.insecure:
            report.add(
                (*base, "tls", "insecure"),
                "TLS verification is off for this cluster",
                rule="tls",
                severity=Severity.WARNING,
                fix="give tls.ca_bundle or tls.pin_sha256 instead",
            )
        report.file_should_exist((*base, "tls", "ca_bundle"), cluster.tls.ca_bundle, what="CA bundle")
        if cluster.tls.ca_bundle is not None and cluster.tls.ca_bundle.is_file():
            _check_ca_bundle(report, (*base, "tls", "ca_bundle"), cluster.tls.ca_bundle)
        report.file_should_exist((*base, "ssh", "known_hosts"), cluster.ssh.known_hosts, what="known_hosts")
        report.file_should_exist((*base, "axl_wsdl"), cluster.axl_wsdl, what="AXL WSDL")
        if not cluster.nodes_running(Service.TFTP):
            report.add(
                (*base, "nodes"),
                "no node runs tftp; phones need a TFTP server (R1, R4)",
                rule="R4",
                severity=Severity.WARNING,
            )


def check_nodes_across_clusters(report: Report, desired: DesiredState) -> None:
    """A server belongs to one cluster: the same host in two clusters means a copy-paste slip (the
    plan would otherwise ask one server for both clusters' data)."""
    first: dict[str, tuple[str, int, int, str]] = {}
    for ci, cluster in enumerate(desired.clusters):
        for ni, node in enumerate(cluster.nodes):
            host = str(node.host).lower()
            if host not in first:
                first[host] = (cluster.name, ci, ni, node.name)
                continue
            other, oci, oni, oname = first[host]
            if other == cluster.name:
                continue  # duplicates inside one cluster are the per-cluster check's business
            same = " (same name)" if oname == node.name else f" (there named '{oname}')"
            report.add(
                ("clusters", ci, "nodes", ni, "host"),
                f"host {node.host} of node '{node.name}' is already a node of cluster '{other}' "
                f"at clusters[{oci}].nodes[{oni}]{same}; a server belongs to one cluster",
                rule="duplicate",
                fix="give each cluster its own nodes",
            )


def _check_ca_bundle(report: Report, path: DataPath, file: Path) -> None:
    try:
        data = read_bounded(file, limit=MAX_CERT_BYTES)
    except OSError as exc:
        report.add(path, f"cannot read CA bundle {file}: {exc.strerror or exc}", rule="tls")
        return
    from cryptography import x509  # noqa: PLC0415 - heavy: imported only when a bundle exists

    try:
        x509.load_pem_x509_certificates(data)
    except (ValueError, x509.InvalidVersion):
        report.add(
            path,
            f"CA bundle {file} holds no PEM certificate",
            rule="tls",
            detail="TLS verification needs at least one '-----BEGIN CERTIFICATE-----' block.",
            fix="point ca_bundle at the PEM file of the CA that signed the cluster's Tomcat certificate",
        )


def check_roles(report: Report, desired: DesiredState) -> None:
    """Exactly one source and one target cluster."""
    for role in (Role.SOURCE, Role.TARGET):
        having = [i for i, c in enumerate(desired.clusters) if c.role is role]
        if len(having) != 1:
            where = ("clusters", having[1], "role") if len(having) > 1 else ("clusters",)
            report.add(
                where,
                f"exactly one cluster must have role {role.value} (found {len(having)})",
                rule="migration",
            )


def check_trust(report: Report, desired: DesiredState) -> None:
    """Trust declarations: known clusters, one declaration per store, readable PEMs, identity selections."""
    seen: dict[tuple[str, str], int] = {}
    for ti, decl in enumerate(desired.trust):
        base: DataPath = ("trust", ti)
        cluster_ref(report, desired, (*base, "cluster"), decl.cluster)
        pair = (decl.cluster, decl.store.value)
        if pair in seen:
            report.add(
                (*base, "store"),
                f"{decl.store.value} of cluster '{decl.cluster}' is already declared at trust[{seen[pair]}]",
                rule="duplicate",
            )
        seen.setdefault(pair, ti)
        for ri, ref in enumerate(decl.certificates):
            path: DataPath = (*base, "certificates", ri)
            if isinstance(ref, PemRef):
                _check_pem(report, (*path, "pem"), ref.pem)
            elif isinstance(ref, IdentityRef):
                _check_identity(report, desired, path, ref)


def _check_identity(report: Report, desired: DesiredState, path: DataPath, ref: IdentityRef) -> None:
    cluster = cluster_ref(report, desired, (*path, "cluster"), ref.cluster)
    if cluster is None or ref.nodes is None:
        return
    if ref.nodes.names is not None:
        for ni, name in enumerate(ref.nodes.names):
            if cluster.node(name) is None:
                report.unknown(
                    (*path, "nodes", "names", ni),
                    what="node",
                    name=name,
                    known=[n.name for n in cluster.nodes],
                )
    elif ref.nodes.role is not None:
        service = ref.nodes.role.service
        if service is not None and not cluster.nodes_running(service):
            report.add(
                (*path, "nodes", "role"),
                f"no node of cluster '{cluster.name}' runs {service.value}: selects nothing",
            )
    per_node = ref.identity is Identity.ITLRECOVERY and itl_recovery_per_node(cluster.version)
    if (
        ref.identity in (Identity.ITLRECOVERY, Identity.CAPF)
        and not per_node
        and ref.nodes.role not in (None, NodeRole.PUBLISHER)
    ):
        report.add(
            (*path, "nodes"),
            f"{ref.identity.value} is one certificate per cluster (the publisher's) on "
            f"{cluster.name} ({cluster.version}); a node selection is ignored"
            + (" (only 12.0–12.4 have one per node, R6)" if ref.identity is Identity.ITLRECOVERY else ""),
            rule="R6",
            severity=Severity.WARNING,
        )


def _check_pem(report: Report, path: DataPath, file: Path) -> None:
    try:
        data = read_bounded(file, limit=MAX_CERT_BYTES)
    except OSError as exc:
        report.add(path, f"cannot read PEM file {file}: {exc.strerror or exc}", rule="pem")
        return
    from cryptography import x509  # noqa: PLC0415 - heavy: imported only when a PEM is declared

    try:
        certs = x509.load_pem_x509_certificates(data)
    except (ValueError, x509.InvalidVersion) as exc:
        report.add(path, f"{file} holds no valid PEM certificate ({exc})", rule="pem")
        return
    if len(certs) != 1:
        report.add(path, f"{file} holds {len(certs)} certificates; declare one per file", rule="pem")


def check_parameters(report: Report, desired: DesiredState) -> None:
    """Parameters of known clusters; the rollback parameter once, and False on the source (R2)."""
    clusters = {c.name: c for c in desired.clusters}
    for name, params in desired.parameters.items():
        base: DataPath = ("parameters", name)
        cluster = clusters.get(name)
        if cluster is None:
            report.unknown(base, what="cluster", name=name, known=clusters, key=True)
            continue
        if params.prepare_cluster_for_rollback is not None and ROLLBACK_PARAMETER in params.enterprise:
            report.add(
                (*base, "enterprise", ROLLBACK_PARAMETER),
                "the rollback parameter is declared twice (also as prepare_cluster_for_rollback)",
                rule="duplicate",
                key=True,
            )
        if params.rollback_value() is not True:
            continue
        where = (
            (*base, "prepare_cluster_for_rollback")
            if params.prepare_cluster_for_rollback is not None
            else (*base, "enterprise", ROLLBACK_PARAMETER)
        )
        if cluster.role is Role.SOURCE:
            report.add(
                where,
                f"'{ROLLBACK_PARAMETER}' must be False on the secure source cluster '{name}' (R2)",
                rule="R2",
                detail="True blanks only the ITL, not the CTL: phones can no longer validate the source "
                "TVS certificate, the TVS handshake fails and no phone moves.",
                fix="set prepare_cluster_for_rollback: false",
            )
        else:
            report.add(
                where,
                f"'{ROLLBACK_PARAMETER}' True on '{name}' would strand phones moved back later (R2, R11)",
                rule="R2",
                severity=Severity.WARNING,
            )


def check(state: DesiredState, source: SourceMap, *, skip_roles: bool = False) -> list[Diagnostic]:
    """Every semantic problem of ``state``; positions come from ``source``. ``skip_roles`` leaves out
    the one-source-one-target count (used when a cluster was removed for a schema error)."""
    report = Report(source)
    check_clusters(report, state)
    check_nodes_across_clusters(report, state)
    if not skip_roles:
        check_roles(report, state)
    check_trust(report, state)
    check_parameters(report, state)
    check_dhcp(report, state)
    check_migration(report, state)
    check_waves(report, state)
    check_depends_on(report, state)
    check_credentials(report, state)
    return report.found
