"""The report the semantic checks write into: positioned diagnostics, unknown-reference hints,
duplicate detection, and "file does not exist yet" warnings (one per file).

Every check function of ``reconciler.config.semantic``, ``semantic_flow`` and ``semantic_secrets``
takes a ``Report`` and the desired state; ``reconciler.config.semantic.check`` creates one report and
calls them in order.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from reconciler.config.schemaerrors import closest
from reconciler.config.yamlsource import DataPath, SourceMap, format_path
from reconciler.diagnostics import Diagnostic, Severity
from schemas.cluster import Cluster
from schemas.document import DesiredState

__all__ = ["Report", "cluster_ref"]


class Report:
    """The findings so far, positioned through the source map of the checked file."""

    def __init__(self, source: SourceMap) -> None:
        self.source = source
        self.found: list[Diagnostic] = []
        self._missing_files: set[Path] = set()

    def add(
        self,
        path: DataPath,
        summary: str,
        *,
        rule: str = "ref",
        severity: Severity = Severity.ERROR,
        detail: str | None = None,
        fix: str | None = None,
        key: bool = False,
    ) -> None:
        """One finding at ``path`` (its value's position, or its key's with ``key=True``)."""
        position = self.source.key(path) if key else self.source.value(path)
        self.found.append(
            Diagnostic(
                severity=severity,
                rule=rule,
                summary=f"{format_path(path)}: {summary}",
                detail=detail,
                address=format_path(path),
                position=position,
                fix=fix,
            )
        )

    def unknown(
        self, path: DataPath, *, what: str, name: str, known: Iterable[str], key: bool = False
    ) -> None:
        """A reference to a name that is not declared, with the closest known name as a hint."""
        names = sorted(set(known))
        guess = closest(name, names)
        hint = f" (did you mean '{guess}'?)" if guess else ""
        self.add(
            path,
            f"unknown {what} '{name}'{hint}",
            fix=f"known {what}s: {', '.join(names) or '(none)'}",
            key=key,
        )

    def duplicates(self, names: list[str], *, base: DataPath, field: str, what: str) -> None:
        """Every repeated name of a list, reported at the repetition and naming the first."""
        first: dict[str, int] = {}
        for index, name in enumerate(names):
            if name in first:
                self.add(
                    (*base, index, field),
                    f"duplicate {what} '{name}' (also {format_path((*base, first[name]))})",
                    rule="duplicate",
                )
            else:
                first[name] = index

    def file_should_exist(self, path: DataPath, file: Path | None, *, what: str) -> None:
        """A warning for a file setting that does not exist yet, once per file at its first mention."""
        if file is not None and file not in self._missing_files and not file.is_file():
            self._missing_files.add(file)
            self.add(
                path,
                f"{what} {file} does not exist (yet)",
                rule="file",
                severity=Severity.WARNING,
                detail="validate does not need it; plan and apply do ('reconciler lab up' writes the lab's).",
            )


def cluster_ref(report: Report, desired: DesiredState, path: DataPath, name: str) -> Cluster | None:
    """The cluster named ``name`` (the last of that name, as a lookup table keeps it), or an
    unknown-cluster finding at ``path`` and ``None``."""
    clusters = {c.name: c for c in desired.clusters}
    cluster = clusters.get(name)
    if cluster is None:
        report.unknown(path, what="cluster", name=name, known=clusters)
    return cluster
