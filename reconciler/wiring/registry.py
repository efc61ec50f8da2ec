"""The executor's provider registry over the concrete providers: ``build_registry(desired, conns, ...)``.

Called by ``reconciler.commands.wiring.open_providers`` (for ``reconciler apply``). Plan steps speak
the plan document's values (docs/plan-format.md); the concrete providers speak theirs
(docs/providers.md). The small adapters here translate one into the other and hand the work to the
provider, so the providers stay the one place that talks to a system:

============================  ==================  ==========================================================
plan step (provider kind)     registry key        performed by
============================  ==================  ==========================================================
``trust.*`` (cucm_certs)      (kind, c/pub)       ``TrustStoreProvider`` (upload on the publisher; verify on
                                                  the publisher — the other nodes are the R7 steps below)
``replication.*`` (certs)     (kind, c/node)      ``ReplicationCheck``: node lists what the publisher has
``tvs.*`` (serviceability)    (kind, c/node)      ``TvsProvider`` (restart, wait for Started, R8)
``param.*`` (cucm_axl)        (kind, cluster)     ``EnterpriseParameterProvider`` (R2)
``option150.*`` (dhcp_<k>)    (kind, server)      ``Option150Provider`` over the server's backend (R12)
``reset.*`` (cucm_axl)        (kind, source)      ``reconciler.wiring.reset.ResetProvider``
``gate.*`` (ris)              —                   added by ``reconciler apply`` (``GateHandler``, R13)
============================  ==================  ==========================================================

Every adapter re-labels results with the plan's own address, so journal lines and error messages name
what the plan named. ``close()`` of any adapter is a no-op: the shared ``Connections`` are closed once
by whoever opened them.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import ClassVar

from providers.cucm_axl import EnterpriseParameterProvider
from providers.cucm_certs import StoredCert, TrustStoreProvider, normalise_store, trust_value
from providers.cucm_serviceability import TvsProvider
from providers.dhcp.provider import Option150Provider, option150_value
from reconciler.cucm.certs import load_certificate
from reconciler.errors import CertificateError, PermanentError
from reconciler.model import Action, Address, Change, FrozenMap, Value, freeze
from reconciler.provider import (
    ApplyResult,
    Desired,
    FieldMismatch,
    Observed,
    Provider,
    ProviderBase,
    VerifyResult,
)
from reconciler.wiring.connections import Connections
from reconciler.wiring.estate import ProviderEstate, stored_identity
from reconciler.wiring.reset import ResetProvider
from schemas.document import DesiredState

__all__ = [
    "Adapter",
    "ReplicationCheck",
    "build_registry",
    "option150_change",
    "param_change",
    "trust_change",
]

RegistryKey = str | tuple[str, str]


def _relabel_apply(result: ApplyResult, original: Change) -> ApplyResult:
    return ApplyResult(
        change=original, changed=result.changed, observed=result.observed, diagnostics=result.diagnostics
    )


def _relabel_verify(result: VerifyResult, original: Change) -> VerifyResult:
    return VerifyResult(
        address=original.address,
        complies=result.complies,
        mismatched=result.mismatched,
        method=result.method,
        detail=result.detail,
        observed=result.observed,
        extra=result.extra,
    )


class Adapter(ProviderBase):
    """Runs plan changes through ``inner`` after ``translate``-ing them into the provider's values."""

    def __init__(self, inner: Provider, *, translate: Callable[[Change], Change], endpoint: str) -> None:
        self.inner = inner
        self.translate = translate
        self._endpoint = endpoint
        self.kinds = inner.kinds  # type: ignore[misc]

    @property
    def endpoint(self) -> str:
        return self._endpoint

    def read(self, addresses: Sequence[Address]) -> Mapping[Address, Observed]:
        return self.inner.read(addresses)

    def diff(self, desired: Desired, observed: Observed) -> Change:
        return self.inner.diff(desired, observed)

    def apply(self, change: Change) -> ApplyResult:
        return _relabel_apply(self.inner.apply(self.translate(change)), change)

    def verify(self, change: Change) -> VerifyResult:
        return _relabel_verify(self.inner.verify(self.translate(change)), change)


