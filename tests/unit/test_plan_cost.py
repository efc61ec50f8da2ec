"""The cost model of a plan's waves (``reconciler.plan.cost``): option 150 per DHCP server as one batch
(one ``write memory`` per IOS server, not one per pool), resets at the policy's ceiling, the gate at the
RisPort70 floor; carried on ``WaveForecast.cost`` through the plan JSON and shown in the human output."""

from __future__ import annotations

import math

from reconciler.model import Action, Address, Change
from reconciler.plan.cost import IOS_WRITE_MEMORY, REGISTER_SECONDS, describe, wave_cost, with_costs
from reconciler.plan.document import PlanStep, WaveForecast
from schemas.policy import Concurrency, Policy, ResetPacing


def _policy(**kw: object) -> Policy:
    return Policy(resets=ResetPacing(ceiling_per_second=40.0), ris_queries_per_minute=15, **kw)  # type: ignore[arg-type]


def test_one_ios_router_pays_one_write_memory_per_wave_whatever_its_pool_count() -> None:
    small = wave_cost(option150_servers=["ios"] * 2, server_kinds={"ios": "ios"}, phones_to_move=0,
                      phones_in_wave=0, policy=_policy())  # fmt: skip
    large = wave_cost(option150_servers=["ios"] * 250, server_kinds={"ios": "ios"}, phones_to_move=0,
                      phones_in_wave=0, policy=_policy())  # fmt: skip
    assert IOS_WRITE_MEMORY <= small["option150_seconds"] < IOS_WRITE_MEMORY + 2
    assert large["option150_seconds"] - small["option150_seconds"] < 10, (
        "248 more pools: lines, not write memory"
    )
    assert small["resets_seconds"] == small["gate_seconds"] == 0.0
    assert small["total_seconds"] == small["option150_seconds"]


def test_servers_run_in_parallel_up_to_the_dhcp_concurrency() -> None:
    servers = ["r1"] * 10 + ["r2"] * 10
    kinds = {"r1": "ios", "r2": "ios"}
    one = wave_cost(option150_servers=servers, server_kinds=kinds, phones_to_move=0, phones_in_wave=0,
                    policy=_policy(concurrency=Concurrency(dhcp=1)))  # fmt: skip
    two = wave_cost(option150_servers=servers, server_kinds=kinds, phones_to_move=0, phones_in_wave=0,
                    policy=_policy(concurrency=Concurrency(dhcp=2)))  # fmt: skip
    assert math.isclose(one["option150_seconds"], 2 * two["option150_seconds"], rel_tol=0.05)


def test_resets_at_the_ceiling_and_the_gate_at_the_risport70_floor() -> None:
    cost = wave_cost(option150_servers=[], server_kinds={}, phones_to_move=20_000, phones_in_wave=20_000,
                     policy=_policy())  # fmt: skip
    assert cost["resets_seconds"] == 500.0  # 20,000 phones at 40/s
    assert cost["gate_seconds"] == 20 * 60 / 15 + REGISTER_SECONDS  # 20 queries of 1,000 at 15/min
    assert cost["total_seconds"] == cost["resets_seconds"] + cost["gate_seconds"]


def _forecast(wave: str, phones: int) -> WaveForecast:
    return WaveForecast(wave=wave, scopes=("a",), phones=phones, already=0, move=phones)


def test_the_cost_travels_on_the_forecast_through_json_and_into_the_human_line() -> None:
    class Desired:
        policy = _policy()

        class dhcp:  # noqa: N801 - the shape of schemas.dhcp.Dhcp
            servers = ()

        class migration:  # noqa: N801 - the shape of schemas.migration.Migration
            target = "new"

        @staticmethod
        def cluster(name: str) -> None:  # an undeclared target: 1,000 devices a RisPort70 reply
            return None

    step = PlanStep(
        change=Change(
            address=Address.of("option150", "lab-ios", "a"), action=Action.UPDATE, after=["10.0.0.1"]
        ),
        provider="dhcp_ios",
        endpoint="lab-ios",
        wave="w1",
    )
    (forecast,) = with_costs([_forecast("w1", 1000)], desired=Desired, steps=[step])
    assert forecast.cost is not None and forecast.cost["resets_seconds"] == 25.0
    again = WaveForecast.from_dict(forecast.to_dict())
    assert (
        again.cost == forecast.cost
        and again.to_dict()["cost"]["total_seconds"] == forecast.cost["total_seconds"]
    )
    assert WaveForecast.from_dict(_forecast("w2", 1).to_dict()).cost is None, "older plans carry no cost"
    line = describe(forecast.cost)
    assert line.startswith("≈ ") and "resets 25 s" in line and "gate 34 s" in line


def test_the_lab_calibration_differs_only_in_what_the_lab_cannot_show() -> None:
    from reconciler.plan.cost import CALIBRATION, LAB

    def cost(calibration: object) -> dict[str, float]:
        return wave_cost(option150_servers=["ios"] * 63, server_kinds={"ios": "ios"}, phones_to_move=2_000,
                         phones_in_wave=2_000, policy=_policy(), calibration=calibration)  # type: ignore[arg-type]  # fmt: skip

    real, lab = cost(CALIBRATION), cost(LAB)
    # one write memory per router and wave, and the phones' re-registration: nothing else
    gap = CALIBRATION.ios_write_memory - LAB.ios_write_memory
    assert math.isclose(real["option150_seconds"] - lab["option150_seconds"], gap, abs_tol=0.11)
    assert real["gate_seconds"] - lab["gate_seconds"] == REGISTER_SECONDS
    assert real["resets_seconds"] == lab["resets_seconds"]
    # the batch's per-pool term as measured (0.55-1.5 s for a 63-pool wave on the lab's router)
    assert 0.5 <= lab["option150_seconds"] <= 1.5


def test_the_gate_reads_2000_devices_a_reply_from_a_cucm_14_target() -> None:
    from reconciler.plan.cost import ris_devices_per_query
    from tests.unit.fake_estate import desired

    state = desired()
    target = state.cluster(state.migration.target)
    assert target is not None
    expected = 2000 if target.version.at_least(14) else 1000
    assert ris_devices_per_query(state) == expected
    kw = {"option150_servers": [], "server_kinds": {}, "phones_to_move": 5_000, "phones_in_wave": 5_000}
    per_1000 = wave_cost(**kw, policy=_policy(), devices_per_query=1000)  # type: ignore[arg-type]
    per_2000 = wave_cost(**kw, policy=_policy(), devices_per_query=2000)  # type: ignore[arg-type]
    assert per_1000["gate_seconds"] - REGISTER_SECONDS == 5 * 60 / 15  # 5 queries at 15/min
    assert per_2000["gate_seconds"] - REGISTER_SECONDS == 3 * 60 / 15  # 3 queries
