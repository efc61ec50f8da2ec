"""Pure data of the engine: ``Address``, ``Action``, ``Change``, ``Outcome`` and frozen JSON values.

Who uses it: the provider contract (``reconciler.provider``) and every provider speak in these types; the
planner builds ``Change`` lists from them, the executor records ``Outcome`` values, and saved plans,
state and journals store them through ``to_dict``/``from_dict`` (plain JSON, stable keys). Nothing here
talks to a system, prints, or imports anything of ours but the kernel.

Values (``Change.before``/``after``, ``Outcome.observed``) are JSON-shaped and deep-frozen on the way
in: lists become tuples and objects become ``FrozenMap`` so that a frozen ``Change`` is really
immutable and hashable; ``thaw`` turns them back into plain ``list``/``dict`` for JSON.

The saved-plan document built from these (``Plan``, ``PlanStep``, ...) is in ``reconciler.plan.document``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeAlias

__all__ = [
    "Action",
    "Address",
    "Change",
    "FrozenMap",
    "Outcome",
    "OutcomeStatus",
    "Value",
    "freeze",
    "thaw",
]

Value: TypeAlias = "bool | int | float | str | tuple[Value, ...] | FrozenMap | None"
"""A frozen JSON value (what ``freeze`` returns)."""


class FrozenMap(Mapping[str, Any]):
    """An immutable, hashable ``str``-keyed mapping (the frozen form of a JSON object)."""

    __slots__ = ("_data", "_hash")

    def __init__(self, items: Mapping[str, Any] | None = None) -> None:
        self._data: dict[str, Any] = dict(items or {})
        self._hash: int | None = None

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self._data.items()))
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self._data) == dict(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"FrozenMap({self._data!r})"

    def __reduce__(self) -> tuple[type[FrozenMap], tuple[dict[str, Any]]]:
        return (FrozenMap, (self._data,))


def freeze(value: object) -> Value:
    """Deep-freeze a JSON-shaped value; raises ``TypeError`` for anything JSON cannot hold."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    if isinstance(value, Mapping):
        out: dict[str, Value] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys must be strings, got {key!r}")
            out[key] = freeze(item)
        return FrozenMap(out)
    raise TypeError(f"{type(value).__name__} is not a JSON value: {value!r}")


def thaw(value: Value) -> Any:
    """The plain-JSON form of a frozen value (tuples → lists, ``FrozenMap`` → dict)."""
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    if isinstance(value, FrozenMap):
        return {k: thaw(v) for k, v in value.items()}
    return value


@dataclass(frozen=True, slots=True, order=True)
class Address:
    """A dotted resource address, e.g. ``option150.lab-ios.scope-a`` or ``trust.old.CallManager-trust.X``.

    The first part is the kind. Known kinds have a fixed number of parts (``ARITY``); for them the last
    part may itself contain dots (``param.old.Prepare Cluster for Rollback to pre 8.0``). Other kinds are
    split at every dot, so none of their parts may contain one. ``str(Address.parse(s)) == s`` always.
    """

    parts: tuple[str, ...]

    ARITY: ClassVar[Mapping[str, int]] = {
        "trust": 4,  # trust.<cluster>.<store>.<cert-id>
        "tvs": 3,  # tvs.<cluster>.<node>
        "param": 3,  # param.<cluster>.<name>
        "bulk": 3,  # bulk.<cluster>.<step>
        "option150": 3,  # option150.<dhcp-server>.<scope>
        "reset": 2,  # reset.<wave>
        "gate": 2,  # gate.<wave>
        "restore": 3,  # restore.<dhcp-server>.<scope>: option 150 back, when the wave's gate failed (R13)
        "revert-reset": 2,  # revert-reset.<wave>: its phones not on the target reset back to the source
        "revert-gate": 2,  # revert-gate.<wave>: those phones Registered on the source again
        "replication": 3,  # replication.<cluster>.<node>: R7 check before that node's TVS restart
        "window": 2,  # window.<wave>: wait until the wave's maintenance window holds its budget (R13)
    }

    def __post_init__(self) -> None:
        parts = self.parts
        if len(parts) < 2 or any(not p or p != p.strip() for p in parts):
            raise ValueError(f"address {'.'.join(parts)!r} needs a kind and non-empty parts")
        arity = self.ARITY.get(parts[0])
        if arity is not None and len(parts) != arity:
            raise ValueError(f"a {parts[0]} address has {arity} parts, got {'.'.join(parts)!r}")
        dotted = parts[:-1] if arity is not None else parts
        if any("." in p for p in dotted):
            raise ValueError(f"only the last part of an address may contain a dot: {parts!r}")

    @classmethod
    def of(cls, kind: str, *parts: str) -> Address:
        """``Address.of("tvs", "old", "cucm-old-sub1")``."""
        return cls((kind, *parts))

    @classmethod
    def parse(cls, text: str) -> Address:
        """Parse the dotted form; raises ``ValueError`` with the expected shape on a bad address."""
        kind = text.split(".", 1)[0]
        arity = cls.ARITY.get(kind)
        parts = text.split(".", arity - 1) if arity is not None else text.split(".")
        return cls(tuple(parts))

    @property
    def kind(self) -> str:
        """The resource kind (first part): ``trust``, ``tvs``, ``option150``, ..."""
        return self.parts[0]

    @property
    def name(self) -> str:
        """The last part (certificate id, node, parameter name, scope, wave)."""
        return self.parts[-1]

    def __str__(self) -> str:
        return ".".join(self.parts)


