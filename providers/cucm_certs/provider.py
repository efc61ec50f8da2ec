"""``TrustStoreProvider``: applies and verifies ``trust.<cluster>.<store>.<cert-id>`` steps.

``reconciler.wiring.registry.build_registry`` makes one per cluster with the publisher's
``CertStoreClient`` first (REST or CLI as ``Cluster.effective_certificate_api`` says, see
``providers.cucm_certs.clients_for_cluster``), and the other nodes' after it when verification should
cover them. It takes the plan's values as they are (docs/plan-format.md):

- CREATE: ``after`` is the declared certificate (``pem`` with ``serial``/``issuer``/``subject``...); the
  provider derives its SHA-256 from the PEM. DELETE: ``before`` is what the state recorded
  (``cert_id``, ``sha256``), and only a certificate ``owned(address)`` says reconciler added is deleted.
- Which listed certificate is "the same" is ``reconciler.insync.same_certificate`` (SHA-256 where both
  sides know it, else serial + issuer), the rule the planner uses too.
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

from providers.cucm_certs.model import CertStoreClient, StoredCert, normalise_store, trust_value
from reconciler.cucm.certs import common_name, load_certificate
from reconciler.errors import CertificateError, PermanentError, RemoteFaultError
from reconciler.model import Action, Address, Change, FrozenMap, Value
from reconciler.provider import ApplyResult, FieldMismatch, ProviderBase, VerifyResult

__all__ = ["TrustStoreProvider"]

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
Want = tuple[str | None, str | None, str | None]  # sha256, serial (hex), issuer


def _want_of(value: Value, *, address: Address | None = None) -> Want | None:
    """(sha256, serial, issuer) of a value; the SHA-256 from its ``pem`` when it carries one."""
    if not isinstance(value, FrozenMap):
        return None
    pem = value.get("pem")
    if isinstance(pem, str) and not isinstance(value.get("sha256"), str):
        try:
            derived = trust_value(load_certificate(pem.encode()))
        except CertificateError as exc:
            raise PermanentError(f"{address}: the plan's certificate does not parse ({exc})") from exc
        assert isinstance(derived, FrozenMap)
        value = derived
    found = {key: value.get(key) for key in ("sha256", "serial", "issuer")}
    return tuple(v if isinstance(v, str) else None for v in found.values())  # type: ignore[return-value]


class TrustStoreProvider(ProviderBase):
    """Trust-store contents of one cluster (kind ``trust``)."""

    kinds: ClassVar[frozenset[str]] = frozenset({"trust"})

    def __init__(
        self,
        *,
        cluster: str,
        clients: Sequence[CertStoreClient],
        owned: Callable[[Address], bool] | None = None,
        description: str = "reconciler: phone migration trust",
    ) -> None:
        if not clients:
            raise ValueError("a cluster needs at least its publisher's client")
        self.cluster = cluster
        self.clients = tuple(clients)
        self.owned = owned or (lambda _address: False)
        self.description = description

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
        store = normalise_store(address.parts[2])
        in_store = [e for e in entries if e.store == store]
        # by identity when the value names one; a state record of a certificate listed without PEM (the
        # admin CLI's usual answer) carries neither SHA-256 nor serial: then by the address's name
        if want is not None and (want[0] is not None or want[1] is not None):
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

    # -- the contract ----------------------------------------------------------------------------
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
            found = self._find(change.address, entries, _want_of(change.before, address=change.address))
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
        want = _want_of(change.after, address=change.address)
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
        want = _want_of(change.after if expect_present else change.before, address=change.address)
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
            f"{state} in {store} on {_all_nodes(len(nodes))} (R7)"
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


def _all_nodes(count: int) -> str:
    """``all 3 nodes``, ``its one node`` (never ``all 1 node(s)``)."""
    return "its one node" if count == 1 else f"all {count} nodes"
