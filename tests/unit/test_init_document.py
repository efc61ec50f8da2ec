"""``reconciler init``'s pure parts: the seed's checks, where a node's address comes from, re-based
paths and references, and the commented document (quoted versions, references kept, R4/R6 trust)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from reconciler.errors import ConfigError
from reconciler.vocabulary import Service
from reconciler.wiring.init.discover import ClusterFound, Discovery, NodeFound, ScopeFound, _host, read_seed
from reconciler.wiring.init.write import render_document

SEED = """
clusters:
  - name: old
    role: source
    publisher: 10.0.0.1
    credentials:
      axl: {username: axl, password: "file:creds/old-axl"}
      os: {username: admin, password: "env:OLD_OS"}
    tls: {ca_bundle: ca.pem}
  - name: new
    role: target
    publisher: 10.1.0.1
    credentials:
      axl: {username: axl, password: "file:/etc/reconciler/new-axl"}
      os: {username: admin, password: "env:NEW_OS"}
dhcp:
  servers:
    - {name: rtr, kind: ios, host: 10.9.9.9, credentials: {username: netops, password: "env:IOS"}}
"""


def _seed(tmp_path: Path, text: str = SEED) -> Path:
    path = tmp_path / "seed.yaml"
    path.write_text(text)
    return path


def _node(name: str, host: str, *services: Service, publisher: bool = False) -> NodeFound:
    return NodeFound(name=name, host=host, host_from="the process node's name", publisher=publisher,
                     services=services)  # fmt: skip


def test_a_seed_needs_publishers_and_one_source_and_one_target(tmp_path: Path) -> None:
    assert len(read_seed(_seed(tmp_path)).clusters) == 2
    with pytest.raises(ConfigError, match="publisher"):
        read_seed(_seed(tmp_path, SEED.replace("publisher: 10.0.0.1", "host: 10.0.0.1")))
    with pytest.raises(ConfigError, match="one source and one target"):
        read_seed(_seed(tmp_path, SEED.replace("role: target", "role: source")))
    with pytest.raises(ConfigError, match=r"clusters\[0\]"):
        read_seed(_seed(tmp_path, SEED.replace("publisher: 10.0.0.1", "publisher: 10.0.0.999")))


def test_a_node_address_comes_from_its_name_or_its_description() -> None:
    assert _host("10.0.0.5", "") == ("10.0.0.5", "the process node's name")
    assert _host("cucm-pub", "cucm-pub (10.0.0.7)") == ("10.0.0.7", "the process node's description")
    assert _host("cucm-pub.example.com", "")[0] == "cucm-pub.example.com"


def test_the_document_keeps_references_rebases_paths_and_declares_the_procedure(tmp_path: Path) -> None:
    seed = read_seed(_seed(tmp_path))
    found = Discovery(
        clusters=[
            ClusterFound(name="old", role="source", version="11.5.1.21900-40",
                         nodes=(_node("o1", "10.0.0.1", Service.CALLMANAGER, Service.TFTP, publisher=True),),
                         cm_groups={"G": ("o1",)}, device_pools={"DP": "G"}, ris_allowance=12),
            ClusterFound(name="new", role="target", version="14.0",
                         nodes=(_node("n1", "10.1.0.1", Service.CALLMANAGER, publisher=True),
                                _node("n2", "10.1.0.2", Service.TFTP, Service.TVS)),
                         cm_groups={}, device_pools={}, ris_allowance=None),
        ],
        scopes=[ScopeFound(server="rtr", name="phones-a", subnet="10.5.0.0/24", pool="PHONES-A", relay=None,
                           option150=("10.0.0.1",))],
    )  # fmt: skip
    text = render_document(seed, found, out=tmp_path / "out" / "desired.yaml")
    doc = yaml.safe_load(text)
    assert doc["clusters"][1]["version"] == "14.0"  # quoted: not the float 14.0
    old = doc["clusters"][0]
    assert old["credentials"]["axl"]["password"] == "file:../creds/old-axl"  # re-based for out/
    assert old["credentials"]["os"]["password"] == "env:OLD_OS"
    assert doc["clusters"][1]["credentials"]["axl"]["password"] == "file:/etc/reconciler/new-axl"
    assert old["tls"]["ca_bundle"] == "../ca.pem"
    assert [n["services"] for n in doc["clusters"][1]["nodes"]] == [["callmanager"], ["tftp", "tvs"]]
    stores = {t["store"]: [c["identity"] for c in t["certificates"]] for t in doc["trust"]}
    assert stores == {"CallManager-trust": ["callmanager", "itlrecovery"],
                      "Phone-SAST-trust": ["callmanager", "itlrecovery"]}  # fmt: skip
    assert doc["dhcp"]["scopes"][0]["option150"] == {"tftp_nodes_of": "new"}
    assert "# today: 10.0.0.1 (old TFTP)" in text and "#   DP -> G" in text
    assert doc["migration"]["waves"][0]["scopes"] == ["phones-a"]
    assert doc["policy"]["ris_queries_per_minute"] == 12
