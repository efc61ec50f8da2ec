"""Lookup indexes of ``reconciler.wiring.estate.ProviderEstate``: a DHCP server's listed scopes by name
or subnet (``ScopeIndex``), and which declared scope a phone's address falls in (``SubnetIndex``).

Both replace scans of up to 1,000 scopes per phone or per declared scope with dictionary lookups.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from ipaddress import IPv4Address, IPv4Network

from providers.dhcp.base import DhcpScope

__all__ = ["ScopeIndex", "SubnetIndex"]


class ScopeIndex:
    """A server's listed scopes by name and by subnet: ``first(keys)`` is the first listed scope that
    ``DhcpScope.matches`` one of ``keys`` (as a scan of the listing would find it), by lookup."""

    def __init__(self, listed: Sequence[DhcpScope]) -> None:
        self._listed = listed
        self._by_name: dict[str, int] = {}
        self._by_net: dict[IPv4Network, int] = {}
        for i, scope in enumerate(listed):
            self._by_name.setdefault(scope.name, i)
            self._by_net.setdefault(scope.subnet, i)

    def first(self, keys: Iterable[str]) -> DhcpScope | None:
        hits: list[int] = []
        for key in keys:
            if key in self._by_name:
                hits.append(self._by_name[key])
            try:
                net = IPv4Network(key, strict=False)
            except ValueError:
                continue
            if net in self._by_net:
                hits.append(self._by_net[net])
        return self._listed[min(hits)] if hits else None


class SubnetIndex:
    """Which declared scope a phone's address falls in: the first declared subnet containing it, found
    with one dictionary lookup per prefix length (not a scan of 1,000 subnets per phone)."""

    def __init__(self, subnets: Iterable[tuple[str, IPv4Network]]) -> None:
        self._by_len: dict[int, dict[int, tuple[int, str]]] = {}
        for order, (name, net) in enumerate(subnets):
            table = self._by_len.setdefault(net.prefixlen, {})
            table.setdefault(int(net.network_address), (order, name))

    def scope_of(self, ip: str) -> str | None:
        try:
            addr = int(IPv4Address(ip))
        except ValueError:
            return None
        best: tuple[int, str] | None = None
        for length, table in self._by_len.items():
            mask = (0xFFFFFFFF << (32 - length)) & 0xFFFFFFFF
            hit = table.get(addr & mask)
            if hit is not None and (best is None or hit < best):
                best = hit
        return None if best is None else best[1]
