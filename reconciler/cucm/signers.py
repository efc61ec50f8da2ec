"""R6's version boundary: where a CUCM cluster has one ITLRecovery certificate, and where one per node.

A light module (no cryptography) so that ``validate``'s semantic checks and ``explain`` (config layer) use
the same boundary as the rules (``reconciler.cucm.rules``) and the facts (``reconciler.cucm.facts``, which
re-exports it). docs/cucm-domain.md#uncertain-points states the assumption.

Public API (stable)::

    ITLRECOVERY_CLUSTER_WIDE_FROM = (12, 5)
    itl_recovery_per_node(version, *, cluster_wide_from=ITLRECOVERY_CLUSTER_WIDE_FROM) -> bool
    itl_recovery_cert_id(*, cluster, node, publisher, per_node) -> str
"""

from __future__ import annotations

from schemas.version import CucmVersion

__all__ = ["ITLRECOVERY_CLUSTER_WIDE_FROM", "itl_recovery_cert_id", "itl_recovery_per_node"]

#: R6's version boundary, a configurable point of the model (docs/cucm-domain.md#uncertain-points): from
#: this (major, minor) on, ITLRecovery is one certificate per cluster, made on the publisher (verified);
#: from 12.0 up to it, each node has its own and signs the ITL its TFTP serves, the publisher's also the
#: CTL [I]. ``ClusterFacts.itl_recovery_cluster_wide_from`` overrides it per cluster.
ITLRECOVERY_CLUSTER_WIDE_FROM: tuple[int, int] = (12, 5)


def itl_recovery_per_node(
    version: CucmVersion, *, cluster_wide_from: tuple[int, int] = ITLRECOVERY_CLUSTER_WIDE_FROM
) -> bool:
    """True when a cluster of ``version`` signs with one ITLRecovery per node (12.0 up to the boundary)."""
    return version.at_least(12) and not version.at_least(*cluster_wide_from)


def itl_recovery_cert_id(*, cluster: str, node: str, publisher: str | None, per_node: bool) -> str:
    """The cert id (last part of ``trust.<cluster>.<store>.<cert-id>``) of ``node``'s ITLRecovery:
    ``ITLRecovery-<cluster>`` for the cluster's (the publisher's, and the only one where ``per_node`` is
    False), ``ITLRecovery-<node>`` for another node's own (R6, before 12.5)."""
    return f"ITLRecovery-{node}" if per_node and node != publisher else f"ITLRecovery-{cluster}"
