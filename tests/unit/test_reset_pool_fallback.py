"""``ResetProvider`` executes the plan's pool-level resets (R12) without re-deciding, re-checks each
pool right before its ``resetDevicePool`` and falls back per phone, saying why, when the pool changed,
its listing failed or the CUCM does not know the operation. In-process fakes of AXL and the estate."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from providers.cucm_axl import NO_SUCH_OPERATION, PoolDevice
from reconciler.errors import RemoteFaultError, UnreachableError
from reconciler.model import Action, Address, Change, freeze
from reconciler.plan.poolreset import PoolResetPlan
from reconciler.wiring.reset import ResetProvider

A = [f"SEPAAAA0000000{i}" for i in range(4)]
B = [f"SEPBBBB0000000{i}" for i in range(3)]


class FakeAxl:
    def __init__(self, pools: dict[str, list[PoolDevice]], *, reset_error: Exception | None = None) -> None:
        self.pools = pools
        self.reset_error = reset_error
        self.calls: list[tuple[str, str]] = []

    def pool_devices(self, pool: str | None = None) -> list[PoolDevice]:
        self.calls.append(("list", pool or "*"))
        if pool == "DP-BROKEN":
            raise UnreachableError("AXL of old unreachable")
        return list(self.pools.get(pool or "", []))

    def reset_device_pool(self, pool: str) -> str:
        self.calls.append(("resetDevicePool", pool))
        if self.reset_error is not None:
            raise self.reset_error
        return "{uuid}"

    def reset_phone(self, name: str, **_: Any) -> str:
        self.calls.append(("resetPhone", name))
        return "{uuid}"


def _devices(pool: str, names: list[str], tkclass: str = "1") -> list[PoolDevice]:
    return [PoolDevice(name=n, pool=pool, tkclass=tkclass, tkmodel="36213") for n in names]


def _provider(axl: FakeAxl) -> ResetProvider:
    wave = SimpleNamespace(name="w1", scopes=("scope-a",))
    desired = SimpleNamespace(
        migration=SimpleNamespace(wave_list=[wave], target="new"),
        policy=SimpleNamespace(
            concurrency=SimpleNamespace(axl=2),
            resets=SimpleNamespace(start_per_second=1000.0, ceiling_per_second=1000.0),
        ),
    )
    phones = [SimpleNamespace(name=n) for n in A + B]
    estate = SimpleNamespace(phones=lambda scopes: {"scope-a": phones}, registrations=lambda c, names: {})
    conns = SimpleNamespace(axl=lambda cluster: axl)
    return ResetProvider(desired=desired, conns=conns, estate=estate, cluster="old")  # type: ignore[arg-type]


def _change(*pools: tuple[str, int]) -> Change:
    plan = PoolResetPlan(mode="auto", pools=pools, per_phone=7 - sum(n for _, n in pools))
    after = freeze({"phones": 7, "scopes": ["scope-a"], "resets": plan.to_dict()})
    return Change(address=Address.of("reset", "w1"), action=Action.RUN, after=after, reason="t")


def _resets(axl: FakeAxl) -> tuple[list[str], list[str]]:
    pools = [t for op, t in axl.calls if op == "resetDevicePool"]
    return pools, sorted(t for op, t in axl.calls if op == "resetPhone")


def test_planned_pools_get_one_call_each_and_the_rest_per_phone() -> None:
    axl = FakeAxl({"DP-A": _devices("DP-A", A)})
    provider = _provider(axl)
    result = provider.apply(_change(("DP-A", 4)))
    assert _resets(axl) == (["DP-A"], sorted(B))
    assert ("list", "DP-A") in axl.calls, "the pool is listed again right before the call"
    assert result.observed["pools"] == ("DP-A",) and result.observed["pool_phones"] == 4
    detail = provider.verify(_change(("DP-A", 4))).detail
    assert "pool-level reset of 1 pool(s) (DP-A) for 4 phone(s)" in detail and "reset sent to 7" in detail


def test_a_pool_that_gained_a_device_since_the_plan_is_reset_per_phone() -> None:
    axl = FakeAxl({"DP-A": _devices("DP-A", A) + _devices("DP-A", ["GW-NEW"], tkclass="2")})
    provider = _provider(axl)
    result = provider.apply(_change(("DP-A", 4)))
    assert _resets(axl) == ([], sorted(A + B))
    assert result.observed["fallback"] == (
        "DP-A per phone: DP-A also holds 1 non-phone device since the plan",
    )


def test_a_failed_recheck_falls_back_per_phone() -> None:
    axl = FakeAxl({"DP-BROKEN": []})
    result = _provider(axl).apply(_change(("DP-BROKEN", 4)))
    assert _resets(axl)[0] == [] and len(_resets(axl)[1]) == 7
    assert "its device listing failed" in result.observed["fallback"][0]


def test_a_cucm_without_reset_device_pool_resets_every_remaining_pool_per_phone() -> None:
    unknown = RemoteFaultError("No such operation 'resetDevicePool'", code=NO_SUCH_OPERATION)
    axl = FakeAxl({"DP-A": _devices("DP-A", A), "DP-B": _devices("DP-B", B)}, reset_error=unknown)
    result = _provider(axl).apply(_change(("DP-A", 4), ("DP-B", 3)))
    pools, phones = _resets(axl)
    assert pools == ["DP-A"], "after the first 'unknown operation' no other pool is tried"
    assert phones == sorted(A + B)
    assert result.observed["fallback"] == ("old does not know resetDevicePool: DP-A, DP-B per phone",)


def test_a_plan_without_pools_keeps_the_per_phone_path() -> None:
    axl = FakeAxl({"DP-A": _devices("DP-A", A)})
    _provider(axl).apply(_change())
    assert _resets(axl) == ([], sorted(A + B)) and not [c for c in axl.calls if c[0] == "list"]
