"""The lab's spec file, address relocation, fault requests and the lab directory's private files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconciler.errors import LabError
from simulator.faces.faults import FaceFaults, QueryAllowance
from simulator.inventory import LabPaths, write_private
from simulator.lab.faults import Fault, FaultBoard
from simulator.lab.runtime import LabRuntime, relocate, serve_scopes_from_kea
from simulator.lab.specfile import parse_lab_file
from simulator.model import ManualClock, build_lab
from simulator.spec import NodeLag, default_lab


def test_lab_file_shapes_the_spec_and_lists_faults() -> None:
    loaded = parse_lab_file(
        {
            "base": "default",
            "phones_per_scope": 7,
            "restart_duration": 2,
            "replication_lag": {"old": 5},
            "defects": {
                "stale_itl_scopes": ["scope-b"],
                "failing_services": [
                    {"cluster": "old", "node": "cucm-old-sub1", "service": "Cisco Trust Verification Service"}
                ],
                "node_lag": [{"cluster": "old", "node": "cucm-old-sub2", "seconds": 120}],
            },
            "faults": [{"kind": "ris-exhausted", "cluster": "new"}],
        }
    )
    assert [s.phones for s in loaded.spec.scopes] == [7, 7, 7]
    assert {c.name: (c.restart_duration, c.replication_lag) for c in loaded.spec.clusters} == {
        "old": (2.0, 5.0),
        "new": (2.0, 0.0),
    }
    assert loaded.spec.defects.stale_itl_scopes == ("scope-b",)
    assert loaded.spec.defects.node_lag == (NodeLag(cluster="old", node="cucm-old-sub2", seconds=120.0),)
    assert loaded.faults == (Fault(kind="ris-exhausted", cluster="new"),)


@pytest.mark.parametrize(
    "doc",
    [{"phone_per_scope": 3}, {"base": "huge"}, {"faults": [{"kind": "meltdown"}]}, {"defects": {"x": 1}}],
)
def test_lab_file_refuses_typos_instead_of_falling_back_to_defaults(doc: dict[str, object]) -> None:
    with pytest.raises(LabError):
        parse_lab_file(doc)


def test_relocate_moves_every_loopback_address_but_not_the_phone_subnets() -> None:
    moved = relocate(default_lab(phones_per_scope=1), "127.9")
    assert [n.ip for n in moved.cluster("new").nodes] == ["127.9.20.1", "127.9.20.2", "127.9.20.3"]
    assert next(d for d in moved.dhcp if d.kind == "ios").address == "127.9.30.254"
    assert [s.relay for s in moved.scopes] == ["127.9.30.1", "127.9.30.2", "127.9.30.3"]
    assert [s.subnet for s in moved.scopes] == [s.subnet for s in default_lab().scopes]
    with pytest.raises(LabError):
        relocate(default_lab(), "10.0")


def test_kea_variant_moves_only_the_named_scopes() -> None:
    spec = serve_scopes_from_kea(
        default_lab(), scopes=["scope-c"], server=("127.0.0.1", 1067), client_port=1068
    )
    assert {s.name: (s.dhcp, s.pool) for s in spec.scopes}["scope-c"] == ("kea", None)
    assert {s.name: s.dhcp for s in spec.scopes}["scope-a"] == "ios"


def test_missing_kea_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import simulator.kea

    monkeypatch.setattr(simulator.kea, "which", lambda *a, **k: None)
    # Kea is checked before anything listens, so this lab never binds an address
    runtime = LabRuntime(directory=tmp_path / "lab", spec=default_lab(phones_per_scope=1), with_kea=True)
    with pytest.raises(LabError) as caught:
        runtime.start()
    assert "kea-dhcp4" in caught.value.message
    assert (
        caught.value.hint is not None
        and "apt-get install" in caught.value.hint
        and "kea-dhcp4-server" in caught.value.hint
    )


def test_fault_board_switches_faces_and_the_model() -> None:
    lab = build_lab(default_lab(phones_per_scope=1), clock=ManualClock())
    nodes = {(c.name, n.name): {f: FaceFaults() for f in ("https", "tftp", "cli")}
             for c in lab.clusters() for n in c.nodes}  # fmt: skip
    board = FaultBoard(lab=lab, node_faults=nodes, router_faults={"ios": FaceFaults(), "sftp": FaceFaults()},
                       allowances={"old": QueryAllowance(15), "new": QueryAllowance(15)})  # fmt: skip
    board.apply(Fault(kind="latency", node="127.0.10.2", face="tftp", seconds=0.5))
    assert nodes[("old", "cucm-old-sub1")]["tftp"].latency_s == 0.5
    assert nodes[("old", "cucm-old-sub1")]["https"].latency_s == 0.0
    board.apply(Fault(kind="axl-throttle", cluster="new"))
    assert all(nodes[("new", n)]["https"].axl_write_throttle for n in ("cucm-new-pub", "cucm-new-sub1"))
    board.apply(Fault(kind="unreachable", node="ios"))
    assert board.router_faults["ios"].unreachable
    board.apply(Fault(kind="ris-exhausted", cluster="old"))
    assert not board.allowances["old"].try_consume()
    board.apply(Fault(kind="replication-lag", cluster="old", seconds=9))
    board.apply(Fault(kind="drop-ssh", node="cucm-new-sub2", count=2))
    assert nodes[("new", "cucm-new-sub2")]["cli"].take_ssh_drop()
    assert len(board.state()) == 6
    board.apply(Fault(kind="axl-throttle", cluster="new", off=True))
    assert not any(f["https"].axl_write_throttle for f in nodes.values())
    assert len(board.state()) == 5
    with pytest.raises(LabError):
        board.apply(Fault(kind="tvs-fail", node="nowhere"))
    with pytest.raises(LabError):
        board.apply(Fault(kind="latency", node="cucm-old-pub", face="smtp"))


def test_private_files_are_0600_in_a_0700_directory(tmp_path: Path) -> None:
    paths = LabPaths.at(tmp_path / "lab")
    os.umask(0o022)
    paths.prepare()
    write_private(paths.credential("x"), "secret\n")
    write_private(paths.credential("x"), "rotated\n")  # replaced, still private
    assert paths.credentials.stat().st_mode & 0o777 == 0o700
    assert paths.credential("x").stat().st_mode & 0o777 == 0o600
    assert paths.credential("x").read_text() == "rotated\n"
