"""Semantic checks of a schema-valid desired state, reporting every problem at once.

Called by ``reconciler.config.loader.load_text`` after the schema passed. Checks references between sections
(clusters, nodes, DHCP servers, scopes, waves), exactly one source and one target, duplicates, a scope
in two waves, option 150 feasibility, readable trust PEM files, file settings that do not exist yet
(warnings: the lab writes them later), and R2 (the rollback parameter True on the source is an error).
The trust a migration *requires* (R4–R6, R11) is checked by the planner against live state.
"""

from __future__ import annotations

from pathlib import Path

from reconciler.boundedio import MAX_CERT_BYTES, read_bounded
from reconciler.config.semantic_flow import FlowChecks
from reconciler.config.semantic_secrets import credential_findings
from reconciler.config.yamlsource import DataPath, SourceMap
from reconciler.cucm.signers import itl_recovery_per_node
from reconciler.diagnostics import Diagnostic, Severity
from schemas.cluster import Role, Service
from schemas.document import ROLLBACK_PARAMETER, DesiredState
from schemas.trust import Identity, IdentityRef, NodeRole, PemRef

__all__ = ["check"]


class _Checker(FlowChecks):
    """Clusters, roles, trust and parameters (R2); the flow checks come from ``FlowChecks``."""

    def run(self) -> list[Diagnostic]:
        self.check_clusters()
        self.check_nodes_across_clusters()
        if not self.skip_roles:
            self.check_roles()
        self.check_trust()
        self.check_parameters()
        self.check_dhcp()
        self.check_migration()
        self.check_depends_on()
        return self.found

    def check_clusters(self) -> None:
        self.duplicates(
            [c.name for c in self.state.clusters], base=("clusters",), field="name", what="cluster"
        )
        for ci, cluster in enumerate(self.state.clusters):
            base: DataPath = ("clusters", ci)
            self.duplicates([n.name for n in cluster.nodes], base=(*base, "nodes"), field="name", what="node")
            publishers = [i for i, n in enumerate(cluster.nodes) if n.publisher]
            for extra in publishers[1:]:
                self.report(
                    (*base, "nodes", extra, "publisher"),
                    "a cluster has exactly one publisher",
                    rule="cluster",
                )
            if cluster.certificate_api.value == "rest" and not cluster.version.at_least(14):
                self.report(
                    (*base, "certificate_api"),
                    f"the certmgr REST API needs CUCM 14 or newer (version is {cluster.version})",
                    rule="cluster",
                    fix="use certificate_api: cli or auto",
                )
            if cluster.tls.insecure:
                self.report(
                    (*base, "tls", "insecure"),
                    "TLS verification is off for this cluster",
                    rule="tls",
                    severity=Severity.WARNING,
                    fix="give tls.ca_bundle or tls.pin_sha256 instead",
                )
            self.file_should_exist((*base, "tls", "ca_bundle"), cluster.tls.ca_bundle, what="CA bundle")
            if cluster.tls.ca_bundle is not None and cluster.tls.ca_bundle.is_file():
                self.check_ca_bundle((*base, "tls", "ca_bundle"), cluster.tls.ca_bundle)
            self.file_should_exist((*base, "ssh", "known_hosts"), cluster.ssh.known_hosts, what="known_hosts")
            self.file_should_exist((*base, "axl_wsdl"), cluster.axl_wsdl, what="AXL WSDL")
            if not cluster.nodes_running(Service.TFTP):
                self.report(
                    (*base, "nodes"),
                    "no node runs tftp; phones need a TFTP server (R1, R4)",
                    rule="R4",
                    severity=Severity.WARNING,
                )

    def check_nodes_across_clusters(self) -> None:
        """A server belongs to one cluster: the same host in two clusters means a copy-paste slip (the
        plan would otherwise ask one server for both clusters' data)."""
        first: dict[str, tuple[str, int, int, str]] = {}
        for ci, cluster in enumerate(self.state.clusters):
            for ni, node in enumerate(cluster.nodes):
                host = str(node.host).lower()
                if host not in first:
                    first[host] = (cluster.name, ci, ni, node.name)
                    continue
                other, oci, oni, oname = first[host]
                if other == cluster.name:
                    continue  # duplicates inside one cluster are the per-cluster check's business
                same = " (same name)" if oname == node.name else f" (there named '{oname}')"
                self.report(
                    ("clusters", ci, "nodes", ni, "host"),
                    f"host {node.host} of node '{node.name}' is already a node of cluster '{other}' "
                    f"at clusters[{oci}].nodes[{oni}]{same}; a server belongs to one cluster",
                    rule="duplicate",
                    fix="give each cluster its own nodes",
                )

    def check_ca_bundle(self, path: DataPath, file: Path) -> None:
        try:
            data = read_bounded(file, limit=MAX_CERT_BYTES)
        except OSError as exc:
            self.report(path, f"cannot read CA bundle {file}: {exc.strerror or exc}", rule="tls")
            return
        from cryptography import x509  # noqa: PLC0415 - heavy: imported only when a bundle exists

        try:
            x509.load_pem_x509_certificates(data)
        except (ValueError, x509.InvalidVersion):
            self.report(
                path,
                f"CA bundle {file} holds no PEM certificate",
                rule="tls",
                detail="TLS verification needs at least one '-----BEGIN CERTIFICATE-----' block.",
                fix="point ca_bundle at the PEM file of the CA that signed the cluster's Tomcat certificate",
            )

    def check_roles(self) -> None:
        for role in (Role.SOURCE, Role.TARGET):
            having = [i for i, c in enumerate(self.state.clusters) if c.role is role]
            if len(having) != 1:
                where = ("clusters", having[1], "role") if len(having) > 1 else ("clusters",)
                self.report(
                    where,
                    f"exactly one cluster must have role {role.value} (found {len(having)})",
                    rule="migration",
                )

    def check_trust(self) -> None:
        seen: dict[tuple[str, str], int] = {}
        for ti, decl in enumerate(self.state.trust):
            base: DataPath = ("trust", ti)
            self.cluster_ref((*base, "cluster"), decl.cluster)
            pair = (decl.cluster, decl.store.value)
            if pair in seen:
                self.report(
                    (*base, "store"),
                    f"{decl.store.value} of cluster '{decl.cluster}' is already "
                    f"declared at trust[{seen[pair]}]",
                    rule="duplicate",
                )
            seen.setdefault(pair, ti)
            for ri, ref in enumerate(decl.certificates):
                path: DataPath = (*base, "certificates", ri)
                if isinstance(ref, PemRef):
                    self.check_pem((*path, "pem"), ref.pem)
                elif isinstance(ref, IdentityRef):
                    self.check_identity(path, ref)

    def check_identity(self, path: DataPath, ref: IdentityRef) -> None:
        cluster = self.cluster_ref((*path, "cluster"), ref.cluster)
        if cluster is None or ref.nodes is None:
            return
        if ref.nodes.names is not None:
            for ni, name in enumerate(ref.nodes.names):
                if cluster.node(name) is None:
                    self.unknown(
                        (*path, "nodes", "names", ni),
                        what="node",
                        name=name,
                        known=[n.name for n in cluster.nodes],
                    )
        elif ref.nodes.role is not None:
            service = ref.nodes.role.service
            if service is not None and not cluster.nodes_running(service):
                self.report(
                    (*path, "nodes", "role"),
                    f"no node of cluster '{cluster.name}' runs {service.value}: selects nothing",
                )
        per_node = ref.identity is Identity.ITLRECOVERY and itl_recovery_per_node(cluster.version)
        if (
            ref.identity in (Identity.ITLRECOVERY, Identity.CAPF)
            and not per_node
            and ref.nodes.role not in (None, NodeRole.PUBLISHER)
        ):
            self.report(
                (*path, "nodes"),
                f"{ref.identity.value} is one certificate per cluster (the publisher's) on "
                f"{cluster.name} ({cluster.version}); a node selection is ignored"
                + (" (only 12.0–12.4 have one per node, R6)" if ref.identity is Identity.ITLRECOVERY else ""),
                rule="R6",
                severity=Severity.WARNING,
            )

    def check_pem(self, path: DataPath, file: Path) -> None:
        try:
            data = read_bounded(file, limit=MAX_CERT_BYTES)
        except OSError as exc:
            self.report(path, f"cannot read PEM file {file}: {exc.strerror or exc}", rule="pem")
            return
        from cryptography import x509  # noqa: PLC0415 - heavy: imported only when a PEM is declared

        try:
            certs = x509.load_pem_x509_certificates(data)
        except (ValueError, x509.InvalidVersion) as exc:
            self.report(path, f"{file} holds no valid PEM certificate ({exc})", rule="pem")
            return
        if len(certs) != 1:
            self.report(path, f"{file} holds {len(certs)} certificates; declare one per file", rule="pem")

    def check_parameters(self) -> None:
        for name, params in self.state.parameters.items():
            base: DataPath = ("parameters", name)
            cluster = self.clusters.get(name)
            if cluster is None:
                self.unknown(base, what="cluster", name=name, known=self.clusters, key=True)
                continue
            if params.prepare_cluster_for_rollback is not None and ROLLBACK_PARAMETER in params.enterprise:
                self.report(
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
                self.report(
                    where,
                    f"'{ROLLBACK_PARAMETER}' must be False on the secure source cluster '{name}' (R2)",
                    rule="R2",
                    detail="True blanks only the ITL, not the CTL: phones can no longer validate the source "
                    "TVS certificate, the TVS handshake fails and no phone moves.",
                    fix="set prepare_cluster_for_rollback: false",
                )
            else:
                self.report(
                    where,
                    f"'{ROLLBACK_PARAMETER}' True on '{name}' would strand phones moved back later (R2, R11)",
                    rule="R2",
                    severity=Severity.WARNING,
                )


def check(state: DesiredState, source: SourceMap, *, skip_roles: bool = False) -> list[Diagnostic]:
    """Every semantic problem of ``state``; positions come from ``source``. ``skip_roles`` leaves out
    the one-source-one-target count (used when a cluster was removed for a schema error)."""
    return [*_Checker(state, source, skip_roles=skip_roles).run(), *credential_findings(state, source)]
