"""Per-node certificate trust stores with publisher→subscriber replication and CUCM's upload rules.

``ClusterTrust`` owns one ``NodeStore`` per node. An upload lands on the node it was made on at once and
reaches every other node ``replication_lag`` seconds later (R7: verify every TVS node has it before
restarting TVS); ``CAPF-trust`` stays local. A delete is cluster-wide and replicates the same way, so
operations reach each node in the order they were made. Same-subject uploads follow CUCM's "replace only
if newer" rule: the new certificate replaces the stored one only when it was issued later (notBefore);
an older or identical one leaves the store unchanged. Called by ``simulator.model.cluster``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cryptography import x509

from reconciler.vocabulary import TrustStore

from .certview import CertView, view_of
from .clock import Scheduler

__all__ = [
    "ALL_STORES",
    "CALLMANAGER_TRUST",
    "CAPF_TRUST",
    "LOCAL_STORES",
    "PHONE_SAST_TRUST",
    "TOMCAT_TRUST",
    "ClusterTrust",
    "NodeStore",
    "TrustEntry",
    "UploadResult",
]

CALLMANAGER_TRUST = str(TrustStore.CALLMANAGER_TRUST)
PHONE_SAST_TRUST = str(TrustStore.PHONE_SAST_TRUST)
TOMCAT_TRUST = str(TrustStore.TOMCAT_TRUST)
CAPF_TRUST = str(TrustStore.CAPF_TRUST)
ALL_STORES: tuple[str, ...] = (
    CALLMANAGER_TRUST,
    PHONE_SAST_TRUST,
    TOMCAT_TRUST,
    CAPF_TRUST,
    "ipsec-trust",
    "TVS-trust",
    "Phone-trust",
    "Phone-VPN-trust",
)
LOCAL_STORES: frozenset[str] = frozenset({CAPF_TRUST})


class UploadResult(enum.StrEnum):
    """What an upload did on the node it was made on."""

    ADDED = "added"
    REPLACED = "replaced"  # same subject, the upload is newer
    UNCHANGED = "unchanged"  # the very same certificate was already there
    KEPT_NEWER = "kept-newer"  # same subject, the stored one is newer: upload ignored


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustEntry:
    """One certificate in one store on one node, with when it arrived there."""

    view: CertView
    store: str
    node: str
    added_at: float

    @property
    def cert(self) -> x509.Certificate:
        return self.view.cert


def _store_name(store: str) -> str:
    for known in ALL_STORES:
        if known.lower() == store.lower():
            return known
    raise ValueError(f"unknown trust store {store!r}; known: {', '.join(ALL_STORES)}")


class NodeStore:
    """The trust stores of one node: ``store -> subject -> TrustEntry``, plus when each last changed."""

    def __init__(self, node: str) -> None:
        self.node = node
        self._stores: dict[str, dict[str, TrustEntry]] = {name: {} for name in ALL_STORES}
        self._changed_at: dict[str, float] = {}

    def entries(self, store: str) -> tuple[TrustEntry, ...]:
        items = self._stores[_store_name(store)]
        return tuple(items[k] for k in sorted(items))

    def views(self, store: str) -> tuple[CertView, ...]:
        return tuple(e.view for e in self.entries(store))

    def has(self, store: str, cert: x509.Certificate | CertView) -> bool:
        view = cert if isinstance(cert, CertView) else view_of(cert)
        found = self._stores[_store_name(store)].get(view.subject)
        return found is not None and found.view.fingerprint == view.fingerprint

    def subject_for_file(self, store: str, file_name: str) -> str | None:
        """The subject of the entry CUCM lists as ``file_name`` (``<CN>_<serial>.pem`` or legacy
        ``<CN>.pem``), or None."""
        for entry in self._stores[_store_name(store)].values():
            if file_name in (entry.view.file_name, *entry.view.file_names):
                return entry.view.subject
        return None

    def changed_at(self, store: str | None = None) -> float | None:
        """When ``store`` (or any store) last changed on this node; None if never since the lab was built."""
        if store is not None:
            return self._changed_at.get(_store_name(store))
        return max(self._changed_at.values(), default=None)

    # -- mutations (called by ClusterTrust only) -----------------------------------------------------

    def _decide(self, store: str, view: CertView) -> UploadResult:
        current = self._stores[store].get(view.subject)
        if current is None:
            return UploadResult.ADDED
        if current.view.fingerprint == view.fingerprint:
            return UploadResult.UNCHANGED
        if view.not_before > current.view.not_before:
            return UploadResult.REPLACED
        return UploadResult.KEPT_NEWER

    def _put(self, store: str, view: CertView, when: float, *, track: bool = True) -> None:
        self._stores[store][view.subject] = TrustEntry(view=view, store=store, node=self.node, added_at=when)
        if track:
            self._changed_at[store] = when

    def _remove(self, store: str, subject: str, when: float) -> bool:
        if self._stores[store].pop(subject, None) is None:
            return False
        self._changed_at[store] = when
        return True


class ClusterTrust:
    """Every node's stores of one cluster and the replication between them."""

    def __init__(self, *, nodes: Iterable[str], scheduler: Scheduler, replication_lag: float = 0.0) -> None:
        self._nodes: dict[str, NodeStore] = {n: NodeStore(n) for n in nodes}
        self._scheduler = scheduler
        self.replication_lag = replication_lag
        self.node_lag: dict[str, float] = {}  # per-node override (e.g. one slow subscriber)

    def node(self, name: str) -> NodeStore:
        return self._nodes[name]

    def nodes(self) -> Mapping[str, NodeStore]:
        return dict(self._nodes)

    def seed(
        self, *, node: str | None, store: str, cert: x509.Certificate | CertView, at: float | None = None
    ) -> None:
        """Place a certificate at build time (no replication delay; with ``at``, the time it arrived,
        recorded as the store's last change; without, no change timestamp)."""
        view = cert if isinstance(cert, CertView) else view_of(cert)
        name = _store_name(store)
        for target in [node] if node is not None else list(self._nodes):
            self._nodes[target]._put(name, view, 0.0 if at is None else at, track=at is not None)

    def _lag_for(self, node: str) -> float:
        return self.node_lag.get(node, self.replication_lag)

    def upload(self, *, node: str, store: str, cert: x509.Certificate | CertView, now: float) -> UploadResult:
        """Upload on ``node``; other nodes follow after the replication lag (not for local stores)."""
        view = cert if isinstance(cert, CertView) else view_of(cert)
        name = _store_name(store)
        origin = self._nodes[node]
        result = origin._decide(name, view)
        if result not in (UploadResult.ADDED, UploadResult.REPLACED):
            return result
        origin._put(name, view, now)
        if name in LOCAL_STORES:
            return result
        for other, target in self._nodes.items():
            if other == node:
                continue

            def apply(when: float, target: NodeStore = target) -> None:
                target._put(name, view, when)

            self._scheduler.at(now + self._lag_for(other), apply)
        return result

    def delete(self, *, node: str, store: str, subject: str, now: float) -> bool:
        """Delete by subject on ``node`` and (replicated) on every other node; False if it was not there."""
        name = _store_name(store)
        removed = self._nodes[node]._remove(name, subject, now)
        if not removed or name in LOCAL_STORES:
            return removed
        for other, target in self._nodes.items():
            if other == node:
                continue

            def apply(when: float, target: NodeStore = target) -> None:
                target._remove(name, subject, when)

            self._scheduler.at(now + self._lag_for(other), apply)
        return True
