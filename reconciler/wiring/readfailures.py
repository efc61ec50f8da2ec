"""Which reads of a ``ProviderEstate`` failed, by node and face, for ``reconciler snapshot`` to record.

``ReadFailureLog.record`` is called by ``reconciler.wiring.estate`` wherever a read fails and the estate
answers around it (an unreachable subscriber, a TFTP file that could not be fetched); ``all()`` is what
``ProviderEstate.read_failures`` returns. Messages are redacted (``reconciler.redact``) and repeated
failures of one face are kept once. ``certs_face`` names the face a certificate client reads through.
"""

from __future__ import annotations

import threading

from providers.cucm_certs.rest import RestCertClient
from reconciler.errors import ReconcilerError
from reconciler.live.protocol import ReadFailure
from reconciler.redact import redact
from reconciler.vocabulary import ReadFace
from reconciler.wiring.connections import LockedCertClient

__all__ = ["ReadFailureLog", "certs_face"]


def certs_face(client: object) -> ReadFace:
    """certmgr REST (CUCM 14+) or the admin CLI (older releases)."""
    if isinstance(client, LockedCertClient):
        client = client.inner
    return ReadFace.CERTMGR if isinstance(client, RestCertClient) else ReadFace.CLI


class ReadFailureLog:
    """Thread-safe: the estate reads a cluster's nodes in parallel."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[ReadFailure, None] = {}

    def record(self, *, cluster: str, node: str | None, face: ReadFace, error: BaseException) -> None:
        text = error.message if isinstance(error, ReconcilerError) else str(error)
        failure = ReadFailure(
            cluster=cluster, node=node, face=face, error=type(error).__name__, message=redact(text)
        )
        with self._lock:
            self._items[failure] = None

    def all(self) -> tuple[ReadFailure, ...]:
        with self._lock:
            return tuple(self._items)
