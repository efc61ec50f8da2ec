"""One step of an apply: provider lookup, concurrency keys, apply + verify with retries, the outcome.

Used by the executor (``reconciler.apply.executor``), which schedules steps and calls ``StepRunner.run`` on
worker threads; everything here is thread-safe for distinct steps. Also holds the executor's options
(``ApplyOptions``, ``EndpointLimits`` built from the desired state's ``policy``) and ``SerialHooks``,
which serialises hook calls coming from several threads.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from reconciler.apply.hooks import ApplyHooks, ApplyReport, GateProgress
from reconciler.apply.retry import Clock, RetryPolicy, call_with_retry
from reconciler.errors import PlanError, ReconcilerError, TemporaryError, VerificationError
from reconciler.model import Change, Outcome, OutcomeStatus, Value
from reconciler.plan.document import Plan, PlanStep
from reconciler.provider import ApplyResult, BatchProvider, Provider, VerifyResult
from reconciler.vocabulary import ProviderKind

__all__ = ["ApplyOptions", "EndpointLimits", "SerialHooks", "StepRun", "StepRunner"]

_T = TypeVar("_T")

#: Which ``policy.concurrency`` field limits each provider kind (``PlanStep.provider``).
PROVIDER_API: Mapping[ProviderKind, str] = {
    ProviderKind.CUCM_AXL: "axl",
    ProviderKind.CUCM_CERTS: "axl",
    ProviderKind.CUCM_SERVICEABILITY: "axl",
    ProviderKind.CUCM_CLI: "cli",
    ProviderKind.RIS: "ris",
    **{kind: "dhcp" for kind in ProviderKind if kind.is_dhcp},
}


@dataclass(frozen=True, slots=True, kw_only=True)
class EndpointLimits:
    """Steps in flight per ``provider@endpoint``: ``by_provider`` kind, else ``default``."""

    default: int = 4
    by_provider: Mapping[str, int] = field(default_factory=dict)

    def limit(self, provider: str) -> int:
        return max(1, self.by_provider.get(provider, self.default))

    @classmethod
    def from_policy(cls, policy: object) -> EndpointLimits:
        """From ``schemas.policy.Policy``: AXL per cluster, one CLI session per node, RisPort70, DHCP."""
        conc = getattr(policy, "concurrency")  # noqa: B009 - duck-typed, schemas stay optional here
        per_api = {api: int(getattr(conc, api)) for api in ("axl", "cli", "ris", "dhcp")}
        by_provider = {str(kind): per_api[api] for kind, api in PROVIDER_API.items()}
        return cls(default=per_api["axl"], by_provider=by_provider)


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplyOptions:
    """Executor knobs. ``settle``: address kinds re-verified until they comply, with the longest wait
    in seconds (R8: a restarted TVS must report Started; R7: replication must reach every node);
    ``rerun_in_doubt``: kinds whose verify cannot prove the step ran, so a resumed apply runs them
    again instead of trusting a verify."""

    parallelism: int = 4
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    limits: EndpointLimits = field(default_factory=EndpointLimits)
    settle: Mapping[str, float] = field(default_factory=lambda: {"tvs": 600.0, "replication": 600.0})
    settle_interval: float = 5.0
    rerun_in_doubt: frozenset[str] = frozenset({"reset", "revert-reset"})
    batch_size: int = 500  # most steps handed to one ``apply_batch`` (docs/architecture.md, "Batched steps")

    @classmethod
    def from_policy(cls, policy: object, *, parallelism: int = 4) -> ApplyOptions:
        return cls(
            parallelism=parallelism,
            retry=RetryPolicy.from_policy(getattr(policy, "retries")),  # noqa: B009
            limits=EndpointLimits.from_policy(policy),
        )


class SerialHooks(ApplyHooks):
    """Forwards to ``inner`` one call at a time (hooks come from the coordinator and worker threads)."""

    def __init__(self, inner: ApplyHooks) -> None:
        self._inner = inner
        self._lock = threading.RLock()

    def plan_started(self, *, apply_id: str, steps: tuple[Change, ...], skipped: tuple[str, ...]) -> None:
        with self._lock:
            self._inner.plan_started(apply_id=apply_id, steps=steps, skipped=skipped)

    def step_started(self, *, change: Change, index: int, total: int, attempt: int) -> None:
        with self._lock:
            self._inner.step_started(change=change, index=index, total=total, attempt=attempt)

    def step_retry(self, *, change: Change, attempt: int, error: str, delay: float) -> None:
        with self._lock:
            self._inner.step_retry(change=change, attempt=attempt, error=error, delay=delay)

    def step_finished(self, *, change: Change, outcome: Outcome) -> None:
        with self._lock:
            self._inner.step_finished(change=change, outcome=outcome)

    def wave_gate_progress(self, *, progress: GateProgress) -> None:
        with self._lock:
            self._inner.wave_gate_progress(progress=progress)

    def window_wait(self, *, wave: str, opens: str, remaining: float, window: str) -> None:
        with self._lock:
            self._inner.window_wait(wave=wave, opens=opens, remaining=remaining, window=window)

    def wave_paused(self, *, wave: str, reason: str) -> None:
        with self._lock:
            self._inner.wave_paused(wave=wave, reason=reason)

    def apply_finished(self, *, report: ApplyReport) -> None:
        with self._lock:
            self._inner.apply_finished(report=report)


@dataclass(frozen=True, slots=True, kw_only=True)
class StepRun:
    """What running (or re-verifying) one step produced."""

    applied: ApplyResult | None
    verified: VerifyResult | None
    attempts: int
    error: Exception | None = None
    interrupted: bool = False  # cut short by Ctrl-C: leave it in doubt for --resume

    @property
    def ok(self) -> bool:
        return self.error is None and self.verified is not None and self.verified.complies

    def observed(self) -> Value:
        if self.verified is not None and self.verified.observed is not None:
            return self.verified.observed
        return self.applied.observed if self.applied is not None else None

    def outcome(self, step: PlanStep, *, detail_prefix: str = "") -> Outcome:
        """The outcome of a successful run."""
        changed = self.applied is None or self.applied.changed
        detail = self.verified.detail if self.verified is not None else ""
        return Outcome(
            address=step.address,
            status=OutcomeStatus.APPLIED if changed else OutcomeStatus.UNCHANGED,
            observed=self.observed(),
            detail=detail_prefix + (detail or "verified"),
            attempts=self.attempts,
            extra=self.verified.extra if self.verified is not None else {},
        )

    def failed_outcome(self, step: PlanStep) -> Outcome:
        """The outcome of a failed run: error class, message and hint (never a secret)."""
        error = self.error
        detail = str(error) if error is not None else "verify did not pass"
        hint = getattr(error, "hint", None)
        if hint:
            detail += f" (fix: {hint})"
        return Outcome(
            address=step.address,
            status=OutcomeStatus.FAILED,
            observed=self.observed(),
            detail=detail,
            error=type(error).__name__ if error is not None else None,
            attempts=self.attempts,
            extra=self.verified.extra if self.verified is not None else {},
        )


class StepRunner:
    """Runs single steps through the registry's providers (thread-safe for distinct steps)."""

    def __init__(
        self,
        *,
        registry: Mapping[str | tuple[str, str], Provider],
        options: ApplyOptions,
        clock: Clock,
        hooks: ApplyHooks,
        cancel: threading.Event,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._registry = registry
        self._options = options
        self._clock = clock
        self._hooks = hooks
        self._cancel = cancel
        self._rng = rng

    def provider_for(self, step: PlanStep) -> Provider:
        provider = self._registry.get((step.provider, step.endpoint)) or self._registry.get(step.provider)
        if provider is None:
            raise PlanError(
                f"{step.address}: no provider {step.provider!r} for endpoint {step.endpoint!r} is wired",
                hint="the desired-state file no longer declares that system: run plan again",
            )
        return provider

    def check_registry(self, plan: Plan) -> None:
        """Every step has a provider before anything runs (``PlanError`` otherwise)."""
        for step in plan.steps:
            self.provider_for(step)

    def limit_keys(self, step: PlanStep) -> tuple[tuple[str, int], ...]:
        """Concurrency keys of ``step`` with their limits; TVS restarts: one per cluster (R8)."""
        keys = [(f"{step.provider}@{step.endpoint}", self._options.limits.limit(step.provider))]
        if step.address.kind == "tvs":
            keys.append((f"tvs-rolling@{step.address.parts[1]}", 1))
        return tuple(keys)

    def batch_key(self, step: PlanStep) -> tuple[str, str, str, str] | None:
        """``(provider, endpoint, wave, kind)`` when ``step`` may run in a batch with its peers: a wave
        step whose provider is a ``BatchProvider`` for its kind; else ``None``."""
        if step.wave is None or self._options.batch_size < 2:
            return None
        provider = self.provider_for(step)
        if not isinstance(provider, BatchProvider) or step.address.kind not in provider.batch_kinds:
            return None
        return (step.provider, step.endpoint, step.wave, step.address.kind)

    def run_batch(self, steps: tuple[PlanStep, ...]) -> tuple[StepRun, ...]:
        """Apply then verify several steps of one batch key in one call each, with retries; one
        ``StepRun`` per step (a failed batch fails every step of it, the provider having restored
        what the batch changed). Never raises an ``Exception``."""
        if len(steps) == 1:
            return (self.run(steps[0]),)
        provider = self.provider_for(steps[0])
        assert isinstance(provider, BatchProvider)
        changes = [s.change for s in steps]
        applied: tuple[ApplyResult, ...] | None = None
        calls = [0]
        try:
            applied = self._retry(changes[0], lambda: provider.apply_batch(changes), calls)
            verified = self._retry(changes[0], lambda: provider.verify_batch(changes), calls)
        except Exception as exc:  # a ReconcilerError, or a provider bug: every step of the batch failed
            cut = isinstance(exc, ReconcilerError) and self._cut(exc)
            return tuple(
                StepRun(
                    applied=applied[i] if applied else None,
                    verified=None,
                    attempts=calls[0],
                    error=exc,
                    interrupted=cut,
                )
                for i in range(len(steps))
            )
        return tuple(self._judge(a, v, calls[0]) for a, v in zip(applied, verified, strict=True))

    def run(self, step: PlanStep) -> StepRun:
        """Apply then verify, each with retries; never raises an ``Exception`` (it is in the result)."""
        provider = self.provider_for(step)
        change = step.change
        applied: ApplyResult | None = None
        calls = [0]
        try:
            applied = self._retry(change, lambda: provider.apply(change), calls)
            verified = self._verify(step, provider, calls)
        except ReconcilerError as exc:
            return StepRun(
                applied=applied, verified=None, attempts=calls[0], error=exc, interrupted=self._cut(exc)
            )
        except Exception as exc:  # a provider bug: report it as a failed step, do not crash the apply
            return StepRun(applied=applied, verified=None, attempts=calls[0], error=exc)
        return self._judge(applied, verified, calls[0])

    def reverify(self, step: PlanStep) -> StepRun:
        """Verify only (a step in doubt on ``--resume``): one verify, without settling. A step that does
        not comply is run again (its apply re-reads first), rather than waiting out the settle time for
        a change the killed apply may never have sent (a TVS restart not yet requested, R8)."""
        calls = [0]
        change = step.change
        try:
            provider = self.provider_for(step)
            verified = self._retry(change, lambda: provider.verify(change), calls)
        except Exception as exc:
            return StepRun(applied=None, verified=None, attempts=calls[0], error=exc)
        return self._judge(None, verified, calls[0])

    # --- internals ------------------------------------------------------------------------------
    def _judge(self, applied: ApplyResult | None, verified: VerifyResult, attempts: int) -> StepRun:
        if verified.complies:
            return StepRun(applied=applied, verified=verified, attempts=attempts)
        fields = ", ".join(
            f"{m.field or 'value'}: expected {m.expected!r}, found {m.actual!r}" for m in verified.mismatched
        )
        message = verified.detail or "the system is not as planned"
        if fields:
            message += f" ({fields})"
        interrupted = bool(isinstance(verified.observed, Mapping) and verified.observed.get("interrupted"))
        error = VerificationError(f"{verified.address}: verify failed: {message}")
        return StepRun(
            applied=applied, verified=verified, attempts=attempts, error=error, interrupted=interrupted
        )

    def _verify(self, step: PlanStep, provider: Provider, calls: list[int]) -> VerifyResult:
        change = step.change
        verified = self._retry(change, lambda: provider.verify(change), calls)
        settle = self._options.settle.get(step.address.kind)
        if settle is None or verified.complies:
            return verified
        deadline = self._clock.monotonic() + settle
        for _ in range(int(settle / max(self._options.settle_interval, 1e-3)) + 1):  # R8: wait for Started
            if self._clock.monotonic() >= deadline or self._cancel.is_set():
                break
            self._clock.sleep(self._options.settle_interval)
            verified = self._retry(change, lambda: provider.verify(change), calls)
            if verified.complies:
                break
        return verified

    def _retry(self, change: Change, fn: Callable[[], _T], calls: list[int]) -> _T:
        """``fn`` with retries; ``calls[0]`` counts provider calls that were retries or first tries of
        ``apply`` (verify calls add only their retries, so attempts = apply tries + verify retries)."""

        def counted() -> _T:
            calls[0] += 1
            return fn()

        def on_retry(attempt: int, error: TemporaryError, delay: float) -> None:
            self._hooks.step_retry(change=change, attempt=attempt, error=str(error), delay=delay)

        first = calls[0]
        try:
            result, _ = call_with_retry(
                counted,
                policy=self._options.retry,
                clock=self._clock,
                on_retry=on_retry,
                rng=self._rng,
                stop=self._cancel.is_set,
            )
        finally:
            if first > 0:  # a verify (or settle re-verify): only its retries count as extra attempts
                calls[0] -= 1
        return result

    def _cut(self, exc: ReconcilerError) -> bool:
        return self._cancel.is_set() and isinstance(exc, TemporaryError)
