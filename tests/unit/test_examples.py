"""Every example validates; the lab example follows the lab's fixed conventions (lab brief)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.config.loader import load
from reconciler.diagnostics import Severity
from schemas import IosDhcpServer, Method, Service, TftpNodesOf

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))


def test_the_three_examples_exist() -> None:
    assert {p.name for p in EXAMPLES} >= {"lab.yaml", "manual-method.yaml", "bulk-method.yaml"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_is_valid(path: Path) -> None:
    result = load(path)
    assert result.state is not None
    errors = [d.headline() for d in result.diagnostics if d.severity is Severity.ERROR]
    assert errors == []
    # only "file does not exist yet" warnings are acceptable in examples
    assert {d.rule for d in result.diagnostics} <= {"file"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_comments_cite_rules(path: Path) -> None:
    text = path.read_text()
    assert ("R2" in text and "R4" in text) or "R9" in text


def test_lab_example_matches_the_lab() -> None:
    path = next(p for p in EXAMPLES if p.name == "lab.yaml")
    state = load(path).state
    assert state is not None
    lab_dir = (path.parent / ".." / ".reconciler" / "lab").resolve()
    old, new = state.cluster("old"), state.cluster("new")
    assert old is not None and new is not None
    assert str(old.version) == "11.5.1.21900-40" and str(new.version) == "14.0.1.11900-132"
    assert [n.host for n in old.nodes] == ["127.0.10.1", "127.0.10.2", "127.0.10.3"]
    assert [n.name for n in new.nodes_running(Service.TFTP)] == ["cucm-new-pub", "cucm-new-sub1"]
    for cluster in (old, new):
        assert all(cluster.port(n, "ssh") == 2222 for n in cluster.nodes)
        assert cluster.tls.ca_bundle is not None
        assert cluster.tls.ca_bundle.resolve() == lab_dir / "ca.pem"
        path_ = cluster.credentials.axl.password.path
        assert path_ is not None and path_.resolve().parent == lab_dir / "credentials"
    assert state.migration.method is Method.MANUAL
    assert state.migration.allow_rollback is False
    assert [len(w.scopes) for w in state.migration.waves] == [1, 1, 1]
    scopes = {s.name: s for s in state.dhcp.scopes}
    assert {str(s.subnet) for s in scopes.values()} == {"192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"}
    assert all(isinstance(s.option150, TftpNodesOf) for s in scopes.values())
    router = next(s for s in state.dhcp.servers if isinstance(s, IosDhcpServer))
    assert (router.host, router.port) == ("127.0.30.254", 2222)


def test_bulk_example_has_sftp_and_realistic_estate() -> None:
    path = next(p for p in EXAMPLES if p.name == "bulk-method.yaml")
    state = load(path).state
    assert state is not None
    source = state.cluster(state.migration.source)
    target = state.cluster(state.migration.target)
    assert source is not None and target is not None
    assert state.migration.method is Method.BULK and state.migration.sftp is not None
    assert 3 <= len(source.nodes) <= 6
    assert len(target.nodes_running(Service.TFTP)) == 2
    assert {s.kind for s in state.dhcp.servers} >= {"kea", "ios"}
    assert len(state.migration.waves) == 3
