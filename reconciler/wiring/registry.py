"""The executor's provider registry: ``build_registry(desired, conns, ...)``.

Called by ``reconciler.wiring.factory.ProviderWiring.open_apply`` (``reconciler apply``). Every entry is an
applier (``apply``/``verify``/``close``, ``reconciler.provider.Provider``) that takes the plan's steps
as they are — the providers speak the plan's values (docs/plan-format.md), so nothing here translates.
This module only decides which provider instance answers which ``(provider kind, endpoint)``:

============================  ==================  ==========================================================
plan step (provider kind)     registry key        performed by
============================  ==================  ==========================================================
``trust.*`` (cucm_certs)      (kind, c/pub)       ``TrustStoreProvider`` (upload on the publisher; verify on
                                                  the publisher — the other nodes are the R7 steps below)
``replication.*`` (certs)     (kind, c/node)      ``ReplicationCheck``: node lists what the publisher has
``tvs.*`` (serviceability)    (kind, c/node)      ``TvsProvider`` (restart, wait for Started, R8)
``param.*`` (cucm_axl)        (kind, cluster)     ``EnterpriseParameterProvider`` (R2)
``bulk.*`` (cucm_cli)         (kind, c/pub)       ``BulkProvider``: the publisher's admin CLI + SFTP (R9)
``option150.*`` (dhcp_<k>)    (kind, server)      ``Option150Provider`` over the server's backend (R12)
``restore.*`` (dhcp_<k>)      (kind, server)      the same ``Option150Provider`` (a wave's revert, R13)
``reset.*`` (cucm_axl)        (kind, source)      ``reconciler.wiring.reset.ResetProvider``
``revert-reset.*`` (axl)      (kind, source)      the same ``ResetProvider`` (a wave's revert)
``gate.*`` (ris)              —                   added by ``reconciler apply`` (``GateHandler``, R13)
``revert-gate.*`` (ris)       —                   the same ``GateHandler`` (phones back on the source)
``window.*`` (window)         —                   added by ``reconciler apply`` (``WindowHandler``, the clock)
============================  ==================  ==========================================================

Providers are built on first use (``_Lazy``: building the registry connects nothing); ``_Dispatch``
puts several address kinds behind one key (``cucm_axl`` does ``param`` and ``reset``). ``close()`` of
an entry is replaced by the caller with the shared ``Connections.close``.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
from collections.abc import Callable, Mapping, Sequence

from providers.cucm_axl import EnterpriseParameterProvider
from providers.cucm_certs import TrustStoreProvider, cli_session_for
from providers.cucm_certs.replication import ReplicationCheck
from providers.cucm_cli.bulk import BulkProvider, SftpSpec
from providers.cucm_serviceability import TvsProvider
from providers.dhcp.provider import Option150Provider
from providers.sftp import SftpExchange
from providers.transports.ssh import SshTarget
from reconciler.config.secrets import resolve
from reconciler.errors import PermanentError
from reconciler.model import Address, Change
from reconciler.provider import ApplyResult, Provider, ProviderBase, VerifyResult
from reconciler.vocabulary import ProviderKind
from reconciler.wiring.connections import Connections
from reconciler.wiring.estate import ProviderEstate
from reconciler.wiring.reset import ResetProvider
from schemas.cluster import Service
from schemas.document import DesiredState

__all__ = ["build_registry"]

RegistryKey = str | tuple[str, str]


def build_registry(
    desired: DesiredState,
    *,
    conns: Connections,
    estate: ProviderEstate,
    owned: Callable[[Address], bool],
    tvs_timeout: float = 300.0,
    tvs_poll_interval: float = 2.0,
    now: Callable[[], dt.datetime] | None = None,
) -> dict[RegistryKey, Provider]:
    """Providers for every endpoint a plan of ``desired`` can name (see the module docstring).

    ``now`` is the TVS providers' clock (default: the wall clock). ``owned(address)`` says whether the
    state records that reconciler added a trust certificate
    (``mode: exact`` deletes only those). Nothing connects here: clients are made on first use.
    """
    registry: dict[RegistryKey, Provider] = {}
    for cluster in desired.clusters:
        name, pub = cluster.name, cluster.publisher.name

        def trust(c: str = name) -> ProviderBase:
            return TrustStoreProvider(cluster=c, clients=conns.certs(c)[:1], owned=owned)

        def tvs(c: str = name, nodes: tuple[str, ...] = tuple(n.name for n in cluster.nodes)) -> ProviderBase:
            clients = {n: conns.control(c, n) for n in nodes}
            return TvsProvider(
                clients, cluster=c, timeout=tvs_timeout, poll_interval=tvs_poll_interval, now=now
            )

        def params(c: str = name) -> ProviderBase:
            return EnterpriseParameterProvider(conns.axl(c), cluster=c)

        registry[(ProviderKind.CUCM_CERTS, f"{name}/{pub}")] = _Lazy(
            trust, kinds=TrustStoreProvider.kinds, endpoint=f"{name}/{pub}"
        )
        replication = ReplicationCheck(cluster=name, clients=functools.partial(conns.certs, name))
        restart = _Lazy(tvs, kinds=TvsProvider.kinds, endpoint=f"{name} (ControlCenterServices)")
        for node in cluster.nodes:
            registry[(ProviderKind.CUCM_SERVICEABILITY, f"{name}/{node.name}")] = restart
            if node.name != pub:
                registry[(ProviderKind.CUCM_CERTS, f"{name}/{node.name}")] = replication
        axl_kinds: dict[str, Provider] = {
            "param": _Lazy(params, kinds=EnterpriseParameterProvider.kinds, endpoint=name)
        }
        if name == desired.migration.source:
            resets = ResetProvider(desired=desired, conns=conns, estate=estate, cluster=name)
            axl_kinds["reset"] = axl_kinds["revert-reset"] = resets
        registry[(ProviderKind.CUCM_AXL, name)] = _Dispatch(axl_kinds, endpoint=name)
        if desired.migration.sftp is not None:
            registry[(ProviderKind.CUCM_CLI, f"{name}/{pub}")] = _Lazy(
                functools.partial(_bulk, desired, conns, name),
                kinds=BulkProvider.kinds,
                endpoint=f"{name}/{pub} (bulk)",
            )
    scopes_by_server: dict[str, dict[str, str]] = {}
    for scope in desired.dhcp.scopes:
        scopes_by_server.setdefault(scope.server, {})[scope.name] = str(scope.subnet)
    for server in desired.dhcp.servers:

        def dhcp(s: str = server.name) -> ProviderBase:
            return Option150Provider(conns.dhcp(s), scope_keys=scopes_by_server.get(s, {}))

        registry[(ProviderKind.dhcp(server.kind), server.name)] = _LazyBatch(
            dhcp,
            kinds=Option150Provider.kinds,
            batch_kinds=Option150Provider.batch_kinds,
            endpoint=server.name,
        )
    return registry


def _bulk(desired: DesiredState, conns: Connections, name: str) -> ProviderBase:
    """The bulk steps of cluster ``name`` (R9): its publisher's admin CLI and the shared SFTP directory."""
    sftp = desired.migration.sftp
    if sftp is None:
        raise PermanentError("method bulk needs migration.sftp (R9)")
    cluster = conns.cluster(name)
    other = next(c.name for c in desired.clusters if c.name != name)
    target = SshTarget(
        name=f"sftp {sftp.host}",
        host=str(sftp.host),
        port=int(sftp.port),
        username=sftp.credentials.username,
        password=sftp.credentials.password,
        known_hosts=sftp.known_hosts,
        host_key=sftp.host_key,
    )
    return BulkProvider(
        cluster=name,
        session=cli_session_for(cluster, cluster.publisher),
        sftp=SftpSpec(
            host=str(sftp.host),
            port=int(sftp.port),
            user=sftp.credentials.username,
            password=lambda: resolve(sftp.credentials.password),
            directory=sftp.directory,
        ),
        exchange=SftpExchange(target=target, directory=sftp.directory),
        own=functools.partial(conns.certs, name),
        other=functools.partial(conns.certs, other),
        tftp_nodes=frozenset(n.name for c in desired.clusters for n in c.nodes if n.runs(Service.TFTP)),
    )


