"""The shared contract suite every DHCP backend passes (napalm's BaseTestGetters idea, style rule 4).

A backend's test module subclasses ``DhcpBackendContract`` and provides the fixtures:

- ``backend``: a connected ``DhcpBackend`` whose server has at least the scope ``scope_key``;
- ``mutations``: a callable returning the mutating calls the server recorded so far (the lab's
  operation log, or a transport recorder) — the proof that read and diff never mutate (style rule 3);
- ``scope_key``: a scope name or subnet on that server;
- ``new_addresses``: an option 150 value the scope does not have yet.

The tests go through both the narrow backend contract and ``Option150Provider`` with a plan step's
value (the registry's ``dhcp_<kind>`` entries are this provider; ``test_lab_dhcp.py`` runs the generic
contract on those entries).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from ipaddress import IPv4Address

import pytest

from providers.dhcp.base import DhcpBackend, DhcpScope
from providers.dhcp.provider import Option150Provider
from reconciler.errors import RemoteFaultError
from reconciler.model import Action, Address, Change, freeze
from reconciler.provider import Provider

Mutations = Callable[[], Sequence[str]]


def _change(address: Address, addresses: Sequence[IPv4Address], action: Action = Action.UPDATE) -> Change:
    """A plan step's change: the ordered list of TFTP addresses (docs/plan-format.md)."""
    return Change(address=address, action=action, after=freeze([str(a) for a in addresses]), reason="test")


class DhcpBackendContract:
    """Tests every DHCP backend must pass. Not collected by itself (no ``Test`` prefix)."""

    def _address(self, backend: DhcpBackend, scope_key: str) -> Address:
        return Address.of("option150", backend.name, scope_key)

    def test_backend_and_provider_satisfy_the_protocols(self, backend: DhcpBackend) -> None:
        assert isinstance(backend, DhcpBackend)
        provider = Option150Provider(backend)
        assert isinstance(provider, Provider)
        for verb in ("apply", "verify", "close"):
            assert callable(getattr(provider, verb))
        for name in ("set_option150", "verify_option150"):
            params = inspect.signature(getattr(backend, name)).parameters
            assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params.values())

    def test_list_scopes_returns_typed_scopes_without_mutating(
        self, backend: DhcpBackend, mutations: Mutations, scope_key: str
    ) -> None:
        before = list(mutations())
        scopes = backend.list_scopes()
        assert scopes and all(isinstance(s, DhcpScope) for s in scopes)
        assert any(s.matches(scope_key) for s in scopes)
        assert all(isinstance(a, IPv4Address) for s in scopes for a in s.option150)
        assert list(mutations()) == before

    def test_verify_before_apply_names_the_field_without_mutating(
        self,
        backend: DhcpBackend,
        mutations: Mutations,
        scope_key: str,
        new_addresses: tuple[IPv4Address, ...],
    ) -> None:
        before = list(mutations())
        provider = Option150Provider(backend)
        early = provider.verify(_change(self._address(backend, scope_key), new_addresses))
        assert not early.complies and "option150" in [m.field for m in early.mismatched]
        assert list(mutations()) == before

    def test_apply_twice_is_the_same_as_once(
        self,
        backend: DhcpBackend,
        mutations: Mutations,
        scope_key: str,
        new_addresses: tuple[IPv4Address, ...],
    ) -> None:
        provider = Option150Provider(backend)
        change = _change(self._address(backend, scope_key), new_addresses)
        first = provider.apply(change)
        after_once = (list(mutations()), backend.list_scopes())
        second = provider.apply(change)  # a retry of the same change
        assert first.changed and not second.changed
        assert (list(mutations()), backend.list_scopes()) == after_once

    def test_verify_after_apply_complies(
        self, backend: DhcpBackend, scope_key: str, new_addresses: tuple[IPv4Address, ...]
    ) -> None:
        provider = Option150Provider(backend)
        change = _change(self._address(backend, scope_key), new_addresses)
        provider.apply(change)
        result = provider.verify(change)
        assert result.complies, result.detail
        assert result.mismatched == ()

    def test_apply_to_a_missing_scope_fails_permanently_without_mutating(
        self, backend: DhcpBackend, mutations: Mutations, new_addresses: tuple[IPv4Address, ...]
    ) -> None:
        before = list(mutations())
        provider = Option150Provider(backend)
        change = _change(Address.of("option150", backend.name, "no-such-scope"), new_addresses, Action.CREATE)
        with pytest.raises(RemoteFaultError, match="no-such-scope"):
            provider.apply(change)
        assert list(mutations()) == before
