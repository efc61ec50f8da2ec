"""Loader: YAML and schema problems become FILE:LINE:COL diagnostics with key path and hints."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.config.loader import load, load_or_raise
from reconciler.diagnostics import Severity
from reconciler.errors import LoadError, SchemaError
from schemas.dhcp import IosDhcpServer
from tests.unit.desired_fixtures import VALID, line_col, load_yaml, write


def _only_error(text: str) -> tuple[str, int, int, str | None]:
    result = load_yaml(text)
    errors = result.diagnostics.errors
    assert len(errors) == 1, [d.headline() for d in errors]
    d = errors[0]
    assert d.position is not None
    return d.summary, d.position.line, d.position.column, d.rule


def test_valid_document_loads_without_findings() -> None:
    result = load_yaml(VALID)
    assert result.ok
    assert result.state is not None
    assert [c.name for c in result.state.clusters] == ["old", "new"]
    assert len(result.diagnostics) == 0


def test_duplicate_key_is_an_error_at_the_second_key() -> None:
    text = VALID.replace("    role: target\n", "    role: target\n    role: source\n")
    summary, line, col, rule = _only_error(text)
    assert rule == "yaml"
    assert "duplicate key 'role'" in summary
    assert "clusters[1].role" in summary
    first_line, _ = line_col(text, "role: target")
    assert (line, col) == line_col(text, "role: source", occurrence=2)
    assert f"line {first_line}" in summary


def test_misspelt_key_names_path_and_suggests_the_right_key() -> None:
    text = VALID.replace("        services: [callmanager, tvs]", "        servces: [callmanager, tvs]")
    summary, line, col, rule = _only_error(text)
    assert rule == "schema"
    assert "clusters[0].nodes[1]: unknown key 'servces'" in summary
    assert "did you mean 'services'?" in summary
    assert (line, col) == line_col(text, "servces")


def test_misspelt_enum_value_gets_a_hint() -> None:
    text = VALID.replace("services: [callmanager, tvs]", "services: [callmanager, tvss]")
    summary, line, col, _ = _only_error(text)
    assert summary.startswith("clusters[0].nodes[1].services[1]:")
    assert "did you mean 'tvs'?" in summary
    assert (line, col) == line_col(text, "tvss")


def test_bad_ip_is_reported_at_the_value() -> None:
    text = VALID.replace("host: 127.0.20.2", "host: 127.0.20.256")
    summary, line, col, _ = _only_error(text)
    assert "clusters[1].nodes[1].host" in summary
    assert "not a valid IPv4 address" in summary
    assert (line, col) == line_col(text, "127.0.20.256")


def test_subnet_with_host_bits_is_rejected() -> None:
    text = VALID.replace("subnet: 192.0.2.0/24", "subnet: 192.0.2.7/24")
    summary, line, col, _ = _only_error(text)
    assert "dhcp.scopes[0].subnet" in summary
    assert (line, col) == line_col(text, "192.0.2.7/24")


def test_missing_required_key_points_at_its_parent() -> None:
    text = VALID.replace('    version: "14.0.1.11900-132"\n', "")
    summary, line, col, _ = _only_error(text)
    assert summary == "clusters[1]: missing required key 'version'"
    assert (line, col) == line_col(text, "name: new")


def test_wrong_dhcp_kind_suggests_a_kind() -> None:
    text = VALID.replace("kind: ios", "kind: iso")
    summary, line, _col, _ = _only_error(text)
    assert "dhcp.servers[0]" in summary
    assert "did you mean 'ios'?" in summary
    assert line == line_col(text, "kind: iso")[0]


def test_literal_password_is_rejected() -> None:
    text = VALID.replace('password: "env:IOS"', "password: hunter2")
    summary, line, col, _ = _only_error(text)
    assert "literal secrets are not allowed" in summary
    assert "hunter2" not in summary  # the rejected value is a secret: never echoed
    assert (line, col) == line_col(text, "hunter2")


def test_yaml_syntax_error_has_a_position() -> None:
    text = VALID.replace("scopes: [scope-a]", "scopes: [scope-a")
    result = load_yaml(text)
    assert result.state is None
    (d,) = result.diagnostics.errors
    assert d.rule == "yaml"
    assert d.position is not None
    assert d.position.line >= line_col(text, "scopes: [scope-a")[0]


@pytest.mark.parametrize(("text", "needle"), [("", "empty"), ("- a\n- b\n", "must be a mapping")])
def test_empty_or_non_mapping_document(text: str, needle: str) -> None:
    result = load_yaml(text)
    assert not result.ok
    assert needle in result.diagnostics.errors[0].summary


def test_unreadable_file_is_a_diagnostic(tmp_path: Path) -> None:
    result = load(tmp_path / "nope.yaml")
    assert not result.ok
    assert result.diagnostics.errors[0].rule == "io"


def test_file_names_are_kept_as_given_and_paths_resolve_against_the_yaml(tmp_path: Path) -> None:
    sub = tmp_path / "conf"
    sub.mkdir()
    text = VALID.replace('password: "env:IOS"', 'password: "file:secrets/ios.password"')
    path = write(sub, text)
    result = load(path)
    assert result.state is not None
    server = result.state.dhcp.servers[0]
    assert isinstance(server, IosDhcpServer)
    ref = server.credentials.password
    assert ref.path == sub / "secrets" / "ios.password"
    assert result.file == str(path)


def test_load_or_raise_carries_all_diagnostics(tmp_path: Path) -> None:
    text = VALID.replace("host: 127.0.20.2", "host: 999.0.0.1").replace("server: router", "server: rooter")
    with pytest.raises(SchemaError) as info:
        load_or_raise(write(tmp_path, text))
    assert len(info.value.diagnostics) == 2
    with pytest.raises(LoadError):
        load_or_raise(write(tmp_path, "a: [", name="broken.yaml"))


def test_warnings_do_not_make_a_file_invalid(tmp_path: Path) -> None:
    text = VALID.replace(
        "    nodes:\n      - name: old-pub",
        "    tls: {ca_bundle: missing-ca.pem}\n    nodes:\n      - name: old-pub",
    )
    result = load_yaml(text, base_dir=tmp_path)
    assert result.ok
    (warning,) = list(result.diagnostics)
    assert warning.severity is Severity.WARNING
    assert "missing-ca.pem" in warning.summary
