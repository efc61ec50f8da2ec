"""The narrow DHCP backend contract shared by Kea, IOS and CUCM DHCP, and its typed models.

Each DHCP server kind implements ``DhcpBackend`` (``providers.dhcp.kea``, ``.ios``, ``.cucm``);
``providers.dhcp.provider.Option150Provider`` adapts any backend to the general provider contract for
``option150.<server>.<scope>`` addresses, and ``tests/contract/dhcp_contract.py`` is the one suite all
backends pass. Only option 150 matters to the migration (R12), so the contract is just that:

- ``list_scopes()`` — every scope with its effective option 150, no mutation;
- ``set_option150(scope=, addresses=)`` — make the scope announce exactly ``addresses`` (order is the
  phones' preference order), idempotent: when it already does, no mutating call and ``changed=False``;
- ``verify_option150(scope=, addresses=)`` — read back (and probe with real DHCP where the backend can).

Optional (``BatchDhcpBackend``): ``set_option150_batch(wants=)`` and ``verify_option150_batch(wants=)`` for
several scopes of one server at once (one IOS configuration session and ``write memory``, one Kea
``config-set``, CUCM DHCP subnets with bounded concurrency). All or nothing: when a batch fails, every
scope it changed gets its previous option 150 back before the error is raised, and the error says so.

A scope is named by the backend's own name for it (Kea ``user-context.name``, IOS pool name, CUCM subnet)
and can always also be found by its subnet in CIDR form (``find_scope``; ``find_scopes`` for a batch,
through one index).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from reconciler.errors import ProviderError, RemoteFaultError

__all__ = [
    "BatchDhcpBackend",
    "DhcpBackend",
    "DhcpScope",
    "Option150Check",
    "SetResult",
    "Wants",
    "find_scope",
    "find_scopes",
    "restore_note",
    "with_note",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class DhcpScope:
    """One scope as the server has it. ``relay`` is the relay (giaddr) that selects it, if known."""

    name: str
    subnet: IPv4Network
    option150: tuple[IPv4Address, ...]
    relay: IPv4Address | None = None

    def matches(self, key: str) -> bool:
        """True when ``key`` is this scope's name or its subnet (``10.1.2.0/24``)."""
        if key == self.name:
            return True
        try:
            return IPv4Network(key, strict=False) == self.subnet
        except ValueError:
            return False


@dataclass(frozen=True, slots=True, kw_only=True)
class SetResult:
    """What ``set_option150`` did: ``changed`` is False when the scope already complied."""

    scope: DhcpScope
    changed: bool
    previous: tuple[IPv4Address, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Option150Check:
    """A verification: ``observed`` is what the server holds (read-back) and, where probed, what a
    real DHCP exchange returned (``offered``); ``method`` is ``read-back`` or ``read-back+dhcp-query``."""

    scope: str
    expected: tuple[IPv4Address, ...]
    observed: tuple[IPv4Address, ...]
    offered: tuple[IPv4Address, ...] | None = None
    method: str = "read-back"

    @property
    def complies(self) -> bool:
        """Read-back equals expected and, if probed, the offer does too."""
        return self.observed == self.expected and (self.offered is None or self.offered == self.expected)


@runtime_checkable
class DhcpBackend(Protocol):
    """One DHCP server. ``name`` is the ``<server>`` part of ``option150.<server>.<scope>``."""

    @property
    def name(self) -> str: ...

    def list_scopes(self) -> tuple[DhcpScope, ...]: ...

    def set_option150(self, *, scope: str, addresses: Sequence[IPv4Address]) -> SetResult: ...

    def verify_option150(self, *, scope: str, addresses: Sequence[IPv4Address]) -> Option150Check: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


Wants = Sequence[tuple[str, tuple[IPv4Address, ...]]]
"""(scope key, wanted option 150) pairs of one batch, in the order the results come back."""


@runtime_checkable
class BatchDhcpBackend(Protocol):
    """A ``DhcpBackend`` that changes and verifies several scopes in one go (module docstring)."""

    def set_option150_batch(self, *, wants: Wants) -> tuple[SetResult, ...]: ...

    def verify_option150_batch(self, *, wants: Wants) -> tuple[Option150Check, ...]: ...


def restore_note(restored: Sequence[str], failed: str | None) -> str:
    """The sentence a failed batch appends to its error: what it put back, or that putting back failed."""
    if failed is not None:
        return f"restoring the previous option 150 FAILED too ({failed}); check the scopes by hand"
    if not restored:
        return "no scope had been changed"
    return f"the previous option 150 of {len(restored)} scope(s) was restored ({', '.join(restored[:5])}" + (
        ", ...)" if len(restored) > 5 else ")"
    )


def with_note(exc: ProviderError, note: str) -> ProviderError:
    """A copy of ``exc`` (same class, endpoint, hint) whose message ends with ``note``."""
    out = copy.copy(exc)
    out.message = f"{exc.message}; {note}"
    out.args = (out.message,)
    return out


def _subnet_of(key: str) -> IPv4Network | None:
    try:
        return IPv4Network(key, strict=False)
    except ValueError:
        return None


def _missing(scopes: Sequence[DhcpScope], key: str, *, server: str) -> RemoteFaultError:
    known = ", ".join(s.name for s in scopes) or "none"
    return RemoteFaultError(
        f"DHCP server {server} has no scope {key!r} (known: {known})",
        endpoint=server,
        hint="create the scope on the DHCP server, or fix the scope name/subnet in the dhcp: section",
    )


def find_scope(scopes: Sequence[DhcpScope], key: str, *, server: str) -> DhcpScope:
    """The first scope named (or with subnet) ``key``; ``RemoteFaultError`` naming the known scopes if
    none. (``key`` is parsed as a subnet once, not once per scope: see ``find_scopes``.)"""
    subnet = _subnet_of(key)
    for scope in scopes:
        if scope.name == key or scope.subnet == subnet:
            return scope
    raise _missing(scopes, key, server=server)


def find_scopes(scopes: Sequence[DhcpScope], keys: Sequence[str], *, server: str) -> tuple[DhcpScope, ...]:
    """``find_scope`` for each of ``keys`` (in their order) through one index of ``scopes`` by name and
    by subnet: a batch of 250 pools on a router with 1,000 is 250 dictionary look-ups, not 250 scans
    that each parsed the key once per pool passed (a cost that grew with the pool's place in the
    listing, i.e. with each wave of an apply). The first scope in ``scopes`` wins, as in the scan."""
    by_name: dict[str, int] = {}
    by_subnet: dict[IPv4Network, int] = {}
    for at, scope in enumerate(scopes):
        by_name.setdefault(scope.name, at)
        by_subnet.setdefault(scope.subnet, at)
    out = []
    for key in keys:
        subnet = _subnet_of(key)
        hits = [i for i in (by_name.get(key), by_subnet.get(subnet) if subnet else None) if i is not None]
        if not hits:
            raise _missing(scopes, key, server=server)
        out.append(scopes[min(hits)])
    return tuple(out)
