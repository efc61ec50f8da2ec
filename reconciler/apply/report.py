"""The ``ApplyReport`` at the end of an apply: its status and message, stranded phones, reverted waves.

Called by ``reconciler.apply.executor`` once the scheduling loop ends; the report goes to the hooks
(renderers) and back to ``reconciler apply``. It also completes the journal unless the apply stays
resumable (interrupted, or paused by live R3).
"""

from __future__ import annotations

import time

from reconciler.apply.hooks import ApplyReport, ApplyStatus, PhoneOutcome, StrandedPhone
from reconciler.apply.run import ApplyRun
from reconciler.model import Outcome, OutcomeStatus

__all__ = ["finish_report"]


def finish_report(run: ApplyRun, *, started: float, resumed: bool, cancelled: bool) -> ApplyReport:
    """The report of ``run`` (``started`` from ``time.monotonic``); completes its journal when final."""
    outcomes = tuple(run.outcomes[s.address] for s in run.plan.steps)
    if run.failure or run.tolerated:
        message = (
            run.failure
            or f"gate(s) failed: {', '.join(sorted(map(str, run.tolerated)))} (on_failure: continue)"
        )
        status = ApplyStatus.FAILED
    elif run.paused:
        status = ApplyStatus.PAUSED
        message = f"{run.paused}; resume with `reconciler apply --resume` once TVS is back"
    elif cancelled and any(o.status is OutcomeStatus.SKIPPED for o in outcomes):
        status, message = ApplyStatus.INTERRUPTED, "interrupted: resume with `reconciler apply --resume`"
    else:
        status, message = ApplyStatus.SUCCEEDED, ""
    if status not in (ApplyStatus.INTERRUPTED, ApplyStatus.PAUSED):
        run.writer.completed(status=status.value)
    return ApplyReport(
        status=status,
        outcomes=outcomes,
        stranded=_stranded(outcomes),
        phones=_phone_outcomes(outcomes),
        elapsed=time.monotonic() - started,
        apply_id=run.keeper.apply_id,
        journal=str(run.writer.path),
        resumed=resumed,
        message=message,
    )


def _stranded(outcomes: tuple[Outcome, ...]) -> tuple[StrandedPhone, ...]:
    """Phones not where they should be: from each wave's gate, or, when the wave was reverted, from its
    revert gate (phones back on the source are no longer stranded)."""
    reverted = {o.address.name for o in outcomes if o.address.kind == "revert-gate" and "stranded" in o.extra}
    out: list[StrandedPhone] = []
    for outcome in outcomes:
        kind = outcome.address.kind
        if kind == "revert-gate" or (kind == "gate" and outcome.address.name not in reverted):
            for item in outcome.extra.get("stranded", ()) or ():
                out.append(StrandedPhone.from_dict(item))
    return tuple(out)


def _phone_outcomes(outcomes: tuple[Outcome, ...]) -> tuple[PhoneOutcome, ...]:
    """Every phone of a reverted wave: moved, reverted, or still stranded with its reason (R13)."""
    return tuple(
        PhoneOutcome.from_dict(item)
        for o in outcomes
        if o.address.kind == "revert-gate"
        for item in o.extra.get("phones", ()) or ()
    )
