"""Secret references resolve only on demand, to values that never print."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.config.secrets import resolve
from reconciler.errors import SecretError
from schemas import SecretRef


def test_env_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECONCILER_TEST_PW", "pa55")
    secret = resolve(SecretRef("env:RECONCILER_TEST_PW"))
    assert secret.get_secret_value() == "pa55"
    assert "pa55" not in repr(secret) and "pa55" not in str(secret)


def test_missing_env_is_a_secret_error_without_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RECONCILER_TEST_PW", raising=False)
    with pytest.raises(SecretError, match="RECONCILER_TEST_PW is not set"):
        resolve(SecretRef("env:RECONCILER_TEST_PW"))


def test_file_reference_relative_to_base_dir(tmp_path: Path) -> None:
    (tmp_path / "creds").mkdir()
    (tmp_path / "creds" / "axl.password").write_text("correct horse\n")
    ref = SecretRef("file:creds/axl.password", base_dir=tmp_path)
    assert resolve(ref).get_secret_value() == "correct horse"


def test_missing_or_empty_file(tmp_path: Path) -> None:
    with pytest.raises(SecretError, match="cannot read credential file"):
        resolve(SecretRef("file:nope", base_dir=tmp_path))
    (tmp_path / "empty").write_text("")
    with pytest.raises(SecretError, match="empty"):
        resolve(SecretRef("file:empty", base_dir=tmp_path))
