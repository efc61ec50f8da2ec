"""Small in-process fakes for the executor tests: a fake two-cluster system and providers over it.

``FakeSystem`` keeps the state a migration changes — trust stores of the source cluster, TVS status and
start "times" (a logical clock), option 150 per scope, phones and where they are registered — and can
persist itself to a JSON file so that a SIGKILLed subprocess and the resuming test see one system.
The phone rule mirrors the procedure: a reset phone registers on the target only if its scope's option
150 points at the target (R12), both stores hold the target certificate (R5) and every source TVS
started after the last trust change (R8); otherwise it stays on the source with a reason.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from reconciler.apply.gates import GateHandler, GateSpec
from reconciler.apply.retry import FakeClock
from reconciler.apply.risport import Registration, RisPacer
from reconciler.errors import PermanentError, TemporaryError
from reconciler.model import Action, Address, Change, thaw
from reconciler.plan.document import Plan, PlanStep
from reconciler.provider import ApplyResult, ProviderBase, VerifyResult, compare_values

CERT = "new-pub"
STORES = ("CallManager-trust", "Phone-SAST-trust")
TVS_NODES = ("pub", "sub1", "sub2")
TARGET_TFTP = ["127.0.0.21", "127.0.0.22"]
SOURCE_TFTP = ["127.0.0.11"]
TARGET_NODES = frozenset({"new-sub1", "new-sub2"})
SOURCE_NODES = frozenset({"old-sub1"})
WAVES = {"wave1": ("a",), "wave2": ("b", "c")}
PHONES = {
    "a": ("SEP000000000001", "SEP000000000002", "SEP000000000003", "SEP000000000004"),
    "b": ("SEP000000000005", "SEP000000000006"),
    "c": ("SEP000000000007", "SEP000000000008"),
}


class FakeSystem:
    """The fake estate (thread-safe). ``fail`` injects errors: address → list of exceptions to raise."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.lock = threading.RLock()
        self.data: dict[str, Any] = {
            "tick": 0,
            "trust": {store: [] for store in STORES},
            "trust_changed": 0,
            "tvs": {n: {"status": "Started", "started": 0, "polls_left": 0} for n in TVS_NODES},
            "option150": {scope: list(SOURCE_TFTP) for scope in ("a", "b", "c")},
            "phones": {
                p: {"status": "Registered", "node": "old-sub1", "reason": ""}
                for ps in PHONES.values()
                for p in ps
            },
        }
        self.bad_phones: set[str] = set()
        self.fail: dict[str, list[BaseException]] = {}
        self.calls: list[tuple[str, str]] = []  # (verb, address)
        self.tvs_active: set[str] = set()
        self.tvs_max_active = 0
        self.tvs_restart_log: list[tuple[str, tuple[str, ...]]] = []  # node, nodes still Starting then
        if path is not None and path.exists():
            self.data = json.loads(path.read_text())

    # --- persistence and comparison --------------------------------------------------------------
    def save(self) -> None:
        if self.path is not None:
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.data))
            tmp.replace(self.path)

    def end_state(self) -> dict[str, Any]:
        """What a migration is judged by (restart counts and ticks excluded)."""
        d = self.data
        return {
            "trust": {s: sorted(v) for s, v in d["trust"].items()},
            "tvs_fresh": {
                n: t["status"] == "Started" and t["started"] > d["trust_changed"] for n, t in d["tvs"].items()
            },
            "option150": d["option150"],
            "phones": d["phones"],
        }

    def tick(self) -> int:
        self.data["tick"] += 1
        return int(self.data["tick"])

    def maybe_fail(self, verb: str, address: Address) -> None:
        self.calls.append((verb, str(address)))
        queue = self.fail.get(f"{verb}:{address}")
        if queue:
            raise queue.pop(0)

    # --- the phone rule ---------------------------------------------------------------------------
    def trust_ready(self) -> bool:
        d = self.data
        stores = all(CERT in d["trust"][s] for s in STORES)
        fresh = all(t["status"] == "Started" and t["started"] > d["trust_changed"] for t in d["tvs"].values())
        return stores and fresh

    def reset_wave(self, wave: str, *, keep_moved: bool = False) -> None:
        for scope in WAVES[wave]:
            for phone in PHONES[scope]:
                if keep_moved and self.data["phones"][phone]["node"] in TARGET_NODES:
                    continue  # a revert resets only the phones not Registered on the target
                if self.data["option150"][scope] != TARGET_TFTP:
                    entry = {"status": "Registered", "node": "old-sub1", "reason": ""}
                elif phone in self.bad_phones:
                    entry = {"status": "UnRegistered", "node": None, "reason": "CTL signer not trusted (R1)"}
                elif not self.trust_ready():
                    entry = {"status": "Registered", "node": "old-sub1", "reason": "TVS could not vouch (R8)"}
                else:
                    entry = {"status": "Registered", "node": "new-sub1", "reason": ""}
                self.data["phones"][phone] = entry


