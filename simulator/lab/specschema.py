"""The lab spec document's type, its JSON Schema, and what its validation errors say.

The type is built from ``simulator.spec.LabSpec`` itself (its fields made optional so ``base`` can
supply them) plus the shorthands and ``faults``, so the file, the schema (``lab_spec_schema``, committed
as docs/lab-spec.schema.json) and ``LabSpec`` cannot drift apart. ``schema_problems`` turns pydantic's
complaints into one ``FILE:LINE:COL`` diagnostic each (unknown keys with "did you mean", missing keys,
the alternatives of a union joined). Called by ``simulator.lab.specfile`` (reading a spec) and by
``reconciler lab schema`` (``reconciler.commands.lab``).
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import functools
import inspect
import itertools
import textwrap
import types
import typing
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError

from reconciler.diagnostics import Diagnostic, Severity, SourcePosition
from reconciler.yamlsource import DataPath, SourceMap, format_path
from simulator.lab.faults import Fault
from simulator.spec import LabSpec

__all__ = ["SCHEMA_ID", "document_adapter", "lab_spec_schema", "schema_problems", "spec_diagnostic"]

SCHEMA_ID = "https://reconciler.invalid/schemas/lab-spec-v1.json"
_RULE = "lab-spec"

_SHORTHANDS: tuple[tuple[str, Any, str], ...] = (
    ("base", Literal["default", "largest"] | None,
     "Start from a preset: default (docs/lab.md, ~300 phones) or largest (80,000 phones, 2 x 21 nodes); "
     "a field written in the file replaces the preset's, and clusters, dhcp and scopes entries replace the "
     "preset's entry of the same name or are added."),
    ("phones_per_scope", Annotated[int, Field(ge=0, le=65_536)] | None, "base default: phones per scope."),
    ("phones", Annotated[int, Field(ge=0, le=100_000)] | None, "base largest: phones in total."),
    ("restart_duration", Annotated[float, Field(ge=0)] | None,
     "Seconds a service restart takes, on every cluster."),
    ("replication_lag", Mapping[str, Annotated[float, Field(ge=0)]] | None,
     "Cluster -> seconds a trust change takes to reach the other nodes (R7)."),
    ("versions", Mapping[str, str] | None,
     "Cluster -> CUCM version, keeping the preset's nodes (12.0-12.4: one ITLRecovery per node, R6)."),
)  # fmt: skip
_SCOPES_COUNT = Annotated[int, Field(ge=1, le=4_000, description="base largest: how many scopes.")]


def _field_docs(cls: type[Any]) -> dict[str, str]:
    """The attribute docstrings of ``cls`` (a string right under a field), as pydantic reads them."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body if isinstance(tree.body[0], ast.ClassDef) else []
    docs: dict[str, str] = {}
    for first, second in itertools.pairwise(body):
        if (
            isinstance(first, ast.AnnAssign)
            and isinstance(first.target, ast.Name)
            and isinstance(second, ast.Expr)
            and isinstance(second.value, ast.Constant)
            and isinstance(second.value.value, str)
        ):
            docs[first.target.id] = inspect.cleandoc(second.value.value)
    return docs


@functools.cache
def _document_type() -> type[Any]:
    """The document as one dataclass: the shorthands, then every ``LabSpec`` field made optional (so
    ``base`` can supply it), then ``faults``. Built from ``LabSpec`` itself, so the two cannot drift."""
    hints = typing.get_type_hints(LabSpec)
    fields: list[tuple[str, Any, Any]] = [
        (name, Annotated[tp, Field(description=text)], dataclasses.field(default=None))
        for name, tp, text in _SHORTHANDS
    ]
    docs = _field_docs(LabSpec)
    for f in dataclasses.fields(LabSpec):
        tp = hints[f.name]
        if f.name == "scopes":
            tp = tp | _SCOPES_COUNT
        if f.name in docs:
            tp = Annotated[tp, Field(description=docs[f.name])]
        fields.append((f.name, tp | None, dataclasses.field(default=None)))
    fields.append(("faults", tuple[Fault, ...], dataclasses.field(default=())))
    doc = dataclasses.make_dataclass("LabDocument", fields, frozen=True, kw_only=True)
    doc.__doc__ = "A lab spec file (reconciler lab up --spec FILE; docs/lab.md)."
    doc.__pydantic_config__ = ConfigDict(  # type: ignore[attr-defined]
        extra="forbid", use_attribute_docstrings=True, title="reconciler lab spec"
    )
    return doc


@functools.cache
def document_adapter() -> TypeAdapter[Any]:
    """Validates a parsed lab spec document against the document type."""
    return TypeAdapter(_document_type())


