"""The maintenance window wait: a provider-like step handler for ``window.<wave>`` addresses.

The plan puts ``window.<wave>`` before anything of a wave that has a window (``reconciler.plan.steps``);
its ``after`` carries the window (``WindowSpec.to_dict``) and the wave's budget — the option 150 and
reset estimate plus the gate deadline (R13). ``WindowHandler.apply`` waits, on an injectable clock
(``reconciler.apply.retry.WallClock``), until the wave may start: the current time lies in an opening
and the budget ends inside it. While it waits it reports a countdown through the ``window_wait`` hook
every ``tick`` seconds (the engine never prints). ``verify`` passes when the wave may start now.

Journaled and resumable like every step: Ctrl-C (``cancel``) cuts the wait short and leaves the step in
doubt; ``apply --resume`` re-verifies it, and waits again when the window is not (or no longer) open
with enough time left. A *done* wait is not the end of it: ``rewait_candidates`` names the done
``window.<wave>`` steps whose wave has not yet changed its option 150 and reset its phones; the executor
re-verifies those on resume and waits again (a new journaled attempt) when the window closed while the
apply was stopped. Registered by ``reconciler apply`` under ``ProviderKind.WINDOW``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, ClassVar, Self

from reconciler.apply.hooks import ApplyHooks
from reconciler.apply.retry import WallClock
from reconciler.errors import PermanentError
from reconciler.model import Address, Change, freeze
from reconciler.plan.document import PlanStep
from reconciler.plan.windows import WindowSpec, format_seconds
from reconciler.provider import ApplyResult, ProviderBase, VerifyResult
from reconciler.vocabulary import StepStatus

__all__ = ["WindowHandler", "rewait_candidates"]

#: The steps of a wave that touch phones (R12 option 150, the reset): none of them may run outside the
#: wave's window. The gate only reads, and a revert brings phones back, so neither waits for it.
_DISRUPTIVE = frozenset({"option150", "reset"})

_MAX_WAIT = 9 * 24 * 3600.0  # the next opening of a weekly window is at most 8 days away


class WindowHandler(ProviderBase):
    """Handles ``window.<wave>`` steps; one instance serves every wave of a plan."""

    kinds: ClassVar[frozenset[str]] = frozenset({"window"})

    def __init__(
        self, *, clock: WallClock, cancel: threading.Event | None = None, tick: float = 60.0
    ) -> None:
        self._clock = clock
        self._cancel = cancel
        self._tick = max(tick, 1.0)
        self._hooks = ApplyHooks()

    @property
    def endpoint(self) -> str:
        return "clock"

    def attach_hooks(self, hooks: ApplyHooks) -> Self:
        """Called by the executor so the countdown reaches the progress renderer."""
        self._hooks = hooks
        return self

    def apply(self, change: Change) -> ApplyResult:
        """Wait until the wave may start (or the apply is interrupted)."""
        spec, budget = _read(change)
        wave = change.address.name
        waited = 0.0
        for _ in range(int(_MAX_WAIT / self._tick) + 2):  # bounded: the next fitting opening is < 9 days away
            now = self._clock.now()
            start, closes = _slot(spec, now, budget=budget, wave=wave)
            if start <= now:
                seen = {"opens": start.isoformat(), "closes": closes.isoformat(), "waited_seconds": waited}
                return ApplyResult(change=change, changed=False, observed=freeze(seen))
            if self._cancel is not None and self._cancel.is_set():
                cut = {"interrupted": True, "opens": start.isoformat()}
                return ApplyResult(change=change, changed=False, observed=freeze(cut))
            remaining = (start - now).total_seconds()
            self._hooks.window_wait(
                wave=wave, opens=start.isoformat(), remaining=remaining, window=spec.describe()
            )
            step = min(self._tick, remaining)
            self._clock.sleep(step)
            waited += step
        raise PermanentError(f"window.{wave}: no opening of {spec.describe()} reached", endpoint="clock")

    def verify(self, change: Change) -> VerifyResult:
        """Passes when the wave may start now: inside an opening, with its budget left before it closes."""
        spec, budget = _read(change)
        wave = change.address.name
        now = self._clock.now()
        start, closes = _slot(spec, now, budget=budget, wave=wave)
        ok = start <= now
        observed: dict[str, Any] = {"opens": start.isoformat(), "closes": closes.isoformat()}
        if ok:
            detail = (f"wave {wave} may start: window {spec.describe()} open until {closes.isoformat()}, "
                      f"{format_seconds(budget)} needed (R13)")  # fmt: skip
        else:
            observed["interrupted"] = bool(self._cancel is not None and self._cancel.is_set())
            detail = f"wave {wave} waits for its window: it may start at {start.isoformat()} (R13)"
        return VerifyResult(address=change.address, complies=ok, method="clock", detail=detail,
                            observed=freeze(observed))  # fmt: skip


def _read(change: Change) -> tuple[WindowSpec, float]:
    after = change.after
    if not isinstance(after, Mapping):
        raise PermanentError(f"{change.address}: the plan gives no window", endpoint="clock")
    return WindowSpec.from_dict(after), float(after.get("budget_seconds", 0.0))


def _slot(spec: WindowSpec, now: datetime, *, budget: float, wave: str) -> tuple[datetime, datetime]:
    slot = spec.next_start(now, budget=budget)
    if slot is None:
        raise PermanentError(
            f"window.{wave}: wave {wave} needs up to {format_seconds(budget)} and {spec.describe()} is "
            "never open that long (R13)",
            endpoint="clock",
            hint="lengthen the window, shorten the gate deadline, or split the wave, then plan again",
        )
    return slot


def rewait_candidates(
    steps: Iterable[PlanStep], status: Mapping[Address, StepStatus]
) -> tuple[PlanStep, ...]:
    """The ``window.<wave>`` steps that are done (``status``) while their wave still has an option 150
    change or a reset ahead (not done: pending, or in doubt and to be run again). On resume their window
    is checked again: the wait that let the wave start may lie long before the window closed (R13)."""
    steps = tuple(steps)
    ahead = {
        s.wave
        for s in steps
        if s.wave is not None
        and s.contingent_on is None
        and s.address.kind in _DISRUPTIVE
        and status.get(s.address) is not StepStatus.DONE
    }
    return tuple(
        s
        for s in steps
        if s.address.kind == "window" and s.wave in ahead and status.get(s.address) is StepStatus.DONE
    )
