"""Identity certificates of simulated nodes and clusters, minted by the lab's own ``simulator.labcerts``.

Per node: CallManager (RSA: it signs configuration files and, before 12.0, the ITL/CTL), TVS (the
certificate TVS presents on port 2445), tomcat (the HTTPS faces' TLS certificate, issued by the lab CA,
with the node's host name and IP as subjectAltNames) and CAPF on the publisher. ITLRecovery: one per
cluster from 12.5 (generated on the publisher), one per node before. Keys come from a process-wide cache
(``labcerts.lab_key``) keyed by a stable slot per identity label, so rebuilding the same lab in one
process costs no key generation and each identity still has its own key; ``key_pool`` caps the number of
distinct RSA keys for very large estates (certificates still differ by serial and subject).
Called by ``simulator.model.cluster``.
"""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime

from simulator import labcerts
from simulator.labcerts import IdentityKind, IssuedCert

__all__ = ["IdentityFactory"]

_slots: dict[str, int] = {}
_slot_counter = itertools.count(1)
_slot_lock = threading.Lock()


def _slot(label: str) -> int:
    with _slot_lock:
        if label not in _slots:
            _slots[label] = next(_slot_counter)
        return _slots[label]


class IdentityFactory:
    """Mints identities for one lab. ``now`` gives the notBefore of new certificates (epoch seconds)."""

    def __init__(self, *, lab_name: str = "lab", key_pool: int | None = None) -> None:
        self.lab_name = lab_name
        self.key_pool = key_pool
        self._ca: IssuedCert | None = None

    def _rsa(self, label: str) -> labcerts.PrivateKey:
        slot = _slot(f"{self.lab_name}/{label}")
        if self.key_pool:
            slot = slot % self.key_pool
        return labcerts.lab_key("rsa2048", slot=slot)

    def _ec(self, label: str) -> labcerts.PrivateKey:
        return labcerts.lab_key("ec-p256", slot=_slot(f"{self.lab_name}/{label}"))

    def ca(self, now: float) -> IssuedCert:
        """The lab CA that issues every tomcat (HTTPS face) certificate."""
        if self._ca is None:
            self._ca = labcerts.mint_ca(
                common_name=f"Reconciler Lab CA ({self.lab_name})", key=self._rsa("ca"), now=_dt(now)
            )
        return self._ca

    def mint(
        self, *, kind: IdentityKind, host: str, cluster: str, ip: str, generation: int, now: float
    ) -> IssuedCert:
        """A fresh identity certificate; ``generation`` > 0 for regenerated ones (new key, later date)."""
        label = f"{cluster}/{host}/{kind.value}/{generation}"
        when = _dt(now)
        if kind is IdentityKind.TOMCAT:
            return labcerts.mint_tls_server(
                host=host, issuer=self.ca(now), ips=(ip,), key=self._ec(label), now=when
            )
        signs_files = kind in (IdentityKind.CALLMANAGER, IdentityKind.ITLRECOVERY)
        key = self._rsa(label) if signs_files else self._ec(label)
        return labcerts.mint_identity(kind=kind, host=host, cluster=cluster, key=key, now=when)


def _dt(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)