class Action(enum.StrEnum):
    """What a change does; the value is the display symbol (Terraform style)."""

    CREATE = "+"
    UPDATE = "~"
    DELETE = "-"
    REPLACE = "±"
    RUN = "run"  # an action resource (reset, gate, TVS restart): always performed, never "in sync"
    NOOP = "no-op"

    @property
    def symbol(self) -> str:
        """The display symbol (same as the value)."""
        return self.value

    @property
    def verb(self) -> str:
        """Lower-case word for humans and JSON (``create``, ``update``, ...)."""
        return self.name.lower().replace("noop", "no-op")

    @property
    def mutates(self) -> bool:
        """True unless the change is a no-op."""
        return self is not Action.NOOP


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """One planned change of one address. ``before``/``after`` are frozen JSON values (``None`` =
    absent); ``reason`` is the human explanation; ``rule`` a procedure rule id (``"R12"``) or ``None``."""

    address: Address
    action: Action
    before: Value = None
    after: Value = None
    reason: str = ""
    rule: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "before", freeze(self.before))
        object.__setattr__(self, "after", freeze(self.after))

    def changed_fields(self) -> tuple[str, ...]:
        """Top-level keys whose values differ when both sides are objects; else ``()``."""
        if not isinstance(self.before, FrozenMap) or not isinstance(self.after, FrozenMap):
            return ()
        keys = sorted(set(self.before) | set(self.after))
        return tuple(k for k in keys if self.before.get(k) != self.after.get(k))

    def to_dict(self) -> dict[str, Any]:
        """Stable JSON shape (saved plans, journal)."""
        return {
            "address": str(self.address),
            "action": self.action.value,
            "before": thaw(self.before),
            "after": thaw(self.after),
            "reason": self.reason,
            "rule": self.rule,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Change:
        """Inverse of ``to_dict``; raises ``ValueError``/``KeyError`` on a malformed document."""
        return cls(
            address=Address.parse(data["address"]),
            action=Action(data["action"]),
            before=freeze(data.get("before")),
            after=freeze(data.get("after")),
            reason=str(data.get("reason", "")),
            rule=data.get("rule"),
        )


class OutcomeStatus(enum.StrEnum):
    """How executing one change ended."""

    APPLIED = "applied"  # the system was changed and verified
    UNCHANGED = "unchanged"  # it already complied (idempotent retry, no-op)
    FAILED = "failed"
    SKIPPED = "skipped"  # not run because a dependency failed or a gate stopped the wave


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """The result of executing one ``Change``: status, what was observed afterwards, and on failure the
    error class name and message (never a secret)."""

    address: Address
    status: OutcomeStatus
    observed: Value = None
    detail: str = ""
    error: str | None = None
    attempts: int = 1
    extra: Mapping[str, Any] = field(default_factory=FrozenMap)

    def __post_init__(self) -> None:
        object.__setattr__(self, "observed", freeze(self.observed))
        frozen_extra = freeze(self.extra)
        if not isinstance(frozen_extra, FrozenMap):
            raise TypeError("Outcome.extra must be a mapping")
        object.__setattr__(self, "extra", frozen_extra)

    @property
    def ok(self) -> bool:
        """True for applied or unchanged."""
        return self.status in (OutcomeStatus.APPLIED, OutcomeStatus.UNCHANGED)

    def to_dict(self) -> dict[str, Any]:
        """Stable JSON shape (journal, apply summary)."""
        return {
            "address": str(self.address),
            "status": self.status.value,
            "observed": thaw(self.observed),
            "detail": self.detail,
            "error": self.error,
            "attempts": self.attempts,
            "extra": {k: thaw(v) for k, v in self.extra.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Outcome:
        """Inverse of ``to_dict``."""
        extra = freeze(data.get("extra") or {})
        assert isinstance(extra, FrozenMap)
        return cls(
            address=Address.parse(data["address"]),
            status=OutcomeStatus(data["status"]),
            observed=freeze(data.get("observed")),
            detail=str(data.get("detail", "")),
            error=data.get("error"),
            attempts=int(data.get("attempts", 1)),
            extra=extra,
        )
