"""Canary growth at scope granularity: scopes with their live phone counts → growing waves.

Option 150 is per scope and a phone in a changed scope moves at its next reboot whether or not it is
reset, so the unit of a wave is the scope (R12). ``expand_canary`` orders the scopes smallest first
(ties by name) and fills waves greedily: the first wave takes scopes while it stays within about
``first_phones`` phones (always at least one scope), and each later wave aims at ``growth`` times the
phones the wave before it actually holds. Each wave starts only after the previous gate passed (R13),
as for declared waves (docs/waves.md, "Canary growth").

Pure; meant to be called by the planner once it has read the live phone count of every scope. Not yet
wired to the desired-state schema (docs/waves.md, "Not yet built").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from reconciler.errors import PlanError

__all__ = ["CanaryWave", "expand_canary"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CanaryWave:
    """One expanded wave: its name, its scopes (smallest first) and their phones."""

    name: str
    scopes: tuple[str, ...]
    phones: int
    aim: int
    """The phone count this wave aimed at (``first_phones``, then ``growth`` × the previous wave)."""


def expand_canary(
    counts: Mapping[str, int | None], *, first_phones: int, growth: float, prefix: str = "canary"
) -> tuple[CanaryWave, ...]:
    """``counts``: scope → its live phone count. A scope whose count is unknown cannot be placed: the
    expansion is refused (unknown is not zero) with the scopes named."""
    if first_phones < 1:
        raise PlanError(f"canary growth: first_phones must be at least 1, got {first_phones}")
    if growth <= 1:
        raise PlanError(f"canary growth: growth must be more than 1, got {growth:g}")
    unknown = sorted(s for s, n in counts.items() if n is None)
    if unknown:
        raise PlanError(
            "canary growth needs the live phone count of every scope; unknown for: " + ", ".join(unknown),
            hint="make the scopes' phones readable (RisPort70 of the source), or declare the waves",
        )
    ordered = sorted(((n or 0, s) for s, n in counts.items()), key=lambda t: (t[0], t[1]))
    waves: list[CanaryWave] = []
    aim = first_phones
    i = 0
    while i < len(ordered):
        scopes: list[str] = []
        phones = 0
        while i < len(ordered) and (not scopes or phones + ordered[i][0] <= aim):
            phones += ordered[i][0]
            scopes.append(ordered[i][1])
            i += 1
        waves.append(
            CanaryWave(name=f"{prefix}-{len(waves) + 1}", scopes=tuple(scopes), phones=phones, aim=aim)
        )
        aim = max(1, round(max(phones, 1) * growth))
    return tuple(waves)
