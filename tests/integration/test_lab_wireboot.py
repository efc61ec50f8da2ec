"""The running lab's phones boot over the wire (``simulator.lab.wireboot``): a reset asks the scope's DHCP
source, downloads CTL/ITL/configuration from the TFTP face option 150 names and asks TVS over TLS on
2445. These tests prove it is the wire and not the model: faults on a face that the model knows nothing
about (the node's TFTP and TVS services stay Started) change what the phones do (R3, R12)."""

from __future__ import annotations

import re
import threading
from collections import Counter
from pathlib import Path

import pytest

from simulator.lab.control import control_request
from simulator.lab.faults import Fault
from simulator.lab.runtime import LabRuntime
from simulator.model import RegStatus
from simulator.model import playbook as pb
from simulator.model import services as svc
from simulator.spec import default_lab
from tests.loopback import Loopback

pytestmark = pytest.mark.lab

BOOT_WAIT = 120.0  # seconds; a bound, not an expectation


def _lab(tmp_path: Path, prefix: str, **kwargs: object) -> LabRuntime:
    return LabRuntime(
        directory=tmp_path / "lab",
        spec=default_lab(phones_per_scope=4),
        prefix=prefix,
        restart_duration=0.0,
        **kwargs,  # type: ignore[arg-type]
    ).start()


def _by_phone(runtime: LabRuntime) -> dict[str, str]:
    assert runtime.booter is not None
    return {e.target: e.detail for e in runtime.booter.log if e.op == "boot"}


def _migrate_trust(runtime: LabRuntime) -> None:
    """A correct manual method (R4-R8): trust established, TVS of the source restarted, option 150 on the
    target (R12) - every phone moves when the faces answer."""
    lab = runtime.lab
    pb.establish_trust(lab, source="old", target="new")
    pb.wait(lab, 1)
    pb.restart_tvs_everywhere(lab, cluster="old")
    pb.wait(lab, 1)
    pb.point_scopes_at(lab, cluster="new")


def test_a_reset_boots_each_phone_over_dhcp_tftp_and_tvs_and_the_boot_log_shows_it(
    tmp_path: Path, loopback: Loopback
) -> None:
    with loopback.lease() as lease:
        runtime = _lab(tmp_path, lease.prefix)
        try:
            assert runtime.booter is not None  # boot: auto -> wire for a small lab
            for node in ("cucm-old-pub", "cucm-old-sub1"):  # slow TFTP: the reboot is observable
                runtime.apply_fault(Fault(kind="latency", node=node, face="tftp", seconds=0.2))
            runtime.lab.reset_phones()
            rebooting = runtime.lab.phones()
            assert any(p.status is RegStatus.UNREGISTERED and "rebooting" in p.reason for p in rebooting)
            status = control_request(runtime.inventory["control"], "GET", "/status")
            assert status["boot"] == "wire" and status["booting"] > 0
            assert runtime.wait_booted(BOOT_WAIT)
            boots = control_request(runtime.inventory["control"], "GET", "/boots")
            assert {b["target"] for b in boots} == {p.name for p in rebooting}
            phones = runtime.lab.phones()
            assert {(p.cluster, p.status) for p in phones} == {("old", RegStatus.REGISTERED)}
            log = _by_phone(runtime)
            assert set(log) == {p.name for p in phones}
            first_tftp = runtime.lab.option150("scope-a")[0]
            for name, trace in log.items():
                assert trace.startswith("dhcp "), trace
                for path in (f"CTL{name}.tlv", f"ITL{name}.tlv", f"{name}.cnf.xml.sgn"):
                    assert f"tftp {first_tftp}: GET {path} 200" in trace

            _migrate_trust(runtime)
            for node in ("cucm-old-pub", "cucm-old-sub1"):
                runtime.apply_fault(Fault(kind="latency", node=node, face="tftp", off=True))
            runtime.lab.reset_phones()
            assert runtime.wait_booted(BOOT_WAIT)
            moved = runtime.lab.phones()
            assert {(p.cluster, p.status) for p in moved} == {("new", RegStatus.REGISTERED)}
            assert all(" query " in trace for trace in _by_phone(runtime).values())  # TVS vouched (R5)
            for trace in _by_phone(runtime).values():  # one TLS connection per TVS server and boot
                asked = set(re.findall(r"tvs (\S+): query", trace))
                assert asked and all(trace.count(f"tvs {n}: TLS up") == 1 for n in asked), trace
        finally:
            runtime.stop()
    assert not [t.name for t in threading.enumerate() if t.name.startswith("lab-boot")]


