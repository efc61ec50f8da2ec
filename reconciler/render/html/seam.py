"""The one seam between the report and plan fields that not every plan carries.

The report (``reconciler.render.html``) shows, per wave, the forecast's "unknown" phones with their
causes, the gate's ``on_failure`` policy, the maintenance window and the cost estimate, and, per step,
its reversibility. A plan document gains such fields over time; a saved plan from an older reconciler
lacks them. Rather than guessing values, the report says "not in this plan". Every such field is read
here, through ``optional``, by the name listed in ``OPTIONAL_FIELDS`` — and nowhere else: when the plan
document grows one of these attributes under that name, its section lights up without touching the
sections. (If a field lands under another name, change its row here.) A field the plan carries as
``None`` (read from a plan saved before the field was recorded) is not in the plan either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["NOT_IN_PLAN", "OPTIONAL_FIELDS", "NotInPlan", "OptionalField", "optional"]


class NotInPlan:
    """The sentinel type: this plan does not carry the field (distinct from ``None`` = "unknown")."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NOT_IN_PLAN"

    def __bool__(self) -> bool:
        return False


NOT_IN_PLAN: Final = NotInPlan()


@dataclass(frozen=True, slots=True)
class OptionalField:
    """A field the report shows when the plan carries it: read as ``<owner>.<attribute>``."""

    owner: str
    attribute: str
    meaning: str


OPTIONAL_FIELDS: Final[dict[str, OptionalField]] = {
    "unknown": OptionalField(
        "WaveForecast",
        "unknown_count",
        "phones whose outcome cannot be known (count), apart from moves/stranded",
    ),
    "unknown_groups": OptionalField(
        "WaveForecast", "unknown", "the causes of the unknown phones: groups with what is missing, phones"
    ),
    "on_failure": OptionalField(
        "WaveForecast", "on_failure", "what apply does when the wave's gate fails (revert, stop, continue)"
    ),
    "window": OptionalField(
        "WaveForecast", "window", "the maintenance window / when the wave is expected to run"
    ),
    "cost": OptionalField("WaveForecast", "cost", "the estimated duration of the wave (per phase and total)"),
    "reversibility": OptionalField("PlanStep", "reversibility", "reversible (and how) or one-way"),
}


def optional(source: object, key: str) -> object:
    """The value of the optional field ``key`` (a key of ``OPTIONAL_FIELDS``) on ``source``, or
    ``NOT_IN_PLAN`` when ``source`` is absent or does not carry it (or carries ``None``: a plan written
    before the field existed, or one that could not compute it)."""
    spec = OPTIONAL_FIELDS[key]
    if source is None or type(source).__name__ != spec.owner:
        return NOT_IN_PLAN
    value = getattr(source, spec.attribute, NOT_IN_PLAN)
    return NOT_IN_PLAN if value is None else value  # None: a plan saved before the field was recorded
