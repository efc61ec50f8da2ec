"""The cost model: how long each wave of a plan should take, per phase, before a change window.

Called by ``reconciler.plan.planner`` for every ``WaveForecast`` (its ``cost``); rendered by
``reconciler.render.plan`` (human), the plan JSON and the HTML report (``WaveForecast.cost``). Pure: it
uses the wave's option 150 steps, its phone counts and the desired state's policy, never the network.

Per wave, in seconds (docs/performance.md, "The cost model"):

- ``option150_seconds`` — DHCP servers work in parallel (``policy.concurrency.dhcp``); each server's
  scopes are one batch (docs/architecture.md, "Batched steps"): IOS one session of reads, lines,
  ``write memory`` and read-back; Kea ``config-get``/``-test``/``-set``/``-write`` and one probe; CUCM
  DHCP one ``updateDhcpSubnet`` per subnet at ``policy.concurrency.axl``.
- ``resets_seconds`` — the phones still to move at ``policy.resets.ceiling_per_second`` (the pacer's
  ceiling: a lower bound; a throttling CUCM makes it longer); phones of a pool the plan resets as a
  whole (``reconciler.plan.poolreset``) cost a re-check (two reads) and one ``resetDevicePool`` per pool;
- ``gate_seconds`` — the RisPort70 floor of one complete listing of the wave's phones (1,000 devices a
  query, ``policy.ris_queries_per_minute``) plus the time phones take to re-register after a reset;
- ``total_seconds`` — their sum (the phases run one after another within a wave).

The figures are a ``Calibration``. ``CALIBRATION`` (the default) holds the round trips the bench
(``bench/bench_plan_apply.py``) measured against the lab's faces per phase, and two physical terms the
lab cannot show, kept at typical real-system values: ``write memory`` on a router with a large
configuration (the lab's router writes no flash) and the time a reset phone takes to download its
files and register again (the lab's phones register as they are reset). ``LAB`` is the same with
those two as the lab has them; the bench prints both models beside what apply measured.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from reconciler.plan.poolreset import PoolResetPlan

if TYPE_CHECKING:
    from reconciler.plan.document import PlanStep, WaveForecast

__all__ = [
    "CALIBRATION",
    "IOS_WRITE_MEMORY",
    "LAB",
    "REGISTER_SECONDS",
    "Calibration",
    "describe",
    "wave_cost",
    "with_costs",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Calibration:
    """Seconds per operation of the cost model (module docstring)."""

    ios_session: float  # per wave and router: the pools' read, the configuration block, read-back
    ios_pool: float  # per pool inside that batch: three lines, their echo, its read-back rows
    ios_write_memory: float  # one ``write memory`` per router per wave
    kea_round_trip: float  # one control-agent command
    kea_probe: float  # one relayed DHCP exchange
    axl_write: float  # one AXL write (updateDhcpSubnet)
    register_seconds: float  # a reset phone downloads its files and registers again


#: Measured on the lab by ``bench/bench_plan_apply.py`` (docs/performance.md, "The cost model"): a
#: wave's IOS phase took 0.3 s for 7 pools and 0.33-0.48 s for 61-63 (``apply_batch`` 0.23-0.33 s,
#: then verify and settle); ``write memory`` and re-registration at typical real-system values (the
#: lab has neither).
CALIBRATION = Calibration(
    ios_session=0.25,
    ios_pool=0.003,
    ios_write_memory=1.5,
    kea_round_trip=0.05,
    kea_probe=0.2,
    axl_write=0.1,
    register_seconds=30.0,
)
#: ``CALIBRATION`` with the lab's own ``write memory`` (no flash: one round trip) and re-registration
#: (phones register as they are reset, within the reset step): what the bench compares against.
LAB = replace(CALIBRATION, ios_write_memory=0.05, register_seconds=0.0)
IOS_WRITE_MEMORY = CALIBRATION.ios_write_memory
REGISTER_SECONDS = CALIBRATION.register_seconds
RIS_DEVICES_PER_QUERY = 1000


def ris_devices_per_query(desired: Any) -> int:
    """Devices per RisPort70 reply of the migration's target, whose listing the gate reads: 1,000,
    2,000 from CUCM 14 ([I], docs/cucm-interfaces.md; the RisPort70 client's ``ris_max_devices``)."""
    target = desired.cluster(desired.migration.target)
    return (
        2 * RIS_DEVICES_PER_QUERY
        if target is not None and target.version.at_least(14)
        else RIS_DEVICES_PER_QUERY
    )


def _server_seconds(kind: str, scopes: int, cal: Calibration) -> float:
    if scopes <= 0:
        return 0.0
    if kind == "kea":
        return 4 * cal.kea_round_trip + cal.kea_probe + cal.kea_round_trip + cal.kea_probe  # apply, verify
    if kind == "cucm":
        return 3 * cal.axl_write + scopes * cal.axl_write  # listings, then updates (caller: concurrency)
    # ios: one batch on the router's one session: reads, the block of lines, write memory, read-back
    return cal.ios_session + scopes * cal.ios_pool + cal.ios_write_memory


def wave_cost(
    *,
    option150_servers: Iterable[str],
    server_kinds: Mapping[str, str],
    phones_to_move: int,
    phones_in_wave: int,
    policy: Any,
    calibration: Calibration = CALIBRATION,
    devices_per_query: int = RIS_DEVICES_PER_QUERY,
    reset_pools: int = 0,
    pool_phones: int = 0,
) -> dict[str, float]:
    """The wave's estimated seconds per phase and ``total_seconds`` (module docstring).
    ``option150_servers``: the server of each option 150 step of the wave (one entry per scope);
    ``reset_pools``/``pool_phones``: pools reset as a whole and the phones they cover."""
    cal = calibration
    per_server: dict[str, int] = {}
    for server in option150_servers:
        per_server[server] = per_server.get(server, 0) + 1
    axl = max(1, int(policy.concurrency.axl))
    times = []
    for server, scopes in per_server.items():
        kind = server_kinds.get(server, "ios")
        seconds = _server_seconds(kind, scopes, cal)
        if kind == "cucm":
            seconds = 3 * cal.axl_write + math.ceil(scopes / axl) * cal.axl_write
        times.append(seconds)
    lanes = max(1, int(policy.concurrency.dhcp))
    option150 = _parallel(times, lanes)
    per_phone = max(0, phones_to_move - pool_phones)
    resets = per_phone / float(policy.resets.ceiling_per_second) if per_phone else 0.0
    resets += reset_pools * 3 * cal.axl_write  # the re-check (pools, their devices) and resetDevicePool
    queries = math.ceil(phones_in_wave / max(1, devices_per_query)) if phones_to_move else 0
    gate = (queries * 60.0 / float(policy.ris_queries_per_minute) + cal.register_seconds) if queries else 0.0
    cost = {
        "option150_seconds": round(option150, 1),
        "resets_seconds": round(resets, 1),
        "gate_seconds": round(gate, 1),
    }
    cost["total_seconds"] = round(sum(cost.values()), 1)
    return cost


def with_costs(
    forecasts: Sequence[WaveForecast], *, desired: Any, steps: Sequence[PlanStep]
) -> list[WaveForecast]:
    """``forecasts`` with ``cost`` set from the plan's option 150 steps and the desired state's policy."""
    kinds = {str(s.name): str(s.kind) for s in desired.dhcp.servers}
    out = []
    for f in forecasts:
        servers = [s.address.parts[1] for s in steps if s.wave == f.wave and s.address.kind == "option150"]
        reset = next((s for s in steps if s.wave == f.wave and s.address.kind == "reset"), None)
        after = reset.change.after if reset is not None else None
        plan = PoolResetPlan.from_dict(after.get("resets") if isinstance(after, Mapping) else None)
        cost = wave_cost(option150_servers=servers, server_kinds=kinds, phones_to_move=f.pending,
                         phones_in_wave=f.phones, policy=desired.policy,
                         devices_per_query=ris_devices_per_query(desired),
                         reset_pools=len(plan.pools) if plan else 0,
                         pool_phones=plan.pool_phones if plan else 0)  # fmt: skip
        out.append(replace(f, cost=cost, resets=plan.describe() if plan else None))
    return out


def _parallel(times: list[float], lanes: int) -> float:
    """Makespan of ``times`` on ``lanes`` workers, longest first (a good bound for a handful of servers)."""
    busy = [0.0] * lanes
    for t in sorted(times, reverse=True):
        busy[busy.index(min(busy))] += t
    return max(busy) if times else 0.0


def describe(cost: Mapping[str, Any]) -> str:
    """One human line: ``≈ 2 min 5 s (option 150 3 s, resets 40 s, gate 1 min 22 s)``."""
    part = {k: _duration(cost.get(f"{k}_seconds", 0)) for k in ("total", "option150", "resets", "gate")}
    return f"≈ {part['total']} (option 150 {part['option150']}, resets {part['resets']}, gate {part['gate']})"


def _duration(seconds: Any) -> str:
    value = float(seconds or 0.0)
    if value < 60:
        return f"{value:.0f} s" if value >= 1 else f"{value:.1f} s"
    minutes, rest = divmod(round(value), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"
