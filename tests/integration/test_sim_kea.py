"""simulator.kea: a real Kea pair starts, serves relayed DHCP, fails loudly on a bad config and leaves
no process behind."""

from __future__ import annotations

import os
import stat
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from reconciler.dhcpwire import query_relayed
from reconciler.errors import LabError
from simulator.kea import KeaInstance, KeaSubnet
from tests.conftest import require_tool

pytestmark = pytest.mark.lab


def _subnet(relay: str, tftp: str) -> KeaSubnet:
    return KeaSubnet(id=1, name="s", subnet=IPv4Network("192.0.2.0/24"), relay=IPv4Address(relay),
                     option150=(IPv4Address(tftp),))  # fmt: skip


def test_two_instances_run_side_by_side_and_answer_their_own_relays(tmp_path: Path) -> None:
    require_tool("kea-dhcp4")
    require_tool("kea-ctrl-agent")
    with (
        KeaInstance(workdir=tmp_path / "a", subnets=[_subnet("127.0.31.40", "10.0.0.1")]) as a,
        KeaInstance(workdir=tmp_path / "b", subnets=[_subnet("127.0.31.40", "10.0.0.2")]) as b,
    ):
        for kea, tftp in ((a, "10.0.0.1"), (b, "10.0.0.2")):
            offer = query_relayed(server=kea.server, giaddr="127.0.31.40", client_port=kea.client_port,
                                  mac="02:00:00:00:00:40", timeout=1.5)  # fmt: skip
            assert offer.option150 == (IPv4Address(tftp),)
            assert stat.S_IMODE(kea.password_file.stat().st_mode) == 0o600
            assert kea.password not in kea.dhcp4_config.read_text()
            assert kea.log_path("kea-dhcp4").stat().st_size > 0


def test_a_config_kea_refuses_is_a_lab_error_with_the_log_tail_and_no_leftover(tmp_path: Path) -> None:
    require_tool("kea-dhcp4")
    require_tool("kea-ctrl-agent")
    kea = KeaInstance(workdir=tmp_path / "bad", subnets=[_subnet("127.0.31.41", "10.0.0.1")],
                      extra_dhcp4={"option-def": []}, start_timeout=5)  # fmt: skip
    with pytest.raises(LabError) as info:
        kea.start()
    assert "kea-dhcp4 exited" in str(info.value) and "tftp-server-address" in str(info.value)
    assert not kea.running() and kea.pids() == {}


def test_a_long_workdir_still_gets_a_usable_control_socket(tmp_path: Path) -> None:
    require_tool("kea-dhcp4")
    require_tool("kea-ctrl-agent")
    deep = tmp_path / ("x" * 60) / ("y" * 60)
    with KeaInstance(workdir=deep, subnets=[_subnet("127.0.31.42", "10.0.0.3")]) as kea:
        assert len(str(kea.control_socket)) < 100 and kea.control_socket.exists()
        sockdir = kea.control_socket.parent
        pids = kea.pids()
    assert not sockdir.exists()
    for pid in pids.values():
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def _kea_pids_for(workdir: Path) -> list[int]:
    """Pids of kea daemons whose command line names ``workdir`` (a /proc scan; no psutil)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "kea-" in cmdline and str(workdir) in cmdline:
            pids.append(int(entry.name))
    return pids


def test_start_then_with_block_runs_one_pair_and_leaves_nothing(tmp_path: Path) -> None:
    """``with KeaInstance(...).start() as kea`` used to spawn a second pair and orphan the first."""
    require_tool("kea-dhcp4")
    require_tool("kea-ctrl-agent")
    workdir = tmp_path / "k"
    with KeaInstance(workdir=workdir, subnets=[_subnet("127.0.31.41", "10.0.0.3")]).start() as kea:
        assert len(_kea_pids_for(workdir)) == 2
        assert sorted(kea.pids().values()) == sorted(_kea_pids_for(workdir))
    assert _kea_pids_for(workdir) == []