# --- value translations (pure) -------------------------------------------------------------------
def trust_change(change: Change) -> Change:
    """A plan trust change → the ``TrustStoreProvider`` value: ``trust_value`` of the PEM the plan
    carries (identity by SHA-256), or for a delete the ``{sha256}`` the plan recorded."""
    after: Value = change.after
    if isinstance(after, FrozenMap) and isinstance(after.get("pem"), str):
        try:
            after = trust_value(load_certificate(str(after["pem"]).encode()))
        except CertificateError as exc:
            raise PermanentError(f"{change.address}: the plan's certificate does not parse ({exc})") from exc
    return Change(
        address=change.address,
        action=change.action,
        before=change.before,
        after=after,
        reason=change.reason,
        rule=change.rule,
    )


def param_change(change: Change) -> Change:
    """``"False"`` (the plan's CUCM text) → ``{"value": False}`` (the AXL provider's value)."""

    def wrap(value: Value) -> Value:
        if value is None or isinstance(value, FrozenMap):
            return value
        text = str(value)
        low = text.strip().lower()
        return freeze({"value": True if low == "true" else False if low == "false" else text})

    return Change(
        address=change.address,
        action=change.action,
        before=wrap(change.before),
        after=wrap(change.after),
        reason=change.reason,
        rule=change.rule,
    )


def option150_change(change: Change, *, scope_key: str) -> Change:
    """``option150.<server>.<scope>`` with a list → the same server, the scope by subnet/pool, and
    ``{"option150": [...]}`` (the DHCP provider's value)."""
    server = change.address.parts[1]

    def wrap(value: Value) -> Value:
        if isinstance(value, tuple):
            return option150_value([str(v) for v in value])
        return value

    return Change(
        address=Address.of("option150", server, scope_key),
        action=change.action,
        before=wrap(change.before),
        after=wrap(change.after),
        reason=change.reason,
        rule=change.rule,
    )


class TvsRestart(ProviderBase):
    """``tvs.<cluster>.<node>`` ``{restart: true}`` → ``TvsProvider`` with ``started_after``: TVS must
    have started after the first attempt of this step in this run (so a retry after success restarts
    nothing), else after the start time the plan saw (a resumed apply re-verifying)."""

    kinds: ClassVar[frozenset[str]] = frozenset({"tvs"})

    def __init__(self, inner: Provider, *, now: Callable[[], dt.datetime] | None = None) -> None:
        self.inner = inner
        self._now = now or (lambda: dt.datetime.now(dt.UTC))
        self._first: dict[str, dt.datetime] = {}
        self._lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return self.inner.endpoint

    def _translate(self, change: Change, *, starting: bool) -> Change:
        key = str(change.address)
        with self._lock:
            if starting and key not in self._first:
                self._first[key] = self._now().replace(microsecond=0)
            since = self._first.get(key)
        if since is None and isinstance(change.before, FrozenMap) and change.before.get("started_at"):
            seen = dt.datetime.fromisoformat(str(change.before["started_at"]))
            since = (seen if seen.tzinfo else seen.replace(tzinfo=dt.UTC)) + dt.timedelta(seconds=1)
        after: dict[str, str] = {"status": "Started"}
        if since is not None:
            after["started_after"] = since.isoformat()
        return Change(
            address=change.address,
            action=Action.RUN,
            before=change.before,
            after=freeze(after),
            reason=change.reason,
            rule=change.rule or "R8",
        )

    def read(self, addresses: Sequence[Address]) -> Mapping[Address, Observed]:
        return self.inner.read(addresses)

    def diff(self, desired: Desired, observed: Observed) -> Change:
        return self.inner.diff(desired, observed)

    def apply(self, change: Change) -> ApplyResult:
        return _relabel_apply(self.inner.apply(self._translate(change, starting=True)), change)

    def verify(self, change: Change) -> VerifyResult:
        return _relabel_verify(self.inner.verify(self._translate(change, starting=False)), change)


