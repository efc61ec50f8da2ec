"""The saved-plan document: ``Plan``, ``PlanStep``, ``PlanEdge``, ``WaveForecast``, ``StrandedGroup``,
``PlanSummary``.

``Plan`` is what ``reconciler plan -o`` saves and ``apply PLAN`` executes; its JSON shape is documented
in docs/plan-format.md and is the ``plan --json`` document. Built by ``reconciler.plan.planner``; executed by
``reconciler.apply.executor``; checked for staleness by ``reconciler.plan.fingerprint.check_fresh``. Pure
data over the types of ``reconciler.model``; imports nothing else of ours but the kernel and the canary
expansion's record (``reconciler.plan.canary.CanaryPlan``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.diagnostics import Diagnostic, Severity, SourcePosition
from reconciler.errors import PlanError
from reconciler.model import Action, Address, Change, FrozenMap
from reconciler.plan.canary import CanaryPlan

__all__ = [
    "PLAN_FORMAT_VERSION",
    "Plan",
    "PlanEdge",
    "PlanStep",
    "PlanSummary",
    "Reversibility",
    "StrandedGroup",
    "UnknownGroup",
    "WaveForecast",
    "diagnostic_from_dict",
]


PLAN_FORMAT_VERSION = 1
"""Bumped on any incompatible change of the plan document (docs/plan-format.md)."""


def diagnostic_from_dict(data: Mapping[str, Any]) -> Diagnostic:
    """Inverse of ``Diagnostic.as_dict`` (saved plans, drift reports)."""
    pos = data.get("position")
    return Diagnostic(
        severity=Severity(data["severity"]),
        summary=str(data["summary"]),
        rule=data.get("rule"),
        detail=data.get("detail"),
        address=data.get("address"),
        position=None if not pos else SourcePosition(str(pos["file"]), int(pos["line"]), int(pos["column"])),
        fix=data.get("fix"),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Reversibility:
    """Whether a planned change can be undone: ``one_way`` False with ``how`` it is undone (by the
    wave's revert, by running the reverse change), or True with ``how`` saying what is lost (a
    certificate phones rely on, a ``mode: exact`` deletion). ``apply`` asks a separate confirmation
    before a one-way step (``--approve-one-way``)."""

    one_way: bool
    how: str

    @property
    def label(self) -> str:
        return "one-way" if self.one_way else "reversible"

    def __str__(self) -> str:
        return f"{self.label}: {self.how}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.label, "how": self.how}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Reversibility:
        kind = str(data["kind"])
        if kind not in ("one-way", "reversible"):
            raise ValueError(f"reversibility kind {kind!r} is neither 'reversible' nor 'one-way'")
        return cls(one_way=kind == "one-way", how=str(data.get("how", "")))


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanStep:
    """One step of a plan, in execution order: the ``change``, the provider ``kind`` that performs it
    (``cucm_certs``, ``cucm_serviceability``, ``cucm_axl``, ``ris``, ``dhcp_ios``, ...), the ``endpoint``
    key (a cluster/node or DHCP server name: the unit of per-endpoint concurrency), the wave it belongs
    to (``None`` for trust work) and the addresses it waits for (graph edges, rule-given or declared).

    ``contingent_on`` names a gate: the step runs only when that gate fails (a wave's revert, R13), and
    is otherwise "not needed". ``reversibility`` says whether and how the change can be undone."""

    change: Change
    provider: str
    endpoint: str
    wave: str | None = None
    depends_on: tuple[Address, ...] = ()
    contingent_on: Address | None = None
    reversibility: Reversibility | None = None

    @property
    def address(self) -> Address:
        return self.change.address

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.change.to_dict(),
            "provider": self.provider,
            "endpoint": self.endpoint,
            "wave": self.wave,
            "depends_on": [str(a) for a in self.depends_on],
            "contingent_on": None if self.contingent_on is None else str(self.contingent_on),
            "reversibility": None if self.reversibility is None else self.reversibility.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlanStep:
        contingent = data.get("contingent_on")
        reversibility = data.get("reversibility")
        return cls(
            change=Change.from_dict(data),
            provider=str(data["provider"]),
            endpoint=str(data["endpoint"]),
            wave=data.get("wave"),
            depends_on=tuple(Address.parse(a) for a in data.get("depends_on", ())),
            contingent_on=None if contingent is None else Address.parse(str(contingent)),
            reversibility=None if reversibility is None else Reversibility.from_dict(reversibility),
        )

    @property
    def one_way(self) -> bool:
        """True when the plan marks this change one-way (apply asks a separate confirmation)."""
        return self.reversibility is not None and self.reversibility.one_way


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanEdge:
    """One edge of the plan's dependency graph: ``before`` completes before ``after`` starts because of
    ``rule`` (``R7``, ``R13``, ``depends_on`` for the user's declaration), said in ``reason``. The
    steps' ``depends_on`` lists are the same edges without their why; reports draw the graph from these."""

    before: str
    after: str
    rule: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"before": self.before, "after": self.after, "rule": self.rule, "reason": self.reason}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlanEdge:
        return cls(
            before=str(data["before"]),
            after=str(data["after"]),
            rule=str(data["rule"]),
            reason=str(data.get("reason", "")),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class StrandedGroup:
    """Phones of one wave that the forecast says will not move, for one reason (``rule`` names the
    procedure rule the trust decision points at); ``examples`` are a few device names."""

    rule: str | None
    reason: str
    phones: int
    examples: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "reason": self.reason,
            "phones": self.phones,
            "examples": list(self.examples),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StrandedGroup:
        return cls(
            rule=data.get("rule"),
            reason=str(data["reason"]),
            phones=int(data["phones"]),
            examples=tuple(str(e) for e in data.get("examples", ())),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class UnknownGroup:
    """Phones of one wave whose outcome the forecast cannot decide: ``missing`` says which input could
    not be known (an unreadable TFTP file, a TVS of unknown freshness, whether a blanked ITL was fetched).
    Unknown is neither "moves" nor "stranded"."""

    missing: str
    phones: int
    examples: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"missing": self.missing, "phones": self.phones, "examples": list(self.examples)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> UnknownGroup:
        return cls(
            missing=str(data["missing"]),
            phones=int(data["phones"]),
            examples=tuple(str(e) for e in data.get("examples", ())),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class WaveForecast:
    """The forecast of one wave on the planned end state: ``phones`` in its scopes, ``already`` on the
    target, ``move`` that will accept the target's files, ``stranded`` groups with rule and reason,
    ``unknown`` groups with what is missing (every phone still to move is in exactly one of move,
    stranded, unknown), how many distinct trust combinations were decided (``decisions``), and ``notes``
    where the procedure (R4/R5) and the trust model disagree, or what the forecast assumed."""

    wave: str
    scopes: tuple[str, ...]
    phones: int
    already: int
    move: int
    stranded: tuple[StrandedGroup, ...] = ()
    unknown: tuple[UnknownGroup, ...] = ()
    decisions: int = 0
    notes: tuple[str, ...] = ()
    on_failure: str | None = None  # revert | stop | continue (None: a plan without a gate policy)
    window: str | None = None  # the wave's maintenance window, when it has one
    cost: Mapping[str, float] | None = None  # estimated seconds per phase and total (reconciler.plan.cost)
    resets: str | None = None  # how the wave's phones are reset (reconciler.plan.poolreset), said in words

    @property
    def stranded_count(self) -> int:
        return sum(g.phones for g in self.stranded)

    @property
    def unknown_count(self) -> int:
        return sum(g.phones for g in self.unknown)

    @property
    def pending(self) -> int:
        """Phones still to move (not already on the target): move + stranded + unknown."""
        return self.move + self.stranded_count + self.unknown_count

    def to_dict(self) -> dict[str, Any]:
        return {
            "wave": self.wave,
            "scopes": list(self.scopes),
            "phones": self.phones,
            "already_on_target": self.already,
            "move": self.move,
            "stranded": self.stranded_count,
            "stranded_groups": [g.to_dict() for g in self.stranded],
            "unknown": self.unknown_count,
            "unknown_groups": [g.to_dict() for g in self.unknown],
            "decisions": self.decisions,
            "notes": list(self.notes),
            "on_failure": self.on_failure,
            "window": self.window,
            **({"cost": dict(self.cost)} if self.cost is not None else {}),
            **({"resets": self.resets} if self.resets is not None else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WaveForecast:
        return cls(
            wave=str(data["wave"]),
            scopes=tuple(str(s) for s in data.get("scopes", ())),
            phones=int(data["phones"]),
            already=int(data.get("already_on_target", 0)),
            move=int(data["move"]),
            stranded=tuple(StrandedGroup.from_dict(g) for g in data.get("stranded_groups", ())),
            unknown=tuple(UnknownGroup.from_dict(g) for g in data.get("unknown_groups", ())),
            decisions=int(data.get("decisions", 0)),
            notes=tuple(str(n) for n in data.get("notes", ())),
            on_failure=data.get("on_failure"),
            window=data.get("window"),
            cost={str(k): float(v) for k, v in data["cost"].items()} if data.get("cost") else None,
            resets=str(data["resets"]) if data.get("resets") else None,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanSummary:
    """Counts for the summary line (``Plan: N to add, M to change, K to destroy, ...``)."""

    add: int
    change: int
    destroy: int
    run: int
    waves: int
    phones_to_move: int
    stranded: int
    unknown: int = 0
    one_way: int = 0

    def to_dict(self) -> dict[str, int]:
        return {
            "add": self.add,
            "change": self.change,
            "destroy": self.destroy,
            "run": self.run,
            "waves": self.waves,
            "phones_to_move": self.phones_to_move,
            "stranded": self.stranded,
            "unknown": self.unknown,
            "one_way": self.one_way,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """A plan: data only, never steering anything but ``apply`` (docs/architecture.md#plan-apply-state-drift).

    ``steps`` are in execution order (no-ops are not steps); ``drift`` lists what changed outside
    reconciler (live vs the essence last applied, shown separately); ``fingerprint`` maps a fact key
    (``identity.<cluster>.<node>.callmanager``, ``store.<cluster>.<node>.<store>``, ``tvs.<cluster>.<node>``,
    ``param.<cluster>.<name>``, ``option150.<server>.<scope>``) to the sha256 of the live fact the plan
    relied on, so that ``apply`` can refuse a stale plan (R14). ``targets``/``excludes`` record
    ``--target``/``--exclude`` (the plan is then not ``complete``). ``edges`` are the graph's edges
    between the kept steps with their rule ids (empty in plans saved before they were recorded).
    ``rollback``: None for a forward plan; for ``plan --rollback`` the scopes it moves back to the
    source (``apply`` then reverses the desired state the same way, ``reconciler.plan.rollback``).
    ``canary``: None for declared waves; for ``waves: {auto: ...}`` the generated waves (``apply``
    runs exactly those, ``reconciler.plan.canary.with_expansion``).
    """

    plan_id: str
    created_at: str
    desired_path: str
    desired_sha256: str
    state_lineage: str | None
    state_serial: int
    steps: tuple[PlanStep, ...] = ()
    edges: tuple[PlanEdge, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
    drift: tuple[Change, ...] = ()
    forecast: tuple[WaveForecast, ...] = ()
    fingerprint: Mapping[str, str] = field(default_factory=FrozenMap)
    rollback_possible: bool | None = None
    targets: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    rollback: tuple[str, ...] | None = None
    canary: CanaryPlan | None = None
    format_version: int = PLAN_FORMAT_VERSION

    def __post_init__(self) -> None:
        object.__setattr__(self, "fingerprint", FrozenMap(dict(self.fingerprint)))

    # --- derived flags ----------------------------------------------------------------------------
    @property
    def errored(self) -> bool:
        """True when a diagnostic is an error: the plan must not be applied."""
        return any(d.severity is Severity.ERROR for d in self.diagnostics)

    @property
    def has_changes(self) -> bool:
        return any(s.change.action.mutates for s in self.steps if s.contingent_on is None)

    @property
    def one_way_steps(self) -> tuple[PlanStep, ...]:
        """Steps marked one-way (``apply`` asks a separate confirmation before them)."""
        return tuple(s for s in self.steps if s.one_way)

    @property
    def applyable(self) -> bool:
        """Not errored and something to do."""
        return not self.errored and self.has_changes

    @property
    def complete(self) -> bool:
        """False when ``--target``/``--exclude`` left steps out."""
        return not self.targets and not self.excludes

    @property
    def summary(self) -> PlanSummary:
        actions = [s.change.action for s in self.steps if s.contingent_on is None]  # revert: only if needed
        return PlanSummary(
            add=actions.count(Action.CREATE) + actions.count(Action.REPLACE),
            change=actions.count(Action.UPDATE),
            destroy=actions.count(Action.DELETE) + actions.count(Action.REPLACE),
            run=actions.count(Action.RUN),
            waves=len({s.wave for s in self.steps if s.wave is not None}),
            one_way=sum(1 for s in self.steps if s.one_way),
            phones_to_move=sum(f.move for f in self.forecast),
            stranded=sum(f.stranded_count for f in self.forecast),
            unknown=sum(f.unknown_count for f in self.forecast),
        )

    def step(self, address: Address | str) -> PlanStep | None:
        key = str(address)
        return next((s for s in self.steps if str(s.address) == key), None)

    # --- JSON -------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The stable document of docs/plan-format.md (also ``plan --json``)."""
        return {
            "format_version": self.format_version,
            "plan_id": self.plan_id,
            "created_at": self.created_at,
            "desired": {"path": self.desired_path, "sha256": self.desired_sha256},
            "prior_state": {"lineage": self.state_lineage, "serial": self.state_serial},
            "applyable": self.applyable,
            "errored": self.errored,
            "complete": self.complete,
            "rollback_possible": self.rollback_possible,
            "targets": list(self.targets),
            "excludes": list(self.excludes),
            "rollback": None if self.rollback is None else {"scopes": list(self.rollback)},
            "canary": None if self.canary is None else self.canary.to_dict(),
            "summary": self.summary.to_dict(),
            "steps": [s.to_dict() for s in self.steps],
            "edges": [e.to_dict() for e in self.edges],
            "drift": [c.to_dict() for c in self.drift],
            "forecast": [f.to_dict() for f in self.forecast],
            "diagnostics": [d.as_dict() for d in self.diagnostics],
            "fingerprint": {k: self.fingerprint[k] for k in sorted(self.fingerprint)},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Plan:
        """Inverse of ``to_dict``; ``PlanError`` on another format version or a malformed document.
        Derived fields (flags, summary) are recomputed, never trusted from the file."""
        version = data.get("format_version") if isinstance(data, Mapping) else None
        if version != PLAN_FORMAT_VERSION:
            raise PlanError(
                f"plan format version {version!r}; this reconciler reads {PLAN_FORMAT_VERSION}",
                hint="re-run `reconciler plan -o` with this version",
            )
        try:
            desired, prior = data["desired"], data["prior_state"]
            fingerprint = data.get("fingerprint") or {}
            if not all(isinstance(k, str) and isinstance(v, str) for k, v in fingerprint.items()):
                raise TypeError("fingerprint must map strings to strings")
            return cls(
                plan_id=str(data["plan_id"]),
                created_at=str(data["created_at"]),
                desired_path=str(desired["path"]),
                desired_sha256=str(desired["sha256"]),
                state_lineage=prior.get("lineage"),
                state_serial=int(prior.get("serial", 0)),
                steps=tuple(PlanStep.from_dict(s) for s in data.get("steps", ())),
                edges=tuple(PlanEdge.from_dict(e) for e in data.get("edges", ())),
                diagnostics=tuple(diagnostic_from_dict(d) for d in data.get("diagnostics", ())),
                drift=tuple(Change.from_dict(c) for c in data.get("drift", ())),
                forecast=tuple(WaveForecast.from_dict(f) for f in data.get("forecast", ())),
                fingerprint=fingerprint,
                rollback_possible=data.get("rollback_possible"),
                targets=tuple(str(t) for t in data.get("targets", ())),
                excludes=tuple(str(t) for t in data.get("excludes", ())),
                rollback=_rollback_from(data.get("rollback")),
                canary=CanaryPlan.from_dict(data.get("canary")),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise PlanError(
                f"malformed plan document ({exc})", hint="re-create it with `reconciler plan -o`"
            ) from exc

    @classmethod
    def from_json(cls, text: str | bytes) -> Plan:
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: [[[[... nested
            raise PlanError(
                f"plan file is not JSON ({exc})", hint="was it written by `reconciler plan -o`?"
            ) from exc
        if not isinstance(data, dict):
            raise PlanError("plan file is not a JSON object")
        return cls.from_dict(data)


def _rollback_from(value: object) -> tuple[str, ...] | None:
    """``{"scopes": [...]}`` of a rollback plan (``plan --rollback``), or None for a forward plan."""
    if value is None:
        return None
    if not isinstance(value, Mapping) or not isinstance(value.get("scopes"), list):
        raise TypeError('rollback must be null or {"scopes": [...]}')
    return tuple(str(s) for s in value["scopes"])
