"""One apply's mutable bookkeeping (``ApplyRun``) and the plan lookups the executor makes while walking it.

Called by ``reconciler.apply.executor`` (the scheduling loop), ``reconciler.apply.resume`` (rebuilding a
run from its journal) and ``reconciler.apply.report`` (the report at the end). Only the coordinator
thread touches an ``ApplyRun``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from reconciler.apply.bookkeeping import StateKeeper
from reconciler.apply.steps import StepRun
from reconciler.errors import JournalError
from reconciler.model import Address, Outcome
from reconciler.plan.document import Plan, PlanStep
from reconciler.state.journal import JournalWriter
from reconciler.vocabulary import OnFailure, StepStatus

__all__ = ["ApplyRun", "gate_policy", "plan_step", "stage_blockers"]


@dataclass(slots=True)
class ApplyRun:
    """Mutable bookkeeping of one apply (coordinator thread only)."""

    plan: Plan
    writer: JournalWriter
    keeper: StateKeeper
    status: dict[Address, StepStatus] = field(default_factory=dict)  # where each step stands
    outcomes: dict[Address, Outcome] = field(default_factory=dict)
    attempts: dict[Address, int] = field(default_factory=dict)
    in_flight: dict[str, int] = field(default_factory=dict)
    failure: str = ""
    index: dict[Address, int] = field(default_factory=dict)  # address -> position in the plan
    tolerated: set[Address] = field(default_factory=set)  # failed gates of waves with on_failure: continue
    paused: str = ""  # why a wave paused (live R3): nothing more starts, the journal stays open
    triggers: dict[Address, tuple[Address, ...]] = field(default_factory=dict)  # gate -> its revert steps

    def __post_init__(self) -> None:
        self.index = {s.address: i for i, s in enumerate(self.plan.steps)}
        triggers: dict[Address, list[Address]] = {}
        for step in self.plan.steps:
            if step.contingent_on is not None:
                triggers.setdefault(step.contingent_on, []).append(step.address)
        self.triggers = {gate: tuple(steps) for gate, steps in triggers.items()}

    def record_success(
        self, step: PlanStep, result: StepRun, *, detail_prefix: str = "", recorded: bool = False
    ) -> None:
        """A step done and verified: state first (the resume check counts on it), then the journal."""
        key = step.address
        outcome = result.outcome(step, detail_prefix=detail_prefix)
        if not recorded:  # a batch's steps were recorded together (``Executor._settle_batch``)
            self.keeper.record(step.change, outcome.observed)
        self.writer.finished(step.address, outcome=outcome.status, verified=True, detail=outcome.detail)
        self.outcomes[key] = outcome
        self.status[key] = StepStatus.DONE


def plan_step(plan: Plan, address: Address | str) -> PlanStep:
    """The step at ``address``; a journal naming a step the plan lacks is a ``JournalError``."""
    step = plan.step(address)
    if step is None:
        raise JournalError(f"journal names {address}, which is not in the plan")
    return step


def gate_policy(step: PlanStep) -> OnFailure | None:
    """The ``on_failure`` policy a ``gate.<wave>`` step carries (``None`` for other steps)."""
    after = step.change.after
    if step.address.kind != "gate" or not isinstance(after, Mapping):
        return None
    try:
        return OnFailure(str(after.get("on_failure", OnFailure.STOP)))
    except ValueError:
        return OnFailure.STOP


def stage_blockers(plan: Plan) -> dict[Address, tuple[Address, ...]]:
    """For every wave step: the steps of earlier stages (trust work, earlier waves) it must wait for
    (R12: option 150 only after trust; R13: the next wave only after the previous gate). A revert step
    (contingent on a gate) never blocks a later wave: it runs only when that wave failed."""
    first: dict[str, int] = {}
    for i, step in enumerate(plan.steps):
        if step.wave is not None:
            first.setdefault(step.wave, i)
    per_wave = {
        wave: tuple(s.address for s in plan.steps[:start] if s.wave != wave and s.contingent_on is None)
        for wave, start in first.items()
    }
    return {s.address: per_wave[s.wave] for s in plan.steps if s.wave is not None}