class ReplicationCheck(ProviderBase):
    """``replication.<cluster>.<node>`` (R7): the node lists every certificate of the named stores that
    the publisher holds. ``apply`` changes nothing (replication is CUCM's own); ``verify`` compares, and
    the executor re-verifies until it complies or its settle time passes — never assume replication."""

    kinds: ClassVar[frozenset[str]] = frozenset({"replication"})

    def __init__(self, *, cluster: str, conns: Connections) -> None:
        self.cluster = cluster
        self.conns = conns

    @property
    def endpoint(self) -> str:
        return f"{self.cluster} (trust replication)"

    def _compare(self, change: Change) -> VerifyResult:
        node = change.address.name
        after = change.after
        stores = tuple(str(s) for s in after.get("stores", ())) if isinstance(after, FrozenMap) else ()
        stores = tuple(normalise_store(s) for s in stores) or ("CallManager-trust", "Phone-SAST-trust")
        clients = self.conns.certs(self.cluster)
        client = next((c for c in clients if c.node == node), None)
        if client is None:
            raise PermanentError(f"{change.address}: {node} is not a declared node of {self.cluster}")
        publisher = clients[0]

        def index(entries: Sequence[StoredCert]) -> dict[str, dict[object, str]]:
            out: dict[str, dict[object, str]] = {s: {} for s in stores}
            for e in entries:
                ident = stored_identity(e)
                if ident is not None and e.store in out:
                    out[e.store][ident] = e.subject
            return out

        want, have = index(publisher.trust(stores)), index(client.trust(stores))
        missing = {s: sorted(subj for ident, subj in want[s].items() if ident not in have[s]) for s in stores}
        mismatched = tuple(
            FieldMismatch(field=f"{s}.missing", expected=(), actual=tuple(m)) for s, m in missing.items() if m
        )
        count = sum(len(m) for m in missing.values())
        detail = (
            f"{node} lists every certificate of {', '.join(stores)} that {publisher.node} holds (R7)"
            if not count
            else f"{node} does not list {count} certificate(s) {publisher.node} holds yet (R7: replication "
            "from the publisher is not complete)"
        )
        observed = freeze({s: len(have[s]) for s in stores})
        return VerifyResult(
            address=change.address,
            complies=not count,
            mismatched=mismatched,
            method="read-back-per-node",
            detail=detail,
            observed=observed,
        )

    def read(self, addresses: Sequence[Address]) -> Mapping[Address, Observed]:
        out = {}
        for a in addresses:
            result = self._compare(Change(address=a, action=Action.RUN))
            out[a] = Observed(address=a, value=freeze({"replicated": result.complies}))
        return out

    def diff(self, desired: Desired, observed: Observed) -> Change:
        done = isinstance(observed.value, FrozenMap) and observed.value.get("replicated") is True
        return Change(
            address=desired.address,
            action=Action.NOOP if done else Action.RUN,
            after=desired.value,
            reason="trust replicated to the node" if done else "wait for trust replication (R7)",
            rule="R7",
        )

    def apply(self, change: Change) -> ApplyResult:
        return ApplyResult(change=change, changed=False, observed=self._compare(change).observed)

    def verify(self, change: Change) -> VerifyResult:
        return self._compare(change)


class _ScopeOption150(ProviderBase):
    """``Option150Provider`` with the YAML's scope name mapped to what the server knows (its subnet)."""

    kinds: ClassVar[frozenset[str]] = frozenset({"option150"})

    def __init__(self, inner: Provider, *, scope_keys: Mapping[str, str]) -> None:
        self.inner = inner
        self.scope_keys = dict(scope_keys)

    @property
    def endpoint(self) -> str:
        return self.inner.endpoint

    def _translate(self, change: Change) -> Change:
        scope = change.address.name
        return option150_change(change, scope_key=self.scope_keys.get(scope, scope))

    def read(self, addresses: Sequence[Address]) -> Mapping[Address, Observed]:
        return self.inner.read(addresses)

    def diff(self, desired: Desired, observed: Observed) -> Change:
        return self.inner.diff(desired, observed)

    def apply(self, change: Change) -> ApplyResult:
        return _relabel_apply(self.inner.apply(self._translate(change)), change)

    def verify(self, change: Change) -> VerifyResult:
        return _relabel_verify(self.inner.verify(self._translate(change)), change)


