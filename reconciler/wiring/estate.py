"""``ProviderEstate``: ``reconciler.live.protocol.LiveEstate`` over the concrete providers (read-only).

Built by ``reconciler.wiring.factory.ProviderWiring`` (plan, drift, apply) over a
``reconciler.wiring.connections.Connections``. Every read goes through a provider client, which maps
foreign errors to ``reconciler.errors`` at its boundary; nothing here calls a mutating operation.
Reads of one cluster's nodes run on a small thread pool (``parallelism``); the clients are safe to share.

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
- CallManager groups and device pools: AXL. Option 150: each scope's DHCP server, the scope found by
  its subnet (an IOS pool or CUCM DHCP subnet is named differently from the YAML's scope).
- phones of a scope: the phones RisPort70 (source and target, paced) reports with an IPv4 address inside
  the scope's subnet — the lab's device pools do not follow scopes and neither do real ones reliably,
  while a phone's DHCP address always does. A phone registered on the target belongs to the target
  (its CallManager group there, via its device pool); otherwise to the source. Phones RisPort70 has no
  address for cannot be placed and are left out. Scope membership is read once per estate.
- TFTP files: ``CTLFile.tlv``/``ITLFile.tlv`` over HTTP 6970; registrations: RisPort70 by device name,
  except that the first such read after ``phones`` is answered from the complete listing ``phones``
  just took (the refresh's case: 40 fewer paced queries at 80,000 phones); see ``LISTING_TTL``.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from ipaddress import IPv4Network
from typing import TypeVar

from providers.cucm_axl import is_rollback_alias
from providers.cucm_certs import StoredCert
from providers.cucm_serviceability import TVS_SERVICE, dedupe
from providers.cucm_serviceability import Registration as RisRecord
from providers.transports.soap import CucmEndpoint
from reconciler.apply.retry import RetryPolicy
from reconciler.cucm.certs import CertIdentity, load_certificate
from reconciler.cucm.facts import ROLLBACK_PARAMETER, CertRef, ClusterFacts, NodeFacts
from reconciler.errors import CertificateError, ReconcilerError, UnreachableError
from reconciler.live.pools import PoolMember
from reconciler.live.progress import ReadHooks, ReadPhase, ReadProgress
from reconciler.live.protocol import PhoneFacts, ReadFailure, Registration, TftpFile
from reconciler.vocabulary import PHONE_TRUST_STORES, ReadFace
from reconciler.wiring.connections import Connections
from reconciler.wiring.indexes import ScopeIndex, SubnetIndex
from reconciler.wiring.readfailures import ReadFailureLog, certs_face
from reconciler.wiring.readwait import DEFAULT_TIMEOUT, ReadWaiter
from schemas.version import CucmVersion

__all__ = ["ProviderEstate", "identity_key"]

_T = TypeVar("_T")
SECURITY_MODE = "clustersecuritymode"
_UNITS = {
    "callmanager": "callmanager",
    "tvs": "tvs",
    "itlrecovery": "itlrecovery",
    "capf": "capf",
    "tomcat": "tomcat",
}
IDENTITY_TTL = 5.0  # seconds: clusters() and identity_pems() of one refresh share one read per node
#: A complete RisPort70 listing of a cluster taken by ``phones`` answers the next ``registrations`` of
#: that cluster once, if younger than this (the refresh reads the listing for scope membership, then
#: the registrations of the same phones while the AXL listings finish); every other read is live.
LISTING_TTL = 120.0


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


class ProviderEstate:
    """The live estate of one desired state, read through ``conns`` (see the module docstring)."""

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
        self._identities: dict[tuple[str, str], tuple[float, tuple[StoredCert, ...]]] = {}
        self._identity_reads: dict[tuple[str, str], threading.Lock] = {}
        self._scope_members: dict[str, tuple[PhoneFacts, ...]] | None = None
        self._listings: dict[str, tuple[float, tuple[RisRecord, ...]]] = {}
        self._failures = ReadFailureLog()

    def read_failures(self) -> tuple[ReadFailure, ...]:
        """The reads that failed and were answered around so far (``ReportsReadFailures``)."""
        return self._failures.all()

    # --- helpers ----------------------------------------------------------------------------------
    def _map(self, fn: Callable[[str], _T], items: Sequence[str]) -> dict[str, _T]:
        if len(items) <= 1:
            return {i: fn(i) for i in items}
        with ThreadPoolExecutor(
            max_workers=min(self.parallelism, len(items)), thread_name_prefix="estate"
        ) as pool:
            return dict(zip(items, pool.map(fn, items), strict=True))

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

    def stop(self) -> None:
        """End every wait of a read now (the command is ending: another read failed)."""
        self.waiter.stop()

    def _where(self, cluster: str) -> str:
        """How reports name a cluster's publisher: ``cucm-pub (10.0.0.1:8443)``."""
        decl = self.conns.desired.cluster(cluster)
        return CucmEndpoint.from_cluster(decl).label if decl is not None else cluster

    def _ris(self, cluster: str, fn: Callable[[], _T]) -> _T:
        """A RisPort70 read; an exhausted allowance (``TemporaryError`` with a delay, other clients
        share it) or an unreachable node is waited out within the read's time budget (``waiter``)."""
        return self.waiter.read(f"RisPort70 of {cluster}, {self._where(cluster)}", fn)

    # --- LiveEstate -------------------------------------------------------------------------------
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
                for entry in client.trust(PHONE_TRUST_STORES):
                    ident = entry.identity()
                    if ident is not None and entry.store in trust:
                        trust[entry.store].add(ident)
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

    def callmanager_groups(self, cluster: str) -> Mapping[str, tuple[str, ...]]:
        groups = self.waiter.read(self._where(cluster), lambda: self.conns.axl(cluster).callmanager_groups())
        return {g.name: tuple(g.members) for g in groups}

    def pool_devices(self, cluster: str, pool: str | None = None) -> Sequence[PoolMember]:
        """Every device of ``pool`` (every pool when ``None``) on ``cluster``, all device classes
        (``reconciler.live.pools.ListsPoolDevices``; one read-only SQL query through AXL)."""
        devices = self.waiter.read(self._where(cluster), lambda: self.conns.axl(cluster).pool_devices(pool))
        return [PoolMember(name=d.name, pool=d.pool, phone=d.is_phone) for d in devices]

    def option150(
        self, scopes: Sequence[tuple[str, str]]
    ) -> Mapping[tuple[str, str], tuple[str, ...] | None]:
        declared = {s.name: s for s in self.conns.desired.dhcp.scopes}
        servers = sorted({server for server, _ in scopes})
        total = len(scopes)
        self.hooks.read_progress(ReadProgress(phase=ReadPhase.DHCP, subject="dhcp", done=0, total=total))
        listed = self._map(
            lambda s: self.waiter.read(f"DHCP server {s}", lambda: self.conns.dhcp(s).list_scopes()), servers
        )
        index = {server: ScopeIndex(found) for server, found in listed.items()}
        out: dict[tuple[str, str], tuple[str, ...] | None] = {}
        for server, scope in scopes:
            decl = declared.get(scope)
            keys = (
                [scope]
                + ([str(decl.subnet)] if decl is not None else [])
                + ([decl.pool] if decl is not None and decl.pool else [])
            )
            found = index[server].first(keys) if server in index else None
            out[(server, scope)] = (
                tuple(str(a) for a in found.option150) if found and found.option150 else None
            )
        self.hooks.read_progress(
            ReadProgress(phase=ReadPhase.DHCP, subject="dhcp", done=total, total=total, finished=True)
        )
        return out

    def phones(self, scopes: Sequence[str]) -> Mapping[str, tuple[PhoneFacts, ...]]:
        members = self._members()
        return {s: members.get(s, ()) for s in scopes}

    def _members(self) -> dict[str, tuple[PhoneFacts, ...]]:
        with self._lock:
            if self._scope_members is not None:
                return self._scope_members
        desired = self.conns.desired
        mig = desired.migration
        clusters = (mig.source, mig.target)
        # The paced RisPort70 listings are the refresh's critical path (R13: at 1,000 devices per query
        # and the allowance per minute, 80,000 phones take more than a minute); the AXL listings of
        # both clusters run beside them instead of after them.
        with ThreadPoolExecutor(max_workers=len(clusters) + 1, thread_name_prefix="estate-phones") as pool:
            pool_jobs = {c: pool.submit(self._pool_groups, c) for c in clusters}
            listings = {c: self._ris_listing(c) for c in clusters}
            groups = {c: job.result() for c, job in pool_jobs.items()}
        records: list[RisRecord] = []
        owner: dict[str, str] = {}
        for cluster in clusters:
            for rec in listings[cluster]:
                records.append(rec)
                if rec.registered:
                    owner[rec.name.upper()] = cluster
        latest = dedupe(records)
        subnets = SubnetIndex((s.name, IPv4Network(str(s.subnet))) for s in desired.dhcp.scopes)
        out: dict[str, list[PhoneFacts]] = {}
        for rec in latest:
            scope = subnets.scope_of(rec.ip)
            if scope is None:
                continue
            cluster = owner.get(rec.name.upper(), mig.source)
            pools = groups[cluster]
            out.setdefault(scope, []).append(
                PhoneFacts(name=rec.name, scope=scope, cluster=cluster, cm_group=pools.get(rec.name, ""))
            )
        result = {s: tuple(sorted(v, key=lambda p: p.name)) for s, v in out.items()}
        with self._lock:
            self._scope_members = result
        return result

    def _ris_listing(self, cluster: str) -> tuple[RisRecord, ...]:
        """Every phone record RisPort70 of ``cluster`` has; remembered for ``LISTING_TTL`` seconds so
        the refresh's registration read that follows needs no second pass over the same phones."""

        def listed(count: int, total: int, eta: float) -> None:
            self.hooks.read_progress(
                ReadProgress(phase=ReadPhase.PHONES, subject=cluster, done=count, total=total, eta=eta)
            )

        self.hooks.read_progress(ReadProgress(phase=ReadPhase.PHONES, subject=cluster, done=0, total=None))
        ris = self.conns.ris(cluster)
        found = self._ris(cluster, functools.partial(ris.raw_registrations, ("*",), progress=listed))
        self.hooks.read_progress(
            ReadProgress(
                phase=ReadPhase.PHONES, subject=cluster, done=len(found), total=len(found), finished=True
            )
        )
        with self._lock:
            self._listings[cluster] = (time.monotonic(), found)
        return found

    def _fresh_listing(self, cluster: str) -> tuple[RisRecord, ...] | None:
        """The listing ``phones`` took of ``cluster``, once (the next registration read after it), and
        only while it is younger than ``LISTING_TTL``; every later read asks RisPort70 again."""
        with self._lock:
            taken = self._listings.pop(cluster, None)
        if taken is None or time.monotonic() - taken[0] >= LISTING_TTL:
            return None
        return taken[1]

    def _pool_groups(self, cluster: str) -> dict[str, str]:
        """phone name → CallManager group on ``cluster`` (through its device pool)."""
        axl = self.conns.axl(cluster)
        pools = {p.name: p.callmanager_group for p in axl.device_pools()}
        return {name: pools.get(pool, "") for name, pool in axl.phone_device_pools().items()}

    def tftp_files(self, cluster: str, nodes: Sequence[str]) -> Mapping[str, tuple[TftpFile, TftpFile]]:
        def fetch(node: str) -> tuple[TftpFile, TftpFile]:
            client = self.conns.tftp(cluster, node)
            pair = []
            for name in ("CTLFile.tlv", "ITLFile.tlv"):
                try:
                    pair.append(TftpFile(cluster=cluster, node=node, name=name, data=client.fetch(name)))
                except ReconcilerError as exc:
                    self._failures.record(cluster=cluster, node=node, face=ReadFace.TFTP, error=exc)
                    pair.append(TftpFile(cluster=cluster, node=node, name=name, data=None, error=str(exc)))
            return pair[0], pair[1]

        return self._map(fetch, list(nodes))

    def registrations(self, cluster: str, names: Sequence[str]) -> Mapping[str, Registration]:
        if not names:
            return {}
        listing = self._fresh_listing(cluster)
        if listing is not None:  # a complete listing of every device, seconds old (see LISTING_TTL)
            found: Iterable[RisRecord] = dedupe(listing)
        else:
            ris = self.conns.ris(cluster)
            found = self._ris(cluster, lambda: ris.registrations(list(names)))
        wanted = {n.upper(): n for n in names}
        return {
            wanted[r.name.upper()]: Registration(
                name=wanted[r.name.upper()],
                cluster=cluster,
                node=r.node or None,
                status=r.status,
                status_reason=r.reason,
                timestamp=r.timestamp,
            )
            for r in found
            if r.name.upper() in wanted
        }
