"""``Connections``: every client of the concrete providers for one desired state, made on first use.

Used by ``reconciler.wiring.estate.ProviderEstate`` (reads) and ``reconciler.wiring.registry`` (the
executor's providers); built by ``reconciler.wiring.factory``. Nothing connects when it is created:
each client is made the first time it is asked for, which is when its credential reference is resolved
(``reconciler.config.secrets`` inside the providers' ``connect``), so ``validate``/``plan --help`` never read
a secret. Thread-safe: one lock guards the cache; clients that hold one interactive session (the admin
CLI, the IOS router) are wrapped so that only one thread talks through them at a time.

Per cluster: one ``AxlClient`` (publisher), one ``RisClient`` (publisher, paced under the policy's
RisPort70 allowance), one ``ControlCenterClient`` and one TFTP-over-HTTP client per node, and one
certificate client per node (certmgr REST from 14.0, else the admin CLI: ``clients_for_cluster``).
Per DHCP server: its backend (IOS via netmiko, CUCM DHCP via its own ``AxlClient``, Kea via the control
agent). ``close()`` closes everything that was opened, once.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any, TypeVar

from providers.cucm_axl import AxlClient
from providers.cucm_certs import CertStoreClient, StoredCert, clients_for_cluster
from providers.cucm_serviceability import ControlCenterClient, RisClient, RisPacer, match_process_node
from providers.cucm_tftp import TftpHttpClient
from providers.dhcp.base import BatchDhcpBackend, DhcpBackend, DhcpScope, Option150Check, SetResult, Wants
from providers.dhcp.cucm import CucmDhcpBackend
from providers.dhcp.ios import IosDhcpBackend
from providers.dhcp.kea import KeaDhcpBackend
from providers.transports.http import make_session
from providers.transports.ssh import SshTarget
from reconciler.config.secrets import resolve
from reconciler.errors import ConfigError
from schemas.cluster import Cluster
from schemas.document import DesiredState

__all__ = ["Connections", "LockedCertClient", "LockedDhcpBackend"]

# paramiko's transport thread logs a peer's reset at ERROR; without any handler Python's last-resort
# handler prints it raw on stderr ("Socket exception: ..."), in the middle of the CLI's own output.
# A NullHandler keeps that off the terminal; records still propagate to handlers the user configures.
logging.getLogger("paramiko").addHandler(logging.NullHandler())

_T = TypeVar("_T")


class LockedCertClient:
    """A ``CertStoreClient`` used by one thread at a time (an admin CLI session is one shell)."""

    def __init__(self, inner: CertStoreClient) -> None:
        self._inner = inner
        self._lock = threading.RLock()

    @property
    def node(self) -> str:
        return self._inner.node

    @property
    def inner(self) -> CertStoreClient:
        """The client it serialises (which face it reads through: ``readfailures.certs_face``)."""
        return self._inner

    def trust(self, stores: Collection[str] | None = None) -> Sequence[StoredCert]:
        with self._lock:
            return self._inner.trust(stores)

    def identities(self) -> Sequence[StoredCert]:
        with self._lock:
            return self._inner.identities()

    def upload_trust(self, *, store: str, pem: str, description: str) -> None:
        with self._lock:
            self._inner.upload_trust(store=store, pem=pem, description=description)

    def delete_trust(self, *, store: str, filename: str) -> None:
        with self._lock:
            self._inner.delete_trust(store=store, filename=filename)

    def close(self) -> None:
        with self._lock:
            self._inner.close()


class LockedDhcpBackend:
    """A ``DhcpBackend`` used by one thread at a time (netmiko holds one SSH session)."""

    def __init__(self, inner: DhcpBackend) -> None:
        self._inner = inner
        self._lock = threading.RLock()

    @property
    def name(self) -> str:
        return self._inner.name

    def list_scopes(self) -> tuple[DhcpScope, ...]:
        with self._lock:
            return self._inner.list_scopes()

    def set_option150(self, *, scope: str, addresses: Sequence[IPv4Address]) -> SetResult:
        with self._lock:
            return self._inner.set_option150(scope=scope, addresses=addresses)

    def verify_option150(self, *, scope: str, addresses: Sequence[IPv4Address]) -> Option150Check:
        with self._lock:
            return self._inner.verify_option150(scope=scope, addresses=addresses)

    def set_option150_batch(self, *, wants: Wants) -> tuple[SetResult, ...]:
        assert isinstance(self._inner, BatchDhcpBackend)
        with self._lock:
            return self._inner.set_option150_batch(wants=wants)

    def verify_option150_batch(self, *, wants: Wants) -> tuple[Option150Check, ...]:
        assert isinstance(self._inner, BatchDhcpBackend)
        with self._lock:
            return self._inner.verify_option150_batch(wants=wants)

    def close(self) -> None:
        with self._lock:
            self._inner.close()

    def __enter__(self) -> LockedDhcpBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Connections:
    """Lazily made, cached clients for ``desired`` (see the module docstring)."""

    def __init__(self, desired: DesiredState, *, service_timing: Mapping[str, Any] | None = None) -> None:
        """``service_timing``: ``clock``/``sleep``/``now`` for the ControlCenterServices clients (a lab
        on a manual clock); default: the wall clock."""
        self.desired = desired
        self._service_timing = dict(service_timing or {})
        self._lock = threading.RLock()
        self._cache: dict[tuple[str, ...], Any] = {}
        self._making: dict[tuple[str, ...], threading.RLock] = {}
        self._closers: list[Callable[[], None]] = []
        self._closed = False

    # --- lookup -----------------------------------------------------------------------------------
    def cluster(self, name: str) -> Cluster:
        found = self.desired.cluster(name)
        if found is None:
            raise ConfigError(f"cluster {name!r} is not declared", hint="add it under clusters:")
        return found

    def _get(self, key: tuple[str, ...], make: Callable[[], _T], close: Callable[[Any], None]) -> _T:
        """The cached client of ``key``, made once. Making one (a WSDL to load, a TLS context, an SSH
        login) holds only that key's lock: the refresh's other readers get their clients meanwhile."""
        with self._lock:
            self._check_open()
            if key in self._cache:
                found: _T = self._cache[key]
                return found
            making = self._making.setdefault(key, threading.RLock())
        with making:
            with self._lock:
                self._check_open()
                if key in self._cache:
                    made: _T = self._cache[key]
                    return made
            client = make()
            with self._lock:
                if self._closed:
                    close(client)
                    self._check_open()
                self._cache[key] = client
                self._closers.append(lambda: close(client))
            return client

    def _check_open(self) -> None:
        if self._closed:
            raise ConfigError("the connections were already closed")

    # --- CUCM -------------------------------------------------------------------------------------
    def axl(self, cluster: str) -> AxlClient:
        """AXL of ``cluster`` (its publisher); the AXL password is resolved now."""
        return self._get(("axl", cluster), lambda: AxlClient.connect(self.cluster(cluster)), _close)

    def ris(self, cluster: str) -> RisClient:
        """RisPort70 of ``cluster``, paced to the policy's ``ris_queries_per_minute`` (R13)."""
        per_minute = max(2, self.desired.policy.ris_queries_per_minute)
        pacer = RisPacer(per_minute=per_minute, burst=min(3, per_minute - 1))
        return self._get(
            ("ris", cluster), lambda: RisClient.connect(self.cluster(cluster), pacer=pacer), _close
        )

    def control(self, cluster: str, node: str) -> ControlCenterClient:
        """ControlCenterServices of one node; its ``NodeName`` is CUCM's own name of the node, found in
        the cluster's process-node list (AXL), which may differ from the YAML's name."""
        decl = self.cluster(cluster)
        found = decl.node(node)
        if found is None:
            raise ConfigError(f"node {node!r} of cluster {cluster} is not declared", hint="add it to nodes:")

        def make() -> ControlCenterClient:
            listed = [p.name for p in self.axl(cluster).process_nodes()]
            own = match_process_node(name=found.name, host=str(found.host), process_nodes=listed)
            return ControlCenterClient.connect(decl, found, process_node=own, **self._service_timing)

        return self._get(("control", cluster, node), make, _close)

    def tftp(self, cluster: str, node: str) -> TftpHttpClient:
        decl = self.cluster(cluster)
        found = decl.node(node)
        if found is None:
            raise ConfigError(f"node {node!r} of cluster {cluster} is not declared", hint="add it to nodes:")
        return self._get(
            ("tftp", cluster, node), lambda: TftpHttpClient.for_node(decl, found), _close_session
        )

    def certs(self, cluster: str) -> tuple[CertStoreClient, ...]:
        """One certificate client per declared node, publisher first (REST from 14.0, else CLI)."""

        def make() -> tuple[CertStoreClient, ...]:
            return tuple(LockedCertClient(c) for c in clients_for_cluster(self.cluster(cluster)))

        def close(clients: tuple[CertStoreClient, ...]) -> None:
            for client in clients:
                _close(client)

        return self._get(("certs", cluster), make, close)

    # --- DHCP -------------------------------------------------------------------------------------
    def dhcp(self, server: str) -> DhcpBackend:
        """The backend of the DHCP server named ``server`` in the YAML."""
        decl = next((s for s in self.desired.dhcp.servers if s.name == server), None)
        if decl is None:
            raise ConfigError(f"DHCP server {server!r} is not declared", hint="add it under dhcp.servers")
        return self._get(("dhcp", server), lambda: _backend(self, decl), _close)

    # --- lifetime ---------------------------------------------------------------------------------
    def close(self) -> None:
        """Close every client that was opened (idempotent; errors while closing are ignored)."""
        with self._lock:
            closers, self._closers, self._closed = self._closers, [], True
            self._cache.clear()
        for closer in reversed(closers):
            with contextlib.suppress(Exception):  # a dead session must not mask the real outcome
                closer()


