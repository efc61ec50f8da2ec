"""``ClusterReads``: the cluster facts of ``reconciler.wiring.estate.ProviderEstate`` — nodes, services,
identities, trust stores, TVS start times, mixed mode and enterprise parameters (read-only).

Combined into ``ProviderEstate`` (``reconciler.wiring.estate``), which plan, drift and apply read through.
Where each fact comes from:

- nodes: AXL ``listProcessNode`` (publisher = node usage); activated services per node: AXL
  ``processnodeservice`` (SQL); TVS start time: ControlCenterServices of each node; mixed mode: the
  ``ClusterSecurityMode`` enterprise parameter (``1`` = mixed; absent = assumed mixed); the rollback
  parameter (R2): AXL (discovered internal name).
- identities (CallManager, TVS, ITLRecovery, CAPF, tomcat) and trust stores (``CallManager-trust``,
  ``Phone-SAST-trust`` — the stores the rules read) per node: certmgr REST on 14+, else the admin CLI.
  Each node's own ITLRecovery is kept (``NodeFacts.itl_recovery``: one per node before 12.5, R6); the
  cluster's is the publisher's. A subscriber that is unreachable (``UnreachableError``) becomes
  ``NodeFacts(reachable=False)`` for the rules (R3: groups without a reachable TVS); an unreachable
  publisher still ends the read. Each such failure is kept by node and face (certmgr or CLI,
  ControlCenterServices, TFTP; ``read_failures()``, ``reconciler.wiring.readfailures``) so a snapshot
  says which face of a node failed.
  ``trust_changed_at`` is left unknown: neither certmgr nor the CLI reports when a store changed, so a
  stale TVS (R8) is found from the plan's own trust changes, not from live timestamps.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
import time
from collections.abc import Mapping, Sequence

from providers.cucm_axl import is_rollback_alias
from providers.cucm_certs import StoredCert
from providers.cucm_serviceability import TVS_SERVICE
from reconciler.cucm.certs import CertIdentity, load_certificate
from reconciler.cucm.facts import ROLLBACK_PARAMETER, CertRef, ClusterFacts, NodeFacts
from reconciler.errors import CertificateError, UnreachableError
from reconciler.live.progress import ReadPhase, ReadProgress
from reconciler.vocabulary import PHONE_TRUST_STORES, ReadFace
from reconciler.wiring.estate_base import EstateReader
from reconciler.wiring.readfailures import certs_face
from schemas.version import CucmVersion

__all__ = ["IDENTITY_TTL", "ClusterReads", "identity_key"]

SECURITY_MODE = "clustersecuritymode"
_UNITS = {
    "callmanager": "callmanager",
    "tvs": "tvs",
    "itlrecovery": "itlrecovery",
    "capf": "capf",
    "tomcat": "tomcat",
}
IDENTITY_TTL = 5.0  # seconds: clusters() and identity_pems() of one refresh share one read per node


def identity_key(unit: str) -> str | None:
    """``CallManager`` → ``callmanager`` (the ``LiveEstate.identity_pems`` key); None for other units."""
    return _UNITS.get(unit.strip().lower())


def _cert_ref(entry: StoredCert | None) -> CertRef | None:
    if entry is None:
        return None
    if entry.pem is not None:
        try:
            return CertRef.of(load_certificate(entry.pem.encode()))
        except CertificateError:
            pass
    ident = entry.identity()
    return CertRef(identity=ident, subject=entry.subject) if ident is not None else None


def _param_text(value: str) -> str:
    low = value.strip().lower()
    if low in ("t", "true"):
        return "True"
    if low in ("f", "false"):
        return "False"
    return value


class ClusterReads(EstateReader):
    """``LiveEstate.clusters``, ``identity_pems`` and ``parameters`` (see the module docstring)."""

    def _node_identities(self, cluster: str, node: str) -> tuple[StoredCert, ...]:
        key = (cluster, node)
        with self._lock:
            reading = self._identity_reads.setdefault(key, threading.Lock())
        with reading:  # clusters() and identity_pems() ask at once: the second waits for the first's read
            with self._lock:
                cached = self._identities.get(key)
            if cached is not None and time.monotonic() - cached[0] < IDENTITY_TTL:
                return cached[1]
            client = next((c for c in self.conns.certs(cluster) if c.node == node), None)
            found = tuple(client.identities()) if client is not None else ()
            with self._lock:
                self._identities[key] = (time.monotonic(), found)
            return found

    def clusters(self, names: Sequence[str]) -> Mapping[str, ClusterFacts]:
        return {
            name: self.waiter.read(self._where(name), functools.partial(self._cluster, name))
            for name in names
            if self.conns.desired.cluster(name) is not None
        }

    def _cluster(self, name: str) -> ClusterFacts:
        decl = self.conns.cluster(name)
        axl = self.conns.axl(name)
        try:
            version = CucmVersion(axl.version())
        except ValueError:  # an unexpected version text: the declared one is the next best fact
            version = decl.version
        listed = axl.process_nodes()
        services: dict[str, set[str]] = {}
        for row in axl.node_services():
            if row.enabled:
                services.setdefault(row.node, set()).add(row.service)
        params = {p.name.lower(): p.value for p in axl.enterprise_parameters()}
        rollback = axl.rollback_parameter()
        declared = {n.name for n in decl.nodes}
        reachable = [n.name for n in listed if n.name in declared]
        read: list[str] = []

        def stores_read(node: str) -> None:
            with self._lock:
                read.append(node)
                done = len(read)
            self.hooks.read_progress(
                ReadProgress(
                    phase=ReadPhase.TRUST,
                    subject=name,
                    done=done,
                    total=len(reachable),
                    finished=done == len(reachable),
                )
            )

        self.hooks.read_progress(
            ReadProgress(phase=ReadPhase.TRUST, subject=name, done=0, total=len(reachable))
        )

        def node_facts(node: str) -> NodeFacts:
            info = next(n for n in listed if n.name == node)
            if node not in declared:  # AXL knows it, the YAML does not say how to reach it
                return NodeFacts(
                    name=node,
                    publisher=info.publisher,
                    services=frozenset(services.get(node, ())),
                    reachable=False,
                )
            running = frozenset(services.get(node, ()))
            face = ReadFace.CLI
            try:
                client = next(c for c in self.conns.certs(name) if c.node == node)
                face = certs_face(client)
                ids = {identity_key(e.store): e for e in self._node_identities(name, node)}
                trust: dict[str, set[CertIdentity]] = {s: set() for s in PHONE_TRUST_STORES}
                subjects: dict[CertIdentity, str] = {}
                for entry in client.trust(PHONE_TRUST_STORES):
                    ident = entry.identity()
                    if ident is not None and entry.store in trust:
                        trust[entry.store].add(ident)
                        if entry.subject:
                            subjects[ident] = entry.subject
                stores_read(node)
                started: dt.datetime | None = None
                if TVS_SERVICE in running:
                    face = ReadFace.CONTROL_CENTER
                    status = self.conns.control(name, node).status(TVS_SERVICE)
                    started = status.start_time if status.started else None
            except UnreachableError as exc:
                self._failures.record(cluster=name, node=node, face=face, error=exc)
                if info.publisher:  # trust uploads go through the publisher: nothing to plan without it
                    raise
                # R3: a subscriber that does not answer is a fact for the rules (its CallManager
                # groups may be left without a TVS), not the end of the plan
                return NodeFacts(name=node, publisher=False, services=running, reachable=False)
            return NodeFacts(
                name=node,
                publisher=info.publisher,
                services=running,
                callmanager=_cert_ref(ids.get("callmanager")),
                tvs=_cert_ref(ids.get("tvs")),
                trust={s: frozenset(v) for s, v in trust.items()},
                trust_subjects=subjects,
                tvs_started_at=started,
                # R6: before 12.5 every node lists its own ITLRecovery (from 12.5 only the publisher)
                itl_recovery=_cert_ref(ids.get("itlrecovery")),
            )

        nodes = self._map(node_facts, [n.name for n in listed])
        pub = next((n.name for n in listed if n.publisher), listed[0].name if listed else None)
        itl = None
        if pub is not None and pub in declared:
            itl = _cert_ref(
                {identity_key(e.store): e for e in self._node_identities(name, pub)}.get("itlrecovery")
            )
        mode = params.get(SECURITY_MODE)
        return ClusterFacts(
            name=name,
            version=version,
            nodes=tuple(nodes[n.name] for n in listed),
            itl_recovery=itl,
            rollback_to_pre8=rollback.as_bool if rollback is not None else None,
            mixed_mode=True if mode is None else mode.strip() == "1",
        )

    def identity_pems(self, cluster: str) -> Mapping[tuple[str, str], str]:
        return self.waiter.read(self._where(cluster), functools.partial(self._identity_pems, cluster))

    def _identity_pems(self, cluster: str) -> Mapping[tuple[str, str], str]:
        nodes = [c.node for c in self.conns.certs(cluster)]
        decl = self.conns.cluster(cluster)
        publisher = decl.publisher.name if decl is not None else None

        def read(node: str) -> tuple[StoredCert, ...]:
            try:
                return self._node_identities(cluster, node)
            except UnreachableError as exc:
                client = next((c for c in self.conns.certs(cluster) if c.node == node), None)
                self._failures.record(cluster=cluster, node=node, face=certs_face(client), error=exc)
                if node == publisher:
                    raise
                return ()  # an unreachable subscriber: the cluster read reports it (R3)

        per_node = self._map(read, nodes)
        out: dict[tuple[str, str], str] = {}
        for node, entries in per_node.items():
            for entry in entries:
                key = identity_key(entry.store)
                if key is not None and entry.pem is not None:
                    out[(node, key)] = entry.pem
        return out

    def parameters(self, cluster: str, names: Sequence[str]) -> Mapping[str, str | None]:
        if not names:
            return {}
        return self.waiter.read(self._where(cluster), functools.partial(self._parameters, cluster, names))

    def _parameters(self, cluster: str, names: Sequence[str]) -> Mapping[str, str | None]:
        axl = self.conns.axl(cluster)
        by_name = {p.name.lower(): p.value for p in axl.enterprise_parameters()}
        out: dict[str, str | None] = {}
        for name in names:
            if name == ROLLBACK_PARAMETER or is_rollback_alias(name):
                info = axl.rollback_parameter()
                out[name] = _param_text(info.value) if info is not None else None
            else:
                value = by_name.get(name.lower())
                out[name] = _param_text(value) if value is not None else None
        return out
