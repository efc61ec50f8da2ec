"""The apply hook protocol and the report types it carries (the engine never prints).

The executor (``reconciler.apply.executor``) and the gate handler (``reconciler.apply.gates``) call an
``ApplyHooks`` implementation at each point of an apply; the renderers in ``reconciler.render.apply`` (rich
progress and JSON lines) implement it, and tests record the calls. ``ApplyHooks`` is a plain base class with
no-op methods so an implementation overrides only what it needs. The executor serialises hook calls (some come
from worker threads), so implementations need no locking of their own.

``ApplyReport`` is what an apply returns: the outcome of every step in plan order, the phones left
behind with their reasons (R13), how the apply ended and how long it took.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.model import Change, Outcome, OutcomeStatus

__all__ = [
    "ApplyHooks",
    "ApplyReport",
    "ApplyStatus",
    "GateProgress",
    "PhoneFate",
    "PhoneOutcome",
    "StrandedPhone",
]


class ApplyStatus(enum.StrEnum):
    """How an apply ended (also the journal's ``completed`` status, except ``interrupted``)."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"  # a step failed (permanent error, retries used up, verify failed, gate missed)
    INTERRUPTED = "interrupted"  # Ctrl-C: running steps finished, the rest left for --resume
    PAUSED = "paused"  # live R3: a wave's source TVS is down; nothing more started, left for --resume


@dataclass(frozen=True, slots=True, kw_only=True)
class StrandedPhone:
    """A phone of a wave that is not Registered on a target node (R13), with what is known about why."""

    device: str
    wave: str
    status: str  # RisPort70 status: Registered (on a source node), UnRegistered, Rejected, Unknown, ...
    node: str | None = None  # the node it is registered to, when any
    reason: str = ""  # RisPort70 status reason, when given
    forecast: str = ""  # the plan's forecast reason for this phone, when the plan predicted it

    def describe(self) -> str:
        """One human line: ``SEP001122334455 (wave1): UnRegistered [reason]; forecast: ...``."""
        text = f"{self.device} ({self.wave}): {self.status}"
        if self.node:
            text += f" on {self.node}"
        if self.reason:
            text += f" [{self.reason}]"
        if self.forecast:
            text += f"; forecast: {self.forecast}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "wave": self.wave,
            "status": self.status,
            "node": self.node,
            "reason": self.reason,
            "forecast": self.forecast,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StrandedPhone:
        return cls(
            device=str(data["device"]),
            wave=str(data["wave"]),
            status=str(data["status"]),
            node=data.get("node"),
            reason=str(data.get("reason", "")),
            forecast=str(data.get("forecast", "")),
        )


class PhoneFate(enum.StrEnum):
    """Where a phone of a reverted wave ended (R13)."""

    MOVED = "moved"  # Registered on the target: it stays there
    REVERTED = "reverted"  # Registered on the source again
    STRANDED = "stranded"  # on neither: see the reason


@dataclass(frozen=True, slots=True, kw_only=True)
class PhoneOutcome:
    """One phone of a wave whose gate failed and that was reverted: its fate, status, node and reason."""

    device: str
    wave: str
    fate: PhoneFate
    status: str
    node: str | None = None
    reason: str = ""

    def describe(self) -> str:
        text = f"{self.device} ({self.wave}): {self.fate.value}, {self.status}"
        if self.node:
            text += f" on {self.node}"
        if self.reason:
            text += f" [{self.reason}]"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "wave": self.wave,
            "fate": self.fate.value,
            "status": self.status,
            "node": self.node,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PhoneOutcome:
        return cls(
            device=str(data["device"]),
            wave=str(data["wave"]),
            fate=PhoneFate(str(data["fate"])),
            status=str(data["status"]),
            node=data.get("node"),
            reason=str(data.get("reason", "")),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class GateProgress:
    """One poll of a wave gate: ``registered`` of ``total`` phones on the target, ``needed`` to pass."""

    wave: str
    registered: int
    total: int
    needed: int
    elapsed: float
    deadline: float
    polls: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplyReport:
    """The result of an apply: one outcome per plan step (plan order), stranded phones, status, time."""

    status: ApplyStatus
    outcomes: tuple[Outcome, ...]
    stranded: tuple[StrandedPhone, ...]
    elapsed: float
    apply_id: str
    journal: str | None = None  # path of the journal file
    resumed: bool = False
    message: str = ""  # why it stopped, when it did
    phones: tuple[PhoneOutcome, ...] = ()  # every phone of a reverted wave, with its fate (R13)

    @property
    def ok(self) -> bool:
        return self.status is ApplyStatus.SUCCEEDED

    def count(self, status: OutcomeStatus) -> int:
        return sum(1 for o in self.outcomes if o.status is status)

    def to_dict(self) -> dict[str, Any]:
        """Stable JSON shape (``apply --json`` final event)."""
        return {
            "status": self.status.value,
            "apply_id": self.apply_id,
            "journal": self.journal,
            "resumed": self.resumed,
            "message": self.message,
            "elapsed": round(self.elapsed, 3),
            "counts": {s.value: self.count(s) for s in OutcomeStatus},
            "outcomes": [o.to_dict() for o in self.outcomes],
            "stranded": [p.to_dict() for p in self.stranded],
            "phones": [p.to_dict() for p in self.phones],
        }


class ApplyHooks:
    """Progress callbacks of an apply; every method is a no-op here (override what you need)."""

    def plan_started(self, *, apply_id: str, steps: tuple[Change, ...], skipped: tuple[str, ...]) -> None:
        """Before the first step. ``skipped`` are addresses a resumed apply found already done."""

    def step_started(self, *, change: Change, index: int, total: int, attempt: int) -> None:
        """A step was journaled and is about to run (``index`` is 0-based in plan order)."""

    def step_retry(self, *, change: Change, attempt: int, error: str, delay: float) -> None:
        """A temporary error; ``attempt`` is the next attempt number, after waiting ``delay`` seconds."""

    def step_finished(self, *, change: Change, outcome: Outcome) -> None:
        """A step ended (journaled, and state written when it succeeded)."""

    def wave_gate_progress(self, *, progress: GateProgress) -> None:
        """A gate polled RisPort70 (R13)."""

    def window_wait(self, *, wave: str, opens: str, remaining: float, window: str) -> None:
        """A wave waits for its maintenance window: it may start at ``opens`` (ISO 8601), ``remaining``
        seconds from now (called again at every tick of the countdown)."""

    def wave_paused(self, *, wave: str, reason: str) -> None:
        """A wave paused (live R3): no more of its phones are reset; ``reason`` names the TVS nodes."""

    def apply_finished(self, *, report: ApplyReport) -> None:
        """The apply ended (succeeded, failed, interrupted or paused)."""
