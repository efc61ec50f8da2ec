"""The lab's spec file (the spec language: one model, positions, initial state), address relocation,
fault requests and the lab directory's private files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from pydantic import TypeAdapter

from reconciler.errors import LabError, LabSpecError
from simulator.faces.faults import FaceFaults, QueryAllowance
from simulator.inventory import LabPaths, write_private
from simulator.lab.faults import Fault, FaultBoard
from simulator.lab.runtime import LabRuntime, relocate, serve_scopes_from_kea
from simulator.lab.specfile import (
    MAX_LAB_SPEC_BYTES,
    load_lab_file,
    load_lab_text,
    parse_lab_file,
)
from simulator.lab.specschema import lab_spec_schema
from simulator.model import ManualClock, RegStatus, build_lab
from simulator.model.services import TVS
from simulator.spec import LabSpec, NodeLag, default_lab, largest_estate


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


def test_lab_file_sets_a_cluster_version() -> None:
    """A 12.0 target (R6: one ITLRecovery per node before 12.5)."""
    loaded = parse_lab_file({"base": "default", "versions": {"new": "12.0.1.10000-10"}})
    assert {c.name: c.version for c in loaded.spec.clusters} == {
        "old": "11.5.1.21900-40",
        "new": "12.0.1.10000-10",
    }


@pytest.mark.parametrize(
    "doc",
    [{"phone_per_scope": 3}, {"base": "huge"}, {"faults": [{"kind": "meltdown"}]}, {"defects": {"x": 1}},
     {"versions": {"newer": "12.0"}}, {"versions": {"new": "twelve"}}],
)  # fmt: skip
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


# -- the spec language: one model, positions, initial state --------------------------------------------

ROOT = Path(__file__).resolve().parents[2]


def _errors(text: str) -> list[str]:
    with pytest.raises(LabSpecError) as caught:
        load_lab_text(text, file="lab.yaml")
    return [
        f"{d.position}: {d.summary}" + (f" ({d.fix})" if d.fix else "")
        for d in caught.value.diagnostics  # type: ignore[attr-defined]
    ]


def test_the_committed_json_schema_is_current() -> None:
    """docs/lab-spec.schema.json = ``reconciler lab schema`` (regenerate it with that command)."""
    committed = json.loads((ROOT / "docs" / "lab-spec.schema.json").read_text())
    assert committed == lab_spec_schema()
    assert set(committed["properties"]) >= {"base", "clusters", "dhcp", "scopes", "faults", "dialect"}


def test_python_labspec_and_yaml_are_one_model() -> None:
    """Every preset, dumped field by field as YAML, reads back as the same LabSpec."""
    for spec in (default_lab(phones_per_scope=4), largest_estate(phones=2_000, scopes=20)):
        text = yaml.safe_dump(TypeAdapter(LabSpec).dump_python(spec, mode="json"), sort_keys=False)
        assert load_lab_text(text, file="dumped.yaml").spec == spec


def test_unknown_keys_anywhere_are_errors_with_their_position() -> None:
    text = (
        "base: default\n"
        "clusters:\n"
        "  - name: old\n"
        "    role: source\n"
        "    version: 12.5.1.10000-22\n"
        "    nodes:\n"
        "      - {name: pub, ip: 127.0.10.1, publisher: true, servces: [Cisco Tftp]}\n"
        "    cm_groups: {g: [pub]}\n"
        "    device_pools: {DP-PHONES: g}\n"
        "dialect: {paging: never}\n"
    )
    assert _errors(text) == [
        "lab.yaml:7:54: clusters[0].nodes[0].servces: unknown key 'servces' (did you mean 'services'?)",
        "lab.yaml:10:11: dialect.paging: unknown key 'paging' (did you mean 'pagination'?)",
    ]


def test_references_to_nothing_are_errors_at_the_value() -> None:
    text = (
        "base: default\n"
        "home: olde\n"
        "scopes:\n"
        "  - {name: s1, subnet: 192.0.2.0/24, relay: 127.0.30.1, dhcp: iso, phones: 3}\n"
        "  - {name: s2, subnet: 192.0.2.0/33, relay: 10.0.0.1, dhcp: ios, phones: 3, on_target: 5}\n"
        "defects: {stale_itl_scopes: [s3]}\n"
    )
    found = _errors(text)
    assert "lab.yaml:2:7: home: no cluster 'olde' (did you mean 'old'?)" in found
    assert "lab.yaml:4:63: scopes[0].dhcp: no DHCP source 'iso' (did you mean 'ios'?)" in found
    assert any(f.startswith("lab.yaml:5:24: scopes[1].subnet: not an IPv4 subnet") for f in found)
    assert any(f.startswith("lab.yaml:5:45: scopes[1].relay:") and "loopback" in f for f in found)
    assert any(f.startswith("lab.yaml:5:88: scopes[1].on_target:") for f in found)
    known = "(known: s1, s2, scope-a, scope-b, scope-c)"  # merged by name into the preset's scopes
    assert f"lab.yaml:6:30: defects.stale_itl_scopes[0]: no scope 's3' {known}" in found
    assert len(found) == 6


def test_preset_parameters_belong_to_their_preset() -> None:
    assert _errors("base: largest\nphones_per_scope: 3\n") == [
        "lab.yaml:2:1: phones_per_scope: only with 'base: default' (base largest takes phones and scopes)"
    ]
    assert _errors("name: x\n")[0].startswith("lab.yaml:1:1: missing key(s) clusters, dhcp, scopes, home")
    assert _errors("base: largest\nscopes: 0\n") == [
        "lab.yaml:2:9: scopes: Input should be greater than or equal to 1"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
            f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
            for p, c in zip("abcdefgh", "bcdefghi", strict=True)), "values once aliases are expanded"),
        ("base: default\nname: \x00\n", "not allowed in YAML"),
        ("base: default\nbase: largest\n", "duplicate key"),
        ("", "the file is empty"),
        ("base: default\nphones_per_scope: 1000000000\n", "less than or equal to 65536"),
    ],
    ids=["billion-laughs", "nul", "duplicate", "empty", "huge"],
)  # fmt: skip
def test_hostile_lab_specs_end_with_a_position(text: str, expected: str) -> None:
    found = _errors(text)
    assert any(expected in f for f in found), found
    assert all(f.startswith("lab.yaml:") for f in found)


def test_oversized_and_non_utf8_files_are_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (MAX_LAB_SPEC_BYTES + 1))
    with pytest.raises(LabSpecError, match="cannot read the file"):
        load_lab_file(big)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"base: default\nname: caf\xe9\n")
    with pytest.raises(LabSpecError, match=r"latin.yaml:2:10: the file is not UTF-8"):
        load_lab_file(latin)


INITIAL_STATE = """
base: default
phones_per_scope: 4
clusters:
  - name: old
    role: source
    version: 12.5.1.10000-22
    parameters: {Prepare Cluster for Rollback to pre 8.0: true}
    nodes:
      - {name: o-pub, ip: 127.0.10.1, publisher: true, services: [Cisco CallManager, Cisco Tftp,
         Cisco Trust Verification Service, Cisco Certificate Authority Proxy Function], tvs_started_ago: 7200}
      - {name: o-sub, ip: 127.0.10.2, services: [Cisco CallManager, Cisco Trust Verification Service]}
    cm_groups: {old-cmg: [o-sub, o-pub]}
    device_pools: {DP-PHONES: old-cmg}
    trust:
      - {store: Phone-SAST-trust, cluster: new, node: n-pub, identity: callmanager, added_ago: 3600}
      - {store: CallManager-trust, cluster: new, identity: itlrecovery}
  - name: new
    role: target
    version: 14.0.1.11900-132
    nodes:
      - {name: n-pub, ip: 127.0.20.1, publisher: true, services: [Cisco CallManager, Cisco Tftp,
         Cisco Trust Verification Service]}
      - {name: n-sub1, ip: 127.0.20.2, services: [Cisco Tftp, Cisco Trust Verification Service]}
    cm_groups: {new-cmg: [n-pub]}
    device_pools: {DP-PHONES: new-cmg}
