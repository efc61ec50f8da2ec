"""The built-in lab's spec follows docs/lab.md, and the largest estate has the size of docs/performance.md."""

from __future__ import annotations

from collections import Counter

from simulator.model.build import build_lab
from simulator.model.clock import ManualClock
from simulator.model.phones import RegStatus
from simulator.model.services import CAPF, TFTP, TVS
from simulator.spec import LabDefects, NodeLag, default_lab, largest_estate


def test_default_lab_matches_lab_md() -> None:
    lab = build_lab(default_lab(), clock=ManualClock())
    old, new = lab.cluster("old"), lab.cluster("new")
    assert (old.role, old.version, old.mixed_mode) == ("source", "11.5.1.21900-40", True)
    assert (new.role, new.version) == ("target", "14.0.1.11900-132")
    assert [(n.name, n.ip) for n in old.nodes] == [
        ("cucm-old-pub", "127.0.10.1"), ("cucm-old-sub1", "127.0.10.2"), ("cucm-old-sub2", "127.0.10.3")
    ]  # fmt: skip
    assert [n.ip for n in new.nodes] == ["127.0.20.1", "127.0.20.2", "127.0.20.3"]
    assert [n.name for n in new.nodes_running(TFTP)] == ["cucm-new-pub", "cucm-new-sub1"]
    assert [n.name for n in old.nodes_running(TVS)] == ["cucm-old-pub", "cucm-old-sub1", "cucm-old-sub2"]
    assert [n.name for n in old.nodes_running(CAPF)] == ["cucm-old-pub"]
    assert dict(old.cm_groups) == {"old-cmg": ("cucm-old-sub1", "cucm-old-sub2")}
    assert dict(new.cm_groups) == {"new-cmg": ("cucm-new-sub1", "cucm-new-sub2")}
    assert Counter(p.scope for p in lab.phones()) == {"scope-a": 100, "scope-b": 100, "scope-c": 100}
    assert {(p.cluster, p.status) for p in lab.phones()} == {("old", RegStatus.REGISTERED)}
    assert {s.name: (s.subnet, s.relay, s.source) for s in lab.scopes()} == {
        "scope-a": ("192.0.2.0/24", "127.0.30.1", "ios"),
        "scope-b": ("198.51.100.0/24", "127.0.30.2", "old-dhcp"),
        "scope-c": ("203.0.113.0/24", "127.0.30.3", "ios"),
    }
    assert all(lab.option150(s.name) == ("127.0.10.1", "127.0.10.2") for s in lab.scopes())
    names = [p.name for p in lab.phones()]
    assert len(set(names)) == 300 and all(n.startswith("SEP") and len(n) == 15 for n in names)


def test_kea_variant_serves_scope_c_from_kea() -> None:
    spec = default_lab(with_kea=("127.0.0.1", 10067, 10068))
    assert {s.name: s.dhcp for s in spec.scopes}["scope-c"] == "kea"


def test_largest_estate_size() -> None:
    spec = largest_estate()
    assert [len(c.nodes) for c in spec.clusters] == [21, 21]
    assert len(spec.scopes) == 1000 and sum(s.phones for s in spec.scopes) == 80_000
    assert len({s.subnet for s in spec.scopes}) == 1000 and len({s.relay for s in spec.scopes}) == 1000


def test_defects_are_applied() -> None:
    spec = default_lab(phones_per_scope=2).with_defects(
        LabDefects(
            stale_itl_scopes=("scope-a",),
            node_lag=(NodeLag(cluster="old", node="cucm-old-sub2", seconds=99.0),),
        )
    )
    lab = build_lab(spec, clock=ManualClock())
    labels = {p.scope: p.itl.label for p in lab.phones() if p.itl is not None}
    assert labels == {"scope-a": "stale", "scope-b": "", "scope-c": ""}
