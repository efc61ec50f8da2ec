"""Forecast against outcome, per wave: what ``reconciler rehearse`` reports after applying in the lab.

``compare(plan=, phones=, target=)`` takes the plan document (docs/plan-format.md) and the lab's phones
(``reconciler lab phones --json``) and returns one ``WaveOutcome`` per forecast wave: the forecast's
already-on-target / move / stranded / unknown counts (with the stranded groups' rules) and how many of
the wave's phones are Registered on the target now. A wave is ``as_forecast`` when every phone forecast
to move (or already there) is on the target and no phone forecast stranded is: unknown phones may land
either way. ``phones=None`` (nothing was applied: the plan had errors) gives the forecast alone, with
no outcome and ``as_forecast`` None — not measured, which is neither true nor false. Pure; called by
``reconciler.wiring.rehearse.run``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["WaveOutcome", "compare"]


@dataclass(frozen=True, slots=True, kw_only=True)
class WaveOutcome:
    wave: str
    phones: int
    already_on_target: int
    move: int
    stranded: int
    unknown: int
    stranded_rules: tuple[str, ...]
    on_target: int | None
    """The wave's phones Registered on the target after the apply (None: nothing was applied)."""
    stranded_phones: tuple[str, ...] | None
    """The wave's phones not Registered on the target after the apply (sorted; None: not applied)."""

    @property
    def as_forecast(self) -> bool | None:
        if self.on_target is None:
            return None
        sure = self.already_on_target + self.move
        return sure <= self.on_target <= sure + self.unknown

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "as_forecast": self.as_forecast}


def compare(
    *, plan: Mapping[str, Any], phones: Sequence[Mapping[str, Any]] | None, target: str
) -> list[WaveOutcome]:
    out = []
    for f in plan.get("forecast", []):
        landed: list[Mapping[str, Any]] | None = None
        left: tuple[str, ...] | None = None
        if phones is not None:
            mine = [p for p in phones if p.get("scope") in f["scopes"]]
            landed = [p for p in mine if (p["cluster"], p["status"]) == (target, "Registered")]
            left = tuple(sorted(str(p["name"]) for p in mine if p not in landed))
        out.append(
            WaveOutcome(
                wave=str(f["wave"]),
                phones=int(f["phones"]),
                already_on_target=int(f["already_on_target"]),
                move=int(f["move"]),
                stranded=int(f["stranded"]),
                unknown=int(f["unknown"]),
                stranded_rules=tuple(sorted({str(g["rule"]) for g in f.get("stranded_groups", [])})),
                on_target=None if landed is None else len(landed),
                stranded_phones=left,
            )
        )
    return out
