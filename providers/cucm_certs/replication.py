"""``ReplicationCheck``: applies and verifies ``replication.<cluster>.<node>`` steps (R7).

``reconciler.wiring.registry.build_registry`` makes one per cluster over a callable giving the cluster's
``CertStoreClient`` list (publisher first; called at first use, so building the registry connects
nothing). The step's ``after`` is the plan's ``{"stores": [...]}`` (default: ``CallManager-trust`` and
``Phone-SAST-trust``). The node must list every certificate of those stores that the publisher holds,
compared by TVS identity (serial + issuer). ``apply`` changes nothing (replication is CUCM's own);
``verify`` compares, and the executor re-verifies until it complies or its settle time passes — never
assume replication.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from providers.cucm_certs.model import CertStoreClient, StoredCert, normalise_store
from reconciler.errors import PermanentError
from reconciler.model import Change, FrozenMap, freeze
from reconciler.provider import ApplyResult, FieldMismatch, ProviderBase, VerifyResult
from reconciler.vocabulary import PHONE_TRUST_STORES, ProviderKind

__all__ = ["ReplicationCheck"]


class ReplicationCheck(ProviderBase):
    """Trust replication from the publisher to the other nodes of one cluster (kind ``replication``)."""

    kinds: ClassVar[frozenset[str]] = frozenset({"replication"})
    provider: ClassVar[ProviderKind] = ProviderKind.CUCM_CERTS

    def __init__(self, *, cluster: str, clients: Callable[[], Sequence[CertStoreClient]]) -> None:
        self.cluster = cluster
        self.clients = clients

    @property
    def endpoint(self) -> str:
        return f"{self.cluster} (trust replication)"

    def _compare(self, change: Change) -> VerifyResult:
        node = change.address.name
        after = change.after
        stores = tuple(str(s) for s in after.get("stores", ())) if isinstance(after, FrozenMap) else ()
        stores = tuple(normalise_store(s) for s in stores) or tuple(str(s) for s in PHONE_TRUST_STORES)
        clients = self.clients()
        client = next((c for c in clients if c.node == node), None)
        if client is None:
            raise PermanentError(f"{change.address}: {node} is not a declared node of {self.cluster}")
        publisher = clients[0]

        def index(entries: Sequence[StoredCert]) -> dict[str, dict[object, str]]:
            out: dict[str, dict[object, str]] = {s: {} for s in stores}
            for e in entries:
                ident = e.identity()
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
        return VerifyResult(
            address=change.address,
            complies=not count,
            mismatched=mismatched,
            method="read-back-per-node",
            detail=detail,
            observed=freeze({s: len(have[s]) for s in stores}),
        )

    def apply(self, change: Change) -> ApplyResult:
        return ApplyResult(change=change, changed=False, observed=self._compare(change).observed)

    def verify(self, change: Change) -> VerifyResult:
        return self._compare(change)
