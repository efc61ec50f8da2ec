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

Resume (``reconciler.apply.resume``): steps journaled as done are skipped; steps in doubt are
re-verified first (those in ``rerun_in_doubt`` — ``reset``, whose verify cannot prove it ran — are run
again); a done
``window.<wave>`` whose wave has option 150 or reset still ahead is checked again and waited for anew
when its window closed meanwhile (``reconciler.apply.window.rewait_candidates``); everything else runs.
Ctrl-C sets ``cancel``: no new step starts, running steps finish and are journaled, and the journal stays
open for ``--resume``. The engine never prints; everything goes through ``ApplyHooks``. The run's
bookkeeping is ``reconciler.apply.run.ApplyRun``; the report at the end is ``reconciler.apply.report``.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

from reconciler.apply.bookkeeping import StateKeeper, plan_digest
from reconciler.apply.hooks import ApplyHooks, ApplyReport
from reconciler.apply.report import finish_report
from reconciler.apply.resume import reopen_run, save_plan_copy
from reconciler.apply.retry import Clock, SystemClock
from reconciler.apply.run import ApplyRun, gate_policy, stage_blockers
from reconciler.apply.steps import ApplyOptions, EndpointLimits, SerialHooks, StepRun, StepRunner
from reconciler.errors import PlanError
from reconciler.model import Address, Outcome, OutcomeStatus
from reconciler.plan.document import Plan, PlanStep
from reconciler.provider import Provider
from reconciler.state.journal import JournalWriter, new_apply_id
from reconciler.state.store import StateStore
from reconciler.vocabulary import OnFailure, StepStatus

__all__ = [
    "ApplyOptions",
    "EndpointLimits",
    "Executor",
    "Registry",
]

Registry = Mapping[str | tuple[str, str], Provider]
"""Provider instances by ``(provider kind, endpoint)`` or by provider kind alone (``PlanStep.provider``)."""


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
                run = ApplyRun(plan=plan, writer=writer, keeper=keeper)
                for step in plan.steps:
                    run.status[step.address] = StepStatus.PENDING
                skipped: tuple[str, ...] = ()
            else:
                run, skipped = reopen_run(
                    plan,
                    resume,
                    store=self._store,
                    runner=self._runner,
                    hooks=self._hooks,
                    rerun_in_doubt=self._options.rerun_in_doubt,
                )
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
                report = finish_report(
                    run, started=started, resumed=resume is not None, cancelled=self._cancel.is_set()
                )
        self._hooks.apply_finished(report=report)
        return report

    def _execute(self, run: ApplyRun) -> None:
        steps = run.plan.steps
        index = {s.address: i for i, s in enumerate(steps)}
        blockers = stage_blockers(run.plan)
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
        run: ApplyRun,
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
        run: ApplyRun,
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

    def _pause_before(self, run: ApplyRun, step: PlanStep) -> bool:
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
        self, run: ApplyRun, batch: tuple[PlanStep, ...], pool: ThreadPoolExecutor
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

    def _release(self, run: ApplyRun, step: PlanStep) -> None:
        for k, _ in self._runner.limit_keys(step):
            run.in_flight[k] -= 1

    def _settle_batch(self, run: ApplyRun, batch: tuple[PlanStep, ...], results: tuple[StepRun, ...]) -> None:
        """A batch's verified steps go to the state in one write (the serial still moves by one per
        step: resume counts them), then each step is journaled and settled in plan order."""
        done = [(s, r) for s, r in zip(batch, results, strict=True) if r.ok]
        recorded = len(done) > 1
        if recorded:
            run.keeper.record_many([(s.change, r.outcome(s).observed) for s, r in done])
        for step, result in zip(batch, results, strict=True):
            self._settle(run, step, result, recorded=recorded)

    def _settle(self, run: ApplyRun, step: PlanStep, result: StepRun, *, recorded: bool = False) -> None:
        key = step.address
        if result.ok:
            run.record_success(step, result, recorded=recorded)
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
