"""Diagnostics: user-facing findings that accumulate instead of raising.

The loader, the semantic checks, the CUCM rules (``reconciler.cucm.rules``), the planner and drift all
report problems as ``Diagnostic`` values so that one run names every problem at once.
Renderers in ``reconciler.render`` turn them into text, JSON or JUnit. Like ``reconciler.errors`` this
module imports only ``reconciler.redact`` (which imports nothing of ours) and may be used from every
layer. A ``user:password@`` typed into any field is redacted from every text a diagnostic carries.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from reconciler.redact import redact

__all__ = ["Diagnostic", "Diagnostics", "Severity", "SourcePosition"]


class Severity(enum.StrEnum):
    """How bad a finding is. ``ERROR`` blocks validate/plan/apply; ``WARNING`` is shown and allowed."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class SourcePosition:
    """A place in a file; ``line`` and ``column`` are 1-based as editors show them."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Diagnostic:
    """One finding.

    ``rule`` is a procedure rule id (``"R4"``) or a check id (``"schema"``, ``"yaml"``, ``"ref"``).
    ``address`` is a resource address (``trust.old.Phone-SAST-trust.cm-new-sub1``) or a YAML key path
    (``clusters[0].nodes[1].services``). ``fix`` says what to do about it.
    """

    severity: Severity
    summary: str
    rule: str | None = None
    detail: str | None = None
    address: str | None = None
    position: SourcePosition | None = None
    fix: str | None = None

    def __post_init__(self) -> None:
        for name in ("summary", "detail", "fix"):
            value = getattr(self, name)
            if value is not None and "@" in value:
                object.__setattr__(self, name, redact(value))

    def headline(self) -> str:
        """``FILE:LINE:COL: severity[rule]: summary`` — the one-line form used by every renderer."""
        where = f"{self.position}: " if self.position else ""
        rule = f"[{self.rule}]" if self.rule else ""
        return f"{where}{self.severity.value}{rule}: {self.summary}"

    def as_dict(self) -> dict[str, object]:
        """Stable JSON shape (documented in docs/cli.md)."""
        return {
            "severity": self.severity.value,
            "rule": self.rule,
            "summary": self.summary,
            "detail": self.detail,
            "address": self.address,
            "position": (
                None
                if self.position is None
                else {"file": self.position.file, "line": self.position.line, "column": self.position.column}
            ),
            "fix": self.fix,
        }


@dataclass(slots=True)
class Diagnostics:
    """An ordered, append-only collection of findings."""

    items: list[Diagnostic] = field(default_factory=list)

    def add(self, diagnostic: Diagnostic) -> None:
        self.items.append(diagnostic)

    def extend(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.items.extend(diagnostics)

    @property
    def has_errors(self) -> bool:
        return any(d.severity is Severity.ERROR for d in self.items)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity is Severity.ERROR]

    def __iter__(self) -> Iterator[Diagnostic]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)