class _Base(ProviderBase):
    def __init__(self, system: FakeSystem, endpoint: str = "old") -> None:
        self.system = system
        self._endpoint = endpoint

    @property
    def endpoint(self) -> str:
        return self._endpoint

    def _current(self, address: Address) -> Any:
        raise NotImplementedError

    def verify(self, change: Change) -> VerifyResult:
        with self.system.lock:
            self.system.maybe_fail("verify", change.address)
            current = self._current(change.address)
        mismatched = compare_values(change.after, _freeze(current))
        return VerifyResult(
            address=change.address, complies=not mismatched, mismatched=mismatched, observed=_freeze(current)
        )


def _freeze(value: Any) -> Any:
    from reconciler.model import freeze

    return freeze(value)


class FakeTrust(_Base):
    kinds: ClassVar[frozenset[str]] = frozenset({"trust"})
    on_apply: Callable[[Address], None] | None = None

    def _current(self, address: Address) -> Any:
        store = self.system.data["trust"][address.parts[2]]
        return {"sha256": "ab" * 32} if address.name in store else None

    def apply(self, change: Change) -> ApplyResult:
        if self.on_apply is not None:
            self.on_apply(change.address)
        with self.system.lock:
            self.system.maybe_fail("apply", change.address)
            store = self.system.data["trust"][change.address.parts[2]]
            want = change.after is not None
            changed = (change.address.name in store) != want
            if changed:
                if want:
                    store.append(change.address.name)
                else:
                    store.remove(change.address.name)
                self.system.data["trust_changed"] = self.system.tick()
                self.system.save()
            return ApplyResult(
                change=change, changed=changed, observed=_freeze(self._current(change.address))
            )


class FakeTvs(_Base):
    """Restart takes ``polls`` verifies to reach Started; records how many restarts overlap (R8)."""

    kinds: ClassVar[frozenset[str]] = frozenset({"tvs"})
    polls = 2

    def _current(self, address: Address) -> Any:
        t = self.system.data["tvs"][address.name]
        return {"status": t["status"], "fresh": t["started"] > self.system.data["trust_changed"]}

    def apply(self, change: Change) -> ApplyResult:
        node = change.address.name
        with self.system.lock:
            self.system.maybe_fail("apply", change.address)
            t = self.system.data["tvs"][node]
            if t["status"] == "Started" and t["started"] > self.system.data["trust_changed"]:
                return ApplyResult(
                    change=change, changed=False, observed=_freeze(self._current(change.address))
                )
            self.system.tvs_restart_log.append((node, tuple(sorted(self.system.tvs_active))))
            self.system.tvs_active.add(node)
            self.system.tvs_max_active = max(self.system.tvs_max_active, len(self.system.tvs_active))
            t.update(status="Starting", started=self.system.tick(), polls_left=self.polls)
            self.system.save()
            return ApplyResult(change=change, changed=True, observed=_freeze(self._current(change.address)))

    def verify(self, change: Change) -> VerifyResult:
        node = change.address.name
        with self.system.lock:
            t = self.system.data["tvs"][node]
            if t["status"] == "Starting":
                t["polls_left"] -= 1
                if t["polls_left"] <= 0:
                    t["status"] = "Started"
                    self.system.tvs_active.discard(node)
                self.system.save()
        return super().verify(change)


class FakeOption150(_Base):
    kinds: ClassVar[frozenset[str]] = frozenset({"option150", "restore"})

    def _current(self, address: Address) -> Any:
        return self.system.data["option150"][address.name]

    def apply(self, change: Change) -> ApplyResult:
        with self.system.lock:
            self.system.maybe_fail("apply", change.address)
            want = thaw(change.after)
            changed = self.system.data["option150"][change.address.name] != want
            if changed:
                self.system.data["option150"][change.address.name] = want
                self.system.tick()
                self.system.save()
            return ApplyResult(change=change, changed=changed, observed=change.after)


