"""``ProviderEstate`` phone reads over in-process fake clients: scope membership by address, the owner
cluster, and the refresh's registration read answered from the listing just taken (no second paced
RisPort70 pass over the same phones) while a later read goes to RisPort70 again."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from providers.cucm_axl.models import DevicePoolInfo, PhoneInfo
from providers.cucm_serviceability import Registration
from reconciler.config.loader import load
from reconciler.wiring import estate_phones
from reconciler.wiring.estate import ProviderEstate

ROOT = Path(__file__).resolve().parents[2]
T0 = dt.datetime(2026, 11, 27, tzinfo=dt.UTC)


class FakeRis:
    def __init__(self, records: list[Registration]) -> None:
        self.records = records
        self.calls: list[tuple[str, ...]] = []

    def raw_registrations(
        self, items: tuple[str, ...] = ("*",), progress: Callable[[int, int, float], None] | None = None
    ) -> tuple[Registration, ...]:
        self.calls.append(tuple(items))
        if progress is not None:
            progress(len(self.records), len(self.records), 0.0)
        return tuple(self.records)

    def registrations(self, items: list[str]) -> tuple[Registration, ...]:
        self.calls.append(tuple(items))
        wanted = {i.upper() for i in items}
        return tuple(r for r in self.records if r.name.upper() in wanted)


class FakeAxl:
    def __init__(self, pool: str, group: str, phones: list[str]) -> None:
        self._pools = (DevicePoolInfo(name=pool, callmanager_group=group),)
        self._phones = tuple(PhoneInfo(name=p, device_pool=pool) for p in phones)

    def device_pools(self) -> tuple[DevicePoolInfo, ...]:
        return self._pools

    def phone_device_pools(self) -> dict[str, str]:
        return {p.name: p.device_pool for p in self._phones}


class FakeConns:
    def __init__(self, desired: Any, ris: dict[str, FakeRis], axl: dict[str, FakeAxl]) -> None:
        self.desired, self._ris, self._axl = desired, ris, axl

    def ris(self, cluster: str) -> FakeRis:
        return self._ris[cluster]

    def axl(self, cluster: str) -> FakeAxl:
        return self._axl[cluster]


def _reg(name: str, ip: str, node: str, status: str = "Registered") -> Registration:
    return Registration(name=name, node=node, status=status, ip=ip, timestamp=T0)


@pytest.fixture
def setup() -> tuple[ProviderEstate, FakeRis, FakeRis]:
    loaded = load(ROOT / "examples" / "lab.yaml")
    assert loaded.state is not None
    old = FakeRis([_reg("SEPA1", "192.0.2.10", "old-sub1"), _reg("SEPB1", "198.51.100.10", "old-sub1")])
    new = FakeRis([_reg("SEPB1", "198.51.100.10", "new-sub1")])
    axl = {
        "old": FakeAxl("DP-OLD", "CMG-OLD", ["SEPA1", "SEPB1"]),
        "new": FakeAxl("DP-NEW", "CMG-NEW", ["SEPA1", "SEPB1"]),
    }
    conns = FakeConns(loaded.state, {"old": old, "new": new}, axl)
    return ProviderEstate(conns, parallelism=2), old, new  # type: ignore[arg-type]


def test_scope_owner_and_group_come_from_addresses_and_registrations(
    setup: tuple[ProviderEstate, FakeRis, FakeRis],
) -> None:
    estate, _old, _new = setup
    found = estate.phones(["scope-a", "scope-b"])
    a = {p.name: p for p in found["scope-a"]}
    b = {p.name: p for p in found["scope-b"]}
    assert a["SEPA1"].cluster == "old" and a["SEPA1"].cm_group == "CMG-OLD"
    assert b["SEPB1"].cluster == "new" and b["SEPB1"].cm_group == "CMG-NEW"


def test_registrations_reuse_a_fresh_listing_then_ask_again(
    setup: tuple[ProviderEstate, FakeRis, FakeRis],
) -> None:
    estate, _old, new = setup
    estate.phones(["scope-a"])
    assert new.calls == [("*",)]
    regs = estate.registrations("new", ["sepb1", "SEPA1"])
    assert new.calls == [("*",)], "the listing of a moment ago answers"
    assert (
        set(regs) == {"sepb1"} and regs["sepb1"].node == "new-sub1" and regs["sepb1"].status == "Registered"
    )
    again = estate.registrations("new", ["SEPB1"])
    assert new.calls[-1] == ("SEPB1",) and again["SEPB1"].node == "new-sub1", "used once, then live"


def test_an_old_listing_is_not_used(
    setup: tuple[ProviderEstate, FakeRis, FakeRis], monkeypatch: pytest.MonkeyPatch
) -> None:
    estate, _old, new = setup
    monkeypatch.setattr(estate_phones, "LISTING_TTL", 0.0)
    estate.phones(["scope-a"])
    estate.registrations("new", ["SEPB1"])
    assert new.calls == [("*",), ("SEPB1",)]
