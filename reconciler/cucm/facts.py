"""Cluster facts: the read-only inputs of the procedure rules (``reconciler.cucm.rules``).

Providers fill these from live clusters (AXL, ControlCenterServices, certmgr/CLI), the simulator from its
model, tests by hand. Frozen dataclasses; trust-store contents are ``CertIdentity`` sets (TVS and the
stores key certificates by serial + issuer). Names of stores and services are CUCM's exact strings
(docs/cucm-domain.md#trust-stores-and-certificates, #services).

Public API (stable)::

    Store              = reconciler.vocabulary.TrustStore ("CallManager-trust", "Phone-SAST-trust", ...)
    Service            = reconciler.vocabulary.CucmService (exact Control Center names: "Cisco Tftp", ...)
    Method             = reconciler.vocabulary.Method: MANUAL (method 2, default), BULK (method 1)
    Direction(StrEnum) FORWARD (source -> target), REVERSE (rollback, R11)
    ROLLBACK_PARAMETER = reconciler.vocabulary.ROLLBACK_PARAMETER (R2)
    CertRef(identity, subject, sha1=None)          CertRef.of(cert); .describe()
    NodeFacts(name=, publisher=False, services=frozenset(), callmanager=None, tvs=None, trust={},
              tvs_started_at=None, trust_changed_at=None, reachable=True, ctl_valid=None, itl_valid=None,
              itl_recovery=None)
              .runs(service) .holds(store, identity) .store(store)
    ClusterFacts(name=, version=, nodes=(), itl_recovery=None, rollback_to_pre8=False, mixed_mode=True,
                 itl_recovery_cluster_wide_from=ITLRECOVERY_CLUSTER_WIDE_FROM)
              .publisher .tftp_nodes .tvs_nodes .node(name)
              .itl_recovery_per_node .itl_recovery_of(node) .itl_recovery_id(node)
    ITLRECOVERY_CLUSTER_WIDE_FROM = (12, 5)      R6: one ITLRecovery per cluster from here, per node before
    itl_recovery_per_node(version, *, cluster_wide_from=ITLRECOVERY_CLUSTER_WIDE_FROM) -> bool
    itl_recovery_cert_id(*, cluster, node, publisher, per_node) -> str
    SftpLocation(host, directory)   BulkSetup(source=, target=, consolidate_on=())
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509

from reconciler.cucm.certs import CertIdentity, identity_of, sha1_hex, subject_of
from reconciler.cucm.signers import (
    ITLRECOVERY_CLUSTER_WIDE_FROM,
    itl_recovery_cert_id,
    itl_recovery_per_node,
)
from reconciler.vocabulary import ROLLBACK_PARAMETER, CucmService, Method, TrustStore
from schemas.version import CucmVersion

__all__ = [
    "ITLRECOVERY_CLUSTER_WIDE_FROM",
    "ROLLBACK_PARAMETER",
    "BulkSetup",
    "CertRef",
    "ClusterFacts",
    "Direction",
    "Method",
    "NodeFacts",
    "Service",
    "SftpLocation",
    "Store",
    "itl_recovery_cert_id",
    "itl_recovery_per_node",
]

#: The trust stores, CUCM's service names, the method and the rollback parameter are the kernel's
#: vocabulary (``reconciler.vocabulary``), named here as the rules have always named them.
Store = TrustStore
Service = CucmService


class Direction(enum.StrEnum):
    FORWARD = "forward"
    REVERSE = "reverse"


@dataclass(frozen=True, slots=True)
class CertRef:
    """A certificate as the rules name it: its TVS identity plus what a human recognises."""

    identity: CertIdentity
    subject: str
    sha1: str | None = None

    @classmethod
    def of(cls, cert: x509.Certificate) -> CertRef:
        return cls(identity=identity_of(cert), subject=subject_of(cert), sha1=sha1_hex(cert))

    def describe(self) -> str:
        return f"{self.subject} (serial {self.identity.serial_hex})"


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeFacts:
    """One CUCM node. ``services`` holds the names of services that are activated/running;
    ``trust`` maps a store name to the identities it holds on *this* node (replication is per node);
    ``tvs_started_at`` is when TVS last started (None: not running); ``trust_changed_at`` is the last
    change of this node's CallManager-trust/Phone-SAST-trust; ``ctl_valid``/``itl_valid`` say whether
    its TFTP serves a CTL/ITL that parses and verifies (None: not checked); ``itl_recovery`` is the
    node's own ITLRecovery where the cluster has one per node (before 12.5, R6; None: none or unread);
    ``trust_subjects`` the subject each trust entry showed where the read gave one (for the snapshot
    and a rehearsal's stand-ins; no rule reads it)."""

    name: str
    publisher: bool = False
    services: frozenset[str] = frozenset()
    callmanager: CertRef | None = None
    tvs: CertRef | None = None
    trust: Mapping[str, frozenset[CertIdentity]] = field(default_factory=dict)
    tvs_started_at: datetime | None = None
    trust_changed_at: datetime | None = None
    reachable: bool = True
    ctl_valid: bool | None = None
    itl_valid: bool | None = None
    itl_recovery: CertRef | None = None
    trust_subjects: Mapping[CertIdentity, str] = field(default_factory=dict)

    def runs(self, service: Service | str) -> bool:
        return str(service) in self.services

    def store(self, store: Store | str) -> frozenset[CertIdentity]:
        return self.trust.get(str(store), frozenset())

    def holds(self, store: Store | str, identity: CertIdentity) -> bool:
        return identity in self.store(store)


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterFacts:
    """One cluster. ``rollback_to_pre8`` is the enterprise parameter (None: could not be read);
    ``itl_recovery`` the cluster's ITLRecovery (the publisher's where each node has its own, R6)."""

    name: str
    version: CucmVersion
    nodes: tuple[NodeFacts, ...] = ()
    itl_recovery: CertRef | None = None
    rollback_to_pre8: bool | None = False
    mixed_mode: bool = True
    itl_recovery_cluster_wide_from: tuple[int, int] = ITLRECOVERY_CLUSTER_WIDE_FROM

    @property
    def itl_recovery_per_node(self) -> bool:
        """R6: each node signs with its own ITLRecovery (12.0 up to the configurable boundary)."""
        return itl_recovery_per_node(self.version, cluster_wide_from=self.itl_recovery_cluster_wide_from)

    def itl_recovery_of(self, node: str) -> CertRef | None:
        """The ITLRecovery that signs ``node``'s ITL: its own where each node has one, the publisher's
        (the cluster's) for the publisher and wherever the cluster has one certificate."""
        pub = self.publisher
        if not self.itl_recovery_per_node or (pub is not None and pub.name == node):
            return self.itl_recovery
        try:
            return self.node(node).itl_recovery
        except KeyError:
            return None

    def itl_recovery_id(self, node: str) -> str:
        """The cert id (last part of ``trust.<cluster>.<store>.<cert-id>``) of ``node``'s ITLRecovery:
        ``ITLRecovery-<cluster>`` for the cluster's (the publisher's), ``ITLRecovery-<node>`` for
        another node's own."""
        return itl_recovery_cert_id(
            cluster=self.name,
            node=node,
            publisher=self.publisher.name if self.publisher is not None else None,
            per_node=self.itl_recovery_per_node,
        )

    @property
    def publisher(self) -> NodeFacts | None:
        return next((n for n in self.nodes if n.publisher), self.nodes[0] if self.nodes else None)

    @property
    def tftp_nodes(self) -> tuple[NodeFacts, ...]:
        return tuple(n for n in self.nodes if n.runs(Service.TFTP))

    @property
    def tvs_nodes(self) -> tuple[NodeFacts, ...]:
        return tuple(n for n in self.nodes if n.runs(Service.TVS))

    def node(self, name: str) -> NodeFacts:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(f"cluster {self.name} has no node {name!r}")


@dataclass(frozen=True, slots=True)
class SftpLocation:
    host: str
    directory: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BulkSetup:
    """Method 1 settings (R9): each cluster's bulk SFTP location and where consolidation runs."""

    source: SftpLocation | None = None
    target: SftpLocation | None = None
    consolidate_on: tuple[str, ...] = ()