def build_registry(
    desired: DesiredState,
    *,
    conns: Connections,
    estate: ProviderEstate,
    owned: Callable[[Address], bool],
    tvs_timeout: float = 300.0,
    tvs_poll_interval: float = 2.0,
) -> dict[RegistryKey, Provider]:
    """Providers for every endpoint a plan of ``desired`` can name (see the module docstring).

    ``owned(address)`` says whether the state records that reconciler added a trust certificate
    (``mode: exact`` deletes only those). Nothing connects here: clients are made on first use.
    """
    registry: dict[RegistryKey, Provider] = {}
    for cluster in desired.clusters:
        name, pub = cluster.name, cluster.publisher.name

        def trust(c: str = name) -> ProviderBase:
            return TrustStoreProvider(cluster=c, clients=conns.certs(c)[:1], owned=owned)

        def tvs(c: str = name, nodes: tuple[str, ...] = tuple(n.name for n in cluster.nodes)) -> ProviderBase:
            clients = {n: conns.control(c, n) for n in nodes}
            return TvsProvider(clients, cluster=c, timeout=tvs_timeout, poll_interval=tvs_poll_interval)

        def params(c: str = name) -> ProviderBase:
            return EnterpriseParameterProvider(conns.axl(c), cluster=c)

        trust_kinds = frozenset({"trust"})
        registry[("cucm_certs", f"{name}/{pub}")] = Adapter(
            _Lazy(trust, kinds=trust_kinds), translate=trust_change, endpoint=f"{name}/{pub}"
        )
        replication = ReplicationCheck(cluster=name, conns=conns)
        restart = TvsRestart(_Lazy(tvs, kinds=frozenset({"tvs"}), endpoint=f"{name} (ControlCenterServices)"))
        for node in cluster.nodes:
            registry[("cucm_serviceability", f"{name}/{node.name}")] = restart
            if node.name != pub:
                registry[("cucm_certs", f"{name}/{node.name}")] = replication
        axl_kinds: dict[str, Provider] = {
            "param": Adapter(_Lazy(params, kinds=frozenset({"param"})), translate=param_change, endpoint=name)
        }
        if name == desired.migration.source:
            axl_kinds["reset"] = ResetProvider(desired=desired, conns=conns, estate=estate, cluster=name)
        registry[("cucm_axl", name)] = _Dispatch(axl_kinds, endpoint=name)
    scopes_by_server: dict[str, dict[str, str]] = {}
    for scope in desired.dhcp.scopes:
        scopes_by_server.setdefault(scope.server, {})[scope.name] = str(scope.subnet)
    for server in desired.dhcp.servers:

        def dhcp(s: str = server.name) -> ProviderBase:
            return Option150Provider(conns.dhcp(s))

        registry[(f"dhcp_{server.kind}", server.name)] = _ScopeOption150(
            _Lazy(dhcp, kinds=frozenset({"option150"}), endpoint=server.name),
            scope_keys=scopes_by_server.get(server.name, {}),
        )
    return registry


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

    def read(self, addresses: Sequence[Address]) -> Mapping[Address, Observed]:
        return self.get().read(addresses)  # type: ignore[attr-defined, no-any-return]

    def diff(self, desired: Desired, observed: Observed) -> Change:
        return self.get().diff(desired, observed)  # type: ignore[attr-defined, no-any-return]

    def apply(self, change: Change) -> ApplyResult:
        return self.get().apply(change)  # type: ignore[attr-defined, no-any-return]

    def verify(self, change: Change) -> VerifyResult:
        return self.get().verify(change)  # type: ignore[attr-defined, no-any-return]


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

    def read(self, addresses: Sequence[Address]) -> Mapping[Address, Observed]:
        out: dict[Address, Observed] = {}
        for address in addresses:
            out.update(self._for(address).read([address]))
        return out

    def diff(self, desired: Desired, observed: Observed) -> Change:
        return self._for(desired.address).diff(desired, observed)

    def apply(self, change: Change) -> ApplyResult:
        return self._for(change.address).apply(change)

    def verify(self, change: Change) -> VerifyResult:
        return self._for(change.address).verify(change)
