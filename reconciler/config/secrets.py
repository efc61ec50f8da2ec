"""Resolving credential references (``env:NAME`` / ``file:PATH``) into secret values, on demand.

Called by providers (built by ``reconciler.wiring``) at the moment they authenticate — never by the loader,
``validate`` or the planner — so a value never reaches plans, state, journals or output. The value comes
back as ``pydantic.SecretStr`` (``repr``/``str`` show ``**********``); call ``get_secret_value()`` at the
last moment. A trailing newline of a secret file is stripped. A secret file is read with a bound
(``reconciler.boundedio.MAX_SECRET_BYTES``) and must be a regular file; its permissions and location are
checked, without reading it, by ``reconciler.config.semantic_secrets`` before any connection.
"""

from __future__ import annotations

import os
import stat

from pydantic import SecretStr

from reconciler.boundedio import MAX_SECRET_BYTES, read_bounded
from reconciler.errors import SecretError
from schemas.secret import SecretRef, SecretScheme

__all__ = ["resolve"]


def resolve(ref: SecretRef) -> SecretStr:
    """The secret ``ref`` points to. Raises ``SecretError`` (naming the reference, never a value)."""
    if ref.scheme is SecretScheme.ENV:
        value = os.environ.get(ref.target)
        if value is None:
            raise SecretError(
                f"environment variable {ref.target} is not set (credential {ref})",
                hint=f"export {ref.target}=... before running, or use a file: reference",
            )
        return SecretStr(value)
    try:
        if not stat.S_ISREG(os.stat(ref.target).st_mode):
            raise SecretError(f"credential file {ref.target} is not a regular file ({ref})")
        text = read_bounded(ref.target, limit=MAX_SECRET_BYTES).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SecretError(f"credential file {ref.target} is not UTF-8 text") from exc
    except OSError as exc:
        raise SecretError(
            f"cannot read credential file {ref.target}: {exc.strerror or exc}",
            hint="run 'reconciler lab up' for the lab's files, or fix the path (relative to the YAML file)",
        ) from exc
    value = text[:-1] if text.endswith("\n") else text
    if not value:
        raise SecretError(f"credential file {ref.target} is empty")
    return SecretStr(value)
