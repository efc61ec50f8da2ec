"""``reconciler init`` round trip: from a seed (two publishers, credential references, the DHCP servers)
to a desired state that validates, holds credentials as references only, and plans exactly the
migration the hand-written one (examples/lab.yaml for the same lab) plans — on the default lab and on a
lab of another shape (``lab up --spec``: other node counts, other TFTP nodes, another version).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.labdoc import lab_data
from tests.e2e.labrun import RunningLab, running_lab
from tests.loopback import Loopback

pytestmark = pytest.mark.lab


def _seed(doc: dict[str, Any]) -> dict[str, Any]:
    """What a user gives init: each cluster's connection settings and publisher, the DHCP servers."""
    keep = ("name", "role", "ports", "certificate_api", "credentials", "tls", "ssh")
    clusters = []
    for cluster in doc["clusters"]:
        entry = {k: cluster[k] for k in keep if k in cluster}
        entry["publisher"] = next(n["host"] for n in cluster["nodes"] if n.get("publisher"))
        clusters.append(entry)
    return {"clusters": clusters, "dhcp": {"servers": doc["dhcp"]["servers"]}}


def _plan(lab: RunningLab, name: str) -> dict[str, Any]:
    result = lab.run("plan", name, "-o", f"{name}.plan.json")
    assert result.returncode == 0, result.stdout + result.stderr
    return dict(json.loads((lab.workdir / f"{name}.plan.json").read_text()))


def _shape(plan: dict[str, Any], doc: dict[str, Any]) -> list[tuple[str, str, Any, Any]]:
    """The plan's steps with scope names replaced by their subnets (init names scopes after the
    server's pools and subnets), as (address, action, before, after)."""
    subnet = {s["name"]: s["subnet"] for s in doc["dhcp"]["scopes"]}
    out = []
    for step in plan["steps"]:
        parts = step["address"].split(".", 2)
        address = step["address"]
        if parts[0] in ("option150", "restore"):  # a scope's change, and its revert (on_failure)
            address = f"{parts[0]}.{parts[1]}.{subnet[parts[2]]}"
        after = step["after"]
        if isinstance(after, dict) and "scopes" in after:
            after = {**after, "scopes": [subnet[name] for name in after["scopes"]]}
        out.append((address, step["action"], json.dumps(step["before"]), json.dumps(after)))
    return sorted(out)


