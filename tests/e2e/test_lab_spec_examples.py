"""Every ``lab up --spec`` example of docs/lab.md, brought up as a user does (``reconciler lab up --spec
FILE --detach`` on a leased prefix): the lab then holds what the spec says, as ``reconciler lab phones``,
``lab status`` and the inventory report it — phones per scope and cluster (``on_target`` ones already on
the target, all Registered), versions, TFTP nodes, CallManager groups, a Kea the lab started for Kea
scopes. Kea examples need kea-dhcp4 and kea-ctrl-agent (skipped locally without them, a failure in CI).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from simulator.lab.specfile import load_lab_text
from simulator.model.services import TFTP
from tests.conftest import require_tool
from tests.e2e.labrun import running_lab
from tests.loopback import Loopback

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parents[2]
_BLOCK = re.compile(r"```yaml\n(# lab spec: ([^\n]+)\n.*?)```", re.S)


def _examples() -> dict[str, str]:
    return {m.group(2): m.group(1) for m in _BLOCK.finditer((ROOT / "docs" / "lab.md").read_text())}


def test_docs_show_the_three_examples() -> None:
    assert list(_examples()) == ["default", "12.5 to 14", "half-done migration"]
    assert "--spec" in (ROOT / "docs" / "lab.md").read_text()


@pytest.mark.parametrize("title", list(_examples()))
def test_every_lab_md_spec_example_comes_up_as_written(
    title: str, tmp_path: Path, loopback: Loopback
) -> None:
    text = _examples()[title]
    spec = load_lab_text(text, file=f"docs/lab.md ({title})").spec
    if any(d.kind == "kea" for d in spec.dhcp):
        require_tool("kea-dhcp4")
        require_tool("kea-ctrl-agent")
    target = spec.target()
    with running_lab(tmp_path, loopback=loopback, spec=yaml.safe_load(text)) as lab:
        phones = lab.lab("phones")
        status = lab.lab("status")
        inventory = lab.inventory()

    assert status["lab"] == spec.name
    assert {n: c["version"] for n, c in status["clusters"].items()} == {
        c.name: c.version for c in spec.clusters
    }
    per_scope = Counter(p["scope"] for p in phones)
    assert per_scope == Counter({s.name: s.phones for s in spec.scopes})
    on_target = Counter(p["scope"] for p in phones if target is not None and p["cluster"] == target.name)
    assert on_target == Counter({s.name: s.on_target for s in spec.scopes if s.on_target})
    assert {p["status"] for p in phones} == {"Registered"}
    for c in spec.clusters:
        nodes = inventory["clusters"][c.name]["nodes"]
        assert set(nodes) == {n.name for n in c.nodes}
        tftp = {name for name, node in nodes.items() if node["tftp_http"] is not None}
        assert tftp == {n.name for n in c.nodes if TFTP in n.services}
        assert inventory["clusters"][c.name]["cm_groups"] == {g: list(m) for g, m in c.cm_groups.items()}
    kinds = {d["name"]: d["kind"] for d in inventory["dhcp"]["servers"]}
    assert kinds == {d.name: d.kind for d in spec.dhcp}
    for server in inventory["dhcp"]["servers"]:
        if server["kind"] == "kea":
            assert server["server"]["port"] > 0  # the lab started a real Kea for the Kea scopes
