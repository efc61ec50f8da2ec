"""Maintenance windows: when a wave may start, and when each wave of a plan is expected to run.

A window opens at ``start`` (local time in ``tz``) on each of its ``days`` and stays open for
``duration``; an opening that runs past midnight belongs to the day it started. A wave may start at
``t`` only when ``t`` lies in an opening and its *budget* — the option 150 and reset estimate of the
cost model (``reconciler.plan.cost``) plus the gate deadline (R13) — ends inside that same opening, so
no gate deadline ever runs past the window (docs/waves.md, "Maintenance windows").

Called by ``reconciler.plan.steps`` (the ``window.<wave>`` step carries ``WindowSpec.to_dict`` and the
budget), ``reconciler.plan.planner`` (``expected_runs``: ``WaveForecast.window`` and a plan error for a
budget no opening can hold) and ``reconciler.apply.window`` (the wait at apply time). Pure: the current
time is always passed in.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from reconciler.diagnostics import Diagnostic, Severity

if TYPE_CHECKING:
    from reconciler.plan.document import PlanStep, WaveForecast

__all__ = ["DAYS", "WaveRun", "WindowSpec", "expected_runs", "format_seconds", "with_windows"]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # datetime.weekday() order


@dataclass(frozen=True, slots=True, kw_only=True)
class WindowSpec:
    """One recurring window: ``start`` "HH:MM", ``duration`` seconds, ``days`` (mon..sun), ``tz``."""

    start: str
    duration: float
    days: tuple[str, ...] = DAYS
    tz: str = "UTC"

    @classmethod
    def of(cls, window: Any) -> WindowSpec:
        """From ``schemas.migration.Window``."""
        return cls(
            start=str(window.start),
            duration=float(window.duration.total_seconds()),
            days=tuple(str(d) for d in window.days),
            tz=str(window.tz),
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WindowSpec:
        return cls(
            start=str(data["start"]),
            duration=float(data["duration_seconds"]),
            days=tuple(str(d) for d in data.get("days", DAYS)),
            tz=str(data.get("tz", "UTC")),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "duration_seconds": self.duration,
            "days": list(self.days),
            "tz": self.tz,
        }

    def describe(self) -> str:
        """``22:00 for 4 h on mon,tue,wed,thu (Europe/Berlin)``."""
        days = "every day" if set(self.days) == set(DAYS) else "on " + ",".join(self.days)
        return f"{self.start} for {format_seconds(self.duration)} {days} ({self.tz})"

    def openings(self, after: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Openings ``(start, end)`` (aware, UTC) that end after ``after``, in order; at most 9 days ahead."""
        zone = ZoneInfo(self.tz)
        hour, minute = (int(p) for p in self.start.split(":"))
        first = after.astimezone(zone).date() - timedelta(days=8)  # an opening may last up to 7 days
        for offset in range(18):
            day = first + timedelta(days=offset)
            if DAYS[day.weekday()] not in self.days:
                continue
            begin = datetime.combine(day, time(hour, minute), tzinfo=zone).astimezone(UTC)
            end = begin + timedelta(seconds=self.duration)
            if end > after:
                yield begin, end

    def opening_at(self, now: datetime) -> tuple[datetime, datetime] | None:
        """The opening ``now`` lies in (the one ending last when openings overlap), or None."""
        found = [(b, e) for b, e in self.openings(now) if b <= now < e]
        return max(found, key=lambda o: o[1]) if found else None

    def next_start(self, now: datetime, *, budget: float) -> tuple[datetime, datetime] | None:
        """The earliest time ``>= now`` a wave needing ``budget`` seconds may start, and the end of its
        opening; None when no opening is long enough (``budget`` > ``duration``)."""
        if budget > self.duration:
            return None
        need = timedelta(seconds=budget)
        for begin, end in self.openings(now):
            start = max(begin, now)
            if start + need <= end:
                return start, end
        return None  # unreachable for a well-formed window: the next opening holds the budget


