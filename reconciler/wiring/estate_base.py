"""``EstateReader``: what the read halves of ``reconciler.wiring.estate.ProviderEstate`` share.

The connections, the progress hooks, the read waiter (each read's time budget and retries), the small
thread pool over one cluster's nodes (``parallelism``; the clients are safe to share), the log of reads
that failed and were answered around, and the caches' lock. Subclassed by
``reconciler.wiring.estate_clusters.ClusterReads`` and ``reconciler.wiring.estate_phones.PhoneReads``,
which ``ProviderEstate`` combines; nothing here calls a mutating operation.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from providers.cucm_certs import StoredCert
from providers.cucm_serviceability import Registration as RisRecord
from providers.transports.soap import CucmEndpoint
from reconciler.apply.retry import RetryPolicy
from reconciler.live.progress import ReadHooks
from reconciler.live.protocol import PhoneFacts, ReadFailure
from reconciler.wiring.connections import Connections
from reconciler.wiring.readfailures import ReadFailureLog
from reconciler.wiring.readwait import DEFAULT_TIMEOUT, ReadWaiter

__all__ = ["EstateReader"]

_T = TypeVar("_T")


class EstateReader:
    """Shared state and helpers of the estate's reads (see the module docstring)."""

    def __init__(
        self,
        conns: Connections,
        *,
        parallelism: int = 4,
        sleep: Callable[[float], None] | None = None,
        hooks: ReadHooks | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        """``hooks`` hear the progress of the reads and every wait on an endpoint
        (``reconciler.live.progress``); ``timeout`` bounds each read with its retries (``--timeout``)."""
        self.conns = conns
        self.hooks = hooks or ReadHooks()
        self.waiter = ReadWaiter(
            hooks=self.hooks,
            timeout=timeout,
            policy=RetryPolicy.from_policy(conns.desired.policy.retries),
            sleep=sleep,
        )
        self.parallelism = max(1, parallelism)
        self._lock = threading.Lock()
        # ClusterReads: identities per (cluster, node), with the lock of the read in progress
        self._identities: dict[tuple[str, str], tuple[float, tuple[StoredCert, ...]]] = {}
        self._identity_reads: dict[tuple[str, str], threading.Lock] = {}
        # PhoneReads: scope membership (read once per estate) and the last complete RisPort70 listings
        self._scope_members: dict[str, tuple[PhoneFacts, ...]] | None = None
        self._listings: dict[str, tuple[float, tuple[RisRecord, ...]]] = {}
        self._failures = ReadFailureLog()

    def read_failures(self) -> tuple[ReadFailure, ...]:
        """The reads that failed and were answered around so far (``ReportsReadFailures``)."""
        return self._failures.all()

    def stop(self) -> None:
        """End every wait of a read now (the command is ending: another read failed)."""
        self.waiter.stop()

    def _map(self, fn: Callable[[str], _T], items: Sequence[str]) -> dict[str, _T]:
        if len(items) <= 1:
            return {i: fn(i) for i in items}
        with ThreadPoolExecutor(
            max_workers=min(self.parallelism, len(items)), thread_name_prefix="estate"
        ) as pool:
            return dict(zip(items, pool.map(fn, items), strict=True))

    def _where(self, cluster: str) -> str:
        """How reports name a cluster's publisher: ``cucm-pub (10.0.0.1:8443)``."""
        decl = self.conns.desired.cluster(cluster)
        return CucmEndpoint.from_cluster(decl).label if decl is not None else cluster

    def _ris(self, cluster: str, fn: Callable[[], _T]) -> _T:
        """A RisPort70 read; an exhausted allowance (``TemporaryError`` with a delay, other clients
        share it) or an unreachable node is waited out within the read's time budget (``waiter``)."""
        return self.waiter.read(f"RisPort70 of {cluster}, {self._where(cluster)}", fn)
