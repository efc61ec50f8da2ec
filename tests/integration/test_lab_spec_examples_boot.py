"""Every ``lab up --spec`` example of docs/lab.md boots its phones over the wire: each example's lab
(``LabRuntime`` on a leased prefix, as ``lab up --spec`` builds it) resets every phone, and each phone
takes the full path — DHCP through its scope's source, its files from the TFTP face, TVS over TLS where
it asks — and comes back registered where the example says: where it was, except in the half-done
migration, whose scope-b already names the target while half its phones are still on the source — TVS on
``cucm-old-sub1``, the first of their group, restarted after the target's certificates reached
Phone-SAST-trust (R8), so those phones move when reset. tests/e2e/test_lab_spec_examples.py checks that the
examples come up as written."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.lab.runtime import LabRuntime
from simulator.lab.specfile import load_lab_text
from simulator.model import RegStatus
from tests.conftest import require_tool
from tests.e2e.test_lab_spec_examples import _examples
from tests.loopback import Loopback

pytestmark = pytest.mark.lab


@pytest.mark.parametrize("title", list(_examples()))
def test_every_lab_md_spec_example_boots_its_phones_over_the_wire(
    title: str, tmp_path: Path, loopback: Loopback
) -> None:
    spec = load_lab_text(_examples()[title], file=f"docs/lab.md ({title})").spec
    if any(d.kind == "kea" for d in spec.dhcp):
        require_tool("kea-dhcp4")
        require_tool("kea-ctrl-agent")
    with loopback.lease() as lease:
        runtime = LabRuntime(directory=tmp_path / "lab", spec=spec, prefix=lease.prefix, restart_duration=0.0)
        runtime.start()
        try:
            assert runtime.booter is not None, "the example's phones do not boot over the wire"
            before = {p.name: (p.cluster, p.status) for p in runtime.lab.phones()}
            assert set(before.values()) <= {(c.name, RegStatus.REGISTERED) for c in spec.clusters}
            expected = dict(before)
            if title == "half-done migration":
                half = [p.name for p in runtime.lab.phones(scope="scope-b") if p.cluster == "old"]
                assert len(half) == 50
                expected.update({name: ("new", RegStatus.REGISTERED) for name in half})
            runtime.lab.reset_phones()
            assert runtime.wait_booted(120.0)
            after = {p.name: (p.cluster, p.status) for p in runtime.lab.phones()}
            reasons = {p.name: p.reason for p in runtime.lab.phones() if after[p.name] != expected[p.name]}
            assert after == expected, reasons
            boots = {e.target: e.detail for e in runtime.booter.log if e.op == "boot"}
            assert set(boots) == set(before)  # every phone booted once, over the faces
            for name, trace in boots.items():
                assert trace.startswith("dhcp ") and " GET ITLSEP" in trace and " 200" in trace, (name, trace)
        finally:
            runtime.stop()
