"""CUCM version numbers (``11.5.1.12900-21``, ``14.0.1``, ``12.5``) as comparable values.

Used by the desired-state schema (``clusters[].version``), by the procedure rules in
``reconciler.cucm.rules`` (R6's "older than 12.0", R10's 10.5.2.13900-12 boundary) and by the simulator.
Missing trailing parts compare as zero, so ``14.0`` == ``14.0.1`` is False but ``14.0 < 14.0.1`` holds.
"""

from __future__ import annotations

import re
from functools import total_ordering
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

__all__ = ["CucmVersion"]

_VERSION_RE = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-(\d+))?$")


@total_ordering
class CucmVersion:
    """A parsed CUCM version: major.minor[.maintenance[.build]][-patch]."""

    __slots__ = ("_parts", "_text")

    def __init__(self, text: str) -> None:
        match = _VERSION_RE.match(text.strip())
        if match is None:
            raise ValueError(
                f"{text!r} is not a CUCM version; expected e.g. '11.5.1.12900-21', '14.0.1' or '12.5'"
            )
        self._text = text.strip()
        self._parts: tuple[int, int, int, int, int] = tuple(  # type: ignore[assignment]
            int(g) if g is not None else 0 for g in match.groups()
        )

    @classmethod
    def parse(cls, text: str) -> CucmVersion:
        return cls(text)

    @property
    def major(self) -> int:
        return self._parts[0]

    @property
    def minor(self) -> int:
        return self._parts[1]

    @property
    def parts(self) -> tuple[int, int, int, int, int]:
        """(major, minor, maintenance, build, patch), missing parts as 0."""
        return self._parts

    def at_least(self, major: int, minor: int = 0) -> bool:
        """True when this version is ``major.minor`` or newer (e.g. ``at_least(12)`` for R6)."""
        return (self._parts[0], self._parts[1]) >= (major, minor)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CucmVersion):
            return NotImplemented
        return self._parts == other._parts

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, CucmVersion):
            return NotImplemented
        return self._parts < other._parts

    def __hash__(self) -> int:
        return hash(self._parts)

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"CucmVersion({self._text!r})"

    # pydantic integration: accept a string (or number like 14.0 written unquoted), emit a string.
    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        def _validate(value: Any) -> CucmVersion:
            if isinstance(value, CucmVersion):
                return value
            if isinstance(value, int | float) and not isinstance(value, bool):
                value = str(value)
            if not isinstance(value, str):
                raise ValueError("a CUCM version must be a string such as '11.5.1.12900-21'")
            return cls(value)

        return core_schema.no_info_plain_validator_function(
            _validate, serialization=core_schema.plain_serializer_function_ser_schema(str)
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "type": "string",
            "pattern": _VERSION_RE.pattern,
            "description": "CUCM version, e.g. 11.5.1.12900-21 or 14.0.1",
            "examples": ["11.5.1.12900-21", "14.0.1"],
        }
