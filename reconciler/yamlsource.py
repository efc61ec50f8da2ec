"""YAML text -> plain Python data plus a map of where every key and value sits in the file.

A kernel module (it imports only ``reconciler.diagnostics`` and PyYAML) so that both loaders of
untrusted YAML share one hardened reader: ``reconciler.config.loader`` (the desired state, through
``reconciler.config.yamlsource``) and ``simulator.lab.specfile`` (``lab up --spec``), which may not
import ``reconciler.config`` (docs/architecture.md, "Layers"). Duplicate keys are errors (never a silent
overwrite), YAML syntax errors become diagnostics with ``FILE:LINE:COL``, and ``SourceMap`` lets every
later check (schema and semantic) point at the exact key or value it complains about.

Hostile input ends at once with a diagnostic, never with a traceback or unbounded memory (``Limits``):
nesting deeper than ``max_depth`` is refused while composing (before Python's recursion limit can be
hit), an alias is expanded into the data and the source map only while the total of expanded nodes stays
within ``max_nodes`` (so "billion laughs" stops after a few thousand nodes), a scalar longer than
``max_scalar`` is refused, and characters YAML forbids (a NUL byte) or values Python refuses to build
(an integer of more than 4,300 digits, a date such as 2024-13-45) are reported at their position.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from reconciler.diagnostics import Diagnostic, Severity, SourcePosition

__all__ = ["DEFAULT_LIMITS", "DataPath", "Limits", "SourceMap", "format_path", "parse_yaml"]

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


@dataclass(frozen=True, slots=True)
class Limits:
    """What one document (desired state or lab spec) may hold. The defaults are far above any real
    estate (a large one has ~2,000 nodes, depth 6 and no scalar over 200 characters) and far below what
    hurts."""

    max_depth: int = 64
    max_nodes: int = 50_000
    max_scalar: int = 64 * 1024


DEFAULT_LIMITS = Limits()


class _LimitError(Exception):
    """Unwinds the walker when a limit is hit; caught in ``parse_yaml`` and turned into one diagnostic
    (it never leaves this module, so it is not part of the error tree)."""

    def __init__(self, mark: yaml.Mark | None, summary: str, fix: str) -> None:
        super().__init__(summary)
        self.mark = mark
        self.summary = summary
        self.fix = fix


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader whose (recursive) composer refuses nesting deeper than ``max_depth``."""

    def __init__(self, stream: str, *, max_depth: int) -> None:
        super().__init__(stream)
        self._depth = 0
        self._max_depth = max_depth
        #: Where each alias (*name) was written, by (parent node, index or key node): the composer
        #: returns the anchored node itself, so without this an alias's own position would be lost.
        self.alias_marks: dict[tuple[int, int], yaml.Mark] = {}

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > self._max_depth:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise yaml.composer.ComposerError(
                    None, None, f"nesting deeper than {self._max_depth} levels is not supported", mark
                )
            if parent is not None and self.check_event(yaml.AliasEvent):
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                self.alias_marks[(id(parent), index if isinstance(index, int) else id(index))] = mark
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _offset_position(file: str, text: str, offset: int) -> SourcePosition:
    """Line and column (1-based) of character ``offset`` in ``text``."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    start = text.rfind("\n", 0, offset) + 1
    return SourcePosition(file, line, offset - start + 1)


def _position(file: str, mark: yaml.Mark | None) -> SourcePosition:
    if mark is None:
        return SourcePosition(file, 1, 1)
    return SourcePosition(file, mark.line + 1, mark.column + 1)


class _Walker:
    def __init__(self, *, loader: _BoundedLoader, source_map: SourceMap, limits: Limits) -> None:
        self.loader = loader
        self.map = source_map
        self.limits = limits
        self.problems: list[Diagnostic] = []
        self._active: set[int] = set()
        self._walked = 0
        self._alias: yaml.Mark | None = None  # the outermost alias being expanded, if any

    def _child(self, parent: yaml.Node, index: int, child: yaml.Node, path: DataPath) -> Any:
        """Walk ``child``; remembers the outermost alias it is reached through, for limit errors."""
        mark = None if self._alias is not None else self.loader.alias_marks.get((id(parent), index))
        if mark is None:
            return self.walk(child, path)
        self._alias = mark
        try:
            return self.walk(child, path)
        finally:
            self._alias = None

    def _limit(self, node: yaml.Node, summary: str, fix: str) -> _LimitError:
        where = self._alias or node.start_mark
        if self._alias is not None:
            summary += " (expanding the alias written here)"
        return _LimitError(where, summary, fix)

    def walk(self, node: yaml.Node, path: DataPath) -> Any:
        self._walked += 1
        if self._walked > self.limits.max_nodes:
            raise self._limit(
                node,
                f"more than {self.limits.max_nodes:,} values once aliases are expanded",
                "declare fewer items, or use fewer nested aliases (*name) of large anchors",
            )
        if len(path) > self.limits.max_depth:  # aliases of aliases nest deeper than the text does
            raise self._limit(
                node,
                f"{format_path(path[:3])}...: nesting deeper than {self.limits.max_depth} levels "
                "once aliases are expanded",
                "use fewer chained aliases (*name)",
            )
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
                return [
                    self._child(node, index, item, (*path, index)) for index, item in enumerate(node.value)
                ]
            finally:
                self._active.discard(id(node))
        if isinstance(node, yaml.ScalarNode) and len(node.value) > self.limits.max_scalar:
            raise self._limit(
                node,
                f"{format_path(path)}: a value of {len(node.value):,} characters is longer than the "
                f"{self.limits.max_scalar:,} allowed",
                "put large content (certificates) in a file and give its path",
            )
        try:
            return self.loader.construct_object(node, deep=True)
        except (ValueError, OverflowError, IndexError, TypeError) as exc:  # 5,000 digits, 2024-13-45, "!!int"
            reason = str(exc).split(";")[0]
            self._problem(node, path, f"cannot read the value: {reason}")
            return None

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
            result[key] = self._child(node, id(key_node), value_node, (*path, key))
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


def _error(position: SourcePosition, summary: str, fix: str | None = None) -> Diagnostic:
    return Diagnostic(severity=Severity.ERROR, rule="yaml", summary=summary, position=position, fix=fix)


def parse_yaml(
    text: str,
    *,
    file: str,
    limits: Limits = DEFAULT_LIMITS,
    empty_fix: str = "start with 'version: 1' (see examples/)",
) -> tuple[Any, SourceMap, list[Diagnostic]]:
    """Parse one YAML document. Returns ``(data, source_map, problems)``; ``data`` is ``None`` when the
    text cannot be parsed at all (then ``problems`` says why, with the position). ``empty_fix`` is the
    fix offered for an empty file."""
    source_map = SourceMap(file)
    try:
        loader = _BoundedLoader(text, max_depth=limits.max_depth)
    except yaml.reader.ReaderError as exc:  # NUL and other characters YAML does not allow
        where = _offset_position(file, text, exc.position)
        summary = (
            f"character U+{exc.character:04X} is not allowed in YAML"
            if isinstance(exc.character, int)
            else str(exc)
        )
        return None, source_map, [_error(where, summary, "remove the character (is this a text file?)")]
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
        except RecursionError:  # a safety net: the composer's own depth limit comes first
            return None, source_map, [_error(SourcePosition(file, 1, 1), "YAML nesting is too deep")]
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
                        fix=empty_fix,
                    )
                ],
            )
        walker = _Walker(loader=loader, source_map=source_map, limits=limits)
        try:
            data = walker.walk(node, ())
        except _LimitError as exc:
            walker.problems.append(_error(_position(file, exc.mark), exc.summary, exc.fix))
            return None, source_map, walker.problems
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
