"""Pool-level resets (R12): which device pools of a wave may get one ``resetDevicePool`` instead of one
reset per phone (``reconciler.plan.poolreset``), what the plan says about it, and its cost."""

from __future__ import annotations

from types import SimpleNamespace

from providers.cucm_axl import PoolDevice
from reconciler.errors import UnreachableError
from reconciler.live.pools import PoolListing, PoolMember, read_pools
from reconciler.plan.cost import wave_cost
from reconciler.plan.poolreset import PoolResetPlan, decide, pool_problem

WAVE = [f"SEP{i:012d}" for i in range(10)]


def _phones(pool: str, names: list[str]) -> list[PoolMember]:
    return [PoolMember(name=n, pool=pool, phone=True) for n in names]


def _listing(*groups: list[PoolMember]) -> PoolListing:
    return PoolListing.of("old", [m for g in groups for m in g])


def test_a_pool_holding_only_the_waves_phones_is_reset_as_a_whole() -> None:
    listing = _listing(_phones("DP-A", WAVE[:6]), _phones("DP-B", WAVE[6:]))
    plan = decide(mode="auto", wave_phones=WAVE, pending=WAVE, listing=listing)
    assert plan.pools == (("DP-A", 6), ("DP-B", 4))
    assert plan.per_phone == 0 and plan.notes == ()
    assert plan.describe() == "reset: pool-level for 2 pools (10 phones), per phone for 0"


def test_a_pool_with_a_gateway_or_a_cti_port_is_reset_per_phone_and_says_why() -> None:
    gateway = PoolMember(name="GW-1", pool="DP-A", phone=False)
    listing = _listing(_phones("DP-A", WAVE[:6]), [gateway], _phones("DP-B", WAVE[6:]))
    plan = decide(mode="auto", wave_phones=WAVE, pending=WAVE, listing=listing)
    assert plan.pools == (("DP-B", 4),) and plan.per_phone == 6
    assert plan.notes == ("DP-A also holds 1 non-phone device",)
    assert "per phone for 6 (DP-A also holds 1 non-phone device)" in plan.describe()
    cti = PoolDevice(name="CTIPORT1", pool="DP-A", tkclass="1", tkmodel="72")
    assert not cti.is_phone and PoolDevice(name="SEP1", pool="DP-A", tkclass="1", tkmodel="36213").is_phone
    assert not PoolDevice(name="GW", pool="DP-A", tkclass="2", tkmodel="0").is_phone


def test_a_pool_shared_with_phones_outside_the_wave_is_not_eligible() -> None:
    listing = _listing(_phones("DP-A", [*WAVE, "SEP999999999999", "SEP999999999998"]))
    plan = decide(mode="auto", wave_phones=WAVE, pending=WAVE, listing=listing)
    assert plan.pools == () and plan.per_phone == 10
    assert plan.notes == ("DP-A also holds 2 phones outside the wave",)


def test_unknown_listing_is_never_eligible_and_is_said_as_unknown() -> None:
    failed = PoolListing(cluster="old", pools={}, problem="device listing of old failed: timed out")
    plan = decide(mode="auto", wave_phones=WAVE, pending=WAVE, listing=failed)
    assert plan.pools == () and plan.per_phone == 10
    assert plan.notes == ("unknown: device listing of old failed: timed out",)
    assert decide(mode="auto", wave_phones=WAVE, pending=WAVE, listing=None).notes[0].startswith("unknown:")


def test_read_pools_turns_a_failed_or_missing_listing_into_unknown() -> None:
    class Failing:
        def pool_devices(self, cluster: str, pool: str | None = None) -> list[PoolMember]:
            raise UnreachableError("AXL of old unreachable")

    assert read_pools(Failing(), "old").problem == "device listing of old failed: AXL of old unreachable"
    assert read_pools(object(), "old").problem == "this estate cannot list device pools"


def test_pool_level_off_keeps_every_phone_per_phone() -> None:
    listing = _listing(_phones("DP-A", WAVE))
    plan = decide(mode="off", wave_phones=WAVE, pending=WAVE[:3], listing=listing)
    assert plan.pools == () and plan.per_phone == 3 and plan.notes == ("pool_level is off",)
    assert plan.describe() == "reset: per phone for 3 (pool_level is off)"


def test_only_pending_phones_are_counted_and_a_pool_without_pending_phones_is_skipped() -> None:
    listing = _listing(_phones("DP-A", WAVE[:6]), _phones("DP-B", WAVE[6:]))
    plan = decide(mode="auto", wave_phones=WAVE, pending=WAVE[:4], listing=listing)
    assert plan.pools == (("DP-A", 4),) and plan.per_phone == 0


def test_the_decision_round_trips_through_the_plan_file() -> None:
    plan = PoolResetPlan(mode="auto", pools=(("DP-A", 240), ("DP-B", 3)), per_phone=12, notes=("DP-X also",))
    assert PoolResetPlan.from_dict(plan.to_dict()) == plan
    assert PoolResetPlan.from_dict(None) is None


def test_pool_problem_is_the_apply_time_recheck() -> None:
    assert pool_problem(_phones("DP-A", WAVE[:3]), wave_phones=WAVE, pool="DP-A") is None
    assert pool_problem([], wave_phones=WAVE, pool="DP-A") == "DP-A lists no devices"
    added = [*_phones("DP-A", WAVE[:3]), PoolMember(name="sep000000000099", pool="DP-A", phone=True)]
    assert pool_problem(added, wave_phones=WAVE, pool="DP-A") == "DP-A also holds 1 phone outside the wave"
    assert pool_problem(_phones("DP-A", [WAVE[0].lower()]), wave_phones=WAVE, pool="DP-A") is None


def test_the_cost_model_counts_a_recheck_and_one_call_per_pool_instead_of_its_phones() -> None:
    policy = SimpleNamespace(
        concurrency=SimpleNamespace(axl=4, dhcp=4),
        resets=SimpleNamespace(ceiling_per_second=50.0),
        ris_queries_per_minute=15,
    )
    common = {"option150_servers": [], "server_kinds": {}, "phones_to_move": 1000, "phones_in_wave": 1000}
    per_phone = wave_cost(**common, policy=policy)  # type: ignore[arg-type]
    pooled = wave_cost(**common, policy=policy, reset_pools=3, pool_phones=900)  # type: ignore[arg-type]
    assert per_phone["resets_seconds"] == 20.0
    assert pooled["resets_seconds"] == round(100 / 50.0 + 3 * 3 * 0.1, 1)
    assert pooled["gate_seconds"] == per_phone["gate_seconds"], "the gate still checks every phone (R13)"
