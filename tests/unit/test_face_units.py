"""Unit tests of the faces' small parts: the RisPort70 allowance window, AXL LIKE matching, WSDL copies,
known_hosts lines and the backend protocols being satisfied by the in-process fakes."""

from __future__ import annotations

from pathlib import Path

import paramiko

from simulator.faces import backends
from simulator.faces.axl_tags import like
from simulator.faces.fakes import FakeNode, FakeRouter
from simulator.faces.faults import FaceFaults, QueryAllowance
from simulator.faces.serviceability import ris_cap
from simulator.faces.ssh import generate_host_key, known_hosts_line

ROOT = Path(__file__).resolve().parents[2]


def test_allowance_is_a_sliding_minute() -> None:
    now = [0.0]
    allowance = QueryAllowance(3, clock=lambda: now[0])
    assert [allowance.try_consume() for _ in range(4)] == [True, True, True, False]
    now[0] = 59.9
    assert not allowance.try_consume()
    now[0] = 60.0
    assert allowance.try_consume()
    allowance.exhaust()
    assert not allowance.try_consume()


def test_drop_fault_counts_down() -> None:
    faults = FaceFaults()
    faults.drop_next_ssh_commands(2)
    assert [faults.take_ssh_drop() for _ in range(3)] == [True, True, False]


def test_like_matches_sql_wildcards_case_insensitively() -> None:
    assert like("SEP%", "sep001122334455")
    assert like("cucm-_ub", "cucm-pub")
    assert not like("cucm-_ub", "cucm-sub1")
    assert like(None, "anything") and like("%", "")
    assert not like("a[b]%", "ab") and like("a[b]%", "a[b]c")


def test_ris_cap_by_version() -> None:
    assert ris_cap("11.5.1.21900-40") == 1000
    assert ris_cap("12.5.1") == 1000
    assert ris_cap("14.0.1.11900-132") == 2000


def test_provider_wsdl_copies_are_identical() -> None:
    names = sorted(p.name for p in (ROOT / "simulator/faces/wsdl").glob("*.wsdl"))
    assert names == ["AXLAPI.wsdl", "ControlCenterServices.wsdl", "RISService70.wsdl"]
    for name in names:
        assert (ROOT / "providers/wsdl" / name).read_bytes() == (
            ROOT / "simulator/faces/wsdl" / name
        ).read_bytes()


def test_known_hosts_line_round_trips_through_paramiko(tmp_path: Path) -> None:
    key = generate_host_key()
    path = tmp_path / "known_hosts"
    path.write_text(
        known_hosts_line("127.0.10.1", 2222, key) + "\n" + known_hosts_line("127.0.10.2", 22, key) + "\n"
    )
    hosts = paramiko.HostKeys(str(path))
    assert hosts.lookup("[127.0.10.1]:2222")[key.get_name()] == key
    assert hosts.lookup("127.0.10.2") is not None


def test_fakes_satisfy_the_backend_protocols() -> None:
    node = FakeNode()
    for proto in (
        backends.AxlBackend,
        backends.ServicesBackend,
        backends.RisBackend,
        backends.CertmgrBackend,
        backends.CliBackend,
        backends.TftpBackend,
    ):
        assert isinstance(node, proto), proto.__name__
    assert isinstance(FakeRouter(), backends.IosBackend)
