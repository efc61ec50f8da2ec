"""``LabRuntime(with_kea=True)`` (``reconciler lab up --with-kea``): scope-c is served by a real kea-dhcp4
on loopback in relay mode; phones of that scope ask it with relayed DHCP packets, and the lab stops Kea
with everything else."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.lab.process import alive
from simulator.lab.runtime import LabRuntime
from simulator.model import RegStatus
from simulator.spec import default_lab
from tests.conftest import require_tool
from tests.loopback import Loopback

pytestmark = pytest.mark.lab


def test_with_kea_scope_c_asks_a_real_kea_and_the_lab_stops_it(tmp_path: Path, loopback: Loopback) -> None:
    require_tool("kea-dhcp4")
    require_tool("kea-ctrl-agent")
    with loopback.lease() as lease:
        _run_with_kea(tmp_path, prefix=lease.prefix)


def _run_with_kea(tmp_path: Path, *, prefix: str) -> None:
    runtime = LabRuntime(directory=tmp_path / "lab", spec=default_lab(phones_per_scope=5), prefix=prefix,
                         with_kea=True).start()  # fmt: skip
    try:
        kea = next(s for s in runtime.inventory["dhcp"]["servers"] if s["kind"] == "kea")
        assert Path(kea["control_agent"]["password_file"]).stat().st_mode & 0o777 == 0o600
        scope = next(s for s in runtime.inventory["dhcp"]["scopes"] if s["name"] == "scope-c")
        assert scope["server"] == "kea" and scope["relay"] == f"{prefix}.30.3"
        old_tftp = tuple(n.ip for n in runtime.lab.cluster("old").nodes_running("Cisco Tftp"))
        assert runtime.lab.option150("scope-c") == old_tftp  # a relayed DISCOVER answered by Kea
        stats = runtime.lab.reset_phones(scope="scope-c")
        assert stats.phones == 5
        assert runtime.wait_booted(60.0)  # the phones boot over the wire, asking Kea each
        assert {p.status for p in runtime.lab.phones(scope="scope-c")} == {RegStatus.REGISTERED}
        assert runtime.booter is not None
        traces = [e.detail for e in runtime.booter.log if e.op == "boot"]
        assert len(traces) == 5 and all(t.startswith(f"dhcp kea: option 150 {old_tftp[0]}") for t in traces)
        kea_log = runtime._kea.log_path("kea-dhcp4").read_text(errors="replace").lower()
        for phone in runtime.lab.phones(scope="scope-c"):  # each phone did its own exchange, with its MAC
            mac = ":".join(phone.mac[i : i + 2] for i in range(0, 12, 2)).lower()
            assert f"[hwtype=1 {mac}]" in kea_log, phone.name  # DHCP4_LEASE_ADVERT names the client
        pids = list(runtime._kea.pids().values())
        assert pids and all(alive(p) for p in pids)
    finally:
        runtime.stop()
    assert not any(alive(p) for p in pids)
