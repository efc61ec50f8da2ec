"""Integration tests of providers.dhcp.kea against a REAL kea-dhcp4 + kea-ctrl-agent on loopback.

Every assertion about what phones would get is made with a real relayed DHCP exchange
(reconciler.dhcpwire.query_relayed), as a phone behind an ip helper-address would see it (R12).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any

import pytest

from providers.dhcp.kea import KeaDhcpBackend
from reconciler.dhcpwire import query_relayed
from reconciler.errors import (
    AuthenticationError,
    RemoteFaultError,
    TemporaryError,
    UnreachableError,
    VerificationError,
)
from simulator.kea import KeaInstance, KeaSubnet, free_port
from tests.conftest import require_tool
from tests.kea_support import TFTP_NEW, TFTP_OLD, RecordingAdapter, backend_for, running_kea

pytestmark = pytest.mark.lab

MAC = "00:1b:54:00:00:01"


@pytest.fixture
def kea(tmp_path: Path) -> Iterator[KeaInstance]:
    require_tool("kea-dhcp4")
    require_tool("kea-ctrl-agent")
    with running_kea(tmp_path / "kea") as instance:
        yield instance


@pytest.fixture
def wired(kea: KeaInstance) -> tuple[KeaDhcpBackend, RecordingAdapter]:
    return backend_for(kea)


def phone_sees(kea: KeaInstance, relay: str) -> tuple[IPv4Address, ...]:
    offer = query_relayed(server=kea.server, giaddr=relay, client_port=kea.client_port, mac=MAC, timeout=1.5)
    return offer.option150


def test_list_scopes_reads_names_subnets_relays_and_option150(wired: tuple[KeaDhcpBackend, Any]) -> None:
    backend, adapter = wired
    scopes = {s.name: s for s in backend.list_scopes()}
    assert set(scopes) == {"scope-a", "scope-b"}
    assert scopes["scope-a"].subnet == IPv4Network("192.0.2.0/24")
    assert scopes["scope-a"].relay == IPv4Address("127.0.31.2")
    assert scopes["scope-a"].option150 == TFTP_OLD
    assert scopes["scope-b"].option150 == TFTP_OLD[:1]
    assert adapter.mutations() == []


def test_set_option150_changes_what_phones_get_and_nothing_else_R12(
    kea: KeaInstance, wired: tuple[KeaDhcpBackend, RecordingAdapter]
) -> None:
    backend, adapter = wired
    assert phone_sees(kea, "127.0.31.2") == TFTP_OLD
    result = backend.set_option150(scope="scope-a", addresses=TFTP_NEW)
    assert result.changed and result.previous == TFTP_OLD and result.scope.option150 == TFTP_NEW
    assert phone_sees(kea, "127.0.31.2") == TFTP_NEW
    assert phone_sees(kea, "127.0.31.3") == TFTP_OLD[:1]  # the other scope is untouched
    assert adapter.commands == ["config-get", "config-test", "config-set", "config-write"]


def test_scope_can_be_named_by_subnet(kea: KeaInstance, wired: tuple[KeaDhcpBackend, Any]) -> None:
    backend, _ = wired
    backend.set_option150(scope="198.51.100.0/24", addresses=TFTP_NEW[1:])
    assert phone_sees(kea, "127.0.31.3") == TFTP_NEW[1:]


def test_setting_the_same_value_twice_sends_no_config_set_the_second_time(
    wired: tuple[KeaDhcpBackend, RecordingAdapter],
) -> None:
    backend, adapter = wired
    backend.set_option150(scope="scope-a", addresses=TFTP_NEW)
    adapter.commands.clear()
    again = backend.set_option150(scope="scope-a", addresses=TFTP_NEW)
    assert not again.changed
    assert adapter.commands == ["config-get"]


def test_config_write_persists_the_new_option_and_the_control_socket(
    kea: KeaInstance, wired: tuple[KeaDhcpBackend, Any]
) -> None:
    backend, _ = wired
    before = json.loads(kea.dhcp4_config.read_text())["Dhcp4"]
    backend.set_option150(scope="scope-a", addresses=TFTP_NEW)
    written = json.loads(kea.dhcp4_config.read_text())["Dhcp4"]
    subnet = next(s for s in written["subnet4"] if s["subnet"] == "192.0.2.0/24")
    option = next(o for o in subnet["option-data"] if o.get("code") == 150)
    assert [IPv4Address(a.strip()) for a in option["data"].split(",")] == list(TFTP_NEW)
    assert written["control-socket"] == before["control-socket"]
    assert any(d["code"] == 150 for d in written["option-def"])


def test_control_socket_is_preserved_and_still_usable(
    kea: KeaInstance, wired: tuple[KeaDhcpBackend, Any]
) -> None:
    backend, _ = wired
    socket_before = backend.get_config()["Dhcp4"]["control-socket"]
    backend.set_option150(scope="scope-a", addresses=TFTP_NEW)
    backend.set_option150(scope="scope-b", addresses=TFTP_NEW)
    assert backend.get_config()["Dhcp4"]["control-socket"] == socket_before
    assert kea.control_socket.exists()
    assert backend.command("status-get")["result"] == 0


def test_kea_pinned_gotcha_a_failed_config_set_stops_dhcp_until_a_good_one_is_sent(
    kea: KeaInstance, wired: tuple[KeaDhcpBackend, Any]
) -> None:
    """Kea closes its DHCP sockets after a failed config-set (pinned): why the backend probes and restores."""
    backend, _ = wired
    good = backend.get_config()
    broken = json.loads(json.dumps(good))
    broken["Dhcp4"]["subnet4"][0]["option-data"][0]["data"] = "not-an-ip"
    assert backend.command("config-set", broken, check=False)["result"] != 0
    assert backend.get_config()["Dhcp4"]["subnet4"][0]["option-data"][0]["data"] != "not-an-ip"
    with pytest.raises(TemporaryError):
        phone_sees(kea, "127.0.31.2")  # Kea says nothing changed, yet it no longer answers
    backend.command("config-set", good)
    assert phone_sees(kea, "127.0.31.2") == TFTP_OLD


def _break_option_data(body: dict[str, Any]) -> dict[str, Any]:
    for subnet in body["arguments"]["Dhcp4"]["subnet4"]:
        for option in subnet.get("option-data", []):
            if option.get("code") == 150:
                option["data"] = "not-an-ip"
    return body


def test_a_broken_config_set_is_not_left_in_place_dhcp_keeps_the_previous_option150(
    kea: KeaInstance, wired: tuple[KeaDhcpBackend, RecordingAdapter]
) -> None:
    backend, adapter = wired
    adapter.tamper["config-set"] = _break_option_data  # passes config-test, corrupted on the wire after
    with pytest.raises(RemoteFaultError) as info:
        backend.set_option150(scope="scope-a", addresses=TFTP_NEW)
    assert "previous configuration was restored and Kea answers again" in str(info.value)
    assert phone_sees(kea, "127.0.31.2") == TFTP_OLD
    assert {s.name: s.option150 for s in backend.list_scopes()}["scope-a"] == TFTP_OLD
    assert "config-write" not in adapter.commands


def test_an_accepted_config_under_which_kea_stops_answering_is_rolled_back(
    kea: KeaInstance, wired: tuple[KeaDhcpBackend, RecordingAdapter]
) -> None:
    backend, adapter = wired
    on_disk = kea.dhcp4_config.read_text()

    def move_relay(body: dict[str, Any]) -> dict[str, Any]:  # valid config; phones' relay no longer matches
        body["arguments"]["Dhcp4"]["subnet4"][0]["relay"] = {"ip-addresses": ["127.0.31.99"]}
        return body

    adapter.tamper["config-set"] = move_relay
    with pytest.raises(VerificationError) as info:
        backend.set_option150(scope="scope-a", addresses=TFTP_NEW)
    message = str(info.value)
    assert "stopped answering DHCP" in message and "previous configuration was restored" in message
    assert phone_sees(kea, "127.0.31.2") == TFTP_OLD
    assert kea.dhcp4_config.read_text() == on_disk  # nothing written
    assert adapter.mutations() == ["config-set", "config-set"]  # the change, then the restore


def test_raw_form_option150_is_matched_by_code_and_keeps_its_form(tmp_path: Path) -> None:
    require_tool("kea-dhcp4")
    require_tool("kea-ctrl-agent")
    raw_subnet = {
        "id": 7, "subnet": "203.0.113.0/24", "pools": [{"pool": "203.0.113.100 - 203.0.113.150"}],
        "relay": {"ip-addresses": ["127.0.31.7"]},
        "option-data": [{"code": 150, "csv-format": False, "data": "0A1E000B"}],
    }  # fmt: skip
    with running_kea(
        tmp_path / "kea", subnets=[], extra_dhcp4={"option-def": [], "subnet4": [raw_subnet]}
    ) as kea:
        backend, _ = backend_for(kea)
        (scope,) = backend.list_scopes()
        assert scope.name == "203.0.113.0/24" and scope.option150 == (IPv4Address("10.30.0.11"),)
        backend.set_option150(scope="203.0.113.0/24", addresses=TFTP_NEW)
        option = backend.get_config()["Dhcp4"]["subnet4"][0]["option-data"][0]
        assert option["csv-format"] is False and option["data"].upper() == "0A280015" + "0A280016"
        assert phone_sees(kea, "127.0.31.7") == TFTP_NEW


def test_global_option150_is_inherited_and_overridden_per_subnet(tmp_path: Path) -> None:
    require_tool("kea-dhcp4")
    require_tool("kea-ctrl-agent")
    subnets = [KeaSubnet(id=1, name="s", subnet=IPv4Network("192.0.2.0/24"), relay=IPv4Address("127.0.31.4"))]
    extra = {"option-data": [{"name": "tftp-server-address", "data": "10.30.0.11"}]}
    with running_kea(tmp_path / "kea", subnets=subnets, extra_dhcp4=extra) as kea:
        backend, _ = backend_for(kea)
        assert backend.list_scopes()[0].option150 == TFTP_OLD[:1]
        backend.set_option150(scope="s", addresses=TFTP_NEW)
        assert phone_sees(kea, "127.0.31.4") == TFTP_NEW
        assert backend.get_config()["Dhcp4"]["option-data"][0]["data"] == "10.30.0.11"  # global untouched


def test_unknown_scope_is_a_remote_fault_naming_the_known_scopes(wired: tuple[KeaDhcpBackend, Any]) -> None:
    backend, adapter = wired
    with pytest.raises(RemoteFaultError, match="scope-a, scope-b"):
        backend.set_option150(scope="scope-z", addresses=TFTP_NEW)
    assert adapter.mutations() == []


def test_wrong_password_and_dead_agent_map_to_the_error_tree(kea: KeaInstance) -> None:
    backend, _ = backend_for(kea, password="wrong")
    with pytest.raises(AuthenticationError) as info:
        backend.list_scopes()
    assert "kea1" in str(info.value)
    dead = KeaInstance(workdir=kea.workdir, subnets=[], ca_port=free_port())
    backend, _ = backend_for(dead, password="x")
    with pytest.raises(UnreachableError):
        backend.list_scopes()


def test_stop_leaves_no_process_behind(tmp_path: Path) -> None:
    require_tool("kea-dhcp4")
    require_tool("kea-ctrl-agent")
    with running_kea(tmp_path / "kea") as kea:
        pids = kea.pids()
        assert kea.running()
    for pid in pids.values():
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_a_batch_is_one_config_set_and_one_probe_and_phones_of_every_scope_see_it(
    kea: KeaInstance, wired: tuple[KeaDhcpBackend, RecordingAdapter]
) -> None:
    """R12 at scale: a wave's scopes on one Kea cost one config-test, one config-set, one config-write."""
    backend, adapter = wired
    names = [s.name for s in backend.list_scopes()]
    assert len(names) >= 2
    adapter.commands.clear()
    results = backend.set_option150_batch(wants=[(n, TFTP_NEW) for n in names])
    assert all(r.changed for r in results)
    assert adapter.commands == ["config-get", "config-test", "config-set", "config-write"]
    checks = backend.verify_option150_batch(wants=[(n, TFTP_NEW) for n in names])
    assert all(c.complies for c in checks)
    assert [c.method for c in checks].count("read-back+dhcp-query") == 1, "one probe for the batch"
    relays = [str(s.relay) for s in backend.list_scopes() if s.relay is not None]
    assert all(phone_sees(kea, r) == TFTP_NEW for r in relays)


def test_a_failed_batch_restores_every_scope_of_it(
    kea: KeaInstance, wired: tuple[KeaDhcpBackend, RecordingAdapter]
) -> None:
    backend, adapter = wired
    before = {s.name: s.option150 for s in backend.list_scopes()}
    adapter.tamper["config-set"] = _break_option_data
    with pytest.raises(RemoteFaultError) as info:
        backend.set_option150_batch(wants=[(n, TFTP_NEW) for n in before])
    assert "previous configuration was restored" in str(info.value)
    assert {s.name: s.option150 for s in backend.list_scopes()} == before
    assert "config-write" not in adapter.commands