def test_a_tftp_face_that_does_not_answer_sends_phones_to_the_next_address_though_the_model_runs_it(
    tmp_path: Path, loopback: Loopback
) -> None:
    with loopback.lease() as lease:
        runtime = _lab(tmp_path, lease.prefix)
        try:
            first, second = runtime.lab.option150("scope-a")[:2]
            node = runtime.lab.node_at(first)
            assert node is not None
            assert runtime.lab.service_status("old", node.name, svc.TFTP).status is svc.ServiceStatus.STARTED
            runtime.apply_fault(Fault(kind="unreachable", node=node.name, face="tftp"))
            runtime.lab.reset_phones(scope="scope-a")
            assert runtime.wait_booted(BOOT_WAIT)
            phones = runtime.lab.phones(scope="scope-a")
            assert {(p.tftp, p.status) for p in phones} == {(second, RegStatus.REGISTERED)}
            for trace in _by_phone(runtime).values():
                assert f"tftp {first}: unreachable" in trace and f"tftp {second}: GET" in trace
        finally:
            runtime.stop()


def test_unreachable_tvs_faces_strand_the_phones_though_the_model_tvs_is_started(
    tmp_path: Path, loopback: Loopback
) -> None:
    """R3: with the source's TVS faces closed (the model says Started, its caches know the target), the
    phones cannot verify the target's files, keep the source's configuration and say why."""
    with loopback.lease() as lease:
        runtime = _lab(tmp_path, lease.prefix)
        try:
            _migrate_trust(runtime)
            group = runtime.lab.cluster("old").cm_groups["old-cmg"]
            for node in group:
                assert runtime.lab.service_status("old", node, svc.TVS).status is svc.ServiceStatus.STARTED
                runtime.apply_fault(Fault(kind="unreachable", node=node, face="tvs"))
            runtime.lab.reset_phones(scope="scope-b")
            assert runtime.wait_booted(BOOT_WAIT)
            phones = runtime.lab.phones(scope="scope-b")
            assert Counter((p.cluster, p.status, p.rule) for p in phones) == {
                ("old", RegStatus.REGISTERED, "R3"): len(phones)
            }
            assert all("rejected [R3]" in p.reason for p in phones)
            assert all(f"tvs {n}: unreachable" in t for t in _by_phone(runtime).values() for n in group)

            for node in group:  # the same boot with the faces answering: the phones move
                runtime.apply_fault(Fault(kind="unreachable", node=node, face="tvs", off=True))
            runtime.lab.reset_phones(scope="scope-b")
            assert runtime.wait_booted(BOOT_WAIT)
            assert {p.cluster for p in runtime.lab.phones(scope="scope-b")} == {"new"}
        finally:
            runtime.stop()


def test_boot_model_boots_at_once_without_the_faces(tmp_path: Path, loopback: Loopback) -> None:
    """``boot: model`` (the largest estate's path): the same phone code, no sockets - a TFTP face fault
    changes nothing, which is exactly why the default lab boots over the wire."""
    with loopback.lease() as lease:
        runtime = _lab(tmp_path, lease.prefix, boot="model")
        try:
            assert runtime.booter is None
            first = runtime.lab.option150("scope-a")[0]
            node = runtime.lab.node_at(first)
            assert node is not None
            runtime.apply_fault(Fault(kind="unreachable", node=node.name, face="tftp"))
            stats = runtime.lab.reset_phones(scope="scope-a")
            assert stats.registered == stats.phones
            assert {p.tftp for p in runtime.lab.phones(scope="scope-a")} == {first}
        finally:
            runtime.stop()


def test_stopping_the_lab_mid_boot_leaves_no_boot_thread(tmp_path: Path, loopback: Loopback) -> None:
    """``lab down`` during a mass reset: queued boots are dropped, running ones finish, threads joined."""
    with loopback.lease() as lease:
        runtime = _lab(tmp_path, lease.prefix)
        try:
            for node in ("cucm-old-pub", "cucm-old-sub1"):
                runtime.apply_fault(Fault(kind="latency", node=node, face="tftp", seconds=0.2))
            runtime.lab.reset_phones()
            assert runtime.lab.boots_pending() > 0
        finally:
            runtime.stop()
        runtime.lab.reset_phones()  # after stop: the model path again, nothing queued anywhere
    assert not [t.name for t in threading.enumerate() if t.name.startswith("lab-boot")]
