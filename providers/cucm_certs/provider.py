"""``TrustStoreProvider``: the provider contract for ``trust.<cluster>.<store>.<cert-id>`` addresses.

Wired by ``reconciler.cli`` with one ``CertStoreClient`` per node of a cluster (publisher first; REST or
CLI as ``Cluster.effective_certificate_api`` says, see ``providers.cucm_certs.clients_for_cluster``).

- The value of an address is ``trust_value(cert)`` (sha256, subject, issuer, serial, not_after, pem);
  ``None`` = absent. ``cert-id`` is the planner's label (a node name, ``ITLRecovery-<cluster>``); which
  certificate it means comes from ``expected`` (address → PEM/certificate), else the label is matched
  as a SHA-256, a file name (with or without ``.pem``) or a CN.
- ``read`` lists the publisher's stores once per batch; ``diff`` is pure: present → NOOP, absent →
  CREATE (R5/R6/R11 say which), not declared any more → DELETE only when ``owned(address)`` (the state
  says reconciler added it, ``mode: exact``), else NOOP ("not ours, left in place").
- ``apply`` uploads on the publisher (or deletes an owned certificate there); it re-reads first, so a
  retry after a dropped session or a timeout changes nothing (``changed=False``), and reads the store
  back after the change: a command that printed no failure but changed nothing is an error.
- ``verify`` reads the store on **every** node (R7: trust replicates from the publisher; never assume
  it did) and names the nodes that do not have it yet (``nodes.<node>`` mismatches; ``TemporaryError``
  when a node cannot be read).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import ClassVar

from cryptography import x509

from providers.cucm_certs.model import CertStoreClient, StoredCert, normalise_store, trust_value
from reconciler.cucm.certs import common_name, load_certificate, same_dn, serial_candidates
from reconciler.errors import PermanentError, RemoteFaultError
from reconciler.model import Action, Address, Change, FrozenMap, Value
from reconciler.provider import ApplyResult, Desired, FieldMismatch, Observed, ProviderBase, VerifyResult

__all__ = ["TrustStoreProvider"]

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
Want = tuple[
    str | None, str | None, str | None, str | None
]  # sha256, serial (hex), issuer, serial as printed


def _want_of(value: Value) -> Want | None:
    if not isinstance(value, FrozenMap):
        return None

    def text(key: str) -> str | None:
        item = value.get(key)
        return item if isinstance(item, str) else None

    return (text("sha256"), text("serial"), text("issuer"), text("serial_print"))


def _same_identity(want: Want, have: Want) -> bool:
    """Serial as a number (both values carry hex) and issuer by normalised RDN sequence (never DN text)."""
    try:
        if want[1] is None or have[1] is None:
            return False
        wanted = int(want[1], 16)
        if have[3] is not None:  # a print form that may be decimal: any reading may match
            if wanted not in serial_candidates(have[3]):
                return False
        elif wanted != int(have[1], 16):
            return False
    except ValueError:
        return False
    return want[2] is None or have[2] is None or same_dn(want[2], have[2])


class TrustStoreProvider(ProviderBase):
    """Trust-store contents of one cluster (kind ``trust``)."""

    kinds: ClassVar[frozenset[str]] = frozenset({"trust"})

    def __init__(
        self,
        *,
        cluster: str,
        clients: Sequence[CertStoreClient],
        expected: Mapping[str, str | bytes | x509.Certificate] | None = None,
        owned: Callable[[Address], bool] | None = None,
        description: str = "reconciler: phone migration trust",
    ) -> None:
        if not clients:
            raise ValueError("a cluster needs at least its publisher's client")
        self.cluster = cluster
        self.clients = tuple(clients)
        self.owned = owned or (lambda _address: False)
        self.description = description
        self._wanted: dict[str, Want] = {}
        for key, cert in (expected or {}).items():
            loaded = (
                cert
                if isinstance(cert, x509.Certificate)
                else load_certificate(cert.encode() if isinstance(cert, str) else cert)
            )
            want = _want_of(trust_value(loaded))
            assert want is not None
            self._wanted[str(key)] = want

    @property
    def endpoint(self) -> str:
        return f"{self.cluster}:{self.clients[0].node}"

    @property
    def publisher(self) -> CertStoreClient:
        return self.clients[0]

    def _store(self, address: Address) -> str:
        if address.kind != "trust" or address.parts[1] != self.cluster:
            raise PermanentError(
                f"{address} is not a trust address of cluster {self.cluster}", endpoint=self.endpoint
            )
        return normalise_store(address.parts[2])

    def _find(
        self, address: Address, entries: Sequence[StoredCert], want: Want | None = None
    ) -> StoredCert | None:
        want = want or self._wanted.get(str(address))
        store = normalise_store(address.parts[2])
        in_store = [e for e in entries if e.store == store]
        if want is not None:
            return next(
                (e for e in in_store if e.same_certificate(sha256=want[0], serial=want[1], issuer=want[2])),
                None,
            )
        label = address.name
        for entry in in_store:
            cn = common_name(load_certificate(entry.pem.encode()).subject) if entry.pem else None
            if (
                (_SHA256.match(label) and entry.sha256 == label)
                or entry.filename in (label, f"{label}.pem")
                or (cn is not None and cn.replace(" ", "_") == label.replace(" ", "_"))
            ):
                return entry
        return None

    # -- the contract --------------------------------------------------------------------------
    def read(self, addresses: Sequence[Address]) -> Mapping[Address, Observed]:
        """One listing of the publisher's stores for the whole batch; never mutates."""
        stores = {self._store(a) for a in addresses}
        entries = self.publisher.trust(stores) if stores else []
        out = {}
        for address in addresses:
            found = self._find(address, entries)
            out[address] = Observed(
                address=address,
                value=found.value() if found else None,
                fingerprint=found.sha256 if found else None,
            )
        return out

    def diff(self, desired: Desired, observed: Observed) -> Change:
        """Pure. Presence is what matters; identity is compared by SHA-256 (else serial + issuer)."""
        address, rule = desired.address, desired.rule
        store = address.parts[2]
        if desired.value is None:
            if observed.value is None:
                return Change(address=address, action=Action.NOOP, reason="absent, as declared", rule=rule)
            if self.owned(address):
                return Change(
                    address=address,
                    action=Action.DELETE,
                    before=observed.value,
                    after=None,
                    rule=rule,
                    reason=f"added by reconciler and no longer declared in {store}",
                )
            return Change(
                address=address,
                action=Action.NOOP,
                before=observed.value,
                after=observed.value,
                rule=rule,
                reason="present but not added by reconciler: left in place",
            )
        if observed.value is None:
            reason = desired.reason or f"not in {store} of cluster {self.cluster}"
            return Change(
                address=address,
                action=Action.CREATE,
                before=None,
                after=desired.value,
                reason=reason,
                rule=rule,
            )
        want, have = _want_of(desired.value), _want_of(observed.value)
        if (
            want is not None
            and have is not None
            and (
                (want[0] is not None and want[0] == have[0])
                or ((want[0] is None or have[0] is None) and _same_identity(want, have))
            )
        ):
            return Change(
                address=address,
                action=Action.NOOP,
                before=observed.value,
                after=observed.value,
                reason=f"already in {store}",
                rule=rule,
            )
        return Change(
            address=address,
            action=Action.UPDATE,
            before=observed.value,
            after=desired.value,
            reason=f"{store} holds a different certificate for {address.name}",
            rule=rule,
        )

    def apply(self, change: Change) -> ApplyResult:
        """Upload on the publisher (CREATE/UPDATE) or delete an owned certificate (DELETE); idempotent."""
        store = self._store(change.address)
        if change.action is Action.NOOP:
            return ApplyResult(change=change, changed=False, observed=change.before)
        entries = self.publisher.trust([store])
        if change.action is Action.DELETE:
            if not self.owned(change.address):
                raise PermanentError(
                    f"{change.address}: reconciler did not add this certificate; not deleting it",
                    endpoint=self.endpoint,
                    hint="remove it by hand if it must go",
                )
            found = self._find(change.address, entries, _want_of(change.before))
            if found is None:
                return ApplyResult(change=change, changed=False, observed=None)
            self.publisher.delete_trust(store=store, filename=found.filename)
            if self._find(change.address, self.publisher.trust([store]), _want_of(change.before)) is not None:
                raise RemoteFaultError(  # a CLI that printed no failure text is not proof of success
                    f"{self.publisher.node} still lists {store}/{found.filename} after deleting it",
                    endpoint=self.endpoint,
                    hint="the delete command or REST path may not be supported on this release; "
                    "delete the certificate by hand",
                )
            return ApplyResult(change=change, changed=True, observed=None)
        if change.action not in (Action.CREATE, Action.UPDATE, Action.REPLACE):
            raise PermanentError(f"{change.address}: a trust certificate cannot be {change.action.verb}d")
        want = _want_of(change.after)
        pem = change.after.get("pem") if isinstance(change.after, FrozenMap) else None
        if want is None or not isinstance(pem, str):
            raise PermanentError(
                f"{change.address}: the change carries no certificate PEM", endpoint=self.endpoint
            )
        found = self._find(change.address, entries, want)
        if found is not None:
            return ApplyResult(change=change, changed=False, observed=found.value())
        self.publisher.upload_trust(store=store, pem=pem, description=self.description)
        found = self._find(change.address, self.publisher.trust([store]), want)
        if found is None:
            raise RemoteFaultError(
                f"{self.publisher.node} accepted the upload to {store} but does not list the certificate",
                endpoint=self.endpoint,
                hint="CUCM keeps an existing certificate with the same subject when it is newer (§1.3); "
                "check the store for a newer certificate of that subject",
            )
        return ApplyResult(change=change, changed=True, observed=found.value())

    def verify(self, change: Change) -> VerifyResult:
        """R7: the certificate is present (or, after DELETE, absent) on every node of the cluster."""
        store = self._store(change.address)
        expect_present = change.after is not None
        want = _want_of(change.after if expect_present else change.before)
        nodes: dict[str, bool] = {}
        observed: Value = None
        for client in self.clients:
            found = self._find(change.address, client.trust([store]), want)
            nodes[client.node] = found is not None
            if client is self.publisher and found is not None:
                observed = found.value()
        wrong = [n for n, present in nodes.items() if present != expect_present]
        mismatched = tuple(
            FieldMismatch(field=f"nodes.{n}", expected=expect_present, actual=not expect_present)
            for n in wrong
        )
        state = "present" if expect_present else "absent"
        detail = (
            f"{state} in {store} on all {len(nodes)} node(s) (R7)"
            if not wrong
            else f"not yet {state} in {store} on {', '.join(wrong)} (R7: replication from the publisher "
            "is not complete; never assume it)"
        )
        return VerifyResult(
            address=change.address,
            complies=not wrong,
            mismatched=mismatched,
            method="read-back-per-node",
            detail=detail,
            observed=observed,
            extra=FrozenMap({"nodes": FrozenMap(nodes)}),
        )

    # -- extra reads ---------------------------------------------------------------------------
    def identities(self, node: str | None = None) -> Mapping[str, StoredCert]:
        """Identity certificates of ``node`` (default: the publisher) by unit (CallManager, TVS, ...)."""
        client = next((c for c in self.clients if c.node == (node or self.publisher.node)), None)
        if client is None:
            raise PermanentError(f"cluster {self.cluster} has no node {node!r}", endpoint=self.endpoint)
        return {entry.store: entry for entry in client.identities()}

    def trust_per_node(self, store: str) -> Mapping[str, Sequence[StoredCert]]:
        """``store`` as every node lists it (R7 evidence for reports)."""
        return {client.node: client.trust([store]) for client in self.clients}

    def close(self) -> None:
        for client in self.clients:
            client.close()