@dataclass(frozen=True, slots=True, kw_only=True)
class WaveRun:
    """When one wave is expected to start (``None``: no opening holds its budget) and what it needs."""

    wave: str
    window: WindowSpec | None
    budget: float
    start: datetime | None
    closes: datetime | None = None  # the end of the opening it starts in

    def describe(self) -> str:
        """One line for the plan output, its JSON (``WaveForecast.window``) and the HTML report."""
        when = self.start.isoformat(timespec="minutes") if self.start else None
        if self.window is None:
            return f"no window; expected to start {when} (needs up to {format_seconds(self.budget)})"
        head = f"window {self.window.describe()}"
        if self.start is None:
            return f"{head}; never fits: needs up to {format_seconds(self.budget)} (gate deadline + estimate)"
        local = self.start.astimezone(ZoneInfo(self.window.tz)).isoformat(timespec="minutes")
        return (
            f"{head}; expected to start {local}, needs up to {format_seconds(self.budget)} "
            f"(gate deadline + estimate) before it closes"
        )


def expected_runs(
    waves: Sequence[tuple[str, WindowSpec | None, float, float]], *, now: datetime
) -> list[WaveRun]:
    """When each wave is expected to start. ``waves``: ``(name, window, budget, typical)`` in order —
    ``budget`` the most a wave may take (gate deadline + estimate), ``typical`` what it is expected to
    take (the cost model's total); the next wave follows the previous one's typical end."""
    runs: list[WaveRun] = []
    at: datetime | None = now
    for name, window, budget, typical in waves:
        if at is None:  # an earlier wave never fits: later ones cannot be placed either
            runs.append(WaveRun(wave=name, window=window, budget=budget, start=None))
            continue
        if window is None:
            runs.append(WaveRun(wave=name, window=None, budget=budget, start=at))
            at = at + timedelta(seconds=typical)
            continue
        slot = window.next_start(at, budget=budget)
        start, closes = slot if slot is not None else (None, None)
        runs.append(WaveRun(wave=name, window=window, budget=budget, start=start, closes=closes))
        at = None if start is None else start + timedelta(seconds=typical)
    return runs


def format_seconds(seconds: float) -> str:
    """``4 h``, ``1 h 30 min``, ``45 min``, ``20 s``."""
    value = round(seconds)
    hours, rest = divmod(value, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h"] if hours else []
    if minutes:
        parts.append(f"{minutes} min")
    if secs and not hours:
        parts.append(f"{secs} s")
    return " ".join(parts) or "0 s"


def with_windows(
    forecasts: Sequence[WaveForecast], *, desired: Any, steps: Sequence[PlanStep], now: datetime
) -> tuple[list[WaveForecast], list[Diagnostic]]:
    """``forecasts`` with ``window`` set to when each wave is expected to run (when the migration or any
    wave declares a window; otherwise unchanged), and an error for every wave no opening can hold.
    The budget of a windowed wave is its ``window.<wave>`` step's; other waves' come from their cost."""
    mig = desired.migration
    if mig.window is None and all(w.window is None for w in mig.wave_list):
        return list(forecasts), []
    waves = {w.name: w for w in mig.wave_list}
    budgets = {
        s.address.name: float(s.change.after["budget_seconds"])
        for s in steps
        if s.address.kind == "window" and isinstance(s.change.after, Mapping)
    }
    rows = []
    for f in forecasts:
        wave = waves.get(f.wave)
        window = (wave.window if wave is not None else None) or mig.window
        cost = f.cost or {}
        deadline = wave.gate.deadline.total_seconds() if wave is not None else 0.0
        resets = float(cost.get("resets_seconds", 0.0)) if wave is None or wave.reset else 0.0
        budget = budgets.get(f.wave, round(float(cost.get("option150_seconds", 0.0)) + resets + deadline, 1))
        spec = WindowSpec.of(window) if window is not None else None
        rows.append((f.wave, spec, budget, float(cost.get("total_seconds", budget))))
    runs = {r.wave: r for r in expected_runs(rows, now=now)}
    diags = [
        Diagnostic(
            severity=Severity.ERROR,
            rule="R13",
            summary=f"wave {r.wave} never fits its maintenance window: it needs up to "
            f"{format_seconds(r.budget)} (option 150 and resets by the cost estimate, plus the gate "
            f"deadline) and the window is open {format_seconds(r.window.duration)}",
            address=f"window.{r.wave}",
            fix="lengthen the window, shorten the gate deadline, or split the wave",
        )
        for r in runs.values()
        if r.window is not None and r.budget > r.window.duration
    ]
    return [replace(f, window=runs[f.wave].describe()) for f in forecasts], diags
