"""Pool-level resets against the lab's AXL face (zeep, real SOAP over HTTPS): the device listing by
pool (``executeSQLQuery`` over ``device``/``devicepool``), ``resetDevicePool`` (request shape [I],
docs/cucm-interfaces.md) and ``ResetProvider`` running a wave whose phones fill a whole pool with one
call instead of one per phone (R12). The lab's operation log is the proof of what was reset."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import RemoteFaultError
from reconciler.live.pools import read_pools
from reconciler.model import Action, Address, Change, freeze
from reconciler.plan.poolreset import decide
from reconciler.wiring.connections import Connections
from reconciler.wiring.estate import ProviderEstate
from reconciler.wiring.reset import ResetProvider
from schemas.document import DesiredState
from simulator.lab.runtime import LabRuntime
from tests.contract.lab_fixtures import OpLog, _ios_entry, axl_client, lab_desired, lab_runtime_fixture
from tests.e2e.labdoc import lab_data

pytestmark = pytest.mark.lab

lab = lab_runtime_fixture()
POOL = "DP-PHONES"  # default_lab: every phone of the three scopes is in this pool of old


def _one_wave_desired(rt: LabRuntime) -> DesiredState:
    """examples/lab.yaml with one wave over all three scopes (so it covers the whole pool)."""
    inv = rt.inventory
    doc = lab_data(lab_dir=Path(inv["directory"]), prefix=rt.prefix)
    for cluster in doc["clusters"]:
        cluster["ports"] = dict(inv["ports"])
    for server in doc["dhcp"]["servers"]:
        if server["kind"] == "ios":
            server["port"] = int(_ios_entry(rt)["port"])
    first = doc["migration"]["waves"][0]
    doc["migration"]["waves"] = [{**first, "scopes": ["scope-a", "scope-b", "scope-c"]}]
    doc["policy"]["resets"] = {"pool_level": "auto"}
    return DesiredState.model_validate(doc)


def test_the_device_listing_names_every_device_of_a_pool_and_its_class(lab: LabRuntime) -> None:
    desired = lab_desired(lab)
    with axl_client(desired.cluster("old")) as axl:  # type: ignore[arg-type]
        devices = axl.pool_devices(POOL)
        everything = axl.pool_devices()
    names = {p.name for p in lab.lab.phones() if p.device_pool == POOL}
    assert {d.name for d in devices} == names and len(names) == 30
    assert all(d.is_phone and d.pool == POOL for d in devices)
    assert {d.name for d in everything} >= names


def test_reset_device_pool_resets_the_pool_in_one_logged_operation(lab: LabRuntime) -> None:
    desired = lab_desired(lab)
    mark = OpLog.mark_now(lab)
    with axl_client(desired.cluster("old")) as axl:  # type: ignore[arg-type]
        axl.reset_device_pool(POOL)
        with pytest.raises(RemoteFaultError) as missing:
            axl.reset_device_pool("DP-NO-SUCH-POOL")
    assert missing.value.code == "5007"
    ops = [(op.op, op.target, op.detail) for op in mark.since()]
    assert ops == [("reset_device_pool", POOL, "30 phones")]


def test_a_wave_covering_the_whole_pool_is_reset_by_one_pool_call(lab: LabRuntime) -> None:
    desired = _one_wave_desired(lab)
    conns = Connections(desired)
    try:
        estate = ProviderEstate(conns)
        wave = desired.migration.wave_list[0]
        phones = [p.name for group in estate.phones(wave.scopes).values() for p in group]
        plan = decide(
            mode=desired.policy.resets.pool_level,
            wave_phones=phones,
            pending=phones,
            listing=read_pools(estate, "old"),
        )
        assert plan.pools == ((POOL, 30),) and plan.per_phone == 0
        provider = ResetProvider(desired=desired, conns=conns, estate=estate, cluster="old")
        after = freeze({"phones": 30, "scopes": list(wave.scopes), "resets": plan.to_dict()})
        mark = OpLog.mark_now(lab)
        result = provider.apply(
            Change(address=Address.of("reset", wave.name), action=Action.RUN, after=after, reason="t")
        )
    finally:
        conns.close()
    ops = [(op.op, op.target) for op in mark.since()]
    assert ops == [("reset_device_pool", POOL)], "one pool call, not one reset per phone"
    assert result.observed["pool_phones"] == 30 and result.observed["per_phone"] == 0
