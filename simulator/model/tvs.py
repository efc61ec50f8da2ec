"""The Trust Verification Service as the lab runs it: a cache loaded from its node's stores at start.

What TVS knows (docs/cucm-domain.md#what-tvs-knows): the certificates of its node's CallManager-trust and
Phone-SAST-trust *as they were when the service last started* (R7, R8: later changes are invisible until
the next start), each with roles from the lab's own store → role table — Phone-SAST-trust → SAST (0),
CallManager-trust → ``TrustKnobs.callmanager_trust_role`` (TFTP 3 by default; a certificate in both stores
is answered with both roles, the seed's "rolecount : 2"). Keys are what a phone sends: the serial's bytes
and the issuer printed the CUCM way (``labtlv.cucm_name``). No code is shared with the planner's model.

``TvsInterner`` returns one shared object per distinct content, so the boot memo compares caches by
identity. Called by ``simulator.model.cluster`` (at TVS start), ``simulator.model.boot`` and the TVS face.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from ..knobs import TrustKnobs
from .certview import CertView
from .labtlv import LabRole, cucm_name
from .truststore import CALLMANAGER_TRUST, PHONE_SAST_TRUST

__all__ = ["LabTvsCache", "TvsInterner", "key_of", "store_roles"]

Key = tuple[bytes, str]


def key_of(cert: x509.Certificate) -> Key:
    serial = cert.serial_number
    return (serial.to_bytes(max(1, (serial.bit_length() + 7) // 8), "big"), cucm_name(cert.issuer))


def store_roles(knobs: TrustKnobs) -> Mapping[str, int]:
    """The lab's store → role table."""
    return {PHONE_SAST_TRUST: int(LabRole.SAST), CALLMANAGER_TRUST: knobs.callmanager_trust_role}


@dataclass(frozen=True, slots=True)
class LabTvsCache:
    """signer key -> (roles, certificate DER)."""

    entries: frozenset[tuple[Key, frozenset[int], bytes]] = frozenset()
    _index: dict[Key, tuple[frozenset[int], bytes]] = field(
        init=False, compare=False, hash=False, repr=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {k: (r, c) for k, r, c in self.entries})

    def answer(self, key: Key) -> tuple[frozenset[int], bytes]:
        return self._index.get(key, (frozenset(), b""))

    def roles_of(self, key: Key) -> frozenset[int]:
        return self.answer(key)[0]

    def roles_for(self, cert: x509.Certificate) -> frozenset[int]:
        return self.roles_of(key_of(cert))


class TvsInterner:
    """One shared ``LabTvsCache`` per distinct content."""

    def __init__(self, knobs: TrustKnobs | None = None) -> None:
        self._known: dict[LabTvsCache, LabTvsCache] = {}
        self.roles = store_roles(knobs or TrustKnobs())
        self._keys: dict[int, tuple[Key, bytes]] = {}

    def _key(self, view: CertView) -> tuple[Key, bytes]:
        found = self._keys.get(id(view.cert))
        if found is None:
            found = (key_of(view.cert), view.cert.public_bytes(Encoding.DER))
            self._keys[id(view.cert)] = found
        return found

    def load(self, stores: Mapping[str, Iterable[CertView]]) -> LabTvsCache:
        merged: dict[Key, tuple[set[int], bytes]] = {}
        for store, role in self.roles.items():
            for view in stores.get(store, ()):
                key, der = self._key(view)
                merged.setdefault(key, (set(), der))[0].add(role)
        cache = LabTvsCache(frozenset((k, frozenset(r), der) for k, (r, der) in merged.items()))
        return self._known.setdefault(cache, cache)
