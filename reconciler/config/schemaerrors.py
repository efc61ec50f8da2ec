"""pydantic ``ValidationError`` -> ``Diagnostic`` values with ``FILE:LINE:COL``, key path and a hint.

Called by ``reconciler.config.loader``. pydantic locations contain union tags that are not in the data; they
are dropped by walking the location against the data. "Did you mean" hints come from ``difflib``
over the keys the JSON Schema allows at that place, or over the allowed values of an enum.
"""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from reconciler.config.yamlsource import DataPath, SourceMap, format_path
from reconciler.diagnostics import Diagnostic, Severity
from schemas.document import json_schema

__all__ = ["Pruned", "closest", "prune", "schema_diagnostics"]

_QUOTED_RE = re.compile(r"'([^']*)'")


def closest(word: str, candidates: list[str] | tuple[str, ...] | set[str]) -> str | None:
    """The candidate closest to ``word`` (difflib, cutoff 0.6), or ``None``."""
    matches = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


@functools.cache
def _schema() -> dict[str, Any]:
    return json_schema()


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    for _ in range(20):  # bounded: $ref chains in our schema are short
        ref = node.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#/$defs/"):
            return node
        node = _schema()["$defs"][ref.removeprefix("#/$defs/")]
    return node


def _pick_branch(node: dict[str, Any], data: Any) -> dict[str, Any]:
    """For anyOf/oneOf, the branch that best fits ``data`` (matching ``kind`` const, shared keys)."""
    branches = [_resolve(b) for b in node.get("anyOf", node.get("oneOf", []))]
    if not branches:
        return node
    if not isinstance(data, dict):
        return next((b for b in branches if b.get("type") != "null"), branches[0])

    def score(branch: dict[str, Any]) -> int:
        props = branch.get("properties", {})
        value = 0
        for key, sub in props.items():
            if key in data:
                value += 1
                if isinstance(sub, dict) and "const" in sub and sub["const"] == data[key]:
                    value += 100
        return value

    return max(branches, key=score)


def _schema_at(path: DataPath, root: Any) -> dict[str, Any]:
    """The (resolved, branch-picked) JSON Schema node describing the value at ``path`` of ``root``."""
    node = _resolve(_schema())
    data = root
    for part in path:
        node = _pick_branch(_resolve(node), data)
        if isinstance(part, int):
            items = node.get("items") or node.get("prefixItems")
            node = items if isinstance(items, dict) else {}
            data = data[part] if isinstance(data, list) and part < len(data) else None
        else:
            props = node.get("properties", {})
            extra = node.get("additionalProperties")
            node = props.get(part) or (extra if isinstance(extra, dict) else {})
            data = data.get(part) if isinstance(data, dict) else None
        node = _resolve(node)
    return _pick_branch(_resolve(node), data)


def _allowed_keys(path: DataPath, root: Any) -> list[str]:
    """Keys the schema allows in the mapping at ``path`` of ``root``."""
    return list(_schema_at(path, root).get("properties", {}))


def _too_short_consequence(error: ErrorDetails, paths: list[DataPath], path: DataPath) -> bool:
    """pydantic reports "at least N items after validation" when items failed: a consequence, not news."""
    if error["type"] not in ("too_short", "too_long"):
        return False
    return any(len(other) > len(path) and other[: len(path)] == path for other in paths)


def _data_path(loc: tuple[int | str, ...], data: Any) -> tuple[DataPath, bool, bool]:
    """Drop union tags from a pydantic location. Returns (path, last part missing in data, is dict key)."""
    path: list[str | int] = []
    current = data
    missing = False
    is_key = False
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        in_dict = isinstance(current, dict) and isinstance(part, str) and part in current
        in_list = isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        if in_dict or in_list:
            path.append(part)
            current = current[part]
        elif part == "[key]":
            is_key = True
        elif last and isinstance(current, dict) and isinstance(part, str):
            path.append(part)
            missing = True
        # anything else is a union tag / branch name that pydantic adds and the data does not have
    return tuple(path), missing, is_key


def _message(error: ErrorDetails) -> str:
    msg = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    return msg


