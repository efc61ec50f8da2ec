"""The error tree's retry semantics: the executor relies on these subclass relations."""

from __future__ import annotations

import pytest

from reconciler import errors


@pytest.mark.parametrize(
    ("cls", "parent"),
    [
        (errors.UnreachableError, errors.TemporaryError),
        (errors.AuthenticationError, errors.PermanentError),
        (errors.HostKeyError, errors.PermanentError),
        (errors.TlsVerificationError, errors.PermanentError),
        (errors.StalePlanError, errors.PlanError),
        (errors.LockError, errors.StateError),
        (errors.TlvError, errors.DomainError),
        (errors.SchemaError, errors.LoadError),
    ],
)
def test_subclass_relations(cls: type[Exception], parent: type[Exception]) -> None:
    assert issubclass(cls, parent)
    assert issubclass(cls, errors.ReconcilerError)


def test_temporary_and_permanent_are_disjoint() -> None:
    assert not issubclass(errors.TemporaryError, errors.PermanentError)
    assert not issubclass(errors.PermanentError, errors.TemporaryError)


def test_tlv_error_names_offset() -> None:
    err = errors.TlvError("length 300 runs past end of file", offset=17)
    assert err.offset == 17
    assert "byte 17" in str(err)
    assert isinstance(err, ValueError)


def test_every_public_name_is_drawn_in_the_docstring() -> None:
    doc = errors.__doc__ or ""
    for name in errors.__all__:
        assert name in doc, f"{name} missing from the tree drawn in reconciler/errors.py"
