"""YAML text -> plain Python data plus a map of where every key and value sits in the file.

Called by ``reconciler.config.loader`` only. Duplicate keys are errors (never a silent overwrite), YAML syntax
errors become diagnostics with ``FILE:LINE:COL``, and ``SourceMap`` lets every later check (schema and
semantic) point at the exact key or value it complains about.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from reconciler.diagnostics import Diagnostic, Severity, SourcePosition

__all__ = ["DataPath", "SourceMap", "format_path", "parse_yaml"]

#: A path into the loaded data: mapping keys and sequence indexes.
DataPath = tuple[str | int, ...]


def format_path(path: DataPath) -> str:
    """``("clusters", 0, "nodes")`` -> ``clusters[0].nodes`` (``<root>`` for the empty path)."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text or "<root>"


@dataclass(slots=True)
class SourceMap:
    """Positions of keys and values by data path, for one file."""

    file: str
    keys: dict[DataPath, SourcePosition] = field(default_factory=dict)
    values: dict[DataPath, SourcePosition] = field(default_factory=dict)

    def value(self, path: DataPath) -> SourcePosition:
        """Where the value at ``path`` starts; falls back to the nearest ancestor that exists."""
        for cut in range(len(path), -1, -1):
            prefix = path[:cut]
            if prefix in self.values:
                return self.values[prefix]
            if prefix in self.keys:
                return self.keys[prefix]
        return SourcePosition(self.file, 1, 1)

    def key(self, path: DataPath) -> SourcePosition:
        """Where the key naming ``path`` sits (its value's position for sequence items)."""
        if path in self.keys:
            return self.keys[path]
        return self.value(path)


def _position(file: str, mark: yaml.Mark | None) -> SourcePosition:
    if mark is None:
        return SourcePosition(file, 1, 1)
    return SourcePosition(file, mark.line + 1, mark.column + 1)


class _Walker:
    def __init__(self, *, loader: yaml.SafeLoader, source_map: SourceMap) -> None:
        self.loader = loader
        self.map = source_map
        self.problems: list[Diagnostic] = []
        self._active: set[int] = set()

    def walk(self, node: yaml.Node, path: DataPath) -> Any:
        self.map.values.setdefault(path, _position(self.map.file, node.start_mark))
        if id(node) in self._active:  # a recursive alias (&a [*a]) would never end
            self._problem(node, path, "recursive YAML alias is not supported")
            return None
        if isinstance(node, yaml.MappingNode):
            self._active.add(id(node))
            try:
                return self._mapping(node, path)
            finally:
                self._active.discard(id(node))
        if isinstance(node, yaml.SequenceNode):
            self._active.add(id(node))
            try:
                return [self.walk(item, (*path, index)) for index, item in enumerate(node.value)]
            finally:
                self._active.discard(id(node))
        return self.loader.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode, path: DataPath) -> dict[str, Any]:
        self.loader.flatten_mapping(node)  # YAML merge keys (<<: *anchor)
        result: dict[str, Any] = {}
        seen: dict[str, SourcePosition] = {}
        for key_node, value_node in node.value:
            key_pos = _position(self.map.file, key_node.start_mark)
            if not isinstance(key_node, yaml.ScalarNode):
                self._problem(key_node, path, "a mapping key must be a plain scalar")
                continue
            key = str(key_node.value)
            if key in seen:
                first = seen[key]
                self.problems.append(
                    Diagnostic(
                        severity=Severity.ERROR,
                        rule="yaml",
                        summary=(
                            f"{format_path((*path, key))}: duplicate key '{key}' "
                            f"(first defined at line {first.line}, column {first.column})"
                        ),
                        detail="YAML would silently keep only the last value; declare each key once.",
                        address=format_path((*path, key)),
                        position=key_pos,
                        fix=f"remove one of the two '{key}' keys",
                    )
                )
                continue
            seen[key] = key_pos
            self.map.keys[(*path, key)] = key_pos
            result[key] = self.walk(value_node, (*path, key))
        return result

    def _problem(self, node: yaml.Node, path: DataPath, summary: str) -> None:
        self.problems.append(
            Diagnostic(
                severity=Severity.ERROR,
                rule="yaml",
                summary=f"{format_path(path)}: {summary}",
                address=format_path(path),
                position=_position(self.map.file, node.start_mark),
            )
        )


def parse_yaml(text: str, *, file: str) -> tuple[Any, SourceMap, list[Diagnostic]]:
    """Parse one YAML document. Returns ``(data, source_map, problems)``; ``data`` is ``None`` when the
    text cannot be parsed at all (then ``problems`` says why, with the position)."""
    source_map = SourceMap(file)
    loader = yaml.SafeLoader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            what = " ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
            return (
                None,
                source_map,
                [
                    Diagnostic(
                        severity=Severity.ERROR,
                        rule="yaml",
                        summary=f"YAML syntax error: {what}",
                        position=_position(file, mark),
                    )
                ],
            )
        except yaml.YAMLError as exc:
            return (
                None,
                source_map,
                [
                    Diagnostic(
                        severity=Severity.ERROR,
                        rule="yaml",
                        summary=f"YAML error: {exc}",
                        position=SourcePosition(file, 1, 1),
                    )
                ],
            )
        if node is None:
            return (
                None,
                source_map,
                [
                    Diagnostic(
                        severity=Severity.ERROR,
                        rule="yaml",
                        summary="the file is empty",
                        position=SourcePosition(file, 1, 1),
                        fix="start with 'version: 1' (see examples/)",
                    )
                ],
            )
        walker = _Walker(loader=loader, source_map=source_map)
        try:
            data = walker.walk(node, ())
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            walker.problems.append(
                Diagnostic(
                    severity=Severity.ERROR,
                    rule="yaml",
                    summary=f"YAML error: {exc.problem}",
                    position=_position(file, mark),
                )
            )
            return None, source_map, walker.problems
        return data, source_map, walker.problems
    finally:
        loader.dispose()
