"""``Option150Provider``: the general provider contract for ``option150.<server>.<scope>`` over any
``DhcpBackend`` (Kea, IOS, CUCM DHCP).

``reconciler.wiring`` builds one per configured DHCP server around the matching backend and hands it to the
planner/executor. The value of an ``option150`` address is ``{"option150": ["10.0.0.1", ...]}`` — an
ordered list, because the order is the phones' TFTP preference (R12). ``read`` costs one
``list_scopes`` call for any number of addresses.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from ipaddress import IPv4Address
from typing import ClassVar

from providers.dhcp.base import DhcpBackend
from reconciler.errors import PermanentError, RemoteFaultError
from reconciler.model import Action, Address, Change, FrozenMap, Value, freeze
from reconciler.provider import (
    ApplyResult,
    Desired,
    FieldMismatch,
    Observed,
    ProviderBase,
    VerifyResult,
)

__all__ = ["Option150Provider", "option150_value"]


def option150_value(addresses: Sequence[IPv4Address | str]) -> Value:
    """The (frozen) JSON value of an ``option150`` address."""
    return freeze({"option150": [str(IPv4Address(a)) for a in addresses]})


def _addresses(value: Value, *, address: Address) -> tuple[IPv4Address, ...]:
    if not isinstance(value, FrozenMap) or not isinstance(value.get("option150"), tuple):
        raise PermanentError(f"{address}: expected {{'option150': [addresses]}}, got {value!r}")
    try:
        return tuple(IPv4Address(str(a)) for a in value["option150"])
    except ValueError as exc:
        raise PermanentError(f"{address}: {exc}") from exc


class Option150Provider(ProviderBase):
    """Adapts one ``DhcpBackend`` to ``reconciler.provider.Provider`` (kind ``option150``)."""

    kinds: ClassVar[frozenset[str]] = frozenset({"option150"})

    def __init__(self, backend: DhcpBackend) -> None:
        self.backend = backend

    @property
    def endpoint(self) -> str:
        """The DHCP server's name (``<server>`` in the address)."""
        return self.backend.name

    def _check(self, address: Address) -> str:
        if address.kind != "option150" or address.parts[1] != self.backend.name:
            raise PermanentError(
                f"{address} is not an option150 address of DHCP server {self.backend.name}",
                endpoint=self.backend.name,
            )
        return address.name

    def read(self, addresses: Sequence[Address]) -> Mapping[Address, Observed]:
        """One ``list_scopes`` call; a scope the server lacks reads as absent (``value=None``)."""
        keys = {a: self._check(a) for a in addresses}
        scopes = self.backend.list_scopes()
        out: dict[Address, Observed] = {}
        for address, key in keys.items():
            scope = next((s for s in scopes if s.matches(key)), None)
            if scope is None:
                out[address] = Observed(address=address, value=None)
                continue
            value = option150_value(scope.option150)
            digest = hashlib.sha256(",".join(map(str, scope.option150)).encode()).hexdigest()[:16]
            out[address] = Observed(address=address, value=value, fingerprint=digest)
        return out

    def diff(self, desired: Desired, observed: Observed) -> Change:
        """NOOP when the ordered lists are equal, UPDATE otherwise, CREATE when the scope is missing
        (apply then fails: scopes are created on the server, not by us)."""
        want = _addresses(desired.value, address=desired.address)
        rule = desired.rule or "R12"
        after = option150_value(want)
        if observed.value is None:
            return Change(address=desired.address, action=Action.CREATE, before=None, after=after,
                          reason=f"scope not found on DHCP server {self.endpoint}", rule=rule)  # fmt: skip
        have = _addresses(observed.value, address=observed.address)
        if have == want:
            return Change(address=desired.address, action=Action.NOOP, before=observed.value,
                          after=after, reason="option 150 already as desired", rule=rule)  # fmt: skip
        reason = desired.reason or (
            f"option 150 {', '.join(map(str, have)) or '(none)'} → {', '.join(map(str, want)) or '(none)'}"
        )
        return Change(address=desired.address, action=Action.UPDATE, before=observed.value,
                      after=after, reason=reason, rule=rule)  # fmt: skip

    def apply(self, change: Change) -> ApplyResult:
        """Set option 150 of the scope (the backend is idempotent; ``changed`` says if it had to)."""
        key = self._check(change.address)
        if change.action is Action.NOOP:
            return ApplyResult(change=change, changed=False, observed=change.before)
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

    def close(self) -> None:
        """Close the backend."""
        self.backend.close()
