"""``Option150Provider``: applies and verifies ``option150.<server>.<scope>`` steps over any
``DhcpBackend`` (Kea, IOS, CUCM DHCP), and ``restore.<server>.<scope>`` steps (the same change back to
the value the plan read, when a wave's gate failed and the wave is reverted, R13).

``reconciler.wiring.registry.build_registry`` makes one per configured DHCP server around the matching
backend, with ``scope_keys``: the YAML's scope name → what the server knows the scope by (its subnet; an
IOS pool or a CUCM DHCP subnet is named differently). It takes the plan's value as it is: the ordered
list of TFTP addresses (the order is the phones' TFTP preference, R12; docs/plan-format.md). The
backends are idempotent (no mutating call when the scope already announces exactly those addresses);
``verify`` reads back and, where the backend can, probes with a real DHCP query. Observed values are
``{"option150": ["10.0.0.1", ...]}`` (``option150_value``).

``apply_batch``/``verify_batch`` (``reconciler.provider.BatchProvider``) hand several scopes of this server
to the backend at once when it is a ``BatchDhcpBackend`` (all or nothing, previous values restored on
failure), else change them one by one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from ipaddress import IPv4Address
from typing import ClassVar

from providers.dhcp.base import BatchDhcpBackend, DhcpBackend, Option150Check
from reconciler.errors import PermanentError, RemoteFaultError
from reconciler.model import Action, Address, Change, Value, freeze
from reconciler.provider import ApplyResult, FieldMismatch, ProviderBase, VerifyResult

__all__ = ["Option150Provider", "option150_value"]


def option150_value(addresses: Sequence[IPv4Address | str]) -> Value:
    """The (frozen) JSON value of an ``option150`` address."""
    return freeze({"option150": [str(IPv4Address(a)) for a in addresses]})


def _addresses(value: Value, *, address: Address) -> tuple[IPv4Address, ...]:
    """The plan's ordered list of TFTP addresses."""
    if not isinstance(value, tuple):
        raise PermanentError(f"{address}: expected the ordered list of TFTP addresses, got {value!r}")
    try:
        return tuple(IPv4Address(str(a)) for a in value)
    except ValueError as exc:
        raise PermanentError(f"{address}: {exc}") from exc


class Option150Provider(ProviderBase):
    """Adapts one ``DhcpBackend`` to ``reconciler.provider.Provider`` (kind ``option150``)."""

    kinds: ClassVar[frozenset[str]] = frozenset({"option150", "restore"})  # restore: a wave's revert
    batch_kinds: ClassVar[frozenset[str]] = frozenset({"option150"})

    def __init__(self, backend: DhcpBackend, *, scope_keys: Mapping[str, str] | None = None) -> None:
        self.backend = backend
        self.scope_keys = dict(scope_keys or {})

    @property
    def endpoint(self) -> str:
        """The DHCP server's name (``<server>`` in the address)."""
        return self.backend.name

    def _check(self, address: Address) -> str:
        if address.kind not in self.kinds or address.parts[1] != self.backend.name:
            raise PermanentError(
                f"{address} is not an option150 address of DHCP server {self.backend.name}",
                endpoint=self.backend.name,
            )
        return self.scope_keys.get(address.name, address.name)

    def apply(self, change: Change) -> ApplyResult:
        """Set option 150 of the scope (the backend is idempotent; ``changed`` says if it had to)."""
        key = self._check(change.address)
        if change.action is not Action.UPDATE and change.action is not Action.CREATE:
            raise PermanentError(f"{change.address}: option 150 cannot be {change.action.verb}d")
        want = _addresses(change.after, address=change.address)
        # Every backend finds the scope first and raises RemoteFaultError naming the known scopes
        # before it changes anything; a listing here as well cost a router with 1,000 pools its whole
        # DHCP configuration per change.
        result = self.backend.set_option150(scope=key, addresses=want)
        return ApplyResult(change=change, changed=result.changed,
                           observed=option150_value(result.scope.option150))  # fmt: skip

    def verify(self, change: Change) -> VerifyResult:
        """Read back (and probe where the backend can) that the scope announces ``change.after``."""
        key = self._check(change.address)
        want = _addresses(change.after, address=change.address)
        try:
            check = self.backend.verify_option150(scope=key, addresses=want)
        except RemoteFaultError as exc:
            return VerifyResult(address=change.address, complies=False, detail=str(exc))
        return _judge(change, want, check)

    def _wants(self, changes: Sequence[Change]) -> list[tuple[str, tuple[IPv4Address, ...]]]:
        out = []
        for change in changes:
            if change.action is not Action.UPDATE and change.action is not Action.CREATE:
                raise PermanentError(f"{change.address}: option 150 cannot be {change.action.verb}d")
            out.append((self._check(change.address), _addresses(change.after, address=change.address)))
        return out

    def apply_batch(self, changes: Sequence[Change]) -> tuple[ApplyResult, ...]:
        """Set option 150 of several scopes of this server at once (all or nothing when the backend
        batches; the previous values are restored on failure)."""
        wants = self._wants(changes)
        if not isinstance(self.backend, BatchDhcpBackend):
            return tuple(self.apply(change) for change in changes)
        results = self.backend.set_option150_batch(wants=wants)
        return tuple(
            ApplyResult(change=c, changed=r.changed, observed=option150_value(r.scope.option150))
            for c, r in zip(changes, results, strict=True)
        )

    def verify_batch(self, changes: Sequence[Change]) -> tuple[VerifyResult, ...]:
        """One read-back (and at most one probe) for several scopes; one result per change."""
        wants = self._wants(changes)
        if not isinstance(self.backend, BatchDhcpBackend):
            return tuple(self.verify(change) for change in changes)
        try:
            checks = self.backend.verify_option150_batch(wants=wants)
        except RemoteFaultError as exc:
            return tuple(VerifyResult(address=c.address, complies=False, detail=str(exc)) for c in changes)
        return tuple(_judge(c, w, k) for c, (_, w), k in zip(changes, wants, checks, strict=True))

    def close(self) -> None:
        """Close the backend."""
        self.backend.close()


def _judge(change: Change, want: tuple[IPv4Address, ...], check: Option150Check) -> VerifyResult:
    mismatched: list[FieldMismatch] = []
    if check.observed != want:
        mismatched.append(FieldMismatch(field="option150", expected=tuple(str(a) for a in want),
                                        actual=tuple(str(a) for a in check.observed)))  # fmt: skip
    if check.offered is not None and check.offered != want:
        mismatched.append(FieldMismatch(field="offered.option150", expected=tuple(str(a) for a in want),
                                        actual=tuple(str(a) for a in check.offered)))  # fmt: skip
    detail = (
        "complies"
        if not mismatched
        else "; ".join(f"{m.field}: expected {m.expected}, got {m.actual}" for m in mismatched)
    )
    return VerifyResult(address=change.address, complies=not mismatched,
                        mismatched=tuple(mismatched), method=check.method, detail=detail,
                        observed=option150_value(check.observed))  # fmt: skip
