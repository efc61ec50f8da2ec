"""Canary growth at scope granularity: scopes with their live phone counts → growing waves.

Option 150 is per scope and a phone in a changed scope moves at its next reboot whether or not it is
reset, so the unit of a wave is the scope (R12). ``expand_canary`` orders the scopes smallest first
(ties by name) and fills waves greedily: the first wave takes scopes while it stays within about
``first_phones`` phones (always at least one scope), and each later wave aims at ``growth`` times the
phones the wave before it actually holds. Each wave starts only after the previous gate passed (R13),
as for declared waves (docs/waves.md, "Canary growth").

``expand_desired`` is called by the planner (``reconciler.plan.planner``) once the refresh read every
scope's phones: it turns ``migration.waves: {auto: ...}`` into declared waves carrying the declaration's
gate, reset, ``on_failure``, ``max_stranded_share`` and window, and returns the ``CanaryPlan`` the plan
document records (``Plan.canary``). ``with_expansion`` is called by ``reconciler apply`` (through
``reconciler.commands.apply``) to rebuild the same waves from that record, so apply executes exactly the
waves the plan showed, whatever the phone counts are by then.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.diagnostics import Diagnostic, Severity
from reconciler.errors import PlanError
from schemas.document import DesiredState
from schemas.migration import CanaryGrowth

__all__ = ["CanaryPlan", "CanaryWave", "expand_canary", "expand_desired", "plan_expansion", "with_expansion"]


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


@dataclass(frozen=True, slots=True, kw_only=True)
class CanaryPlan:
    """The expansion a plan made (``Plan.canary``; docs/plan-format.md): the declaration's numbers and
    the generated waves with the phone counts they were sized from."""

    first_phones: int
    growth: float
    waves: tuple[CanaryWave, ...]

    def describe(self) -> str:
        """``waves (auto: first 50 phones, growth x4): canary-1: 2 scopes, 45 phones; ...``"""
        parts = [
            f"{w.name}: {len(w.scopes)} scope{'s' if len(w.scopes) != 1 else ''}, {w.phones} phones"
            for w in self.waves
        ]
        return f"waves (auto: first {self.first_phones} phones, growth x{self.growth:g}): " + (
            "; ".join(parts) or "none"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "first_phones": self.first_phones,
            "growth": self.growth,
            "waves": [
                {"name": w.name, "scopes": list(w.scopes), "phones": w.phones, "aim": w.aim}
                for w in self.waves
            ],
        }

    @classmethod
    def from_dict(cls, data: object) -> CanaryPlan | None:
        """Inverse of ``to_dict``; None for ``null`` (declared waves). ``TypeError`` when malformed."""
        if data is None:
            return None
        if not isinstance(data, Mapping) or not isinstance(data.get("waves"), list):
            raise TypeError('canary must be null or {"first_phones", "growth", "waves": [...]}')
        waves = []
        for w in data["waves"]:
            if not isinstance(w, Mapping) or not isinstance(w.get("scopes"), list):
                raise TypeError("canary.waves[] must be {name, scopes: [...], phones, aim}")
            waves.append(
                CanaryWave(
                    name=str(w["name"]),
                    scopes=tuple(str(x) for x in w["scopes"]),
                    phones=int(w["phones"]),
                    aim=int(w["aim"]),
                )
            )
        return cls(first_phones=int(data["first_phones"]), growth=float(data["growth"]), waves=tuple(waves))


def expand_desired(
    desired: DesiredState, *, phones: Mapping[str, Sequence[object]]
) -> tuple[DesiredState, CanaryPlan | None]:
    """``desired`` with ``waves: {auto: ...}`` expanded from ``phones`` (scope → its live phones, as the
    refresh read them; a scope missing there is unknown), and the expansion; ``desired`` itself and
    None when the waves are declared. ``PlanError`` when a count is unknown (unknown is not zero)."""
    auto = desired.migration.auto
    if auto is None:
        return desired, None
    counts = {s: (len(phones[s]) if s in phones else None) for s in desired.wave_scopes()}
    waves = expand_canary(counts, first_phones=auto.first_phones, growth=auto.growth, prefix=auto.name)
    plan = CanaryPlan(first_phones=auto.first_phones, growth=auto.growth, waves=waves)
    return _declared(desired, auto, plan), plan


def plan_expansion(
    desired: DesiredState, *, phones: Mapping[str, Sequence[object]]
) -> tuple[DesiredState, CanaryPlan | None, tuple[Diagnostic, ...]]:
    """``expand_desired`` for the planner: an expansion that cannot be made (a scope's phone count
    unknown) is an error diagnostic at ``migration.waves`` (R12) and leaves the plan without waves."""
    try:
        expanded, canary = expand_desired(desired, phones=phones)
    except PlanError as exc:
        auto = desired.migration.auto
        assert auto is not None
        empty = CanaryPlan(first_phones=auto.first_phones, growth=auto.growth, waves=())
        problem = Diagnostic(
            severity=Severity.ERROR,
            rule="R12",
            summary=exc.message,
            address="migration.waves",
            fix=exc.hint,
        )
        return _declared(desired, auto, empty), empty, (problem,)
    return expanded, canary, ()


def with_expansion(desired: DesiredState, canary: CanaryPlan | None) -> DesiredState:
    """The desired state a plan with ``canary`` was built over: its auto waves replaced by the plan's
    generated waves (``apply`` of a saved plan, ``--resume``). ``PlanError`` when the desired state's
    waves are not auto, or name other scopes than the plan's."""
    auto = desired.migration.auto
    if canary is None:
        if auto is not None:
            raise PlanError("the plan has no canary expansion but migration.waves is auto", hint="plan again")
        return desired
    if auto is None:
        raise PlanError("the plan expanded canary waves but migration.waves is declared", hint="plan again")
    planned = sorted(s for w in canary.waves for s in w.scopes)
    if planned != sorted(desired.wave_scopes()):
        raise PlanError(
            "the plan's canary waves move other scopes than migration.waves.auto", hint="plan again"
        )
    return _declared(desired, auto, canary)


def _declared(desired: DesiredState, auto: CanaryGrowth, canary: CanaryPlan) -> DesiredState:
    """``desired`` with declared waves for ``canary``, each with ``auto``'s gate and policies. Built with
    ``model_copy`` (no re-validation): an empty expansion (no scopes) gives no waves."""
    waves = tuple(auto.wave(name=w.name, scopes=w.scopes) for w in canary.waves)
    mig = desired.migration.model_copy(update={"waves": waves})
    return desired.model_copy(update={"migration": mig})
