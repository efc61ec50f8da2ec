"""Semantic checks: cross-references, roles, duplicates, waves, PEM files and R2 — all reported at once,
each with the position of the offending value."""

from __future__ import annotations

from pathlib import Path

import pytest
import trustme

from reconciler.diagnostics import Diagnostic, Severity
from tests.unit.desired_fixtures import VALID, line_col, load_yaml


def _findings(text: str, *, base_dir: Path | None = None) -> list[Diagnostic]:
    return list(load_yaml(text, base_dir=base_dir).diagnostics)


def _one_error(text: str, *, base_dir: Path | None = None) -> Diagnostic:
    errors = [d for d in _findings(text, base_dir=base_dir) if d.severity is Severity.ERROR]
    assert len(errors) == 1, [d.headline() for d in errors]
    return errors[0]


def _at(d: Diagnostic) -> tuple[int, int]:
    assert d.position is not None
    return d.position.line, d.position.column


def _value_of(text: str, key: str) -> tuple[int, int]:
    """Position of the value that follows ``key`` (e.g. ``"name: "``)."""
    line, col = line_col(text, key)
    return line, col + len(key)


def test_r2_rollback_true_on_source_is_an_error_citing_r2() -> None:
    text = VALID.replace("prepare_cluster_for_rollback: false", "prepare_cluster_for_rollback: true")
    d = _one_error(text)
    assert d.rule == "R2"
    assert "must be False on the secure source cluster 'old' (R2)" in d.summary
    assert _at(d) == _value_of(text, "prepare_cluster_for_rollback: ")


def test_r2_rollback_by_gui_name_in_enterprise_is_also_caught() -> None:
    text = VALID.replace(
        "prepare_cluster_for_rollback: false",
        'enterprise: {"Prepare Cluster for Rollback to pre 8.0": "True"}',
    )
    d = _one_error(text)
    assert d.rule == "R2"


def test_r2_rollback_true_on_target_is_only_a_warning() -> None:
    text = VALID.replace("parameters:\n  old:", "parameters:\n  new:").replace(
        "prepare_cluster_for_rollback: false", "prepare_cluster_for_rollback: true"
    )
    found = _findings(text)
    assert [d.severity for d in found] == [Severity.WARNING]
    assert found[0].rule == "R2"


def test_unknown_cluster_reference_with_hint() -> None:
    text = VALID.replace(
        "        cluster: new\n        nodes: {role: tftp}",
        "        cluster: nwe\n        nodes: {role: tftp}",
    )
    d = _one_error(text)
    assert d.summary == "trust[0].certificates[0].cluster: unknown cluster 'nwe' (did you mean 'new'?)"
    assert _at(d) == line_col(text, "nwe")


def test_unknown_parameters_cluster_points_at_the_key() -> None:
    text = VALID.replace("parameters:\n  old:", "parameters:\n  olde:")
    d = _one_error(text)
    assert "unknown cluster 'olde' (did you mean 'old'?)" in d.summary
    assert _at(d) == line_col(text, "olde")


def test_unknown_node_of_cucm_dhcp_server() -> None:
    text = VALID.replace("node: old-pub", "node: old-pbu")
    d = _one_error(text)
    assert "unknown node 'old-pbu' (did you mean 'old-pub'?)" in d.summary
    assert _at(d) == line_col(text, "old-pbu")


def test_unknown_dhcp_server_and_unknown_wave_scope_are_both_reported() -> None:
    text = VALID.replace("server: router", "server: ruoter").replace("scopes: [scope-b]", "scopes: [scope-x]")
    errors = [d for d in _findings(text) if d.severity is Severity.ERROR]
    summaries = [d.summary for d in errors]
    assert "dhcp.scopes[0].server: unknown DHCP server 'ruoter' (did you mean 'router'?)" in summaries
    assert any("migration.waves[1].scopes[0]: unknown scope 'scope-x'" in s for s in summaries)
    assert [_at(d) for d in errors] == [line_col(text, "ruoter"), line_col(text, "scope-x")]


def test_two_sources_is_an_error() -> None:
    text = VALID.replace("    role: target", "    role: source")
    summaries = [d.summary for d in _findings(text) if d.severity is Severity.ERROR]
    assert any("exactly one cluster must have role source (found 2)" in s for s in summaries)
    assert any("exactly one cluster must have role target (found 0)" in s for s in summaries)
    assert any("migration.target: cluster 'new' has role source, not target" in s for s in summaries)


def test_duplicate_scope_name_and_overlapping_subnet() -> None:
    text = VALID.replace("- name: scope-b", "- name: scope-a").replace("198.51.100.0/24", "192.0.2.128/25")
    summaries = [d.summary for d in _findings(text) if d.severity is Severity.ERROR]
    assert any("dhcp.scopes[1].name: duplicate scope 'scope-a'" in s for s in summaries)
    assert any("subnet 192.0.2.128/25 overlaps 192.0.2.0/24" in s for s in summaries)


def test_scope_in_two_waves() -> None:
    text = VALID.replace("scopes: [scope-b]", "scopes: [scope-b, scope-a]")
    d = _one_error(text)
    assert d.summary == "migration.waves[1].scopes[1]: scope 'scope-a' is already in wave 'w1'"
    assert _at(d) == line_col(text, "scope-a]", occurrence=2)


def test_scope_listed_twice_in_one_wave_says_so() -> None:
    text = VALID.replace("scopes: [scope-b]", "scopes: [scope-b, scope-b]")
    d = _one_error(text)
    assert d.summary == "migration.waves[1].scopes[1]: scope 'scope-b' is listed twice"
    assert d.fix == "a scope moves once: list it once"


