"""``ResetProvider``: ``reset.<wave>`` — reset the wave's phones through the source cluster's AXL (R12);
``revert-reset.<wave>`` — the same after the wave's option 150 was restored (its gate failed, R13), so
the phones that did not reach the target fetch the source's files again.

Built by ``reconciler.wiring.registry.build_registry`` for the migration's source cluster (a phone is
reset by the cluster it is registered to). Which phones: those of the wave's scopes
(``ProviderEstate.phones``) that RisPort70 of the target does not already show Registered — a phone
already on the target is not disturbed, which also makes a retry or a resumed apply reset only what
still has to move. Resets run with bounded concurrency (``policy.concurrency.axl``, the AXL limit per
cluster) at an adaptive rate (``reconciler.wiring.pacing.AimdPacer``: faster while CUCM answers
quickly, halved on HTTP 503 or rising latency, never above ``policy.resets.ceiling_per_second``; a
wave after the first starts at the rate the previous wave ended at instead of climbing again); a
phone's temporary error (AXL throttle, timeout) is retried a few times honouring ``delay``; other
failures are collected and reported together, naming the phones (never a secret).

Pool-level resets (``policy.resets.pool_level: auto``): the plan's ``reset`` step carries which device
pools hold nothing but the wave's phones (``reconciler.plan.poolreset``); apply does not re-decide. Right
before each pool's ``resetDevicePool`` it lists the pool again (one read) and resets that pool per phone
instead when it changed (a device added, a phone outside the wave) or the listing failed; a CUCM that
does not know the operation makes every remaining pool per phone. Each fallback is said in the step's
detail. The phones covered by pool resets are left out of the per-phone path.

``verify`` cannot prove a reset happened (the phone reboots and re-registers on its own), so it only
reports what was sent; the wave's gate (R13) is the real check. That is why the executor re-runs a
``reset`` step that was in doubt on ``--resume`` instead of trusting a verify.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import ClassVar

from providers.cucm_axl import NO_SUCH_OPERATION, AxlClient, ResetKind
from reconciler.errors import PermanentError, ReconcilerError, RemoteFaultError, TemporaryError
from reconciler.live.pools import PoolMember
from reconciler.model import Address, Change, freeze
from reconciler.plan.poolreset import PoolResetPlan, pool_problem
from reconciler.provider import ApplyResult, ProviderBase, VerifyResult
from reconciler.wiring.connections import Connections
from reconciler.wiring.estate import ProviderEstate
from reconciler.wiring.pacing import AimdPacer, PacingSummary
from schemas.document import DesiredState

__all__ = ["ResetProvider"]

PHONE_ATTEMPTS = 8  # a throttled reset is expected under load: the pacer slows down, the phone waits
MAX_DELAY = 30.0


class ResetProvider(ProviderBase):
    """Resets the phones of a wave (kind ``reset``) through ``cluster``'s AXL."""

    kinds: ClassVar[frozenset[str]] = frozenset({"reset", "revert-reset"})

    def __init__(
        self,
        *,
        desired: DesiredState,
        conns: Connections,
        estate: ProviderEstate,
        cluster: str,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.desired = desired
        self.conns = conns
        self.estate = estate
        self.cluster = cluster
        self.concurrency = max(1, desired.policy.concurrency.axl)
        self._sleep = sleep
        self._clock = clock
        self._sent: dict[str, int] = {}
        self._paced: dict[str, str] = {}
        self.last_pacing: PacingSummary | None = None  # what the pacer did in the last apply
        self._learnt: float | None = None  # the rate the last wave ended at (the next one starts there)
        self._lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return f"{self.cluster} (AXL)"

    def _wave(self, address: Address) -> tuple[str, ...]:
        wave = next((w for w in self.desired.migration.wave_list if w.name == address.name), None)
        if address.kind not in self.kinds or wave is None:
            raise PermanentError(f"{address}: no such wave in the desired state", hint="re-run plan")
        return tuple(wave.scopes)

    def pending(self, address: Address) -> tuple[str, ...]:
        """The wave's phones that are not Registered on the target (never mutates)."""
        return self._phones(address)[1]

    def _phones(self, address: Address) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The wave's phones, and those of them not Registered on the target (never mutates)."""
        scopes = self._wave(address)
        phones = tuple(p.name for s, group in self.estate.phones(scopes).items() for p in group)
        target = self.desired.migration.target
        on_target = self.estate.registrations(target, phones) if phones else {}
        return phones, tuple(p for p in phones if not (on_target.get(p) and on_target[p].registered))

    def pacing(self) -> dict[str, str]:
        """Per reset step address, what its pacer did (the verify detail's text; benches report it)."""
        with self._lock:
            return dict(self._paced)

    # --- provider verbs ---------------------------------------------------------------------------
    def _pacer(self) -> AimdPacer:
        """A wave's pacer. The first wave starts at ``policy.resets.start_per_second``; a later wave
        starts at the rate the previous one ended at (what this CUCM accepted moments ago; after a
        back-off that is the reduced rate), so each wave does not climb from the start again."""
        pacing = self.desired.policy.resets
        with self._lock:
            start = pacing.start_per_second if self._learnt is None else self._learnt
        return AimdPacer(start=start, ceiling=pacing.ceiling_per_second, clock=self._clock, sleep=self._sleep)

    def _pool_resets(
        self, axl: AxlClient, plan: PoolResetPlan, *, wave_phones: Sequence[str]
    ) -> tuple[set[str], list[str], list[str]]:
        """Run the plan's pool-level resets: (phone names covered, pools reset, fallback notes)."""
        covered: set[str] = set()
        done: list[str] = []
        notes: list[str] = []
        for index, (pool, _) in enumerate(plan.pools):
            try:  # re-check right before the call: the pool may have changed since the plan
                listed = axl.pool_devices(pool)
            except ReconcilerError as exc:
                notes.append(f"{pool} per phone: its device listing failed ({exc.message})")
                continue
            members = [PoolMember(name=d.name, pool=d.pool, phone=d.is_phone) for d in listed]
            problem = pool_problem(members, wave_phones=wave_phones, pool=pool)
            if problem is not None:
                notes.append(f"{pool} per phone: {problem} since the plan")
                continue
            try:
                self._reset_pool(axl, pool)
            except RemoteFaultError as exc:
                if exc.code == NO_SUCH_OPERATION:
                    rest = [p for p, _ in plan.pools[index:]]
                    notes.append(f"{self.cluster} does not know resetDevicePool: {', '.join(rest)} per phone")
                    break
                notes.append(f"{pool} per phone: resetDevicePool failed ({exc.message})")
                continue
            except ReconcilerError as exc:
                notes.append(f"{pool} per phone: resetDevicePool failed ({exc.message})")
                continue
            covered.update(m.name.upper() for m in members)
            done.append(pool)
        return covered, done, notes

    def _reset_pool(self, axl: AxlClient, pool: str) -> None:
        for attempt in range(PHONE_ATTEMPTS):
            try:
                axl.reset_device_pool(pool)
                return
            except TemporaryError as exc:
                if attempt == PHONE_ATTEMPTS - 1:
                    raise
                self._sleep(min(MAX_DELAY, exc.delay or 1.0))

    def apply(self, change: Change) -> ApplyResult:
        started = self._clock()
        wave_phones, pending = self._phones(change.address)
        read = self._clock() - started
        axl = self.conns.axl(self.cluster)
        after = change.after
        plan = PoolResetPlan.from_dict(after.get("resets") if isinstance(after, Mapping) else None)
        covered: set[str] = set()
        pools: list[str] = []
        notes: list[str] = []
        if plan is not None and plan.pools and pending:
            covered, pools, notes = self._pool_resets(axl, plan, wave_phones=wave_phones)
        phones = tuple(p for p in pending if p.upper() not in covered)
        by_pool = len(pending) - len(phones)
        failures: dict[str, ReconcilerError] = {}
        pacer = self._pacer()

        def reset(name: str) -> None:
            for attempt in range(PHONE_ATTEMPTS):
                pacer.acquire()
                sent = self._clock()
                try:
                    axl.reset_phone(name, kind=ResetKind.RESET)
                    pacer.record(latency=self._clock() - sent)
                    return
                except TemporaryError as exc:
                    pacer.record(latency=self._clock() - sent, throttled=True)
                    if attempt == PHONE_ATTEMPTS - 1:
                        failures[name] = exc
                        return
                    if exc.delay:
                        self._sleep(min(MAX_DELAY, exc.delay))
                except ReconcilerError as exc:
                    failures[name] = exc
                    return

        if phones:
            with ThreadPoolExecutor(
                max_workers=min(self.concurrency, len(phones)), thread_name_prefix="reset"
            ) as pool:
                list(pool.map(reset, phones))
        with self._lock:
            self._sent[str(change.address)] = len(phones) - len(failures) + by_pool
            self.last_pacing = pacer.summary()
            if self.last_pacing.answers:
                self._learnt = self.last_pacing.rate
            pooled = (
                f"pool-level reset of {len(pools)} pool(s) ({', '.join(pools)}) for {by_pool} phone(s); "
                if pools
                else ""
            )
            self._paced[str(change.address)] = (
                f"{pooled}{self.last_pacing.describe() if phones or not pools else 'no per-phone reset'}; "
                f"the target's registrations read in {read:.1f} s" + "".join(f"; {n}" for n in notes)
            )
        if failures:
            names = sorted(failures)
            first = failures[names[0]]
            message = (
                f"{change.address}: {len(failures)} of {len(phones)} phone reset(s) failed on "
                f"{self.cluster} ({', '.join(names[:5])}{', ...' if len(names) > 5 else ''}): {first.message}"
            )
            if all(isinstance(e, TemporaryError) for e in failures.values()):
                raise TemporaryError(message, endpoint=self.endpoint) from first
            raise RemoteFaultError(
                message, endpoint=self.endpoint, hint="check the phones in AXL, then run apply again"
            ) from first
        observed = freeze(
            {
                "reset": len(phones) + by_pool,
                "scopes": list(self._wave(change.address)),
                **(
                    {"pools": pools, "pool_phones": by_pool, "per_phone": len(phones)}
                    if plan and plan.pools
                    else {}
                ),
                **({"fallback": notes} if notes else {}),
            }
        )
        return ApplyResult(change=change, changed=bool(pending), observed=observed)

    def verify(self, change: Change) -> VerifyResult:
        with self._lock:
            sent = self._sent.get(str(change.address))
            paced = self._paced.get(str(change.address), "")
        detail = (
            f"reset sent to {sent} phone(s) ({paced}); the wave's gate checks where they register (R13)"
            if sent is not None
            else "a reset cannot be verified; the wave's gate checks where the phones register (R13)"
        )
        return VerifyResult(
            address=change.address,
            complies=True,
            method="none",
            detail=detail,
            observed=freeze({"reset": sent}),
        )
