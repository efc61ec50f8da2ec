"""The reporting half of the semantic checks: positioned diagnostics, unknown-reference hints,
duplicate detection, and "file does not exist yet" warnings.

Base class of ``reconciler.config.semantic_flow.FlowChecks`` and ``reconciler.config.semantic``'s checker;
used only by ``reconciler.config.semantic.check``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from reconciler.config.schemaerrors import closest
from reconciler.config.yamlsource import DataPath, SourceMap, format_path
from reconciler.diagnostics import Diagnostic, Severity
from schemas.cluster import Cluster
from schemas.document import DesiredState

__all__ = ["Reporter"]


class Reporter:
    """Holds the state, the source map and the findings; every check reports through it."""

    def __init__(self, state: DesiredState, source: SourceMap, *, skip_roles: bool) -> None:
        self.skip_roles = skip_roles
        self.state = state
        self.source = source
        self.found: list[Diagnostic] = []
        self.clusters = {c.name: c for c in state.clusters}
        self.missing_files: set[Path] = set()

    # --- reporting -----------------------------------------------------------------------------
    def report(
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
        names = sorted(set(known))
        guess = closest(name, names)
        hint = f" (did you mean '{guess}'?)" if guess else ""
        self.report(
            path,
            f"unknown {what} '{name}'{hint}",
            fix=f"known {what}s: {', '.join(names) or '(none)'}",
            key=key,
        )

    def duplicates(self, names: list[str], *, base: DataPath, field: str, what: str) -> None:
        first: dict[str, int] = {}
        for index, name in enumerate(names):
            if name in first:
                self.report(
                    (*base, index, field),
                    f"duplicate {what} '{name}' (also {format_path((*base, first[name]))})",
                    rule="duplicate",
                )
            else:
                first[name] = index

    def cluster_ref(self, path: DataPath, name: str) -> Cluster | None:
        cluster = self.clusters.get(name)
        if cluster is None:
            self.unknown(path, what="cluster", name=name, known=self.clusters)
        return cluster

    def file_should_exist(self, path: DataPath, file: Path | None, *, what: str) -> None:
        if file is not None and file not in self.missing_files and not file.is_file():
            self.missing_files.add(file)  # one warning per file, at its first mention
            self.report(
                path,
                f"{what} {file} does not exist (yet)",
                rule="file",
                severity=Severity.WARNING,
                detail="validate does not need it; plan and apply do ('reconciler lab up' writes the lab's).",
            )

    # --- sections ------------------------------------------------------------------------------