def test_wave_with_no_scopes() -> None:
    text = VALID.replace("scopes: [scope-b]", "scopes: []")
    errors = [d for d in _findings(text) if d.severity is Severity.ERROR]
    assert [d.summary for d in errors] == ["migration.waves[1].scopes: wave 'w2' has no scopes"]
    warnings = [d for d in _findings(text) if d.severity is Severity.WARNING]
    assert any("scope 'scope-b' is in no wave" in d.summary and d.rule == "R12" for d in warnings)


def test_unknown_trust_node_name() -> None:
    text = VALID.replace("nodes: {role: tftp}", "nodes: {names: [new-pub, new-sbu]}")
    d = _one_error(text)
    assert "unknown node 'new-sbu' (did you mean 'new-sub'?)" in d.summary


def test_cucm_dhcp_holds_at_most_two_tftp_addresses() -> None:
    text = VALID.replace("option150: [127.0.20.1]", "option150: [127.0.20.1, 127.0.20.2, 127.0.20.3]")
    d = _one_error(text)
    assert "at most 2 TFTP addresses" in d.summary


def test_option150_reference_needs_ip_hosts() -> None:
    text = VALID.replace("host: 127.0.20.2", "host: new-sub.example.net")
    d = _one_error(text)
    assert "option 150 carries IPv4 addresses" in d.summary


def test_bulk_without_sftp_cites_r9() -> None:
    text = VALID.replace("  target: new\n  waves:", "  target: new\n  method: bulk\n  waves:")
    d = _one_error(text)
    assert d.rule == "R9"
    assert _at(d) == line_col(text, "bulk")


def test_r10_bulk_from_9x_warns() -> None:
    text = VALID.replace("11.5.1.21900-40", "9.1.2.10000-28").replace(
        "  target: new\n  waves:",
        "  target: new\n  method: bulk\n"
        "  sftp: {host: 127.0.0.1, credentials: {username: u, password: 'env:S'}, directory: /x}\n  waves:",
    )
    found = _findings(text)
    assert not [d for d in found if d.severity is Severity.ERROR]
    assert any(d.rule == "R10" and "CSCuy43181" in d.summary for d in found)


def test_rest_certificate_api_needs_cucm_14() -> None:
    text = VALID.replace(
        '    version: "11.5.1.21900-40"', '    version: "11.5.1.21900-40"\n    certificate_api: rest'
    )
    d = _one_error(text)
    assert "needs CUCM 14 or newer" in d.summary


def _with_pem(pem_line: str) -> str:
    return VALID.replace(
        "        nodes: {role: tftp}\n", f"        nodes: {{role: tftp}}\n      - pem: {pem_line}\n"
    )


def test_unreadable_pem_is_an_error(tmp_path: Path) -> None:
    text = _with_pem("certs/missing.pem")
    d = _one_error(text, base_dir=tmp_path)
    assert d.rule == "pem"
    assert "cannot read PEM file" in d.summary
    assert _at(d) == line_col(text, "certs/missing.pem")


def test_pem_that_is_not_a_certificate_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "junk.pem").write_text(
        "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n"
    )
    d = _one_error(_with_pem("junk.pem"), base_dir=tmp_path)
    assert d.rule == "pem"
    assert "no valid PEM certificate" in d.summary


def test_real_certificate_pem_is_accepted_relative_to_the_yaml(tmp_path: Path) -> None:
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    found = _findings(_with_pem("ca.pem"), base_dir=tmp_path)
    assert found == []  # a real X.509 certificate (trustme), relative to the YAML's directory


@pytest.mark.parametrize("kind", ["ca_bundle", "known_hosts"])
def test_missing_lab_files_are_warnings_not_errors(tmp_path: Path, kind: str) -> None:
    section = "tls" if kind == "ca_bundle" else "ssh"
    text = VALID.replace(
        '    version: "14.0.1.11900-132"\n',
        f'    version: "14.0.1.11900-132"\n    {section}: {{{kind}: ../.reconciler/lab/x}}\n',
    )
    found = _findings(text, base_dir=tmp_path)
    assert [d.severity for d in found] == [Severity.WARNING]
    assert _at(found[0]) == line_col(text, "../.reconciler/lab/x")


def test_every_problem_is_reported_at_once() -> None:
    """A bad IP (schema), a misspelt key (schema), an unknown reference and R2 in one run."""
    text = (
        VALID.replace("host: 127.0.10.2", "host: 127.0.10.999")
        .replace("        services: [callmanager, tvs]", "        servces: [callmanager, tvs]")
        .replace("server: router", "server: ruoter")
        .replace("prepare_cluster_for_rollback: false", "prepare_cluster_for_rollback: true")
    )
    errors = [d for d in _findings(text) if d.severity is Severity.ERROR]
    by_rule = {d.rule: d for d in errors}
    assert len(errors) == 4, [d.headline() for d in errors]
    assert _at(by_rule["R2"]) == _value_of(text, "prepare_cluster_for_rollback: ")
    assert _at(by_rule["ref"]) == line_col(text, "ruoter")
    schema = sorted(_at(d) for d in errors if d.rule == "schema")
    assert schema == sorted([line_col(text, "127.0.10.999"), line_col(text, "servces")])


def test_depends_on_names_must_exist() -> None:
    text = VALID + "depends_on:\n  - address: gate.w1\n    after: [param.olb.rollback]\n"
    d = _one_error(text)
    assert "unknown param name 'olb' (did you mean 'old'?)" in d.summary
    assert _at(d) == line_col(text, "param.olb.rollback")
