"""Credential references: ``env:NAME`` or ``file:PATH`` — never the secret itself.

The desired state only ever holds a *reference*; its value is read on demand by
``reconciler.config.secrets.resolve`` when a provider needs it, so it never reaches plans, state, journals
or output. ``repr``/``str``/JSON show the reference only. A literal password in the YAML is a schema
error. ``file:`` paths resolve against the YAML file's directory (validation context ``base_dir``).
"""

from __future__ import annotations

import enum
import os
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

__all__ = ["Credential", "SecretRef", "SecretScheme"]

_ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REF_PATTERN = r"^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+)$"


class SecretScheme(enum.StrEnum):
    ENV = "env"
    FILE = "file"


class SecretRef:
    """A pointer to a secret. ``target`` is the variable name (env) or the resolved path (file)."""

    __slots__ = ("reference", "scheme", "target")

    def __init__(self, reference: str, *, base_dir: Path | None = None) -> None:
        scheme, sep, rest = reference.partition(":")
        if not sep or scheme not in ("env", "file") or not rest:
            raise ValueError(
                "a credential must be a reference 'env:NAME' or 'file:PATH' (literal secrets are not "
                "allowed in the desired state)"
            )
        self.reference = reference
        self.scheme = SecretScheme(scheme)
        if self.scheme is SecretScheme.ENV:
            if not _ENV_RE.match(rest):
                raise ValueError(f"{rest!r} is not an environment variable name")
            self.target = rest
        else:
            path = Path(rest).expanduser()
            if not path.is_absolute() and base_dir is not None:
                path = Path(os.path.normpath(base_dir / path))
            self.target = str(path)

    @property
    def path(self) -> Path | None:
        """The file a ``file:`` reference points to (``None`` for ``env:``)."""
        return Path(self.target) if self.scheme is SecretScheme.FILE else None

    def __repr__(self) -> str:
        return f"SecretRef({self.reference!r})"

    def __str__(self) -> str:
        return self.reference

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SecretRef):
            return NotImplemented
        return (self.scheme, self.target) == (other.scheme, other.target)

    def __hash__(self) -> int:
        return hash((self.scheme, self.target))

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        def _validate(value: Any, info: core_schema.ValidationInfo) -> SecretRef:
            if isinstance(value, SecretRef):
                return value
            if not isinstance(value, str):
                raise ValueError("a credential must be a string reference 'env:NAME' or 'file:PATH'")
            base = info.context.get("base_dir") if isinstance(info.context, dict) else None
            return cls(value, base_dir=Path(base) if isinstance(base, str | Path) else None)

        return core_schema.with_info_plain_validator_function(
            _validate, serialization=core_schema.plain_serializer_function_ser_schema(str)
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "type": "string",
            "pattern": _REF_PATTERN,
            "description": "secret reference: env:NAME or file:PATH (relative to the YAML file)",
        }


class Credential(BaseModel):
    """A user name and a password reference (an AXL application user, an OS admin, ...)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    username: str
    password: SecretRef