class FakeReset(_Base):
    kinds: ClassVar[frozenset[str]] = frozenset({"reset", "revert-reset"})

    def _current(self, address: Address) -> Any:
        return None

    def apply(self, change: Change) -> ApplyResult:
        with self.system.lock:
            self.system.maybe_fail("apply", change.address)
            if change.address.kind == "revert-reset":
                self.system.reset_wave(change.address.name, keep_moved=True)
            else:
                self.system.reset_wave(change.address.name)
            self.system.tick()
            self.system.save()
        return ApplyResult(change=change, changed=True)

    def verify(self, change: Change) -> VerifyResult:
        return VerifyResult(address=change.address, complies=True, method="none")


@dataclass
class FakeReader:
    system: FakeSystem
    queries: int = 0
    fail: list[BaseException] | None = None

    def registrations(self, devices: Sequence[str]) -> Mapping[str, Registration]:
        self.queries += 1
        if self.fail:
            raise self.fail.pop(0)
        with self.system.lock:
            phones = self.system.data["phones"]
            return {
                d: Registration(
                    device=d, status=phones[d]["status"], node=phones[d]["node"], reason=phones[d]["reason"]
                )
                for d in devices
                if d in phones
            }


def gate_specs(
    *, share: float = 1.0, deadline: float = 120.0, forecast: Mapping[str, str] | None = None
) -> dict[str, GateSpec]:
    return {
        wave: GateSpec(
            wave=wave,
            phones=tuple(p for s in scopes for p in PHONES[s]),
            min_share=share,
            deadline=deadline,
            target_nodes=TARGET_NODES,
            forecast=dict(forecast or {}),
            source_nodes=SOURCE_NODES,
        )
        for wave, scopes in WAVES.items()
    }


def registry(
    system: FakeSystem,
    *,
    clock: FakeClock,
    share: float = 1.0,
    deadline: float = 120.0,
    forecast: Mapping[str, str] | None = None,
    watch: Callable[[str], str | None] | None = None,
) -> dict[str | tuple[str, str], Any]:
    reader = FakeReader(system)
    gate = GateHandler(
        specs=gate_specs(share=share, deadline=deadline, forecast=forecast),
        reader=reader,
        pacer=RisPacer(per_minute=15, clock=clock),
        clock=clock,
        poll_interval=10.0,
        source_reader=FakeReader(system),
        watch=watch,
    )
    return {
        "cucm_certs": FakeTrust(system),
        "cucm_serviceability": FakeTvs(system),
        "dhcp_ios": FakeOption150(system, "lab-ios"),
        "cucm_axl": FakeReset(system),
        "ris": gate,
    }


def migration_plan(
    *,
    serial: int = 0,
    lineage: str | None = None,
    waves: Sequence[str] = ("wave1", "wave2"),
    plan_id: str = "plan-test",
    on_failure: str | None = None,
) -> Plan:
    """The plan the planner would make for ``FakeSystem``: trust → rolling TVS → waves (R4–R13)."""
    steps: list[PlanStep] = []
    trust = [Address.of("trust", "old", store, CERT) for store in STORES]
    for a in trust:
        steps.append(
            PlanStep(
                change=Change(address=a, action=Action.CREATE, after={"sha256": "ab" * 32}, rule="R5"),
                provider="cucm_certs",
                endpoint="old",
            )
        )
    prev: tuple[Address, ...] = tuple(trust)
    for node in TVS_NODES:
        a = Address.of("tvs", "old", node)
        steps.append(
            PlanStep(
                change=Change(
                    address=a, action=Action.RUN, after={"status": "Started", "fresh": True}, rule="R8"
                ),
                provider="cucm_serviceability",
                endpoint="old",
                depends_on=prev,
            )
        )
        prev = (a,)
    for wave in waves:
        opts = []
        for scope in WAVES[wave]:
            a = Address.of("option150", "lab-ios", scope)
            steps.append(
                PlanStep(
                    change=Change(
                        address=a, action=Action.UPDATE, before=SOURCE_TFTP, after=TARGET_TFTP, rule="R12"
                    ),
                    provider="dhcp_ios",
                    endpoint="lab-ios",
                    wave=wave,
                    depends_on=prev,
                )
            )
            opts.append(a)
        reset = Address.of("reset", wave)
        steps.append(
            PlanStep(
                change=Change(address=reset, action=Action.RUN, rule="R12"),
                provider="cucm_axl",
                endpoint="old",
                wave=wave,
                depends_on=tuple(opts),
            )
        )
        gate = Address.of("gate", wave)
        steps.append(
            PlanStep(
                change=Change(
                    address=gate,
                    action=Action.RUN,
                    after={
                        "min_registered_share": 1.0,
                        "deadline_seconds": 120,
                        **({"on_failure": on_failure} if on_failure else {}),
                    },
                    rule="R13",
                ),
                provider="ris",
                endpoint="new",
                wave=wave,
                depends_on=(reset,),
            )
        )
        if on_failure == "revert":
            steps.extend(_revert_steps(wave, gate, opts))
        prev = (gate,)
    return Plan(
        plan_id=plan_id,
        created_at="2026-11-27T07:00:00Z",
        desired_path="lab.yaml",
        desired_sha256="0" * 64,
        state_lineage=lineage,
        state_serial=serial,
        steps=tuple(steps),
    )


