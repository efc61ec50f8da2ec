"""Scenario with a real Kea: phones of scope-c get option 150 from a real kea-dhcp4 on loopback through
a relayed DHCP exchange (giaddr = the scope's relay address); the operator changes option 150 in Kea
through its control agent (R12) and the reset phones move. Needs kea-dhcp4 and kea-ctrl-agent."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any

import pytest
import requests

from simulator.kea import KeaInstance, KeaSubnet
from simulator.model import playbook as pb
from simulator.model.build import build_lab
from simulator.model.clock import ManualClock
from simulator.model.phones import RegStatus
from simulator.spec import default_lab
from tests.conftest import require_tool

RELAY = "127.0.31.43"  # 127.0.31.x: test relays (the running lab uses 127.0.30.x)


def kea_command(kea: KeaInstance, command: str, arguments: dict[str, Any] | None = None) -> Any:
    body: dict[str, Any] = {"command": command, "service": ["dhcp4"]}
    if arguments is not None:
        body["arguments"] = arguments
    reply = requests.post(kea.url, json=body, auth=(kea.user, kea.password), timeout=5)
    reply.raise_for_status()
    result = reply.json()[0]
    assert result["result"] == 0, result
    return result.get("arguments")


@pytest.mark.lab
def test_phones_behind_kea_follow_option150_changed_in_kea(tmp_path: Path) -> None:
    require_tool("kea-dhcp4")
    require_tool("kea-ctrl-agent")
    subnet = KeaSubnet(
        id=3,
        subnet=IPv4Network("203.0.113.0/24"),
        relay=IPv4Address(RELAY),
        option150=(IPv4Address("127.0.10.1"), IPv4Address("127.0.10.2")),
    )
    with KeaInstance(workdir=tmp_path / "kea", subnets=[subnet]).start() as kea:
        spec = default_lab(phones_per_scope=3, with_kea=(kea.server[0], kea.server[1], kea.client_port))
        spec = replace(
            spec, scopes=tuple(replace(s, relay=RELAY) if s.name == "scope-c" else s for s in spec.scopes)
        )
        lab = build_lab(spec, clock=ManualClock())
        assert lab.option150("scope-c") == ("127.0.10.1", "127.0.10.2")  # a real relayed DHCP exchange
        pb.establish_trust(lab, source="old", target="new")
        pb.wait(lab, 1)
        pb.restart_tvs_everywhere(lab, cluster="old")
        lab.reset_phones(scope="scope-c")
        assert {p.cluster for p in lab.phones(scope="scope-c")} == {"old"}  # Kea still says old
        config = kea_command(kea, "config-get")
        for entry in config["Dhcp4"]["subnet4"]:
            entry["option-data"] = [{"name": "tftp-server-address", "data": "127.0.20.1, 127.0.20.2"}]
        config["Dhcp4"].pop("hash", None)
        kea_command(kea, "config-set", config)
        mark = len(lab.operation_log)
        assert lab.option150("scope-c") == ("127.0.20.1", "127.0.20.2")
        lab.reset_phones(scope="scope-c")
        for p in lab.phones(scope="scope-c"):
            assert (p.cluster, p.status, p.reason) == ("new", RegStatus.REGISTERED, "")
        assert [e.op for e in lab.operation_log.since(mark)] == ["reset_phones"]  # Kea changes are Kea's
