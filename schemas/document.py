"""The top-level desired-state document (``version: 1``) and its JSON Schema export.

``DesiredState.model_validate(data, context={"base_dir": dir_of_yaml})`` is called by
``reconciler.config.loader``; ``json_schema()`` backs ``reconciler schema`` (for editors via
yaml-language-server). Cross-references between sections are checked by ``reconciler.config.semantic``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from schemas.cluster import Cluster
from schemas.common import Name, StrictModel
from schemas.dhcp import DhcpConfig
from schemas.migration import Migration
from schemas.policy import Policy
from schemas.trust import TrustStoreDecl

__all__ = [
    "ADDRESS_KINDS",
    "ROLLBACK_PARAMETER",
    "SCHEMA_ID",
    "SCHEMA_VERSION",
    "ClusterParameters",
    "Dependency",
    "DesiredState",
    "json_schema",
]

SCHEMA_VERSION = 1
SCHEMA_ID = "https://reconciler.invalid/schemas/desired-state-v1.json"

#: The enterprise parameter R2 is about, as the CUCM GUI names it.
ROLLBACK_PARAMETER = "Prepare Cluster for Rollback to pre 8.0"

#: Resource address kinds (docs/architecture.md#resources-and-addresses) that ``depends_on`` may name.
ADDRESS_KINDS = ("trust", "tvs", "param", "bulk", "option150", "reset", "gate")

_ADDRESS_PATTERN = r"^(" + "|".join(ADDRESS_KINDS) + r")\.[^.\s]+(\..+)?$"


class ClusterParameters(StrictModel):
    """Enterprise parameters of one cluster. ``prepare_cluster_for_rollback`` is "Prepare Cluster for
    Rollback to pre 8.0": it must be false on a secure source (R2). Others go in ``enterprise`` by
    their GUI name."""

    prepare_cluster_for_rollback: bool | None = None
    enterprise: dict[str, str | bool | int] = Field(default_factory=dict)

    def rollback_value(self) -> bool | None:
        """The declared rollback parameter, whichever way it was written."""
        if self.prepare_cluster_for_rollback is not None:
            return self.prepare_cluster_for_rollback
        raw = self.enterprise.get(ROLLBACK_PARAMETER)
        if isinstance(raw, str):
            return raw.strip().lower() in ("true", "t", "1", "yes")
        return None if raw is None else bool(raw)


class Dependency(StrictModel):
    """An extra ordering edge: ``address`` runs only after every address in ``after``."""

    address: str = Field(pattern=_ADDRESS_PATTERN)
    after: tuple[str, ...] = Field(min_length=1)


class DesiredState(StrictModel):
    """A migration between two secure CUCM clusters, declared."""

    version: Literal[1] = Field(description="Schema version of this file; always 1 for now.")
    clusters: tuple[Cluster, ...] = Field(min_length=2)
    trust: tuple[TrustStoreDecl, ...] = ()
    parameters: dict[Name, ClusterParameters] = Field(default_factory=dict)
    dhcp: DhcpConfig = DhcpConfig()
    migration: Migration
    policy: Policy = Policy()
    depends_on: tuple[Dependency, ...] = ()

    def cluster(self, name: str) -> Cluster | None:
        return next((c for c in self.clusters if c.name == name), None)

    def wave_scopes(self) -> tuple[str, ...]:
        """Every scope the waves move, in wave order: the declared waves' scopes, or for canary growth
        (``waves: {auto: ...}``) its ``scopes`` (default every scope of ``dhcp.scopes``)."""
        auto = self.migration.auto
        if auto is None:
            return tuple(s for w in self.migration.wave_list for s in w.scopes)
        return auto.scopes if auto.scopes is not None else tuple(s.name for s in self.dhcp.scopes)


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the YAML, with ``$schema``/``$id``/``title`` set."""
    schema = DesiredState.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "reconciler desired state v1",
        **schema,
    }