def _one(*, error: ErrorDetails, data: Any, source: SourceMap) -> Diagnostic:
    path, missing, is_key = _data_path(tuple(error["loc"]), data)
    where = format_path(path)
    kind = error["type"]
    fix: str | None = None
    if kind == "extra_forbidden":
        key = str(path[-1]) if path else "?"
        allowed = _allowed_keys(path[:-1], data)
        guess = closest(key, allowed)
        summary = f"{format_path(path[:-1])}: unknown key '{key}'"
        if guess:
            summary += f" (did you mean '{guess}'?)"
            fix = f"rename '{key}' to '{guess}'"
        else:
            fix = "allowed keys here: " + ", ".join(allowed)
        position = source.key(path)
    elif kind == "missing" or missing:
        summary = f"{format_path(path[:-1])}: missing required key '{path[-1] if path else '?'}'"
        position = source.key(path[:-1])
    elif kind == "union_tag_invalid":
        ctx = error.get("ctx", {})
        field_name = str(ctx.get("discriminator", "")).strip("'")
        tags = _QUOTED_RE.findall(str(ctx.get("expected_tags", "")))
        tag = str(ctx.get("tag", ""))
        summary = f"{where}: unknown {field_name} '{tag}' (expected one of: {', '.join(tags)})"
        guess = closest(tag, tags)
        if guess:
            summary += f"; did you mean '{guess}'?"
            fix = f"write {field_name}: {guess}"
        position = source.value((*path, field_name))
    else:
        summary = f"{where}: {_message(error)}"
        given = error.get("input")
        expected = [m for m in _QUOTED_RE.findall(str(error.get("ctx", {}).get("expected", "")))]
        if isinstance(given, str) and expected:
            guess = closest(given, expected)
            if guess:
                summary += f" (did you mean '{guess}'?)"
                fix = f"write '{guess}'"
        position = source.key(path) if is_key else source.value(path)
    return Diagnostic(
        severity=Severity.ERROR,
        rule="schema",
        summary=summary,
        address=where,
        position=position,
        fix=fix,
    )


def schema_diagnostics(exc: ValidationError, *, data: Any, source: SourceMap) -> list[Diagnostic]:
    """Every schema violation as a positioned diagnostic; duplicates from union branches collapsed."""
    seen: set[tuple[str, str]] = set()
    result: list[Diagnostic] = []
    errors = exc.errors(include_url=False)
    paths = [_data_path(tuple(e["loc"]), data)[0] for e in errors]
    for error, path in zip(errors, paths, strict=True):
        if _too_short_consequence(error, paths, path):
            continue
        diagnostic = _one(error=error, data=data, source=source)
        key = (diagnostic.address or "", diagnostic.summary)
        if key in seen:
            continue
        seen.add(key)
        result.append(diagnostic)
    return result


@dataclass(slots=True)
class Pruned:
    """What ``prune`` removed: names of removed list items (``name`` keys) and the top-level sections
    that lost list items, so semantic findings caused by the removal can be suppressed."""

    names: set[str] = field(default_factory=set)
    sections: set[str] = field(default_factory=set)


def _remove(data: Any, path: DataPath) -> None:
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if isinstance(parent, dict) and isinstance(last, str):
        parent.pop(last, None)
    elif isinstance(parent, list) and isinstance(last, int) and last < len(parent):
        parent.pop(last)


def _cut_for(error: ErrorDetails, *, data: Any, pruned: Pruned) -> DataPath | None:
    """The smallest part of ``data`` whose removal makes ``error`` go away (``None``: only the root)."""
    path, missing, _ = _data_path(tuple(error["loc"]), data)
    if error["type"] == "extra_forbidden" and path:
        return path
    cut = path[:-1] if missing else path
    while cut:
        last = cut[-1]
        if isinstance(last, str):
            if last not in _schema_at(cut[:-1], data).get("required", []):
                return cut  # an optional key: dropping it restores the default
        else:
            item: Any = data
            for part in cut:
                item = item[part]
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                pruned.names.add(item["name"])
            pruned.sections.add(str(cut[0]))
            return cut
        cut = cut[:-1]
    return None


def _order(path: DataPath) -> tuple[tuple[int, int, str], ...]:
    return tuple((0, p, "") if isinstance(p, int) else (1, 0, p) for p in path)


def prune(data: Any, exc: ValidationError, *, pruned: Pruned) -> bool:
    """Remove from ``data`` (in place) the parts the schema rejected, so the rest can still be checked
    semantically and a run names every problem at once. Returns False when nothing sensible is left."""
    cuts: set[DataPath] = set()
    errors = exc.errors(include_url=False)
    paths = [_data_path(tuple(e["loc"]), data)[0] for e in errors]
    for error, path in zip(errors, paths, strict=True):
        if _too_short_consequence(error, paths, path):
            continue
        cut = _cut_for(error, data=data, pruned=pruned)
        if cut is None:
            return False
        cuts.add(cut)
    # Outermost cuts only, removed last-index-first so earlier indexes stay valid.
    kept = [c for c in cuts if not any(o != c and c[: len(o)] == o for o in cuts)]
    for cut in sorted(kept, key=_order, reverse=True):
        _remove(data, cut)
    return bool(kept)
