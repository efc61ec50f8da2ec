"""A small two-cluster world for the procedure scenarios: real certificates, really signed ITL/CTL files,
per-node trust stores with publisher→subscriber replication, TVS caches loaded at TVS start, and a phone
that boots through the domain's one boot sequence (``reconciler.cucm.boot``: CTL, ITL, configuration).

Only the CUCM domain library is used (no simulator): the point is to show the rules and the trust model
agreeing on every procedure scenario (docs/cucm-domain.md#what-tvs-knows).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from reconciler.cucm import tlv
from reconciler.cucm.boot import BootResult, ServedFiles
from reconciler.cucm.boot import boot as boot_sequence
from reconciler.cucm.certs import CertIdentity, IssuedCert, identity_of
from reconciler.cucm.facts import CertRef, ClusterFacts, NodeFacts, Service, Store
from reconciler.cucm.trust import (
    Decision,
    FileKind,
    TrustList,
    TvsCache,
    TvsServer,
    expected_signer,
)
from reconciler.errors import SignatureError, TlvError
from schemas.version import CucmVersion
from tests.cucm_material import NOW, identity

STORES = (Store.CALLMANAGER_TRUST.value, Store.PHONE_SAST_TRUST.value)


@dataclass
class Node:
    name: str
    publisher: bool = False
    tftp: bool = True
    tvs: bool = True
    trust: dict[str, set[CertIdentity]] = field(default_factory=lambda: {s: set() for s in STORES})
    trust_changed_at: datetime = NOW
    tvs_started_at: datetime = NOW + timedelta(minutes=1)
    cache: TvsCache = field(default_factory=TvsCache)


@dataclass
class Cluster:
    name: str
    version: CucmVersion
    nodes: list[Node]
    rollback_to_pre8: bool = False
    clock: datetime = NOW + timedelta(hours=1)

    # identities ------------------------------------------------------------------------------------
    def cm(self, node: str) -> IssuedCert:
        return identity("CallManager", node, self.name)

    def tvs_cert(self, node: str) -> IssuedCert:
        return identity("TVS", node, self.name)

    @property
    def itl_recovery(self) -> IssuedCert:
        return identity("ITLRecovery", self.publisher.name, self.name)

    @property
    def publisher(self) -> Node:
        return next(n for n in self.nodes if n.publisher)

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    # files -----------------------------------------------------------------------------------------
    def ctl(self) -> bytes:
        return _ctl(self.name, str(self.version), tuple((n.name, n.publisher, n.tftp) for n in self.nodes))

    def itl(self, tftp_node: str, *, rollback: bool | None = None) -> bytes:
        blank = self.rollback_to_pre8 if rollback is None else rollback
        return _itl(
            self.name, str(self.version), tftp_node, tuple(n.name for n in self.nodes if n.tvs), blank
        )

    # operations ------------------------------------------------------------------------------------
    def tick(self) -> datetime:
        self.clock += timedelta(minutes=1)
        return self.clock

    def upload(self, cert: IssuedCert, store: str) -> None:
        """Upload on the publisher (the stores then replicate, see ``replicate``)."""
        pub = self.publisher
        pub.trust[store].add(identity_of(cert.cert))
        pub.trust_changed_at = self.tick()

    def replicate(self, *, to: list[str] | None = None) -> None:
        pub = self.publisher
        for node in self.nodes:
            if node is pub or (to is not None and node.name not in to):
                continue
            for store in STORES:
                if node.trust[store] != pub.trust[store]:
                    node.trust[store] = set(pub.trust[store])
                    node.trust_changed_at = self.tick()

    def restart_tvs(self, *, only: list[str] | None = None) -> None:
        for node in self.nodes:
            if node.tvs and (only is None or node.name in only):
                node.cache = _cache_of(node)
                node.tvs_started_at = self.tick()

    def tvs_servers(self, group: list[str], *, reachable: bool = True) -> tuple[TvsServer, ...]:
        return tuple(
            TvsServer(
                name=n,
                certificate=identity_of(self.tvs_cert(n).cert),
                cache=self.node(n).cache,
                reachable=reachable,
                stores=_cache_of(self.node(n)),
            )
            for n in group
        )

    def facts(self) -> ClusterFacts:
        nodes = []
        for n in self.nodes:
            services = {Service.CALLMANAGER.value}
            if n.tftp:
                services.add(Service.TFTP.value)
            if n.tvs:
                services.add(Service.TVS.value)
            nodes.append(
                NodeFacts(
                    name=n.name,
                    publisher=n.publisher,
                    services=frozenset(services),
                    callmanager=CertRef.of(self.cm(n.name).cert),
                    tvs=CertRef.of(self.tvs_cert(n.name).cert),
                    trust={s: frozenset(ids) for s, ids in n.trust.items()},
                    tvs_started_at=n.tvs_started_at if n.tvs else None,
                    trust_changed_at=n.trust_changed_at,
                    ctl_valid=True,
                    itl_valid=True,
                )
            )
        return ClusterFacts(
            name=self.name,
            version=self.version,
            nodes=tuple(nodes),
            itl_recovery=CertRef.of(self.itl_recovery.cert),
            rollback_to_pre8=self.rollback_to_pre8,
        )


def _cache_of(node: Node) -> TvsCache:
    return TvsCache.from_stores(
        callmanager_trust=node.trust[Store.CALLMANAGER_TRUST.value],
        phone_sast_trust=node.trust[Store.PHONE_SAST_TRUST.value],
    )


@functools.cache
def _ctl(cluster: str, version: str, nodes: tuple[tuple[str, bool, bool], ...]) -> bytes:
    """CTL per docs/cucm-domain.md#who-signs-what: SAST = publisher CallManager and ITLRecovery, CCM+TFTP per
    TFTP node, no TVS; signed by ITLRecovery (12.0+) or the publisher's CallManager (before)."""
    pub = next(name for name, is_pub, _ in nodes if is_pub)
    cm_pub = identity("CallManager", pub, cluster)
    recovery = identity("ITLRecovery", pub, cluster)
    records = [
        tlv.record_from_certificate(cm_pub.cert, role=tlv.Role.SAST, dns_name=pub),
        tlv.record_from_certificate(recovery.cert, role=tlv.Role.SAST),
    ]
    records += [
        tlv.record_from_certificate(
            identity("CallManager", name, cluster).cert, role=tlv.Role.CCM_TFTP, dns_name=name
        )
        for name, _, tftp in nodes
        if tftp
    ]
    signer = expected_signer(
        CucmVersion(version),
        FileKind.CTL,
        itl_recovery=recovery,
        tftp_callmanager=cm_pub,
        publisher_callmanager=cm_pub,
    )
    return tlv.build(
        records=records,
        signer_cert=signer.cert,
        signer_key=signer.key,
        filename="CTLFile.tlv",
        timestamp=int(NOW.timestamp()),
    )


