"""The planner's read-only view of the world: the ``LiveEstate`` protocol and the facts it returns.

``reconciler.plan.planner``, ``reconciler.plan.drift`` and ``reconciler.plan.fingerprint.check_fresh`` read
live facts only through this protocol. ``reconciler.wiring.estate.ProviderEstate`` (opened by
``reconciler.wiring.factory.ProviderWiring``) implements it on top of the
concrete providers (AXL, certificates, serviceability/RisPort70, TFTP, DHCP); tests use an in-process
fake. Every method is a read, batch-friendly (one call per cluster or per list of scopes) and must not
mutate anything: an estate has no mutating method at all, which is how "a plan never mutates" is
guaranteed by construction.

Public API (stable)::

    PhoneFacts(name, scope, cluster, cm_group, ctl=None, itl=None, tftp_node=None)
    Registration(name, cluster, node, status)         .registered
    TftpFile(cluster, node, name, data: bytes | None, error=None)
    ReadFailure(cluster, node, face: ReadFace, error, message)   a read the estate survived
    ReportsReadFailures (Protocol): read_failures() -> tuple[ReadFailure, ...]   (optional for an estate)
    LiveEstate (Protocol):
        clusters(names) -> Mapping[str, ClusterFacts]
        identity_pems(cluster) -> Mapping[tuple[str, str], str]       (node, identity) -> PEM
        parameters(cluster, names) -> Mapping[str, str | None]
        callmanager_groups(cluster) -> Mapping[str, tuple[str, ...]]  group -> node names, in order
        option150(scopes) -> Mapping[tuple[str, str], tuple[str, ...] | None]   (server, scope) -> addrs
        phones(scopes) -> Mapping[str, tuple[PhoneFacts, ...]]
        tftp_files(cluster, nodes) -> Mapping[str, tuple[TftpFile, TftpFile]]   node -> (CTL, ITL)
        registrations(cluster, names) -> Mapping[str, Registration]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from reconciler.cucm.facts import ClusterFacts
from reconciler.cucm.trust import TrustList
from reconciler.vocabulary import ReadFace

__all__ = ["LiveEstate", "PhoneFacts", "ReadFailure", "Registration", "ReportsReadFailures", "TftpFile"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PhoneFacts:
    """One phone of a scope. ``cluster``/``cm_group`` are the cluster whose configuration it runs and
    its CallManager group there (its TVS servers are the group's nodes running TVS, in order).
    ``ctl``/``itl`` are the trust lists the phone holds when known (the lab knows; a real estate may
    read the per-device ``ITLSEP<MAC>.tlv``); ``None`` means "what ``tftp_node`` of its cluster serves"
    (default: the first TFTP node)."""

    name: str
    scope: str
    cluster: str
    cm_group: str
    ctl: TrustList | None = None
    itl: TrustList | None = None
    tftp_node: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Registration:
    """A RisPort70 record: ``status`` is ``CmDevRegStat`` (``Registered``, ``UnRegistered``, ...);
    ``status_reason`` its ``StatusReason`` code (None: not reported); ``timestamp`` its ``TimeStamp``,
    the last status change (for a Registered phone: when it registered; None: not reported)."""

    name: str
    cluster: str
    node: str | None
    status: str
    status_reason: int | None = None
    timestamp: dt.datetime | None = None

    @property
    def registered(self) -> bool:
        return self.status == "Registered"


@dataclass(frozen=True, slots=True, kw_only=True)
class TftpFile:
    """A file as a TFTP node serves it (``CTLFile.tlv``/``ITLFile.tlv``); ``data=None`` when it does not
    exist, ``error`` when it could not be fetched (the node is down, ...)."""

    cluster: str
    node: str
    name: str
    data: bytes | None
    error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadFailure:
    """A read that failed and that the estate answered around (a subscriber that does not answer is
    ``NodeFacts(reachable=False)``, a file that could not be fetched a ``TftpFile`` with ``error``): which
    node, through which face, the error's class and its message (redacted). What it did not read is
    unknown, not empty."""

    cluster: str
    node: str | None
    face: ReadFace
    error: str
    message: str


@runtime_checkable
class ReportsReadFailures(Protocol):
    """An estate that can say which reads failed (``ProviderEstate``, a snapshot of one)."""

    def read_failures(self) -> tuple[ReadFailure, ...]: ...


@runtime_checkable
class LiveEstate(Protocol):
    """Read-only, batch-friendly access to everything a plan relies on. Implementations translate
    provider errors at their boundary into ``reconciler.errors`` (``TemporaryError`` etc.)."""

    def clusters(self, names: Sequence[str]) -> Mapping[str, ClusterFacts]:
        """Versions, nodes, services, identity certificates, per-node trust stores, TVS start times,
        last trust change per node, the rollback parameter, mixed mode."""
        ...

    def identity_pems(self, cluster: str) -> Mapping[tuple[str, str], str]:
        """Public identity certificates as PEM, keyed ``(node, identity)`` with identity one of
        ``callmanager``, ``tvs``, ``itlrecovery`` (the publisher's), ``capf``, ``tomcat``."""
        ...

    def parameters(self, cluster: str, names: Sequence[str]) -> Mapping[str, str | None]:
        """Enterprise parameter values as CUCM shows them (``"True"``/``"False"``...); None = unset."""
        ...

    def callmanager_groups(self, cluster: str) -> Mapping[str, tuple[str, ...]]:
        """CallManager group name -> member node names in priority order."""
        ...

    def option150(
        self, scopes: Sequence[tuple[str, str]]
    ) -> Mapping[tuple[str, str], tuple[str, ...] | None]:
        """Current option 150 per ``(dhcp server, scope)``; None when the scope has no option 150."""
        ...

    def phones(self, scopes: Sequence[str]) -> Mapping[str, tuple[PhoneFacts, ...]]:
        """The phones of each DHCP scope (by scope name)."""
        ...

    def tftp_files(self, cluster: str, nodes: Sequence[str]) -> Mapping[str, tuple[TftpFile, TftpFile]]:
        """``(CTLFile.tlv, ITLFile.tlv)`` as each TFTP node serves them."""
        ...

    def registrations(self, cluster: str, names: Sequence[str]) -> Mapping[str, Registration]:
        """RisPort70 records of ``names`` in ``cluster`` (absent = not known there)."""
        ...
