"""validate catches what used to slip through: the same server in both clusters, a CA bundle without a
PEM certificate, group/world-readable credential files, credential paths that climb out of the YAML's
directory, and a password typed into a host URL (never echoed)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from reconciler.config.loader import load
from reconciler.config.secrets import resolve
from reconciler.diagnostics import Diagnostic, Severity
from reconciler.errors import ReconcilerError
from schemas.secret import SecretRef
from tests.cucm_material import identity
from tests.unit.desired_fixtures import VALID, line_col, write


def _findings(path: Path, rule: str) -> list[Diagnostic]:
    return [d for d in load(path).diagnostics if d.rule == rule]


def test_the_same_node_in_both_clusters_is_an_error_at_the_second(tmp_path: Path) -> None:
    text = VALID.replace("name: new-sub\n        host: 127.0.20.2", "name: old-sub\n        host: 127.0.10.2")
    path = write(tmp_path, text)
    found = _findings(path, "duplicate")
    assert len(found) == 1 and found[0].severity is Severity.ERROR
    assert "already a node of cluster 'old'" in found[0].summary and "(same name)" in found[0].summary
    assert found[0].position is not None
    assert (found[0].position.line, found[0].position.column) == line_col(text, "127.0.10.2", occurrence=2)


def test_a_ca_bundle_without_pem_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("this is not a certificate\n")
    text = VALID.replace("    role: source\n", "    role: source\n    tls: {ca_bundle: ca.pem}\n", 1)
    found = _findings(write(tmp_path, text), "tls")
    assert [d.severity for d in found] == [Severity.ERROR]
    assert "holds no PEM certificate" in found[0].summary


def test_a_ca_bundle_with_a_certificate_passes(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_bytes(identity("tomcat", "127.0.10.1", "old").cert.public_bytes(Encoding.PEM))
    text = VALID.replace("    role: source\n", "    role: source\n    tls: {ca_bundle: ca.pem}\n", 1)
    assert _findings(write(tmp_path, text), "tls") == []


def _with_password_file(tmp_path: Path, reference: str) -> Path:
    return write(tmp_path, VALID.replace('password: "env:OLD_AXL"', f'password: "{reference}"'))


@pytest.mark.parametrize(
    ("mode", "who"), [(0o640, "its group"), (0o604, "others"), (0o644, "group and others")]
)
def test_a_readable_credential_file_is_a_warning(tmp_path: Path, mode: int, who: str) -> None:
    secret = tmp_path / "axl.password"
    secret.write_text("s3cret\n")
    os.chmod(secret, mode)
    found = _findings(_with_password_file(tmp_path, "file:axl.password"), "secret")
    assert [d.severity for d in found] == [Severity.WARNING]
    assert f"readable by {who}" in found[0].summary
    assert found[0].fix == f"chmod 600 {secret}"
    assert "s3cret" not in found[0].headline()


def test_a_private_credential_file_passes(tmp_path: Path) -> None:
    secret = tmp_path / "axl.password"
    secret.write_text("s3cret\n")
    os.chmod(secret, 0o600)
    assert _findings(_with_password_file(tmp_path, "file:axl.password"), "secret") == []


def test_a_relative_credential_path_leaving_the_yaml_directory_is_refused(tmp_path: Path) -> None:
    project = tmp_path / "a" / "b"
    project.mkdir(parents=True)
    found = _findings(_with_password_file(project, "file:../../../etc/shadow"), "secret")
    assert [d.severity for d in found] == [Severity.ERROR]
    assert f"leaves {project} (the YAML's repository or directory)" in found[0].summary


def test_a_relative_credential_path_may_climb_inside_its_repository(tmp_path: Path) -> None:
    """Like examples/lab.yaml's file:../.reconciler/lab/credentials/...: still inside the repository."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "examples").mkdir()
    (tmp_path / "creds").mkdir()
    secret = tmp_path / "creds" / "axl.password"
    secret.write_text("x")
    os.chmod(secret, 0o600)
    path = _with_password_file(tmp_path / "examples", "file:../creds/axl.password")
    assert _findings(path, "secret") == []
    escaping = _with_password_file(tmp_path / "examples", "file:../../outside.password")
    assert [d.severity for d in _findings(escaping, "secret")] == [Severity.ERROR]


def test_an_absolute_credential_path_is_allowed_as_written(tmp_path: Path) -> None:
    secret = tmp_path / "elsewhere.password"
    secret.write_text("x")
    os.chmod(secret, 0o600)
    sub = tmp_path / "sub"
    sub.mkdir()
    assert _findings(_with_password_file(sub, f"file:{secret}"), "secret") == []


def test_a_credential_that_is_not_a_regular_file_is_refused(tmp_path: Path) -> None:
    found = _findings(_with_password_file(tmp_path, "file:/dev/zero"), "secret")
    assert [d.severity for d in found] == [Severity.ERROR]
    with pytest.raises(ReconcilerError, match="not a regular file"):
        resolve(SecretRef("file:/dev/zero"))


def test_a_huge_secret_file_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    big = tmp_path / "big.password"
    big.write_bytes(b"x" * (1 << 20))
    with pytest.raises(ReconcilerError, match="limit"):
        resolve(SecretRef(f"file:{big}"))


@pytest.mark.parametrize("host", ["https://admin:Sup3rS3cret@10.0.0.1/", "admin:Sup3rS3cret@10.0.0.1"])
def test_a_password_in_a_host_is_never_echoed(tmp_path: Path, host: str) -> None:
    path = write(tmp_path, VALID.replace("host: 127.0.10.2", f'host: "{host}"'))
    result = load(path)
    assert result.diagnostics.has_errors
    text = "\n".join(d.headline() + str(d.detail) + str(d.fix) for d in result.diagnostics)
    assert "Sup3rS3cret" not in text
    assert "admin:***@10.0.0.1" in text


def test_errors_never_carry_a_password_in_a_url() -> None:
    exc = ReconcilerError("GET https://u:hunter2@h/ failed", hint="retry https://u:hunter2@h/")
    assert "hunter2" not in str(exc) and "hunter2" not in (exc.hint or "")
