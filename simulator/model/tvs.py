"""The Trust Verification Service's cache as the model keeps it: ``reconciler.cucm.trust.TvsCache``
values loaded from a node's ``CallManager-trust`` and ``Phone-SAST-trust`` at the moment TVS reaches
Started (R7, R8: later store changes are invisible until the next start).

``TvsInterner`` returns one shared object per distinct content, so the phone-boot memo and
``trust.decide``'s cache compare caches by identity in the common case. Called by
``simulator.model.cluster`` (at TVS start) and ``simulator.model.boot`` (current store contents, which
let a rejection name R8).
"""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.cucm.trust import TvsCache

from .certview import CertView

__all__ = ["TvsCache", "TvsInterner"]


class TvsInterner:
    """One shared ``TvsCache`` per distinct content."""

    def __init__(self) -> None:
        self._known: dict[TvsCache, TvsCache] = {}

    def load(
        self, *, callmanager_trust: Iterable[CertView], phone_sast_trust: Iterable[CertView]
    ) -> TvsCache:
        cache = TvsCache.from_stores(
            callmanager_trust=[v.identity for v in callmanager_trust],
            phone_sast_trust=[v.identity for v in phone_sast_trust],
        )
        return self._known.setdefault(cache, cache)