# --- lazy construction and dispatch ----------------------------------------------------------------
class _Lazy(ProviderBase):
    """A provider built on first use (so building the registry connects nothing)."""

    def __init__(
        self, make: Callable[[], ProviderBase], *, kinds: frozenset[str], endpoint: str = ""
    ) -> None:
        self._make = make
        self._label = endpoint
        self._inner: ProviderBase | None = None
        self._lock = threading.Lock()
        self.kinds = kinds  # type: ignore[misc]

    def get(self) -> ProviderBase:
        with self._lock:
            if self._inner is None:
                self._inner = self._make()
            return self._inner

    @property
    def endpoint(self) -> str:
        return self._label or str(getattr(self.get(), "endpoint", ""))

    def apply(self, change: Change) -> ApplyResult:
        return self.get().apply(change)  # type: ignore[attr-defined, no-any-return]

    def verify(self, change: Change) -> VerifyResult:
        return self.get().verify(change)  # type: ignore[attr-defined, no-any-return]


class _LazyBatch(_Lazy):
    """A lazily built ``BatchProvider``: the executor batches by ``isinstance(p, BatchProvider)`` on the
    registry entry, so the wrapper must offer ``batch_kinds``/``apply_batch``/``verify_batch`` itself
    (a plain ``_Lazy`` hid them and every option 150 step ran in a session of its own)."""

    batch_kinds: frozenset[str]

    def __init__(
        self,
        make: Callable[[], ProviderBase],
        *,
        kinds: frozenset[str],
        batch_kinds: frozenset[str],
        endpoint: str = "",
    ) -> None:
        super().__init__(make, kinds=kinds, endpoint=endpoint)
        self.batch_kinds = batch_kinds

    def apply_batch(self, changes: Sequence[Change]) -> tuple[ApplyResult, ...]:
        return self.get().apply_batch(changes)  # type: ignore[attr-defined, no-any-return]

    def verify_batch(self, changes: Sequence[Change]) -> tuple[VerifyResult, ...]:
        return self.get().verify_batch(changes)  # type: ignore[attr-defined, no-any-return]


class _Dispatch(ProviderBase):
    """Several address kinds behind one registry key (``cucm_axl`` does ``param`` and ``reset``)."""

    def __init__(self, by_kind: Mapping[str, Provider], *, endpoint: str) -> None:
        self.by_kind = dict(by_kind)
        self._endpoint = endpoint
        self.kinds = frozenset(by_kind)  # type: ignore[misc]

    @property
    def endpoint(self) -> str:
        return self._endpoint

    def _for(self, address: Address) -> Provider:
        provider = self.by_kind.get(address.kind)
        if provider is None:
            raise PermanentError(f"{address}: no provider for {address.kind} at {self._endpoint}")
        return provider

    def apply(self, change: Change) -> ApplyResult:
        return self._for(change.address).apply(change)

    def verify(self, change: Change) -> VerifyResult:
        return self._for(change.address).verify(change)
