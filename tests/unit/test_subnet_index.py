"""``reconciler.wiring.estate._SubnetIndex`` finds the same scope as scanning the declared subnets in
order (first match wins), for overlapping subnets of mixed prefix lengths and for addresses outside."""

from __future__ import annotations

import random
from ipaddress import IPv4Address, IPv4Network

from reconciler.wiring.indexes import SubnetIndex as _SubnetIndex


def _scan(ip: str, subnets: list[tuple[str, IPv4Network]]) -> str | None:
    try:
        addr = IPv4Address(ip)
    except ValueError:
        return None
    return next((name for name, net in subnets if addr in net), None)


def test_index_agrees_with_a_first_match_scan() -> None:
    rnd = random.Random(7)
    subnets = [
        (
            f"s{i}",
            IPv4Network(
                f"10.{rnd.randrange(4)}.{rnd.randrange(8)}.0/{rnd.choice((16, 22, 24, 25))}", strict=False
            ),
        )
        for i in range(60)
    ]
    index = _SubnetIndex(subnets)
    probes = [f"10.{rnd.randrange(5)}.{rnd.randrange(9)}.{rnd.randrange(256)}" for _ in range(3000)]
    assert [index.scope_of(p) for p in probes] == [_scan(p, subnets) for p in probes]
    assert any(index.scope_of(p) is None for p in probes) and any(index.scope_of(p) for p in probes)


def test_overlap_prefers_the_first_declared_and_bad_addresses_are_none() -> None:
    subnets = [("wide", IPv4Network("10.1.0.0/16")), ("narrow", IPv4Network("10.1.2.0/24"))]
    assert _SubnetIndex(subnets).scope_of("10.1.2.9") == "wide"
    assert _SubnetIndex(list(reversed(subnets))).scope_of("10.1.2.9") == "narrow"
    assert _SubnetIndex(subnets).scope_of("not-an-ip") is None
    assert _SubnetIndex(subnets).scope_of("") is None


def test_scope_index_finds_what_a_scan_of_the_listing_finds() -> None:
    from providers.dhcp.base import DhcpScope
    from reconciler.wiring.indexes import ScopeIndex as _ScopeIndex

    listed = [
        DhcpScope(name="P-A", subnet=IPv4Network("10.0.1.0/24"), option150=()),
        DhcpScope(name="P-B", subnet=IPv4Network("10.0.2.0/24"), option150=()),
        DhcpScope(name="P-A", subnet=IPv4Network("10.0.3.0/24"), option150=()),  # duplicate name
        DhcpScope(name="P-C", subnet=IPv4Network("10.0.2.0/24"), option150=()),  # duplicate subnet
    ]
    index = _ScopeIndex(listed)
    for keys in (
        ["P-A"],
        ["P-C"],
        ["10.0.2.0/24"],
        ["10.0.2.7/24"],  # not strict, as DhcpScope.matches
        ["scope-x", "10.0.3.0/24", "P-C"],
        ["P-C", "10.0.2.0/24"],
        ["nothing", "10.9.9.0/24"],
        [],
    ):
        scanned = next((s for s in listed if any(s.matches(k) for k in keys)), None)
        assert index.first(keys) is scanned, keys
