"""Journals on disk for ``--resume``: the plan copy beside a journal, finding an open journal, and
rebuilding an ``ApplyRun`` from one.

Called by ``reconciler.apply.executor`` (``save_plan_copy`` on a new apply, ``reopen_run`` on
``apply(plan, resume=path)``) and by ``reconciler apply --resume`` (``reconciler.commands.apply``:
``find_resumable``). Steps journaled as done stay done; steps in doubt are re-verified (those in
``rerun_in_doubt`` run again); a done ``window.<wave>`` whose window closed meanwhile waits anew (R13).
"""

from __future__ import annotations

import os
from pathlib import Path

from reconciler.apply.bookkeeping import StateKeeper, plan_digest
from reconciler.apply.run import ApplyRun, plan_step
from reconciler.apply.steps import SerialHooks, StepRunner
from reconciler.apply.window import rewait_candidates
from reconciler.model import Outcome, OutcomeStatus
from reconciler.plan.document import Plan
from reconciler.state.journal import Journal, JournalWriter, RecordKind
from reconciler.state.store import StateStore
from reconciler.vocabulary import StepStatus

__all__ = ["find_resumable", "reopen_run", "save_plan_copy"]


def save_plan_copy(plan: Plan, *, journal: Path) -> Path:
    """Write the plan next to its journal (``<apply-id>.plan.json``, 0600) so ``--resume`` can find it."""
    path = journal.with_suffix(".plan.json")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(plan.to_json())
        handle.flush()
        os.fsync(handle.fileno())
    return path


def find_resumable(directory: Path, *, plan: Plan | None = None) -> Path | None:
    """The newest journal in ``directory`` without a ``completed`` line (for ``plan`` when given)."""
    digest = plan_digest(plan) if plan is not None else None
    for path in sorted(Path(directory).glob("*.jsonl"), reverse=True):
        journal = Journal.read(path)
        if journal.completed_status is not None:
            continue
        if plan is None or (journal.header.plan_id, journal.header.plan_fingerprint) == (
            plan.plan_id,
            digest,
        ):
            return path
    return None


def reopen_run(
    plan: Plan,
    path: Path,
    *,
    store: StateStore,
    runner: StepRunner,
    hooks: SerialHooks,
    rerun_in_doubt: frozenset[str],
) -> tuple[ApplyRun, tuple[str, ...]]:
    """The run journaled at ``path``, and the addresses it skips because they are done and verified."""
    writer, journal = JournalWriter.reopen(path, plan_id=plan.plan_id, plan_fingerprint=plan_digest(plan))
    try:
        point = journal.resume_point(
            plan_id=plan.plan_id,
            plan_fingerprint=plan_digest(plan),
            steps=[s.address for s in plan.steps],
        )
        keeper = StateKeeper(store=store, apply_id=journal.header.apply_id)
        verified = sum(1 for r in journal.steps if r.kind is RecordKind.FINISHED and r.verified)
        keeper.check_resume(journal.header, verified_steps=verified, in_doubt=len(point.in_doubt))
    except BaseException:
        writer.close()
        raise
    run = ApplyRun(plan=plan, writer=writer, keeper=keeper, attempts=dict(point.attempts))
    for step in plan.steps:
        run.status[step.address] = StepStatus.PENDING
    for address in point.unverified:  # a gate that failed before the interruption decided a revert
        if address in run.triggers:
            run.status[address] = StepStatus.FAILED
            run.failure = run.failure or f"{address} failed before the interruption (R13)"
            run.outcomes[address] = Outcome(
                address=plan_step(plan, address).address,
                status=OutcomeStatus.FAILED,
                detail="failed before the interruption: its wave is reverted (R13)",
                attempts=0,
            )
    for address in point.done:
        run.status[address] = StepStatus.DONE
        run.outcomes[address] = Outcome(
            address=plan_step(plan, address).address,
            status=OutcomeStatus.UNCHANGED,
            detail="done and verified before the interruption",
            attempts=0,
        )
    for address in point.in_doubt:
        step = plan_step(plan, address)
        if step.address.kind in rerun_in_doubt:
            continue  # cannot be verified: run again (pending)
        result = runner.reverify(step)
        if result.ok:
            run.record_success(step, result, detail_prefix="verified on resume: ")
            hooks.step_finished(change=step.change, outcome=run.outcomes[address])
    for step in rewait_candidates(plan.steps, run.status):  # its window may have closed since (R13)
        if not runner.reverify(step).ok:
            run.status[step.address] = StepStatus.PENDING  # wait again: a new journaled attempt
            run.outcomes.pop(step.address, None)
    return run, tuple(str(a) for a in point.done if run.status[a] is StepStatus.DONE)