def _revert_steps(wave: str, gate: Address, opts: Sequence[Address]) -> list[PlanStep]:
    """What the planner adds for ``on_failure: revert``: restores, the reset back, the gate on the source."""
    steps = [
        PlanStep(
            change=Change(
                address=Address.of("restore", "lab-ios", a.name),
                action=Action.UPDATE,
                before=TARGET_TFTP,
                after=SOURCE_TFTP,
                rule="R13",
            ),
            provider="dhcp_ios",
            endpoint="lab-ios",
            wave=wave,
            depends_on=(gate,),
            contingent_on=gate,
        )
        for a in opts
    ]
    back = Address.of("revert-reset", wave)
    steps.append(
        PlanStep(
            change=Change(address=back, action=Action.RUN, rule="R12"),
            provider="cucm_axl",
            endpoint="old",
            wave=wave,
            depends_on=tuple(s.address for s in steps),
            contingent_on=gate,
        )
    )
    steps.append(
        PlanStep(
            change=Change(address=Address.of("revert-gate", wave), action=Action.RUN, rule="R13"),
            provider="ris",
            endpoint="old",
            wave=wave,
            depends_on=(back,),
            contingent_on=gate,
        )
    )
    return steps


class Crash(BaseException):
    """Simulates the process dying at a point (not an ``Exception``: nothing may catch it)."""


def raise_temporary(message: str = "HTTP 503", delay: float | None = None) -> TemporaryError:
    return TemporaryError(message, endpoint="old", delay=delay)


def raise_permanent(message: str = "AXL fault") -> PermanentError:
    return PermanentError(message, endpoint="old", hint="fix the thing")


class CrashingProvider:
    """Wraps a provider; raises ``Crash`` (or SIGKILLs the process) at ``address`` after ``verb`` ran."""

    def __init__(self, inner: Any, *, address: str, verb: str, kill: bool = False) -> None:
        self._inner = inner
        self._address = address
        self._verb = verb
        self._kill = kill

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _after(self, verb: str, change: Change) -> None:
        if verb == self._verb and str(change.address) == self._address:
            if self._kill:
                import os
                import signal

                os.kill(os.getpid(), signal.SIGKILL)
            raise Crash(f"crash after {verb} of {change.address}")

    def apply(self, change: Change) -> ApplyResult:
        result = self._inner.apply(change)
        self._after("apply", change)
        return result

    def verify(self, change: Change) -> VerifyResult:
        result = self._inner.verify(change)
        self._after("verify", change)
        return result


def killed_run(state_dir: str, system_path: str, address: str, verb: str) -> None:
    """Subprocess body: apply the test plan and SIGKILL this process right after ``verb`` of ``address``."""
    from reconciler.apply.executor import ApplyOptions, Executor
    from reconciler.state.store import StateStore

    system = FakeSystem(Path(system_path))
    clock = FakeClock()
    reg = registry(system, clock=clock)
    plan = migration_plan()
    kind = next(s.provider for s in plan.steps if str(s.address) == address)
    reg[kind] = CrashingProvider(reg[kind], address=address, verb=verb, kill=True)
    Executor(
        registry=reg, store=StateStore(Path(state_dir)), options=ApplyOptions(parallelism=2), clock=clock
    ).apply(plan)
