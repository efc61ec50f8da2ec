"""``reconciler lab up --spec FILE``: a YAML lab spec, read into ``simulator.spec.LabSpec`` plus faults.

The document's keys are ``LabSpec``'s fields (``name``, ``clusters``, ``dhcp``, ``scopes``, ``home``,
``defects``, ``key_pool``, ``filler_trust_certs``, ``dialect``), validated by pydantic over those very
dataclasses, plus a few shorthands that are not part of ``LabSpec``:

::

    base: default            # start from default_lab() (docs/lab.md) | largest (80,000 phones)
    phones_per_scope: 100    # base default only
    phones: 80000            # base largest only
    scopes: 1000             # base largest only (a number; a list is LabSpec's scopes)
    restart_duration: 10     # every cluster's
    replication_lag: {old: 5}                     # seconds, per cluster
    faults:                                       # applied once the faces listen (as ``lab fault``)
      - {kind: latency, node: cucm-old-pub, face: https, seconds: 0.2}

With ``base``, a ``LabSpec`` field written in the file replaces the preset's value, except the lists of named
things (``clusters``, ``dhcp``, ``scopes``), which are merged by name: an entry replaces the preset's entry
of that name, a new name is added. Without ``base``, ``name``, ``clusters``, ``dhcp``, ``scopes`` and
``home`` are required. The JSON Schema
(``simulator.lab.specschema.lab_spec_schema``, committed as docs/lab-spec.schema.json) comes from the
same types.

Reading is bounded like the desired-state loader (docs/reliability.md): at most ``MAX_LAB_SPEC_BYTES``,
parsed by the kernel's ``reconciler.yamlsource`` (depth, alias and scalar limits, duplicate keys).
Every problem — YAML, unknown key, wrong type, a name that refers to nothing (``simulator.lab.
speccheck``) — becomes a diagnostic with ``FILE:LINE:COL``, all raised together as ``LabSpecError``.
Called by ``simulator.lab.runtime`` (through ``reconciler.commands.lab``) and tests.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from reconciler.boundedio import read_bounded
from reconciler.diagnostics import Diagnostic, SourcePosition
from reconciler.errors import LabSpecError
from reconciler.yamlsource import DataPath, SourceMap, format_path, parse_yaml
from schemas.version import CucmVersion
from simulator.lab.faults import Fault
from simulator.lab.speccheck import check_spec
from simulator.lab.specschema import document_adapter, schema_problems, spec_diagnostic
from simulator.spec import LabSpec, default_lab, largest_estate

__all__ = [
    "MAX_LAB_SPEC_BYTES",
    "LabFile",
    "load_lab_file",
    "load_lab_text",
    "parse_lab_file",
]

#: A fully written largest estate (2 × 21 nodes, 1,000 scopes) is ~200 KB.
MAX_LAB_SPEC_BYTES = 1 << 20
_EMPTY_FIX = "start with 'base: default' (docs/lab.md)"
_NAMED_LISTS = frozenset({"clusters", "dhcp", "scopes"})


def _is_version(text: str) -> bool:
    try:
        CucmVersion(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True, slots=True, kw_only=True)
class LabFile:
    spec: LabSpec
    faults: tuple[Fault, ...] = ()


# -- the document -> LabFile ---------------------------------------------------------------------------


def _preset(doc: Any, where: SourceMap) -> tuple[LabSpec | None, list[Diagnostic]]:
    problems: list[Diagnostic] = []

    def wrong(key: str, text: str) -> None:
        problems.append(spec_diagnostic(where.key((key,)), (key,), text))

    scopes_count = doc.scopes if isinstance(doc.scopes, int) else None
    if doc.base == "default":
        for key in ("phones",) if scopes_count is None else ("phones", "scopes"):
            if getattr(doc, key) is not None:
                wrong(key, "only with 'base: largest' (base default takes phones_per_scope)")
        per = 100 if doc.phones_per_scope is None else doc.phones_per_scope
        return default_lab(phones_per_scope=per), problems
    if doc.base == "largest":
        if doc.phones_per_scope is not None:
            wrong("phones_per_scope", "only with 'base: default' (base largest takes phones and scopes)")
        spec = largest_estate(
            phones=80_000 if doc.phones is None else doc.phones,
            scopes=1_000 if scopes_count is None else scopes_count,
        )
        return spec, problems
    for key in (
        ("phones_per_scope", "phones") if scopes_count is None else ("phones_per_scope", "phones", "scopes")
    ):
        if getattr(doc, key) is not None:
            wrong(key, "a preset parameter: only with 'base: default' or 'base: largest'")
    return None, problems


def _spec_of(doc: Any, where: SourceMap) -> tuple[LabSpec | None, list[Diagnostic]]:
    preset, problems = _preset(doc, where)
    given = {
        f.name: getattr(doc, f.name)
        for f in dataclasses.fields(LabSpec)
        if getattr(doc, f.name) is not None and not (f.name == "scopes" and isinstance(doc.scopes, int))
    }
    if preset is not None:
        for key in _NAMED_LISTS.intersection(given):  # merged by name into the preset's list
            mine = {item.name: item for item in given[key]}
            theirs = [mine.pop(item.name, item) for item in getattr(preset, key)]
            given[key] = (*theirs, *mine.values())
        spec = replace(preset, **given)
    else:
        absent = [f.name for f in dataclasses.fields(LabSpec) if f.name not in given and
                  f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]  # fmt: skip
        if absent:
            problems.append(
                spec_diagnostic(
                    where.value(()),
                    (),
                    f"missing key(s) {', '.join(absent)}",
                    "write them, or start from a preset with 'base: default'",
                )
            )
            return None, problems
        spec = LabSpec(**given)
    names = {c.name for c in spec.clusters}
    for name in doc.replication_lag or {}:
        if name not in names:
            problems.append(
                spec_diagnostic(
                    where.key(("replication_lag", name)),
                    ("replication_lag", name),
                    f"no cluster '{name}'",
                    f"clusters: {', '.join(sorted(names))}",
                )
            )
    for name, version in (doc.versions or {}).items():
        if name not in names:
            problems.append(
                spec_diagnostic(
                    where.key(("versions", name)),
                    ("versions", name),
                    f"no cluster '{name}'",
                    f"clusters: {', '.join(sorted(names))}",
                )
            )
        elif not _is_version(version):
            problems.append(
                spec_diagnostic(
                    where.value(("versions", name)),
                    ("versions", name),
                    f"'{version}' is not a CUCM version",
                    "write it as CUCM shows it, e.g. 12.0.1.10000-10",
                )
            )
    clusters = []
    for cluster in spec.clusters:
        changed = cluster
        if doc.restart_duration is not None:
            changed = replace(changed, restart_duration=doc.restart_duration)
        if doc.replication_lag and cluster.name in doc.replication_lag:
            changed = replace(changed, replication_lag=doc.replication_lag[cluster.name])
        if doc.versions and cluster.name in doc.versions:
            changed = replace(changed, version=doc.versions[cluster.name])
        clusters.append(changed)
    return replace(spec, clusters=tuple(clusters)), problems


def _document_path(spec: LabSpec, doc: Mapping[str, Any], path: DataPath) -> DataPath:
    """Where the spec's ``path`` was written: entries of ``clusters``/``dhcp``/``scopes`` merged into a
    preset sit at another index in the file (matched by name), or only in the preset (then the key)."""
    if len(path) < 2 or path[0] not in _NAMED_LISTS or not isinstance(path[1], int):
        return path
    written = doc.get(str(path[0]))
    if not isinstance(written, list):
        return path[:1] if "base" in doc else path
    name = getattr(getattr(spec, str(path[0]))[path[1]], "name", None)
    for index, item in enumerate(written):
        if isinstance(item, Mapping) and item.get("name") == name:
            return (path[0], index, *path[2:])
    return path[:1]


def _label(spec: LabSpec, path: DataPath) -> str:
    """``(preset entry 'scope-a') `` for a problem in an entry the file did not write."""
    name = getattr(getattr(spec, str(path[0]))[path[1]], "name", "?") if len(path) > 1 else "?"
    return f"(the preset's entry '{name}', {format_path(path)}) "


def _raise(file: str, problems: list[Diagnostic]) -> typing.NoReturn:
    lines = [f"{d.position}: {d.summary}" + (f" ({d.fix})" if d.fix else "") for d in problems]
    raise LabSpecError(
        f"lab spec {file} is invalid ({len(problems)} problem(s)):\n  " + "\n  ".join(lines),
        diagnostics=tuple(problems),
        hint="docs/lab.md describes every key; docs/lab-spec.schema.json is its JSON Schema",
    )


def parse_lab_file(doc: Any, *, source: str = "lab spec", where: SourceMap | None = None) -> LabFile:
    """Validate a loaded document (``where``: its positions; without, every position is line 1)."""
    where = where or SourceMap(source)
    if not isinstance(doc, Mapping):
        _raise(
            source, [spec_diagnostic(where.value(()), (), "a lab spec is a mapping of keys (docs/lab.md)")]
        )
    try:
        document = document_adapter().validate_python(doc)
    except ValidationError as exc:
        _raise(source, schema_problems(doc, exc, where))
    spec, problems = _spec_of(document, where)
    if spec is not None:
        for path, text, fix in check_spec(spec):
            at = _document_path(spec, doc, path)
            label = _label(spec, path) if len(at) < len(path) else ""
            problems.append(spec_diagnostic(where.value(at), at, label + text, fix))
    if problems or spec is None:
        _raise(source, problems)
    return LabFile(spec=spec, faults=tuple(document.faults))


def load_lab_text(text: str, *, file: str) -> LabFile:
    data, where, problems = parse_yaml(text, file=file, empty_fix=_EMPTY_FIX)
    if problems:
        _raise(file, problems)
    return parse_lab_file(data, source=file, where=where)


def load_lab_file(path: Path) -> LabFile:
    """Read, parse and check ``path``; raises ``LabSpecError`` naming every problem."""
    file = str(path)
    try:
        raw = read_bounded(path, limit=MAX_LAB_SPEC_BYTES)
    except OSError as exc:
        _raise(
            file,
            [spec_diagnostic(SourcePosition(file, 1, 1), (), f"cannot read the file: {exc.strerror or exc}")],
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        column = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", errors="replace")) + 1
        where = SourcePosition(file, before.count(b"\n") + 1, column)
        _raise(file, [spec_diagnostic(where, (), f"the file is not UTF-8 text: byte 0x{raw[exc.start]:02x}")])
    return load_lab_text(text, file=file)