def lab_spec_schema() -> dict[str, Any]:
    """The JSON Schema of a lab spec file (docs/lab-spec.schema.json is this, committed)."""
    schema = dict(document_adapter().json_schema())
    required = [f.name for f in dataclasses.fields(LabSpec) if f.default is dataclasses.MISSING
                and f.default_factory is dataclasses.MISSING]  # fmt: skip
    schema["anyOf"] = [{"required": ["base"]}, {"required": required}]
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


# -- positions and messages ---------------------------------------------------------------------------


def _members(tp: Any) -> tuple[Any, ...]:
    """The alternatives of a union (``Annotated`` unwrapped), or ``(tp,)``."""
    if typing.get_origin(tp) is Annotated:
        tp = typing.get_args(tp)[0]
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return tuple(m for arg in typing.get_args(tp) for m in _members(arg))
    return (tp,)


def _allowed_keys(path: DataPath) -> list[str]:
    """The keys a mapping at ``path`` may hold (dataclass fields), for "did you mean"."""
    current: list[Any] = [_document_type()]
    for part in path:
        following: list[Any] = []
        for tp in (m for c in current for m in _members(c)):
            origin = typing.get_origin(tp)
            if isinstance(part, str) and dataclasses.is_dataclass(tp):
                hints = typing.get_type_hints(tp, include_extras=True)
                if part in hints:
                    following.append(hints[part])
            elif isinstance(part, int) and origin is tuple:
                following.append(typing.get_args(tp)[0])
            elif isinstance(part, str) and origin is not None and origin is Mapping:
                following.append(typing.get_args(tp)[1])
        current = following
    for tp in (m for c in current for m in _members(c)):
        if dataclasses.is_dataclass(tp):
            return [f.name for f in dataclasses.fields(tp)]
    return []


def _data_path(data: Any, loc: tuple[str | int, ...]) -> tuple[DataPath, str | None]:
    """Map a pydantic location onto the data (dropping union tags); returns the path and, when the
    last part names a key that is not in the data (a missing field), that key."""
    path: list[str | int] = []
    current = data
    for i, part in enumerate(loc):
        in_mapping = isinstance(current, Mapping) and isinstance(part, str) and part in current
        in_list = isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        if in_mapping or in_list:
            path.append(part)
            current = current[part]
        elif i == len(loc) - 1 and isinstance(current, Mapping) and isinstance(part, str):
            return tuple(path), part
    return tuple(path), None


def spec_diagnostic(
    position: SourcePosition, path: DataPath, summary: str, fix: str | None = None
) -> Diagnostic:
    """An error of the lab spec at ``position`` about the value at ``path``."""
    return Diagnostic(
        severity=Severity.ERROR,
        rule=_RULE,
        summary=f"{format_path(path)}: {summary}" if path else summary,
        address=format_path(path) if path else None,
        position=position,
        fix=fix,
    )


def schema_problems(data: Any, error: ValidationError, where: SourceMap) -> list[Diagnostic]:
    """One diagnostic per problem. A union (``scopes``: a list or a count, ``x | None``) reports each
    alternative; a complaint about the wrong type is dropped when the value is wrong in a deeper or
    more specific way, and the remaining alternatives are joined ("a valid tuple or an integer")."""
    items = [(item, *_data_path(data, tuple(item["loc"]))) for item in error.errors()]
    paths = [path for _, path, _ in items]
    plain: dict[DataPath, list[tuple[str, str]]] = {}
    found: list[tuple[DataPath, str, Diagnostic]] = []
    for item, path, missing in items:
        kind = item["type"]
        if kind in ("unexpected_keyword_argument", "extra_forbidden"):
            key = str(path[-1]) if path else "?"
            allowed = _allowed_keys(path[:-1])
            close = difflib.get_close_matches(key, allowed, n=1)
            fix = f"did you mean '{close[0]}'?" if close else None
            if not fix and allowed:
                fix = "known keys: " + ", ".join(allowed)
            found.append(
                ((*path, "unknown"), "", spec_diagnostic(where.key(path), path, f"unknown key '{key}'", fix))
            )
        elif missing is not None:
            found.append(
                ((*path, missing), "", spec_diagnostic(where.value(path), path, f"missing key '{missing}'"))
            )
        elif not any(len(other) > len(path) and other[: len(path)] == path for other in paths):
            plain.setdefault(path, []).append((kind, item["msg"].replace("\n", " ")))
    for path, complaints in plain.items():
        specific = [msg for kind, msg in complaints if not kind.endswith(("_type", "_parsing"))] or [
            m for _, m in complaints
        ]
        text = " or ".join(dict.fromkeys(specific))
        found.append((path, text, spec_diagnostic(where.value(path), path, text)))
    unique = {(path, text): diag for path, text, diag in found}  # alternatives repeat a complaint
    return sorted(
        unique.values(), key=lambda d: (d.position.line, d.position.column) if d.position else (0, 0)
    )
