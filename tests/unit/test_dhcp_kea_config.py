"""Pure tests of how providers.dhcp.kea reads and edits a Kea configuration document (no server):
matching option 150 by code or by an option-def name, shared networks, and removal."""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Any

import pytest
import requests

from providers.dhcp.kea import KeaDhcpBackend
from reconciler.errors import RemoteFaultError

A, B = IPv4Address("10.40.0.21"), IPv4Address("10.40.0.22")


def _config() -> dict[str, Any]:
    return {
        "Dhcp4": {
            "control-socket": {"socket-type": "unix", "socket-name": "/run/kea/kea4.sock"},
            "option-def": [{"name": "cisco-tftp", "code": 150, "space": "dhcp4", "type": "ipv4-address",
                            "array": True}],
            "option-data": [{"name": "domain-name-servers", "data": "10.0.0.53"}],
            "subnet4": [
                {"id": 1, "subnet": "10.1.0.0/24", "relay": {"ip-address": "10.1.0.1"},
                 "option-data": [{"name": "cisco-tftp", "data": "10.30.0.11"},
                                 {"name": "routers", "data": "10.1.0.1"}]},
            ],
            "shared-networks": [
                {"name": "floor2", "relay": {"ip-addresses": ["10.2.0.1"]},
                 "option-data": [{"code": 150, "data": "10.30.0.12"}],
                 "subnet4": [{"id": 2, "subnet": "10.2.0.0/24", "user-context": {"name": "floor2-a"}}]},
            ],
        }
    }  # fmt: skip


@pytest.fixture
def backend() -> KeaDhcpBackend:
    return KeaDhcpBackend(name="kea1", url="http://127.0.0.1:1/", session=requests.Session())


def test_scopes_read_by_option_def_name_and_inherited_from_the_shared_network(
    backend: KeaDhcpBackend,
) -> None:
    dhcp4 = _config()["Dhcp4"]
    scopes = [backend._scope(dhcp4, s, n) for s, n in backend._subnets(dhcp4)]
    assert [(s.name, s.option150, s.relay) for s in scopes] == [
        ("10.1.0.0/24", (IPv4Address("10.30.0.11"),), IPv4Address("10.1.0.1")),
        ("floor2-a", (IPv4Address("10.30.0.12"),), IPv4Address("10.2.0.1")),
    ]


def test_edit_rewrites_only_the_option150_entry_of_the_scope(backend: KeaDhcpBackend) -> None:
    old = _config()
    new = backend.edit(old, scope="10.1.0.0/24", addresses=[A, B])
    assert old == _config()  # pure
    options = new["Dhcp4"]["subnet4"][0]["option-data"]
    assert options[0] == {"name": "cisco-tftp", "data": "10.40.0.21, 10.40.0.22"}
    assert options[1] == {"name": "routers", "data": "10.1.0.1"}
    new["Dhcp4"]["subnet4"][0]["option-data"] = old["Dhcp4"]["subnet4"][0]["option-data"]
    assert new == old  # nothing else moved, control-socket included


def test_edit_of_a_shared_network_subnet_overrides_on_the_subnet(backend: KeaDhcpBackend) -> None:
    new = backend.edit(_config(), scope="floor2-a", addresses=[B])
    network = new["Dhcp4"]["shared-networks"][0]
    assert network["subnet4"][0]["option-data"] == [
        {"name": "cisco-tftp", "code": 150, "space": "dhcp4", "data": "10.40.0.22"}
    ]
    assert network["option-data"] == [{"code": 150, "data": "10.30.0.12"}]


def test_empty_list_removes_the_subnet_entry(backend: KeaDhcpBackend) -> None:
    new = backend.edit(_config(), scope="10.1.0.0/24", addresses=[])
    assert new["Dhcp4"]["subnet4"][0]["option-data"] == [{"name": "routers", "data": "10.1.0.1"}]


def test_unknown_scope_is_refused(backend: KeaDhcpBackend) -> None:
    with pytest.raises(RemoteFaultError, match="no scope"):
        backend.edit(_config(), scope="10.9.0.0/24", addresses=[A])
