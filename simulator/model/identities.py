"""Identity certificates of simulated nodes and clusters, minted by the lab's own ``simulator.labcerts``.

Per node: CallManager (RSA: it signs configuration files and, before 12.0, the ITL/CTL), TVS (the
certificate TVS presents on port 2445), tomcat (the HTTPS faces' TLS certificate, issued by the lab CA,
with the node's host name and IP as subjectAltNames) and CAPF on the publisher. ITLRecovery: one per
cluster from 12.5 (generated on the publisher), one per node before. Keys come from a process-wide cache
(``labcerts.lab_key``) keyed by a stable slot per identity label, so rebuilding the same lab in one
process costs no key generation and each identity still has its own key; ``key_pool`` caps the number of
distinct RSA keys for very large estates (certificates still differ by serial and subject).

Stand-ins (``simulator.spec.StandIn``, for ``reconciler rehearse``): an identity the spec gives by
subject, serial and issuer is minted with exactly those (first generation only: a regenerated identity
is the lab's own again), and so is a trust-store entry that is no cluster's identity (``stand_in``). An
issuer that is another stand-in's subject signs with that one's key (minted first, whatever cluster it
belongs to); any other issuer is written as given over the certificate's own key (a CA the lab lacks).
Called by ``simulator.model.cluster`` and ``simulator.model.build``.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping
from datetime import UTC, datetime

from cryptography import x509

from simulator import labcerts
from simulator.labcerts import IdentityKind, IssuedCert
from simulator.spec import StandIn

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

    def __init__(
        self,
        *,
        lab_name: str = "lab",
        key_pool: int | None = None,
        stand_ins: Mapping[tuple[str, str, IdentityKind], StandIn] | None = None,
        extra: tuple[StandIn, ...] = (),
    ) -> None:
        """``stand_ins``: (cluster, host, kind) -> the estate's certificate it stands in for; ``extra``:
        stand-ins that are no identity (trust entries), minted by ``stand_in``. Raises ``ValueError``
        for a subject or issuer that is no distinguished name or a serial that is not hex."""
        self.lab_name = lab_name
        self.key_pool = key_pool
        self._ca: IssuedCert | None = None
        self._specs: dict[str, tuple[IdentityKind, str, str, StandIn]] = {}
        for (cluster, host, kind), spec in (stand_ins or {}).items():
            self._specs[f"{cluster}/{host}/{kind.value}/0"] = (kind, host, cluster, spec)
        for i, spec in enumerate(extra):
            self._specs[f"extra/{i}"] = (IdentityKind.CALLMANAGER, f"extra-{i}", "extra", spec)
        self._by_subject: dict[x509.Name, str] = {}
        for label, (_, _, _, spec) in self._specs.items():
            self._by_subject.setdefault(labcerts.parse_dn(spec.subject), label)
        self._minted: dict[str, IssuedCert] = {}
        self._extra = {spec: f"extra/{i}" for i, spec in enumerate(extra)}

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
        if label in self._specs:
            return self._stand_in(label, when, ())
        if kind is IdentityKind.TOMCAT:
            return labcerts.mint_tls_server(
                host=host, issuer=self.ca(now), ips=(ip,), key=self._ec(label), now=when
            )
        signs_files = kind in (IdentityKind.CALLMANAGER, IdentityKind.ITLRECOVERY)
        key = self._rsa(label) if signs_files else self._ec(label)
        return labcerts.mint_identity(kind=kind, host=host, cluster=cluster, key=key, now=when)

    def stand_in(self, spec: StandIn, *, now: float) -> IssuedCert:
        """The certificate standing in for ``spec`` (one of ``extra``), minted once."""
        return self._stand_in(self._extra[spec], _dt(now), ())

    def _stand_in(self, label: str, when: datetime, chain: tuple[str, ...]) -> IssuedCert:
        if label in self._minted:
            return self._minted[label]
        kind, host, cluster, spec = self._specs[label]
        subject = labcerts.parse_dn(spec.subject)
        issuer_name = labcerts.parse_dn(spec.issuer) if spec.issuer else subject
        issuer: IssuedCert | None = None
        signer = self._by_subject.get(issuer_name)
        if issuer_name != subject and signer is not None and signer != label and signer not in chain:
            issuer = self._stand_in(signer, when, (*chain, label))
        signs_files = kind in (IdentityKind.CALLMANAGER, IdentityKind.ITLRECOVERY)
        key = self._rsa(label) if signs_files else self._ec(label)
        minted = labcerts.mint_identity(
            kind=kind,
            host=host,
            cluster=cluster,
            key=key,
            now=when,
            issuer=issuer,
            subject=subject,
            issuer_name=issuer_name,
            serial=parse_serial(spec.serial),
        )
        self._minted[label] = minted
        return minted


def parse_serial(text: str) -> int:
    """A serial as CUCM prints it (hex, colons or spaces allowed); ``ValueError`` otherwise."""
    digits = text.replace(":", "").replace(" ", "").lower().removeprefix("0x")
    value = int(digits, 16)
    if value <= 0:
        raise ValueError(f"serial {text!r} must be positive")
    return value


def _dt(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)
