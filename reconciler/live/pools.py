"""The device-pool listing a pool-level reset is decided on (read side only, never a write).

``ListsPoolDevices`` is the optional read a ``LiveEstate`` may offer (``reconciler.wiring.estate``
does, through AXL's ``executeSQLQuery``; a snapshot estate does not): every device of every device pool
of a cluster, all device classes. ``read_pools`` (called by ``reconciler.live.refresh`` when
``policy.resets.pool_level`` is ``auto``) turns it into a ``PoolListing``; a failed or missing read is
a listing with a ``problem`` — unknown, never "empty" (no pool is then eligible). The decision itself
is ``reconciler.plan.poolreset``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from reconciler.errors import ReconcilerError

__all__ = ["ListsPoolDevices", "PoolListing", "PoolMember", "read_pools"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PoolMember:
    """One device of a device pool: ``phone`` is False for gateways, CTI ports, route points, ..."""

    name: str
    pool: str
    phone: bool


@runtime_checkable
class ListsPoolDevices(Protocol):
    def pool_devices(self, cluster: str, pool: str | None = None) -> Sequence[PoolMember]:
        """Every device of ``pool`` (of every pool when ``None``) in ``cluster``; raises
        ``ReconcilerError`` when the listing cannot be read."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class PoolListing:
    """The devices of ``cluster`` by pool, or ``problem`` (why they are unknown)."""

    cluster: str
    pools: Mapping[str, tuple[PoolMember, ...]]
    problem: str | None = None

    @classmethod
    def of(cls, cluster: str, devices: Sequence[PoolMember]) -> PoolListing:
        grouped: dict[str, list[PoolMember]] = {}
        for d in devices:
            grouped.setdefault(d.pool, []).append(d)
        return cls(cluster=cluster, pools={p: tuple(v) for p, v in grouped.items()})


def read_pools(estate: object, cluster: str) -> PoolListing:
    """The device listing of ``cluster``'s pools; unknown (``problem`` set) when the estate cannot list
    them or the read fails."""
    if not isinstance(estate, ListsPoolDevices):
        return PoolListing(cluster=cluster, pools={}, problem="this estate cannot list device pools")
    try:
        return PoolListing.of(cluster, estate.pool_devices(cluster))
    except ReconcilerError as exc:
        return PoolListing(cluster=cluster, pools={}, problem=f"device listing of {cluster} failed: {exc}")
