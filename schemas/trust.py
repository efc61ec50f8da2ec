"""Declared trust-store contents: per cluster and store, a list of certificate references.

A reference is either the identity certificate of a service on nodes of a cluster (selected by a role
such as ``tftp`` — "every TFTP node", R4 — or by node names) or a PEM file. ``mode: merge`` only
ensures presence; ``mode: exact`` also removes certificates the tool owns that are no longer declared.
The planner (``reconciler.cucm.rules``) checks the declaration against what R4–R6/R11 require.
"""

from __future__ import annotations

import enum
from typing import Annotated

from pydantic import Discriminator, Field, Tag, model_validator

from schemas.cluster import Service
from schemas.common import FilePath, Name, StrictModel

__all__ = [
    "CertificateRef",
    "Identity",
    "IdentityRef",
    "NodeRole",
    "NodeSelector",
    "PemRef",
    "TrustMode",
    "TrustStore",
    "TrustStoreDecl",
]


class TrustStore(enum.StrEnum):
    """CUCM trust stores (docs/cucm-domain.md#trust-stores-and-certificates)."""

    CALLMANAGER_TRUST = "CallManager-trust"
    PHONE_SAST_TRUST = "Phone-SAST-trust"
    TOMCAT_TRUST = "tomcat-trust"
    CAPF_TRUST = "CAPF-trust"
    IPSEC_TRUST = "ipsec-trust"


class TrustMode(enum.StrEnum):
    MERGE = "merge"
    EXACT = "exact"


class Identity(enum.StrEnum):
    """Identity certificates a reference can name (CUCM units CallManager, TVS, ITLRecovery, CAPF,
    tomcat)."""

    CALLMANAGER = "callmanager"
    TVS = "tvs"
    ITLRECOVERY = "itlrecovery"
    CAPF = "capf"
    TOMCAT = "tomcat"


class NodeRole(enum.StrEnum):
    """Select nodes by role: the publisher, all nodes, or the nodes running a service (values of
    ``schemas.cluster.Service``; ``tftp`` is "every TFTP node", R4)."""

    PUBLISHER = "publisher"
    ALL = "all"
    CALLMANAGER = Service.CALLMANAGER.value
    TFTP = Service.TFTP.value
    TVS = Service.TVS.value
    CTL_PROVIDER = Service.CTL_PROVIDER.value
    CAPF = Service.CAPF.value
    CTIMANAGER = Service.CTIMANAGER.value
    TOMCAT = Service.TOMCAT.value

    @property
    def service(self) -> Service | None:
        """The service this role selects by, or ``None`` for ``publisher``/``all``."""
        return None if self in (NodeRole.PUBLISHER, NodeRole.ALL) else Service(self.value)


class NodeSelector(StrictModel):
    """Which nodes' identity: ``role`` (``publisher``, ``all`` or a service such as ``tftp``) or ``names``."""

    role: NodeRole | None = None
    names: tuple[Name, ...] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _exactly_one(self) -> NodeSelector:
        if (self.role is None) == (self.names is None):
            raise ValueError("select nodes by exactly one of 'role' or 'names'")
        return self


class IdentityRef(StrictModel):
    """The ``identity`` certificate of ``cluster``'s nodes picked by ``nodes``.

    Without ``nodes``: ITLRecovery and CAPF are cluster-wide (the publisher's), the others are taken
    from every node of the cluster. ``itlrecovery`` takes ``nodes`` like ``callmanager`` where a cluster
    has one ITLRecovery per node (12.0 to 12.4: ``nodes: {role: tftp}`` is every TFTP node's own, R6);
    from 12.5 there is one per cluster and a node selection is ignored.
    """

    identity: Identity
    cluster: Name
    nodes: NodeSelector | None = None


class PemRef(StrictModel):
    """A certificate from a PEM file (relative to the YAML file); it must exist and parse."""

    pem: FilePath
    name: Name | None = Field(default=None, description="An id for plans and state; default: file stem.")


def _ref_kind(value: object) -> str:
    if isinstance(value, dict):
        return "PemRef" if "pem" in value else "IdentityRef"
    return "PemRef" if isinstance(value, PemRef) else "IdentityRef"


CertificateRef = Annotated[
    Annotated[IdentityRef, Tag("IdentityRef")] | Annotated[PemRef, Tag("PemRef")],
    Discriminator(_ref_kind),
]


class TrustStoreDecl(StrictModel):
    """Desired contents of one trust store of one cluster."""

    cluster: Name
    store: TrustStore
    mode: TrustMode = TrustMode.MERGE
    certificates: tuple[CertificateRef, ...] = Field(min_length=1)
