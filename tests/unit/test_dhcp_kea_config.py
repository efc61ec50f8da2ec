"""Pure tests of how providers.dhcp.kea edits a Kea configuration document (no server): matching option 150
by code or by an option-def name, shared networks, and removal. The document is the recorded config-get
answer ``tests/cases/kea-config-get/option-def-name-and-shared-network.yaml``; how it reads is checked
with every other recorded answer in ``test_wire_cases``."""

from __future__ import annotations

import json
from ipaddress import IPv4Address
from typing import Any

import pytest
import requests

from providers.dhcp.kea import KeaDhcpBackend
from reconciler.errors import RemoteFaultError
from tests.wire_cases import CASES_DIR, load_case

A, B = IPv4Address("10.40.0.21"), IPv4Address("10.40.0.22")
CONFIG_GET = load_case(CASES_DIR / "kea-config-get" / "option-def-name-and-shared-network.yaml")


def _config() -> dict[str, Any]:
    """The Dhcp4 document of a recorded config-get answer (its parse is checked in test_wire_cases)."""
    answer = json.loads(CONFIG_GET.answers()[0])
    return {"Dhcp4": answer[0]["arguments"]["Dhcp4"]}


@pytest.fixture
def backend() -> KeaDhcpBackend:
    return KeaDhcpBackend(name="kea1", url="http://127.0.0.1:1/", session=requests.Session())


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
