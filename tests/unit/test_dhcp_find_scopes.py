"""``providers.dhcp.base.find_scopes``: a batch's scopes through one index, with ``find_scope``'s answers.

The per-key scan parsed each key as a subnet once per scope it passed, so a batch of 250 pools on a
1,000-pool router cost more the later its pools sorted (each wave of an apply slower than the one
before: docs/performance.md). These tests pin the answers and that each key is parsed once (R12's
option 150 batches)."""

from __future__ import annotations

from ipaddress import IPv4Network

import pytest

from providers.dhcp import base
from providers.dhcp.base import DhcpScope, find_scope, find_scopes
from reconciler.errors import RemoteFaultError


def _pools(n: int) -> tuple[DhcpScope, ...]:
    return tuple(
        DhcpScope(name=f"pool-{i:04d}", subnet=IPv4Network(f"10.{i // 250}.{i % 250}.0/24"), option150=())
        for i in range(n)
    )


def test_batch_answers_equal_the_scan_in_key_order() -> None:
    pools = _pools(40)
    keys = ["pool-0039", "10.0.3.0/24", "pool-0000", "10.0.17.5/24", "pool-0039"]
    assert find_scopes(pools, keys, server="r1") == tuple(find_scope(pools, k, server="r1") for k in keys)
    assert [s.name for s in find_scopes(pools, keys, server="r1")] == [
        "pool-0039", "pool-0003", "pool-0000", "pool-0017", "pool-0039",
    ]  # fmt: skip


def test_first_scope_wins_as_in_the_scan() -> None:
    # a pool named like an address: its name matches the key, and so does an earlier pool's subnet
    earlier = DhcpScope(name="a", subnet=IPv4Network("10.9.9.9/32"), option150=())
    named = DhcpScope(name="10.9.9.9", subnet=IPv4Network("10.1.0.0/24"), option150=())
    for pools in ((earlier, named), (named, earlier)):
        assert find_scopes(pools, ["10.9.9.9"], server="r1") == (find_scope(pools, "10.9.9.9", server="r1"),)
        assert find_scopes(pools, ["10.9.9.9"], server="r1")[0] is pools[0]


def test_a_missing_key_names_the_server_the_key_and_the_known_scopes() -> None:
    with pytest.raises(RemoteFaultError) as err:
        find_scopes(_pools(3), ["pool-0001", "pool-9999"], server="r1")
    assert "r1" in str(err.value) and "'pool-9999'" in str(err.value) and "pool-0002" in str(err.value)
    assert err.value.endpoint == "r1"


def test_each_key_is_parsed_once_wherever_its_pool_sorts(monkeypatch: pytest.MonkeyPatch) -> None:
    pools = _pools(1000)
    calls = 0
    real = base.IPv4Network

    def counting(*args: object, **kwargs: object) -> IPv4Network:
        nonlocal calls
        calls += 1
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(base, "IPv4Network", counting)
    for wave in range(4):  # the last wave's pools sort last: the scan passed 750 pools for each of them
        calls = 0
        keys = [f"pool-{i:04d}" for i in range(250 * wave, 250 * wave + 250)]
        found = find_scopes(pools, keys, server="r1")
        assert [s.name for s in found] == keys
        assert calls == len(keys)
