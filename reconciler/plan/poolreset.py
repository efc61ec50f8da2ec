"""Pool-level resets: which device pools of a wave may be reset in one AXL ``resetDevicePool`` call
instead of one reset per phone (R12), and what the plan says about it.

A pool is eligible when every device in it (all device classes, from the source's live listing,
``reconciler.live.pools``) is a phone of the wave: a pool that also holds a gateway, a CTI port or a
phone outside the wave's scopes is reset per phone, and so is every phone when the listing is unknown
(failed, or the estate cannot list pools) — unknown is never "eligible". Only with
``policy.resets.pool_level: auto``; ``off`` (the default) keeps the paced per-phone path.

Called by ``reconciler.plan.steps.wave_steps`` (the decision goes into the ``reset.<wave>`` step, so
``apply PLAN`` executes it without re-deciding), by ``reconciler.plan.cost`` (the resets phase), and by
``reconciler.wiring.reset.ResetProvider``, which checks each planned pool again right before its call
(``pool_problem``) and falls back to per-phone resets for a pool that changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.live.pools import PoolListing, PoolMember
from schemas.policy import PoolLevel

__all__ = ["PoolResetPlan", "decide", "pool_problem"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PoolResetPlan:
    """One wave's reset decision: ``pools`` (name, phones still to move in it) each get one pool-level
    reset, ``per_phone`` phones are reset on their own; ``notes`` say why a pool was not eligible."""

    mode: str
    pools: tuple[tuple[str, int], ...] = ()
    per_phone: int = 0
    notes: tuple[str, ...] = ()

    @property
    def pool_phones(self) -> int:
        return sum(n for _, n in self.pools)

    def to_dict(self) -> dict[str, Any]:
        return {
            "pool_level": self.mode,
            "pools": [{"name": name, "phones": n} for name, n in self.pools],
            "per_phone": self.per_phone,
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> PoolResetPlan | None:
        if not data:
            return None
        return cls(
            mode=str(data.get("pool_level", PoolLevel.OFF)),
            pools=tuple((str(p["name"]), int(p["phones"])) for p in data.get("pools", ())),
            per_phone=int(data.get("per_phone", 0)),
            notes=tuple(str(n) for n in data.get("notes", ())),
        )

    def describe(self) -> str:
        """``reset: pool-level for 3 pools (240 phones), per phone for 12 (DP-X also holds ...)``."""
        if self.pools:
            head = (
                f"reset: pool-level for {len(self.pools)} pool{'s' if len(self.pools) != 1 else ''} "
                f"({self.pool_phones} phones), per phone for {self.per_phone}"
            )
        else:
            head = f"reset: per phone for {self.per_phone}"
        return head + (f" ({'; '.join(self.notes)})" if self.notes else "")


def pool_problem(devices: Sequence[PoolMember], *, wave_phones: Iterable[str], pool: str) -> str | None:
    """Why ``pool`` may not be reset as a whole for this wave (``None``: it may): it holds non-phone
    devices, or phones outside the wave."""
    if not devices:
        return f"{pool} lists no devices"
    ours = {n.upper() for n in wave_phones}
    others = [d for d in devices if not d.phone]
    if others:
        return f"{pool} also holds {len(others)} non-phone device{'s' if len(others) != 1 else ''}"
    outside = [d for d in devices if d.name.upper() not in ours]
    if outside:
        return f"{pool} also holds {len(outside)} phone{'s' if len(outside) != 1 else ''} outside the wave"
    return None


def decide(
    *, mode: str, wave_phones: Sequence[str], pending: Sequence[str], listing: PoolListing | None
) -> PoolResetPlan:
    """The reset decision of a wave whose phones are ``wave_phones`` and of which ``pending`` still have
    to move (module docstring)."""
    if mode != PoolLevel.AUTO:
        return PoolResetPlan(mode=str(mode), per_phone=len(pending), notes=("pool_level is off",))
    if listing is None or listing.problem is not None:
        why = listing.problem if listing is not None else "no device listing was read"
        return PoolResetPlan(mode=str(mode), per_phone=len(pending), notes=(f"unknown: {why}",))
    pool_of = {d.name.upper(): d.pool for devices in listing.pools.values() for d in devices}
    by_pool: dict[str, int] = {}
    for name in pending:
        pool = pool_of.get(name.upper())
        if pool is not None:
            by_pool[pool] = by_pool.get(pool, 0) + 1
    pools: list[tuple[str, int]] = []
    notes: list[str] = []
    for pool in sorted(by_pool):
        problem = pool_problem(listing.pools.get(pool, ()), wave_phones=wave_phones, pool=pool)
        if problem is None:
            pools.append((pool, by_pool[pool]))
        else:
            notes.append(problem)
    covered = sum(n for _, n in pools)
    return PoolResetPlan(
        mode=str(mode), pools=tuple(pools), per_phone=len(pending) - covered, notes=tuple(notes)
    )
