"""CUCM certificates: trust stores and identities through certmgr REST (14+) or the admin CLI.

``clients_for_cluster`` builds one ``CertStoreClient`` per node (publisher first) as the cluster's
``effective_certificate_api`` says (``auto``: REST from 14.0, else CLI); ``TrustStoreProvider`` is the
provider of ``trust.<cluster>.<store>.<cert-id>`` addresses. Credentials (``credentials.os``) are
resolved only when a client first connects. Called by ``reconciler.wiring`` and the tests.
"""

from __future__ import annotations

import requests
from pydantic import SecretStr

from providers.cucm_certs.cli import CliCertClient, DetailCache
from providers.cucm_certs.model import CertStoreClient, StoredCert, normalise_store, store_unit, trust_value
from providers.cucm_certs.provider import TrustStoreProvider
from providers.cucm_certs.rest import RestCertClient
from providers.cucm_cli.session import CliSession
from providers.transports.http import make_session
from providers.transports.ssh import AuthMethod, SshTarget
from reconciler.config.secrets import resolve
from schemas.cluster import CertificateApi, Cluster, Node

__all__ = [
    "CertStoreClient",
    "CliCertClient",
    "RestCertClient",
    "StoredCert",
    "TrustStoreProvider",
    "cli_session_for",
    "clients_for_cluster",
    "normalise_store",
    "store_unit",
    "trust_value",
]


def cli_session_for(cluster: Cluster, node: Node, *, auth_method: AuthMethod = "auto") -> CliSession:
    """The admin CLI session of ``node`` (host key from ``node.host_key`` or ``cluster.ssh.known_hosts``)."""
    target = SshTarget(
        name=node.name,
        host=str(node.host),
        port=cluster.port(node, "ssh"),
        username=cluster.credentials.os.username,
        password=cluster.credentials.os.password,
        known_hosts=cluster.ssh.known_hosts,
        host_key=node.host_key,
        auth_method=auth_method,
    )
    return CliSession(target)


def _rest_client(cluster: Cluster, node: Node) -> RestCertClient:
    port = cluster.port(node, "https")

    def session() -> requests.Session:  # called at the first request: the secret is read only then
        secret: SecretStr = resolve(cluster.credentials.os.password)
        return make_session(
            endpoint=f"{node.name}:{port}",
            ca_bundle=cluster.tls.ca_bundle,
            pin_sha256=cluster.tls.pin_sha256,
            insecure=cluster.tls.insecure,
            auth=(cluster.credentials.os.username, secret.get_secret_value()),
        )

    return RestCertClient(
        node=node.name,
        base_url=f"https://{node.host}:{port}",
        session=session,
        service_style=cluster.certmgr_service_name.value,
    )


def clients_for_cluster(cluster: Cluster) -> list[CertStoreClient]:
    """One client per node, publisher first, through REST or CLI per ``effective_certificate_api``."""
    nodes = [cluster.publisher] + [n for n in cluster.nodes if n is not cluster.publisher]
    if cluster.effective_certificate_api is CertificateApi.REST:
        return [_rest_client(cluster, n) for n in nodes]
    shared: DetailCache = {}  # one cluster's nodes read each replicated certificate once
    return [CliCertClient(cli_session_for(cluster, n), detail_cache=shared) for n in nodes]