@functools.cache
def _itl(cluster: str, version: str, tftp: str, tvs_nodes: tuple[str, ...], rollback: bool) -> bytes:
    """ITL per §5.3: the TFTP node's CallManager (CCM+TFTP), ITLRecovery, every TVS (role TVS); signed
    by ITLRecovery (12.0+) or that node's CallManager (SAST record). The rollback ITL has empty TVS and
    TFTP parts."""
    cm = identity("CallManager", tftp, cluster)
    pub = tvs_nodes[0]
    recovery = identity("ITLRecovery", pub, cluster)
    signer = expected_signer(
        CucmVersion(version),
        FileKind.ITL,
        itl_recovery=recovery,
        tftp_callmanager=cm,
        publisher_callmanager=identity("CallManager", pub, cluster),
    )
    records = [tlv.record_from_certificate(signer.cert, role=tlv.Role.SAST)]
    if not rollback:
        records.append(tlv.record_from_certificate(cm.cert, role=tlv.Role.CCM_TFTP, dns_name=tftp))
        if signer is not recovery:
            records.append(tlv.record_from_certificate(recovery.cert, role=tlv.Role.SAST))
        records += [
            tlv.record_from_certificate(identity("TVS", n, cluster).cert, role=tlv.Role.TVS, dns_name=n)
            for n in tvs_nodes
        ]
    return tlv.build(
        records=records,
        signer_cert=signer.cert,
        signer_key=signer.key,
        filename="ITLFile.tlv",
        timestamp=int(NOW.timestamp()),
    )


@dataclass(frozen=True)
class Phone:
    """What a phone holds: its current CTL and ITL (as trust lists) and its CallManager group's TVS."""

    ctl: TrustList
    itl: TrustList

    @classmethod
    def registered_on(cls, cluster: Cluster, *, tftp: str) -> Phone:
        ctl_file, itl_file = tlv.parse(cluster.ctl()), tlv.parse(cluster.itl(tftp))
        tlv.verify(ctl_file)
        tlv.verify(itl_file)
        return cls(ctl=TrustList.from_tlv(ctl_file), itl=TrustList.from_tlv(itl_file))


@dataclass(frozen=True)
class Boot:
    """One boot as ``reconciler.cucm.boot.boot`` decided it, with the phone as it is afterwards."""

    result: BootResult
    phone: Phone

    @property
    def moved(self) -> bool:
        return self.result.moved

    @property
    def decisions(self) -> tuple[Decision, ...]:
        return self.result.decisions

    @property
    def last(self) -> Decision:
        return self.result.decisions[-1]


def _verified(data: bytes) -> tlv.TlvFile | None:
    """The file as a TFTP node serves it, or ``None`` when it does not parse or verify."""
    try:
        parsed = tlv.parse(data)
        tlv.verify(parsed)
    except (TlvError, SignatureError):
        return None
    return parsed


def served_by(target: Cluster, tftp: str) -> ServedFiles:
    """What ``tftp`` of ``target`` serves: its real, signed CTL and ITL and its CallManager certificate."""
    return ServedFiles.of(
        ctl=_verified(target.ctl()),
        itl=_verified(target.itl(tftp)),
        callmanager=CertRef.of(target.cm(tftp).cert),
    )


def boot(phone: Phone, *, target: Cluster, tftp: str, tvs: tuple[TvsServer, ...]) -> Boot:
    """The phone's boot after option 150 points at ``tftp`` of ``target`` (the domain's one boot
    sequence, over files parsed and verified for real)."""
    result = boot_sequence(ctl=phone.ctl, itl=phone.itl, tvs_servers=tvs, served=served_by(target, tftp))
    return Boot(result, Phone(ctl=result.ctl, itl=result.itl))
