"""The provider contract: ``apply``, ``verify``, ``close`` and their typed results.

The core owns the contract; every module under ``providers/`` implements it, and only the wiring
(``reconciler.wiring.registry``) hands concrete providers to the executor. The read side is not here:
``plan``, ``drift`` and the stale-plan check read through ``reconciler.live.protocol.LiveEstate`` and
build the changes themselves, and "already in sync" is decided by ``reconciler.insync`` alone
(docs/architecture.md, "The provider contract"). A provider is an applier: it handles the address kinds
in ``kinds`` for one endpoint and takes the plan's values as they are (docs/plan-format.md); its
transports (an HTTP session, an SSH client, a DHCP query function) are injected at construction so tests
can hand it real lab servers or small fakes.

The verbs:

- ``apply(change) -> ApplyResult`` — perform exactly that one change. **Idempotent on retry**: if the
  system already holds ``change.after`` (``reconciler.insync.in_sync``) it makes no mutating call and
  returns ``changed=False``.
- ``verify(change) -> VerifyResult`` — re-read (and where possible probe, e.g. a real DHCP query) and
  compare with ``change.after``: complies, or the mismatched fields. Never mutates.
- ``close()`` — release sessions; providers are context managers (``ProviderBase`` supplies that).

Optional, for kinds where one round trip per address is the cost (``BatchProvider``): ``apply_batch`` and
``verify_batch`` take several changes of one endpoint and one wave at once (option 150: one IOS
configuration session and one ``write memory``, one Kea ``config-set``). They keep the single verbs'
promises per change (idempotent, one result per change in order, verify never mutates) and one more:
**all or nothing** — when the batch fails, every value the batch changed is restored before the error
is raised, and the error says whether that worked. The executor (``reconciler.apply.executor``) hands a
batch the ready steps of one ``(provider, endpoint, wave, kind)``; journal, state and outcomes stay per
step (docs/architecture.md, "Batched steps").

Error mapping rule (the executor's retry policy depends on it). Every foreign exception is
translated at the boundary into ``reconciler.errors`` and re-raised ``from`` the original:

- ``TemporaryError`` (retried with backoff, honour ``delay``): HTTP 503 throttle, read/connect timeouts,
  a DHCP query without answer, a dropped SSH session, RisPort70 allowance exhausted;
  ``UnreachableError`` (a ``TemporaryError``) for refused/reset connections.
- ``PermanentError`` (stop and report): ``AuthenticationError`` (401, SSH auth), ``TlsVerificationError``
  (CA/pin mismatch, hint names ``ca_bundle``/``pin_sha256``), ``HostKeyError``, ``RemoteFaultError`` (AXL
  fault, Kea ``result != 0``, CLI error text, REST 4xx), ``VerificationError`` (the step ran but the
  system is not as desired — the provider restores what it can first and says so in the message).

Every error carries ``endpoint`` (a node name, never a credential) and, where one exists, a ``hint``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, ClassVar, Protocol, Self, runtime_checkable

from reconciler.diagnostics import Diagnostic
from reconciler.model import Address, Change, FrozenMap, Value, freeze, thaw

__all__ = [
    "ApplyResult",
    "BatchProvider",
    "FieldMismatch",
    "Provider",
    "ProviderBase",
    "VerifyResult",
    "compare_values",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldMismatch:
    """One field that differs: ``field`` is a dotted path inside the value (``""`` = the whole value)."""

    field: str
    expected: Value
    actual: Value

    def __post_init__(self) -> None:
        object.__setattr__(self, "expected", freeze(self.expected))
        object.__setattr__(self, "actual", freeze(self.actual))

    def to_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {"field": self.field, "expected": thaw(self.expected), "actual": thaw(self.actual)}


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplyResult:
    """What ``apply`` did: ``changed`` is False when the system already complied (idempotent retry);
    ``observed`` is the value read back after the change."""

    change: Change
    changed: bool
    observed: Value = None
    diagnostics: tuple[Diagnostic, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "observed", freeze(self.observed))


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyResult:
    """``complies`` or the ``mismatched`` fields; ``method`` says how it was checked (``read-back``,
    ``dhcp-query``, ...) and ``detail`` is one human line."""

    address: Address
    complies: bool
    mismatched: tuple[FieldMismatch, ...] = ()
    method: str = "read-back"
    detail: str = ""
    observed: Value = None
    extra: Mapping[str, Any] = field(default_factory=FrozenMap)

    def __post_init__(self) -> None:
        object.__setattr__(self, "observed", freeze(self.observed))
        if self.complies and self.mismatched:
            raise ValueError("a complying VerifyResult cannot list mismatched fields")


def compare_values(expected: Value, actual: Value, *, path: str = "") -> tuple[FieldMismatch, ...]:
    """Field-level differences between two frozen values (recursing into objects, not into lists:
    a list is one field because order matters, e.g. option 150)."""
    if isinstance(expected, FrozenMap) and isinstance(actual, FrozenMap):
        out: list[FieldMismatch] = []
        for key in sorted(set(expected) | set(actual)):
            sub = f"{path}.{key}" if path else key
            out.extend(compare_values(expected.get(key), actual.get(key), path=sub))
        return tuple(out)
    if expected == actual:
        return ()
    return (FieldMismatch(field=path, expected=expected, actual=actual),)


@runtime_checkable
class Provider(Protocol):
    """The one contract every provider implements (see the module docstring for the rules)."""

    kinds: ClassVar[frozenset[str]]
    """Address kinds this provider handles, e.g. ``frozenset({"option150"})``."""

    @property
    def endpoint(self) -> str:
        """The system this instance talks to (for messages and per-endpoint concurrency limits)."""
        ...

    def apply(self, change: Change) -> ApplyResult: ...

    def verify(self, change: Change) -> VerifyResult: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


@runtime_checkable
class BatchProvider(Protocol):
    """A provider that can also apply and verify several changes in one go (module docstring)."""

    batch_kinds: ClassVar[frozenset[str]]
    """Address kinds ``apply_batch`` accepts (a subset of ``kinds``)."""

    def apply_batch(self, changes: Sequence[Change]) -> tuple[ApplyResult, ...]: ...

    def verify_batch(self, changes: Sequence[Change]) -> tuple[VerifyResult, ...]: ...


class ProviderBase:
    """Optional base: context-manager plumbing and an ``accepts`` check. Subclasses set ``kinds`` and
    implement the verbs; ``close`` defaults to nothing."""

    kinds: ClassVar[frozenset[str]] = frozenset()

    def accepts(self, address: Address) -> bool:
        """True when ``address.kind`` is one of ``kinds``."""
        return address.kind in self.kinds

    def close(self) -> None:
        """Release sessions (override when there are any)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