def _close(client: Any) -> None:
    client.close()


def _close_session(client: TftpHttpClient) -> None:
    session = getattr(client, "_session", None)
    if session is not None:
        session.close()


def _backend(conns: Connections, decl: Any) -> DhcpBackend:
    """A DHCP backend for one ``dhcp.servers`` entry."""
    kind = str(decl.kind)
    if kind == "ios":
        target = SshTarget(
            name=decl.name,
            host=str(decl.host),
            port=int(decl.port),
            username=decl.credentials.username,
            password=decl.credentials.password,
            known_hosts=Path(decl.known_hosts) if decl.known_hosts is not None else None,
            host_key=decl.host_key,
        )
        return LockedDhcpBackend(IosDhcpBackend(name=decl.name, target=target))
    if kind == "cucm":
        cluster = conns.cluster(decl.cluster)
        node = cluster.node(decl.node)
        if node is None:
            raise ConfigError(f"DHCP server {decl.name}: {decl.cluster} has no node {decl.node!r}")
        return CucmDhcpBackend(
            AxlClient.connect(cluster, node=node),
            name=decl.name,
            server=decl.node,
            concurrency=conns.desired.policy.concurrency.axl,
        )
    if kind == "kea":
        auth = None
        if decl.credentials is not None:
            auth = (decl.credentials.username, resolve(decl.credentials.password).get_secret_value())
        session = make_session(
            endpoint=decl.name,
            ca_bundle=decl.tls.ca_bundle,
            pin_sha256=decl.tls.pin_sha256,
            insecure=decl.tls.insecure,
            auth=auth,
        )
        return KeaDhcpBackend(name=decl.name, url=str(decl.url), session=session)
    raise ConfigError(f"DHCP server {decl.name}: kind {kind!r} is not supported")
