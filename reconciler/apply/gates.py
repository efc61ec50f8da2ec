"""Wave gates (R13): a provider-like step handler for ``gate.<wave>`` and ``revert-gate.<wave>`` addresses.

The executor treats a gate like any other step: ``apply`` waits for the wave's phones, ``verify`` decides.
``GateHandler.apply`` polls registrations through a ``RegistrationReader`` (RisPort70 of the target
cluster, through ``reconciler.apply.gate_specs.EstateRegistrations``), at most ``max_devices`` phones per
query and within the cluster's per-minute allowance (``RisPacer``; both in ``reconciler.apply.risport``),
until ``min_share`` of the wave's phones are Registered on a TARGET call-processing node or the deadline
passes (injectable clock). ``verify`` passes when the share was reached; its ``extra["stranded"]`` lists
every phone not on the target with its RisPort70 status/reason and the plan's forecast reason where
known, so that no phone is left without a report.

Built by ``reconciler.apply.gate_specs`` from the plan (``GateSpec`` per wave); the executor only calls
``attach_hooks`` (gate progress) and the provider verbs. Never prints.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from reconciler.apply.hooks import ApplyHooks, GateProgress, PhoneFate, PhoneOutcome, StrandedPhone
from reconciler.apply.retry import Clock
from reconciler.apply.risport import (
    REGISTERED,
    RISPORT_MAX_DEVICES,
    Registration,
    RegistrationReader,
    RisPacer,
)
from reconciler.errors import PlanError, TemporaryError
from reconciler.model import Address, Change, freeze
from reconciler.provider import ApplyResult, ProviderBase, VerifyResult

__all__ = ["GateHandler", "GateSpec"]


@dataclass(frozen=True, slots=True, kw_only=True)
class GateSpec:
    """One wave's gate: its phones, the share that must register on ``target_nodes`` by ``deadline``
    seconds after the gate starts (R13), and the plan's forecast reason per phone it expects to strand
    (``forecast``: the plan's example phones; ``forecast_wave``: what the forecast said about the wave,
    for every other phone, so that no stranded phone is reported without the forecast's word)."""

    wave: str
    phones: tuple[str, ...]
    min_share: float
    deadline: float
    target_nodes: frozenset[str]
    forecast: Mapping[str, str] = field(default_factory=dict)
    forecast_wave: str = ""
    source_nodes: frozenset[str] = frozenset()  # where a reverted phone registers (revert gate)

    def __post_init__(self) -> None:
        if not 0 < self.min_share <= 1:
            raise ValueError(f"gate {self.wave}: share {self.min_share} not in (0, 1]")
        if self.deadline < 0:
            raise ValueError(f"gate {self.wave}: negative deadline")

    @property
    def needed(self) -> int:
        """Phones that must be Registered on the target for the gate to pass."""
        return math.ceil(self.min_share * len(self.phones) - 1e-9)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Observation:
    registered: int
    stranded: tuple[StrandedPhone, ...]
    polls: int
    elapsed: float
    interrupted: bool = False
    paused: str = ""  # live R3: why the gate stopped polling (its wave paused)


class GateHandler(ProviderBase):
    """Handles ``gate.<wave>`` steps; one instance serves every wave of a plan."""

    kinds: ClassVar[frozenset[str]] = frozenset({"gate", "revert-gate"})

    def __init__(
        self,
        *,
        specs: Mapping[str, GateSpec],
        reader: RegistrationReader,
        pacer: RisPacer,
        clock: Clock,
        poll_interval: float = 15.0,
        max_devices: int = RISPORT_MAX_DEVICES,
        cancel: threading.Event | None = None,
        endpoint: str = "risport70",
        source_reader: RegistrationReader | None = None,
        source_pacer: RisPacer | None = None,
        watch: Callable[[str], str | None] | None = None,
    ) -> None:
        self._specs = dict(specs)
        self._reader = reader
        self._pacer = pacer
        self._clock = clock
        self._poll_interval = poll_interval
        self._max_devices = max_devices
        self._cancel = cancel
        self._endpoint = endpoint
        self._hooks = ApplyHooks()
        self._last: dict[str, _Observation] = {}
        self._lock = threading.Lock()
        self._source_reader = source_reader
        self._source_pacer = source_pacer or pacer
        self._back: dict[str, tuple[PhoneOutcome, ...]] = {}
        self._watch = watch  # live R3 (reconciler.apply.tvswatch): checked at every poll

    @property
    def endpoint(self) -> str:
        return self._endpoint

    def attach_hooks(self, hooks: ApplyHooks) -> Self:
        """Called by the executor so gate polls reach the progress renderer."""
        self._hooks = hooks
        return self

    # --- provider verbs -------------------------------------------------------------------------
    def apply(self, change: Change) -> ApplyResult:
        """Poll until the share is reached, the deadline passes, or the apply is interrupted."""
        spec = self._spec(change.address)
        if change.address.kind == "revert-gate":
            return self._apply_back(change, spec)
        started = self._clock.monotonic()
        obs = self._poll(spec, polls=0, started=started)
        paused = ""
        for _ in range(_max_polls(spec, self._poll_interval)):  # bounded by the deadline
            if obs.registered >= spec.needed or self._cancelled():
                break
            paused = (self._watch(spec.wave) or "") if self._watch is not None else ""
            if paused:
                break
            remaining = started + spec.deadline - self._clock.monotonic()
            if remaining <= 0:
                break
            self._clock.sleep(min(self._poll_interval, remaining))
            obs = self._poll(spec, polls=obs.polls, started=started)
        if (self._cancelled() or paused) and obs.registered < spec.needed:
            obs = _Observation(
                registered=obs.registered,
                stranded=obs.stranded,
                polls=obs.polls,
                elapsed=obs.elapsed,
                interrupted=True,
                paused=paused,
            )
        with self._lock:
            self._last[str(change.address)] = obs
        return ApplyResult(change=change, changed=False, observed=freeze(_summary(spec, obs)))

    def verify(self, change: Change) -> VerifyResult:
        """Pass when ``needed`` phones are on the target; uses the poll ``apply`` just made, else polls."""
        spec = self._spec(change.address)
        if change.address.kind == "revert-gate":
            return self._verify_back(change, spec)
        with self._lock:
            obs = self._last.pop(str(change.address), None)
        if obs is None:  # e.g. a resumed apply re-verifying a gate that was in doubt
            obs = self._poll(spec, polls=0, started=self._clock.monotonic())
        ok = obs.registered >= spec.needed
        detail = (
            f"wave {spec.wave}: {obs.registered}/{len(spec.phones)} phones Registered on the target "
            f"(need {spec.needed}, {spec.min_share:.0%})"
        )
        if not ok:
            why = obs.paused or ("interrupted" if obs.interrupted else f"deadline {spec.deadline:g}s passed")
            detail += f"; {why} (R13)"
        summary = _summary(spec, obs)
        return VerifyResult(
            address=change.address,
            complies=ok,
            method="risport70",
            detail=detail,
            observed=freeze(summary),
            extra={"stranded": summary["stranded"], "wave": spec.wave},
        )

    # --- internals ------------------------------------------------------------------------------
    def _spec(self, address: Address) -> GateSpec:
        spec = self._specs.get(address.name)
        if address.kind not in self.kinds or spec is None:
            raise PlanError(f"{address}: no gate is defined for this wave", hint="re-run plan")
        return spec

    def _cancelled(self) -> bool:
        return self._cancel is not None and self._cancel.is_set()

    def _poll(self, spec: GateSpec, *, polls: int, started: float) -> _Observation:
        seen: dict[str, Registration] = {}
        for chunk_start in range(0, len(spec.phones), self._max_devices):
            chunk = spec.phones[chunk_start : chunk_start + self._max_devices]
            seen.update(self._query(chunk, started=started, deadline=spec.deadline))
        registered = 0
        stranded: list[StrandedPhone] = []
        for device in spec.phones:
            reg = seen.get(device)
            if reg is not None and reg.status == REGISTERED and reg.node in spec.target_nodes:
                registered += 1
                continue
            stranded.append(_stranded(spec, device, reg))
        elapsed = self._clock.monotonic() - started
        obs = _Observation(registered=registered, stranded=tuple(stranded), polls=polls + 1, elapsed=elapsed)
        self._hooks.wave_gate_progress(
            progress=GateProgress(
                wave=spec.wave,
                registered=registered,
                total=len(spec.phones),
                needed=spec.needed,
                elapsed=elapsed,
                deadline=spec.deadline,
                polls=obs.polls,
            )
        )
        return obs

    # --- the revert gate: the wave's phones back on the source (R13) -------------------------------
    def _apply_back(self, change: Change, spec: GateSpec) -> ApplyResult:
        """Poll until every phone of the wave is Registered on the target (it stays: moved) or on the
        source (reverted), or the deadline passes."""
        started = self._clock.monotonic()
        fates = self._poll_back(spec, started=started)
        for _ in range(_max_polls(spec, self._poll_interval)):
            if all(f.fate is not PhoneFate.STRANDED for f in fates) or self._cancelled():
                break
            remaining = started + spec.deadline - self._clock.monotonic()
            if remaining <= 0:
                break
            self._clock.sleep(min(self._poll_interval, remaining))
            fates = self._poll_back(spec, started=started)
        with self._lock:
            self._back[str(change.address)] = fates
        return ApplyResult(change=change, changed=False, observed=freeze(_back_summary(spec, fates)))

    def _verify_back(self, change: Change, spec: GateSpec) -> VerifyResult:
        with self._lock:
            fates = self._back.pop(str(change.address), None)
        if fates is None:  # a resumed apply re-verifying a revert gate in doubt
            fates = self._poll_back(spec, started=self._clock.monotonic())
        summary = _back_summary(spec, fates)
        stranded = [f for f in fates if f.fate is PhoneFate.STRANDED]
        detail = (
            f"wave {spec.wave} reverted: {summary['moved']} moved (stay on the target), "
            f"{summary['reverted']} back on the source, {len(stranded)} stranded"
        )
        if stranded:
            detail += f" after {spec.deadline:g}s (R13)"
        return VerifyResult(
            address=change.address,
            complies=not stranded,
            method="risport70",
            detail=detail,
            observed=freeze(summary),
            extra={
                "wave": spec.wave,
                "phones": [f.to_dict() for f in fates],
                "stranded": [
                    StrandedPhone(
                        device=f.device,
                        wave=f.wave,
                        status=f.status,
                        node=f.node,
                        reason=f.reason,
                        forecast=spec.forecast.get(f.device, ""),
                    ).to_dict()
                    for f in stranded
                ],
            },
        )

    def _poll_back(self, spec: GateSpec, *, started: float) -> tuple[PhoneOutcome, ...]:
        on_target: dict[str, Registration] = {}
        for i in range(0, len(spec.phones), self._max_devices):
            chunk = spec.phones[i : i + self._max_devices]
            on_target.update(self._query(chunk, started=started, deadline=spec.deadline))
        moved = {d for d, r in on_target.items() if r.status == REGISTERED and r.node in spec.target_nodes}
        rest = [d for d in spec.phones if d not in moved]
        on_source: dict[str, Registration] = {}
        if self._source_reader is not None:
            for i in range(0, len(rest), self._max_devices):
                on_source.update(
                    self._query(
                        rest[i : i + self._max_devices],
                        started=started,
                        deadline=spec.deadline,
                        reader=self._source_reader,
                        pacer=self._source_pacer,
                    )
                )
        fates: list[PhoneOutcome] = []
        for device in spec.phones:
            if device in moved:
                reg = on_target[device]
                fates.append(PhoneOutcome(device=device, wave=spec.wave, fate=PhoneFate.MOVED,
                                          status=reg.status, node=reg.node))  # fmt: skip
                continue
            back = on_source.get(device)
            if back is not None and back.status == REGISTERED and back.node in spec.source_nodes:
                fates.append(PhoneOutcome(device=device, wave=spec.wave, fate=PhoneFate.REVERTED,
                                          status=back.status, node=back.node))  # fmt: skip
                continue
            seen = back or on_target.get(device)
            reason = (seen.reason if seen is not None else "") or (
                "Registered on neither cluster after the revert: check the phone's network, its "
                "scope's option 150 and its CTL/ITL (R1)"
            )
            fates.append(PhoneOutcome(device=device, wave=spec.wave, fate=PhoneFate.STRANDED,
                                      status=seen.status if seen else "Unknown",
                                      node=seen.node if seen else None, reason=reason))  # fmt: skip
        moved_n = sum(1 for f in fates if f.fate is PhoneFate.MOVED)
        back_n = sum(1 for f in fates if f.fate is PhoneFate.REVERTED)
        self._hooks.wave_gate_progress(
            progress=GateProgress(
                wave=spec.wave,
                registered=moved_n + back_n,
                total=len(spec.phones),
                needed=len(spec.phones),
                elapsed=self._clock.monotonic() - started,
                deadline=spec.deadline,
                polls=1,
            )
        )
        return tuple(fates)

    def _query(
        self,
        chunk: Sequence[str],
        *,
        started: float,
        deadline: float,
        reader: RegistrationReader | None = None,
        pacer: RisPacer | None = None,
    ) -> Mapping[str, Registration]:
        """One paced query; a used-up allowance (TemporaryError) is waited out until the deadline."""
        for _ in range(1000):  # bounded; each round sleeps at least 1 s of clock time
            (pacer or self._pacer).acquire()
            try:
                return (reader or self._reader).registrations(chunk)
            except TemporaryError as exc:
                remaining = started + deadline - self._clock.monotonic()
                if remaining <= 0 or self._cancelled():
                    raise
                self._clock.sleep(min(max(exc.delay or self._poll_interval, 1.0), remaining))
        raise TemporaryError("RisPort70 kept refusing queries", endpoint=self._endpoint)


def _max_polls(spec: GateSpec, interval: float) -> int:
    return int(spec.deadline / max(interval, 1e-3)) + 2


def _stranded(spec: GateSpec, device: str, reg: Registration | None) -> StrandedPhone:
    forecast = spec.forecast.get(device) or spec.forecast_wave
    if reg is None:
        return StrandedPhone(
            device=device,
            wave=spec.wave,
            status="Unknown",
            reason="not found in RisPort70",
            forecast=forecast,
        )
    reason = reg.reason
    if reg.status == REGISTERED:  # registered, but not on a target node: it never moved
        reason = reason or "still registered to a node that is not a target call-processing node"
    return StrandedPhone(
        device=device, wave=spec.wave, status=reg.status, node=reg.node, reason=reason, forecast=forecast
    )


def _back_summary(spec: GateSpec, fates: Sequence[PhoneOutcome]) -> dict[str, Any]:
    counts = {fate.value: sum(1 for f in fates if f.fate is fate) for fate in PhoneFate}
    return {"wave": spec.wave, "total": len(spec.phones), **counts}


def _summary(spec: GateSpec, obs: _Observation) -> dict[str, Any]:
    total = len(spec.phones)
    return {
        "wave": spec.wave,
        "total": total,
        "registered": obs.registered,
        "needed": spec.needed,
        "share": round(obs.registered / total, 4) if total else 1.0,
        "polls": obs.polls,
        "elapsed": round(obs.elapsed, 3),
        "interrupted": obs.interrupted,
        **({"paused": obs.paused} if obs.paused else {}),
        "stranded": [p.to_dict() for p in obs.stranded],
    }
