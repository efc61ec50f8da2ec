"""Walks a ``Plan``: dependencies, per-endpoint concurrency, retries, verify, journal, state, resume.

Called by ``reconciler apply`` (``reconciler.commands.apply``), which supplies the provider registry
(built by ``reconciler.wiring``; the gate handler of ``reconciler.apply.gates`` is one more entry), the
hooks (renderers) and the cancel event (Ctrl-C). ``Executor.apply(plan)`` runs a new apply;
``Executor.apply(plan, resume=path)`` continues an interrupted one from its journal.

How a step runs (docs/architecture.md#plan-apply-state-drift):

1. It starts when every ``depends_on`` address finished and verified, every step of an earlier stage
   (trust work and earlier waves, R12/R13) is done, and its concurrency keys have room: ``parallelism``
   steps in total, ``EndpointLimits`` per provider@endpoint (policy.concurrency), and **one TVS restart
   per cluster at a time** (R8 rolling restart), held until its verify reports Started.
2. The journal records ``started`` (fsync) before the provider is called.
3. ``apply`` and ``verify`` are retried on ``TemporaryError`` with backoff (``reconciler.apply.retry``);
   kinds in ``settle`` (``tvs``) are re-verified until they comply or the settle time passes (R8: wait
   for Started). A verify that does not comply is a ``VerificationError``.
4. On success the state is written (essence, ownership: ``reconciler.apply.bookkeeping``), then the journal
   records ``finished``. On any failure no further step starts; running ones finish; the rest are
   skipped, and the journal is completed ``failed``.

Batches: wave steps whose provider is a ``BatchProvider`` for their kind (option 150) start together
when ready: every ready step of one ``(provider, endpoint, wave, kind)`` (up to ``batch_size``) goes to
one ``apply_batch`` and one ``verify_batch`` on one worker, taking one slot of the endpoint's limit.
Each step is still journaled ``started`` before the call and ``finished`` after it, and gets its own
outcome and state record, so resume and reports are per step (docs/architecture.md, "Batched steps").

Resume: steps journaled as done are skipped; steps in doubt are re-verified first (those in
``rerun_in_doubt`` — ``reset``, whose verify cannot prove it ran — are run again); a done
``window.<wave>`` whose wave has option 150 or reset still ahead is checked again and waited for anew
when its window closed meanwhile (``reconciler.apply.window.rewait_candidates``); everything else runs.
Ctrl-C sets ``cancel``: no new step starts, running steps finish and are journaled, and the journal stays
open for ``--resume``. The engine never prints; everything goes through ``ApplyHooks``.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.apply.bookkeeping import StateKeeper, plan_digest
from reconciler.apply.hooks import ApplyHooks, ApplyReport, ApplyStatus, PhoneOutcome, StrandedPhone
from reconciler.apply.retry import Clock, SystemClock
from reconciler.apply.steps import ApplyOptions, EndpointLimits, SerialHooks, StepRun, StepRunner
from reconciler.apply.window import rewait_candidates
from reconciler.errors import JournalError, PlanError
from reconciler.model import Address, Outcome, OutcomeStatus
from reconciler.plan.document import Plan, PlanStep
from reconciler.provider import Provider
from reconciler.state.journal import Journal, JournalWriter, RecordKind, new_apply_id
from reconciler.state.store import StateStore
from reconciler.vocabulary import OnFailure, StepStatus

__all__ = [
    "ApplyOptions",
    "EndpointLimits",
    "Executor",
    "find_resumable",
    "save_plan_copy",
]

Registry = Mapping[str | tuple[str, str], Provider]
"""Provider instances by ``(provider kind, endpoint)`` or by provider kind alone (``PlanStep.provider``)."""


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


@dataclass(slots=True)
class _Run:
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


class Executor:
    """Applies plans. One instance may apply several plans one after another (not concurrently)."""

    def __init__(
        self,
        *,
        registry: Registry,
        store: StateStore,
        hooks: ApplyHooks | None = None,
        options: ApplyOptions | None = None,
        clock: Clock | None = None,
        cancel: threading.Event | None = None,
        journal_dir: Path | None = None,
        rng: Callable[[], float] = random.random,
        watch: Callable[[str], str | None] | None = None,
    ) -> None:
        self._watch = watch  # live R3: why a wave must pause (reconciler.apply.tvswatch), or None
        self._cancel = cancel or threading.Event()
        self._hooks = SerialHooks(hooks or ApplyHooks())
        self._options = options or ApplyOptions()
        self._clock = clock or SystemClock(cancel=self._cancel)
        self._store = store
        self._journal_dir = journal_dir or store.directory / "journal"
        self._runner = StepRunner(
            registry=registry,
            options=self._options,
            clock=self._clock,
            hooks=self._hooks,
            cancel=self._cancel,
            rng=rng,
        )
        for provider in {id(p): p for p in registry.values()}.values():
            attach = getattr(provider, "attach_hooks", None)
            if callable(attach):
                attach(self._hooks)

    @property
    def journal_dir(self) -> Path:
        return self._journal_dir

    def apply(
        self,
        plan: Plan,
        *,
        resume: Path | None = None,
        lock_timeout: float = 0.0,
        command: str = "reconciler apply",
        check_fresh: Callable[[Plan], None] | None = None,
        apply_id: str | None = None,
    ) -> ApplyReport:
        """Apply ``plan`` (or continue the journal at ``resume``) under the state lock.

        ``check_fresh(plan)`` runs under the lock before any step (on ``resume`` too: the caller then
        checks only facts the apply itself does not change, e.g. identity certificates, R14).
        Raises ``LockError`` (lock held), ``StalePlanError`` (state or live facts moved; R14),
        ``PlanError`` (errored plan, no provider for a step), ``JournalError``. Step failures do not
        raise: they end the apply with ``ApplyStatus.FAILED`` in the report.
        """
        if plan.errored:
            raise PlanError("the plan has errors and cannot be applied", hint="fix them and plan again")
        self._runner.check_registry(plan)
        started = time.monotonic()
        with self._store.lock(timeout=lock_timeout, command=command):
            if resume is None:
                apply_id = apply_id or new_apply_id()
                keeper = StateKeeper(store=self._store, apply_id=apply_id)
                keeper.check_plan(plan)
                if check_fresh is not None:
                    check_fresh(plan)  # live facts still those the plan relied on (R14)
                writer = JournalWriter.create(
                    plan_id=plan.plan_id,
                    plan_fingerprint=plan_digest(plan),
                    lineage=keeper.snapshot.lineage,
                    serial=keeper.snapshot.serial,
                    directory=self._journal_dir,
                    apply_id=apply_id,
                )
                save_plan_copy(plan, journal=writer.path)
                run = _Run(plan=plan, writer=writer, keeper=keeper)
                for step in plan.steps:
                    run.status[step.address] = StepStatus.PENDING
                skipped: tuple[str, ...] = ()
            else:
                run, skipped = self._reopen(plan, resume)
                if check_fresh is not None:
                    try:  # the caller limits it to facts our own steps do not change (R14: identities)
                        check_fresh(plan)
                    except BaseException:
                        run.writer.close()
                        raise
            with run.writer:
                self._hooks.plan_started(
                    apply_id=run.keeper.apply_id, steps=tuple(s.change for s in plan.steps), skipped=skipped
                )
                self._execute(run)
                report = self._finish(run, started=started, resumed=resume is not None)
        self._hooks.apply_finished(report=report)
        return report

    # --- resume -----------------------------------------------------------------------------------
    def _reopen(self, plan: Plan, path: Path) -> tuple[_Run, tuple[str, ...]]:
        writer, journal = JournalWriter.reopen(path, plan_id=plan.plan_id, plan_fingerprint=plan_digest(plan))
        try:
            point = journal.resume_point(
                plan_id=plan.plan_id,
                plan_fingerprint=plan_digest(plan),
                steps=[s.address for s in plan.steps],
            )
            keeper = StateKeeper(store=self._store, apply_id=journal.header.apply_id)
            verified = sum(1 for r in journal.steps if r.kind is RecordKind.FINISHED and r.verified)
            keeper.check_resume(journal.header, verified_steps=verified, in_doubt=len(point.in_doubt))
        except BaseException:
            writer.close()
            raise
        run = _Run(plan=plan, writer=writer, keeper=keeper, attempts=dict(point.attempts))
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
            if step.address.kind in self._options.rerun_in_doubt:
                continue  # cannot be verified: run again (pending)
            result = self._runner.reverify(step)
            if result.ok:
                self._record_success(run, step, result, detail_prefix="verified on resume: ")
                self._hooks.step_finished(change=step.change, outcome=run.outcomes[address])
        for step in rewait_candidates(plan.steps, run.status):  # its window may have closed since (R13)
            if not self._runner.reverify(step).ok:
                run.status[step.address] = StepStatus.PENDING  # wait again: a new journaled attempt
                run.outcomes.pop(step.address, None)
        return run, tuple(str(a) for a in point.done if run.status[a] is StepStatus.DONE)

    # --- the scheduling loop ------------------------------------------------------------------------
    def _execute(self, run: _Run) -> None:
        steps = run.plan.steps
        index = {s.address: i for i, s in enumerate(steps)}
        blockers = _stage_blockers(run.plan)
        parallelism = max(1, self._options.parallelism)
        running: dict[Future[tuple[StepRun, ...]], tuple[PlanStep, ...]] = {}
        with ThreadPoolExecutor(max_workers=parallelism, thread_name_prefix="apply") as pool:
            try:
                for _ in range(2 * len(steps) + 2):  # bounded: each round starts or finishes a step
                    if not self._cancel.is_set() and not run.paused:
                        for step in steps:
                            if len(running) >= parallelism:
                                break
                            if run.failure and step.contingent_on is None:
                                continue  # after a failure only a failed gate's revert starts (R13)
                            if not self._ready(run, step, index=index, blockers=blockers):
                                continue
                            if self._pause_before(run, step):
                                break
                            batch = self._batch(run, step, index=index, blockers=blockers)
                            running[self._start(run, batch, pool)] = batch
                    if not running:
                        break
                    finished, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in sorted(finished, key=lambda f: index[running[f][0].address]):
                        batch = running.pop(future)
                        self._release(run, batch[0])
                        self._settle_batch(run, batch, future.result())
            finally:
                if running:  # a crash (BaseException) escaped: let the running steps end, journal nothing
                    self._cancel.set()
                    wait(running)
        for step in steps:
            key = step.address
            if run.status[key] == StepStatus.PENDING:
                run.status[key] = StepStatus.SKIPPED
                why = (
                    run.failure
                    or run.paused
                    or ("interrupted" if self._cancel.is_set() else "a dependency did not complete")
                )
                detail = f"not run: {why}"
                trigger = step.contingent_on
                if trigger is not None and run.status.get(trigger) is StepStatus.DONE:
                    detail = f"not needed: {trigger} passed"
                run.outcomes[key] = Outcome(
                    address=step.address, status=OutcomeStatus.SKIPPED, detail=detail, attempts=0
                )

    def _batch(
        self,
        run: _Run,
        step: PlanStep,
        *,
        index: Mapping[Address, int],
        blockers: Mapping[Address, tuple[Address, ...]],
    ) -> tuple[PlanStep, ...]:
        """``step`` and the other ready steps of its batch key (in plan order), or ``step`` alone."""
        key = self._runner.batch_key(step)
        if key is None:
            return (step,)
        batch = [step]
        for other in run.plan.steps:
            if len(batch) >= self._options.batch_size:
                break
            if other is step or (other.provider, other.endpoint, other.wave, other.address.kind) != key:
                continue
            if self._ready(run, other, index=index, blockers=blockers, limits=False):
                batch.append(other)
        return tuple(sorted(batch, key=lambda s: index[s.address]))

    def _ready(
        self,
        run: _Run,
        step: PlanStep,
        *,
        index: Mapping[Address, int],
        blockers: Mapping[Address, tuple[Address, ...]],
        limits: bool = True,
    ) -> bool:
        key = step.address
        if run.status[key] != StepStatus.PENDING:
            return False
        trigger = step.contingent_on
        if trigger is not None and run.status.get(trigger) is not StepStatus.FAILED:
            return False  # a revert step runs only when its gate failed (R13)
        for dep in step.depends_on:
            if dep == trigger or dep in run.tolerated:
                continue
            state = run.status.get(dep)
            if state in (StepStatus.FAILED, StepStatus.SKIPPED):
                return False
            if dep in index and state is not StepStatus.DONE:
                return False
        if trigger is None and any(
            run.status[b] != StepStatus.DONE and b not in run.tolerated for b in blockers.get(key, ())
        ):
            return False
        if not limits:
            return True
        return all(run.in_flight.get(k, 0) < n for k, n in self._runner.limit_keys(step))

    def _pause_before(self, run: _Run, step: PlanStep) -> bool:
        """Live R3: before a wave changes option 150 or resets phones, its serving source TVS nodes must
        be reachable and Started; otherwise the wave pauses (nothing more starts, journal left open)."""
        if self._watch is None or step.wave is None or step.contingent_on is not None:
            return False
        if step.address.kind not in ("option150", "reset"):
            return False
        why = self._watch(step.wave)
        if why:
            run.paused = why
            self._hooks.wave_paused(wave=step.wave, reason=why)
        return bool(why)

    def _start(
        self, run: _Run, batch: tuple[PlanStep, ...], pool: ThreadPoolExecutor
    ) -> Future[tuple[StepRun, ...]]:
        """Journal and announce every step of ``batch``, then run it on one worker (one slot)."""
        for k, _ in self._runner.limit_keys(batch[0]):
            run.in_flight[k] = run.in_flight.get(k, 0) + 1
        for step in batch:
            key = step.address
            attempt = run.attempts.get(key, 0) + 1
            run.attempts[key] = attempt
            run.status[key] = StepStatus.RUNNING
            run.writer.started(step.address, attempt=attempt)  # journaled before anything is touched
            self._hooks.step_started(
                change=step.change,
                index=run.index[key],
                total=len(run.plan.steps),
                attempt=attempt,
            )
        return pool.submit(self._runner.run_batch, batch)

    def _release(self, run: _Run, step: PlanStep) -> None:
        for k, _ in self._runner.limit_keys(step):
            run.in_flight[k] -= 1

    def _settle_batch(self, run: _Run, batch: tuple[PlanStep, ...], results: tuple[StepRun, ...]) -> None:
        """A batch's verified steps go to the state in one write (the serial still moves by one per
        step: resume counts them), then each step is journaled and settled in plan order."""
        done = [(s, r) for s, r in zip(batch, results, strict=True) if r.ok]
        recorded = len(done) > 1
        if recorded:
            run.keeper.record_many([(s.change, r.outcome(s).observed) for s, r in done])
        for step, result in zip(batch, results, strict=True):
            self._settle(run, step, result, recorded=recorded)

    def _settle(self, run: _Run, step: PlanStep, result: StepRun, *, recorded: bool = False) -> None:
        key = step.address
        if result.ok:
            self._record_success(run, step, result, recorded=recorded)
        elif result.interrupted:
            run.status[key] = StepStatus.PENDING  # cut short: left in doubt (no finished record)
            observed = result.observed()
            why = observed.get("paused") if isinstance(observed, Mapping) else None
            if why and not self._cancel.is_set():  # a gate paused its wave (live R3)
                run.paused = str(why)
                self._hooks.wave_paused(wave=step.wave or "", reason=str(why))
            return
        else:
            outcome = result.failed_outcome(step)
            run.outcomes[key] = outcome
            run.status[key] = StepStatus.FAILED
            if gate_policy(step) is OnFailure.CONTINUE:
                run.tolerated.add(key)  # later waves go on; the apply still fails at the end (R13)
            else:
                run.failure = run.failure or f"{key} failed: {outcome.detail}"
            run.writer.finished(
                step.address, outcome=OutcomeStatus.FAILED, verified=False, detail=outcome.detail
            )
        self._hooks.step_finished(change=step.change, outcome=run.outcomes[key])

    def _record_success(
        self, run: _Run, step: PlanStep, result: StepRun, *, detail_prefix: str = "", recorded: bool = False
    ) -> None:
        key = step.address
        outcome = result.outcome(step, detail_prefix=detail_prefix)
        if not recorded:  # a batch's steps were recorded together (``_settle_batch``)
            run.keeper.record(step.change, outcome.observed)  # state first: the resume check counts on it
        run.writer.finished(step.address, outcome=outcome.status, verified=True, detail=outcome.detail)
        run.outcomes[key] = outcome
        run.status[key] = StepStatus.DONE

    def _finish(self, run: _Run, *, started: float, resumed: bool) -> ApplyReport:
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
        elif self._cancel.is_set() and any(o.status is OutcomeStatus.SKIPPED for o in outcomes):
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


def plan_step(plan: Plan, address: Address | str) -> PlanStep:
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


def _stage_blockers(plan: Plan) -> dict[Address, tuple[Address, ...]]:
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