scopes:
  - {name: a, subnet: 192.0.2.0/24, relay: 127.0.30.1, dhcp: ios, pool: A, phones: 4, tftp_cluster: new,
     on_target: 3}
  - {name: b, subnet: 198.51.100.0/24, relay: 127.0.30.2, dhcp: old-dhcp, phones: 2, itl: empty,
     model: Cisco 7841}
"""


def test_initial_state_is_built_as_written() -> None:
    clock = ManualClock()
    lab = build_lab(load_lab_text(INITIAL_STATE, file="state.yaml").spec, clock=clock)
    now = clock.now()
    assert lab.enterprise_parameter("old", "Prepare Cluster for Rollback to pre 8.0") == "True"
    # the target's CallManager certificate arrived an hour ago; TVS on o-pub started two hours ago
    assert lab.trust_store_changed_at("old", "o-pub", "Phone-SAST-trust") == now - 3600
    assert lab.service_status("old", "o-pub", TVS).start_time == now - 7200
    assert lab.service_status("old", "o-sub", TVS).start_time == now
    stale_cache, _ = lab.tvs_cache("old", "o-pub")
    fresh_cache, _ = lab.tvs_cache("old", "o-sub")
    assert stale_cache != fresh_cache  # R8: o-pub's TVS does not know the upload
    assert lab.trust_store_changed_at("old", "o-sub", "CallManager-trust") is None  # untimed: long ago
    assert len(lab.trust_store("old", "o-sub", "CallManager-trust")) == 3  # 2 own + new's ITLRecovery
    # option 150 of scope a names the target's TFTP nodes; 3 of its 4 phones are there already
    assert lab.option150("a") == ("127.0.20.1", "127.0.20.2")
    assert lab.option150("b") == ("127.0.10.1",)
    where = {p.name: (p.scope, p.cluster, p.status) for p in lab.phones()}
    assert sorted(c for s, c, _ in where.values() if s == "a") == ["new", "new", "new", "old"]
    assert all(status is RegStatus.REGISTERED for _, _, status in where.values())
    b_phones = [p for p in lab.phones() if p.scope == "b"]
    assert all(p.itl is None and p.model == "Cisco 7841" for p in b_phones)
    unregistered_on_old = [r for r in lab.registrations("old") if r.status is RegStatus.UNREGISTERED]
    assert len(unregistered_on_old) == 3  # RisPort70 of the source still lists the moved phones


def test_lab_up_refuses_a_bad_spec_before_anything_starts(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from reconciler.cli import app

    bad = tmp_path / "lab.yaml"
    bad.write_text(
        "base: default\nscopes:\n  - {name: s, subnet: 192.0.2.0/24, relay: 127.0.30.1, dhcp: iso,"
        " phones: 1}\n"
    )
    directory = tmp_path / "lab"
    result = CliRunner().invoke(app, ["lab", "up", "--detach", "--spec", str(bad), "--dir", str(directory)])
    assert result.exit_code == 1
    assert f"{bad}:3:62: scopes[0].dhcp: no DHCP source 'iso'" in result.output
    assert not directory.exists()  # nothing was started or written
