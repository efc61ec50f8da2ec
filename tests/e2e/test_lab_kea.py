"""End to end with a real Kea (issue 7): ``reconciler lab up --with-kea`` serves scope-c from a real
kea-dhcp4 behind its control agent; the desired state declares that Kea (URL and credentials from the
lab's inventory) as scope-c's server. ``plan`` reads option 150 through the control agent, ``apply``
changes it there (R12) and moves every phone (R13), and Kea itself then answers a relayed DHCP
DISCOVER (``reconciler.dhcpwire``, as a phone behind scope-c's relay would send it) with the target's
TFTP nodes in option 150.

The lab runs on a leased address prefix (``tests.loopback``) in a temporary directory (``tests.e2e.labrun``,
``lab down`` always), 3 phones per scope, 1-second restarts. Needs kea-dhcp4 and kea-ctrl-agent (skipped
locally without them, a failure in CI).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_tool
from tests.e2e.labdoc import lab_data
from tests.e2e.labrun import RunningLab, raise_ris_allowance, running_lab
from tests.loopback import Loopback

pytestmark = pytest.mark.lab
TARGET_CALL_NODES = {"cucm-new-sub1", "cucm-new-sub2"}


@pytest.fixture
def lab(tmp_path: Path, loopback: Loopback) -> Iterator[RunningLab]:
    require_tool("kea-dhcp4")
    require_tool("kea-ctrl-agent")
    with running_lab(
        tmp_path, loopback=loopback, spec={"base": "default", "phones_per_scope": 3}, with_kea=True
    ) as running:
        yield running


def _kea(lab: RunningLab) -> dict[str, Any]:
    return dict(next(s for s in lab.inventory()["dhcp"]["servers"] if s["kind"] == "kea"))


def _kea_document(lab: RunningLab) -> dict[str, Any]:
    """examples/lab.yaml for this lab, with scope-c served by the lab's Kea (control agent REST)."""
    kea = _kea(lab)
    agent = kea["control_agent"]
    doc = lab_data(lab_dir=lab.lab_dir, prefix=lab.prefix, reset_every_wave=True, gate_deadline="30s",
                   ris_queries_per_minute=60)  # fmt: skip
    doc["dhcp"]["servers"].append(
        {
            "name": "lab-kea",
            "kind": "kea",
            "url": agent["url"],
            "credentials": {"username": agent["username"], "password": f"file:{agent['password_file']}"},
        }
    )
    scope_c = next(s for s in doc["dhcp"]["scopes"] if s["name"] == "scope-c")
    scope_c["server"] = "lab-kea"
    scope_c.pop("pool", None)
    return doc


def _ask_kea(lab: RunningLab, *, mac: str) -> tuple[IPv4Address, ...]:
    """A relayed DISCOVER from scope-c's relay address; Kea's OFFER's option 150."""
    from reconciler.dhcpwire import query_relayed
    from reconciler.errors import TemporaryError, UnreachableError

    kea = _kea(lab)
    relay = next(s for s in lab.inventory()["dhcp"]["scopes"] if s["name"] == "scope-c")["relay"]
    for attempt in range(5):  # the lab's own phones may hold the relay socket for a moment
        try:
            offer = query_relayed(server=(kea["server"]["host"], int(kea["server"]["port"])), giaddr=relay,
                                  client_port=int(kea["client_port"]), mac=mac, timeout=2.0)  # fmt: skip
            return offer.option150
        except (TemporaryError, UnreachableError):
            if attempt == 4:
                raise
            time.sleep(0.5)
    raise AssertionError("unreachable")


def test_kea_scope_moves_and_kea_answers_with_the_new_option150(lab: RunningLab) -> None:
    """R12/R13 through a real Kea: plan shows scope-c's option 150 change on lab-kea, apply moves every
    phone, and Kea's relayed OFFER then carries the target's TFTP nodes."""
    inventory = lab.inventory()
    assert next(s for s in inventory["dhcp"]["scopes"] if s["name"] == "scope-c")["server"] == "kea"
    old_tftp = (IPv4Address(f"{lab.prefix}.10.1"), IPv4Address(f"{lab.prefix}.10.2"))
    new_tftp = (IPv4Address(f"{lab.prefix}.20.1"), IPv4Address(f"{lab.prefix}.20.2"))
    assert _ask_kea(lab, mac="02:00:00:00:50:01") == old_tftp  # today: the source's TFTP nodes

    lab.write(_kea_document(lab))
    raise_ris_allowance(lab.yaml)
    ops = lab.operations()
    plan = lab.run("plan", "lab.yaml", "--detailed-exitcode", "--json")
    assert plan.returncode == 2, plan.stdout + plan.stderr
    doc = json.loads(plan.stdout)
    step = next(s for s in doc["steps"] if s["address"] == "option150.lab-kea.scope-c")
    assert (step["provider"], step["wave"], step["rule"]) == ("dhcp_kea", "wave-3", "R12")
    assert [IPv4Address(a) for a in step["before"]] == list(old_tftp)
    assert [IPv4Address(a) for a in step["after"]] == list(new_tftp)
    assert sum(f["move"] for f in doc["forecast"]) == 9
    assert lab.operations() == ops, "a plan must not mutate anything"

    apply = lab.run("apply", "lab.yaml", "--auto-approve", timeout=180)
    assert apply.returncode == 0, apply.stdout + apply.stderr[-4000:]
    phones = lab.lab("phones")
    assert {(p["cluster"], p["status"]) for p in phones} == {("new", "Registered")}
    assert {p["node"] for p in phones} <= TARGET_CALL_NODES
    assert {p["scope"] for p in phones} == {"scope-a", "scope-b", "scope-c"}

    assert _ask_kea(lab, mac="02:00:00:00:50:02") == new_tftp
    replan = lab.run("plan", "lab.yaml", "--detailed-exitcode")
    assert replan.returncode == 0, replan.stdout + replan.stderr