def _round_trip(lab: RunningLab, doc: dict[str, Any], *, operations: Callable[[], int]) -> None:
    for wave in doc["migration"]["waves"]:  # gates are a user's choice: init writes one default
        wave["gate"] = {"min_registered_share": 0.95, "deadline": "10m"}
    lab.write(doc, "lab.yaml")
    seed = lab.write(_seed(doc), "seed.yaml")
    before = operations()
    result = lab.run("init", seed.name, "-o", "init.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert operations() == before  # init only reads (the lab's operation log)
    text = (lab.workdir / "init.yaml").read_text()
    assert "# CallManager groups" in text and "# today:" in text
    passwords = [p.read_text().strip() for p in (lab.lab_dir / "credentials").iterdir()]
    assert not any(p in text for p in passwords)
    assert "file:" in text  # credentials stay references
    assert lab.run("validate", "init.yaml").returncode == 0
    written = yaml.safe_load(text)
    for mine, theirs in zip(written["clusters"], doc["clusters"], strict=True):
        assert mine["version"] == theirs["version"]
        assert [n["host"] for n in mine["nodes"]] == [n["host"] for n in theirs["nodes"]]
        assert [sorted(n["services"]) for n in mine["nodes"]] == [
            sorted(n["services"]) for n in theirs["nodes"]
        ]
    assert sorted(s["subnet"] for s in written["dhcp"]["scopes"]) == sorted(
        s["subnet"] for s in doc["dhcp"]["scopes"]
    )
    ours, theirs_plan = _plan(lab, "init.yaml"), _plan(lab, "lab.yaml")
    assert ours["steps"], "the migration has changes to make"
    assert _shape(ours, written) == _shape(theirs_plan, doc), _debug_diff(
        _shape(ours, written), _shape(theirs_plan, doc)
    )
    assert [(f["phones"], f["move"], f["stranded"]) for f in ours["forecast"]] == [
        (f["phones"], f["move"], f["stranded"]) for f in theirs_plan["forecast"]
    ]


def test_init_round_trips_on_the_default_lab(tmp_path: Path, loopback: Loopback) -> None:
    with running_lab(tmp_path, loopback=loopback, spec={"base": "default", "phones_per_scope": 4}) as lab:
        _round_trip(lab, lab_data(lab_dir=lab.lab_dir, prefix=lab.prefix), operations=lab.operations)


def _custom_spec() -> Any:
    """Another shape than the default lab: a 12.5 source of two nodes (TFTP on the publisher only), a
    14.0 target of four whose TFTP nodes are two subscribers (not the publisher), two IOS scopes."""
    from simulator.spec import (
        CALLMANAGER,
        CAPF,
        CTL_PROVIDER,
        TFTP,
        TVS,
        ClusterSpec,
        DhcpSpec,
        LabSpec,
        NodeSpec,
        ScopeSpec,
    )

    base = (CALLMANAGER, TVS, CTL_PROVIDER, "Cisco Tomcat", "Cisco RIS Data Collector")
    old = ClusterSpec(
        name="old",
        role="source",
        version="12.5.1.11900-146",
        nodes=(
            NodeSpec(name="old-a", ip="127.0.10.1", publisher=True, services=(*base, TFTP, CAPF)),
            NodeSpec(name="old-b", ip="127.0.10.2", services=base),
        ),
        cm_groups={"old-cmg": ("old-b", "old-a")},
        device_pools={"DP-PHONES": "old-cmg"},
    )
    new = ClusterSpec(
        name="new",
        role="target",
        version="14.0.1.11900-132",
        nodes=(
            NodeSpec(name="new-a", ip="127.0.20.1", publisher=True, services=(*base, CAPF)),
            NodeSpec(name="new-b", ip="127.0.20.2", services=(*base, TFTP)),
            NodeSpec(name="new-c", ip="127.0.20.3", services=base),
            NodeSpec(name="new-d", ip="127.0.20.4", services=(*base, TFTP)),
        ),
        cm_groups={"new-cmg": ("new-c", "new-b")},
        device_pools={"DP-PHONES": "new-cmg"},
    )
    scopes = (
        ScopeSpec(name="x", subnet="10.20.0.0/24", relay="127.0.30.1", dhcp="ios", pool="PHONES-X", phones=3),
        ScopeSpec(name="y", subnet="10.20.1.0/24", relay="127.0.30.2", dhcp="ios", pool="PHONES-Y", phones=3),
    )
    router = DhcpSpec(name="ios", kind="ios", address="127.0.30.254")
    return LabSpec(name="custom", clusters=(old, new), dhcp=(router,), scopes=scopes, home="old")


def _custom_doc(lab: RunningLab, spec: Any) -> dict[str, Any]:
    """The hand-written desired state for the custom lab: examples/lab.yaml's settings, the spec's shape."""
    from reconciler.vocabulary import SERVICE_NAMES

    words = {str(name): str(word) for word, name in SERVICE_NAMES.items()}
    keep = {"callmanager", "tftp", "tvs", "ctl_provider", "capf"}
    doc = lab_data(lab_dir=lab.lab_dir, prefix=lab.prefix)
    for cluster, shape in zip(doc["clusters"], spec.clusters, strict=True):
        cluster["version"] = shape.version
        cluster["nodes"] = [
            {"name": n.name, "host": n.ip.replace("127.0.", f"{lab.prefix}.", 1), "publisher": n.publisher,
             "services": [words[s] for s in n.services if words.get(s) in keep]}
            for n in shape.nodes
        ]  # fmt: skip
    doc["dhcp"]["servers"] = [s for s in doc["dhcp"]["servers"] if s["kind"] == "ios"]
    router = doc["dhcp"]["servers"][0]["name"]
    doc["dhcp"]["scopes"] = [
        {"name": f"scope-{s.name}", "server": router, "subnet": s.subnet, "pool": s.pool,
         "option150": {"tftp_nodes_of": "new"}}
        for s in spec.scopes
    ]  # fmt: skip
    doc["migration"]["waves"] = [
        {"name": f"wave-{n}", "scopes": [f"scope-{s.name}"], "reset": True,
         "gate": {"min_registered_share": 0.95, "deadline": "10m"}}
        for n, s in enumerate(spec.scopes, 1)
    ]  # fmt: skip
    return doc


def test_init_round_trips_on_a_lab_of_another_shape(tmp_path: Path, loopback: Loopback) -> None:
    from simulator.lab.runtime import LabRuntime

    spec = _custom_spec()
    with loopback.lease() as lease:
        runtime = LabRuntime(
            directory=tmp_path / "lab",
            spec=spec,
            prefix=lease.prefix,
            ports=lease.ports,
            restart_duration=1.0,
        ).start()
        try:
            lab = RunningLab(workdir=tmp_path, lab_dir=tmp_path / "lab", prefix=lease.prefix)
            _round_trip(lab, _custom_doc(lab, spec), operations=lambda: len(runtime.lab.operation_log))
        finally:
            runtime.stop()


def _debug_diff(a: list[Any], b: list[Any]) -> str:
    return (
        "\nonly init: "
        + "\n  ".join(map(str, sorted(set(a) - set(b))))
        + "\nonly example: "
        + "\n  ".join(map(str, sorted(set(b) - set(a))))
    )
