"""YAML -> ``schemas.DesiredState`` with ``FILE:LINE:COL`` diagnostics; secrets stay references.

Called by the commands (``validate``, ``explain``, ``plan``, ``apply``, ``drift``). ``load`` never raises
for a user mistake: it returns every problem found (YAML, schema, then semantic checks) as diagnostics.
``load_or_raise`` is for commands that cannot continue with errors and raises ``SchemaError``.
Relative paths in the YAML resolve against the YAML file's directory. Secret values are read only by
``reconciler.config.secrets.resolve`` when a provider needs them. The file is read with a bound
(``reconciler.boundedio.MAX_DESIRED_BYTES``) and parsed within ``reconciler.config.yamlsource.Limits``,
so any input ends quickly with diagnostics (docs/reliability.md lists every class of bad input).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from reconciler.boundedio import MAX_DESIRED_BYTES, read_bounded
from reconciler.config.schemaerrors import Pruned, prune, schema_diagnostics
from reconciler.config.semantic import check
from reconciler.config.yamlsource import SourceMap, parse_yaml
from reconciler.diagnostics import Diagnostic, Diagnostics, Severity, SourcePosition
from reconciler.errors import LoadError, SchemaError
from schemas.document import DesiredState

__all__ = ["LoadResult", "load", "load_bytes", "load_or_raise", "load_text"]

_MAX_PRUNE_ROUNDS = 10


@dataclass(frozen=True, slots=True)
class LoadResult:
    """The outcome of loading one file: the model (``None`` when the schema failed), what was found,
    and where every key sits (for later diagnostics, e.g. the planner's)."""

    file: str
    state: DesiredState | None
    diagnostics: Diagnostics
    source_map: SourceMap

    @property
    def ok(self) -> bool:
        return self.state is not None and not self.diagnostics.has_errors


def load_text(text: str, *, file: str, base_dir: Path, semantic: bool = True) -> LoadResult:
    """Load YAML ``text`` named ``file`` (for positions); relative paths resolve against ``base_dir``."""
    diagnostics = Diagnostics()
    data, source_map, problems = parse_yaml(text, file=file)
    diagnostics.extend(problems)
    if data is None:
        return LoadResult(file, None, diagnostics, source_map)
    if not isinstance(data, dict):
        diagnostics.add(
            Diagnostic(
                severity=Severity.ERROR,
                rule="schema",
                summary="the document must be a mapping (version: 1, clusters: ..., migration: ...)",
                position=source_map.value(()),
            )
        )
        return LoadResult(file, None, diagnostics, source_map)
    context = {"base_dir": base_dir}
    try:
        state = DesiredState.model_validate(data, context=context)
    except ValidationError as exc:
        diagnostics.extend(schema_diagnostics(exc, data=data, source=source_map))
        if semantic:
            diagnostics.extend(_salvaged_semantics(data, exc, context=context, source=source_map))
        return LoadResult(file, None, _sorted(diagnostics), source_map)
    if semantic:
        diagnostics.extend(check(state, source_map))
    return LoadResult(file, state, _sorted(diagnostics), source_map)


def _sorted(diagnostics: Diagnostics) -> Diagnostics:
    """In file order, so the output reads top to bottom like the YAML (stable for equal positions)."""

    def key(d: Diagnostic) -> tuple[int, int]:
        return (d.position.line, d.position.column) if d.position else (0, 0)

    return Diagnostics(sorted(diagnostics.items, key=key))


def _salvaged_semantics(
    data: dict[str, Any], exc: ValidationError, *, context: dict[str, Any], source: SourceMap
) -> list[Diagnostic]:
    """Semantic findings on what is left after removing the parts the schema rejected, so that one run
    names a bad IP *and* an unknown reference *and* R2. Findings about removed items are dropped."""
    pruned = Pruned()
    work = copy.deepcopy(data)
    error: ValidationError | None = exc
    for _ in range(_MAX_PRUNE_ROUNDS):
        if error is None or not prune(work, error, pruned=pruned):
            break
        try:
            state = DesiredState.model_validate(work, context=context)
        except ValidationError as again:
            error = again
            continue
        found = check(state, source, skip_roles="clusters" in pruned.sections)
        return [d for d in found if not any(f"'{name}'" in d.summary for name in pruned.names)]
    return []


def load(path: str | Path, *, semantic: bool = True) -> LoadResult:
    """Load and check one desired-state file. Diagnostics name the file as the user gave it."""
    file = str(path)
    try:
        raw = read_bounded(Path(path), limit=MAX_DESIRED_BYTES)
    except OSError as exc:
        return _unreadable(file, f"cannot read the file: {exc.strerror or exc}", SourcePosition(file, 1, 1))
    return load_bytes(raw, path=path, semantic=semantic)


def load_bytes(raw: bytes, *, path: str | Path, semantic: bool = True) -> LoadResult:
    """Load the bytes already read from ``path`` (so a caller that also hashes them, as ``plan`` and
    ``apply`` do, checks exactly what it hashed)."""
    file = str(path)
    target = Path(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", errors="replace")) + 1
        return _unreadable(
            file,
            f"the file is not UTF-8 text: byte 0x{raw[exc.start]:02x} at offset {exc.start}",
            SourcePosition(file, line, column),
        )
    return load_text(text, file=file, base_dir=target.resolve().parent, semantic=semantic)


def _unreadable(file: str, summary: str, position: SourcePosition) -> LoadResult:
    diagnostics = Diagnostics()
    diagnostics.add(Diagnostic(severity=Severity.ERROR, rule="io", summary=summary, position=position))
    return LoadResult(file, None, diagnostics, SourceMap(file))


def load_or_raise(path: str | Path) -> tuple[DesiredState, LoadResult]:
    """Like ``load`` but raises ``SchemaError`` (or ``LoadError`` for YAML problems) on any error."""
    result = load(path)
    if result.ok and result.state is not None:
        return result.state, result
    errors = tuple(result.diagnostics.errors)
    first = errors[0].headline() if errors else "invalid desired state"
    cls = SchemaError if result.state is not None or any(d.rule != "yaml" for d in errors) else LoadError
    raise cls(
        f"{result.file}: {len(errors)} error(s); first: {first}",
        diagnostics=errors,
        hint=f"run 'reconciler validate {result.file}' to see every problem",
    )
