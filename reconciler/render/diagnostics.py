"""Rendering diagnostics: rich text for people, a stable JSON shape for machines.

Called by the commands (``validate``, ``explain``, ``plan``, ``drift``) and the plan renderer; the engine
only returns ``Diagnostic`` values. Text is built with ``rich.text.Text`` (never markup) so that ``[R2]`` or a
user's string can never be taken for a style tag. The JSON shape is documented in docs/cli.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.text import Text

from reconciler.diagnostics import Diagnostic, Severity

__all__ = ["FileReport", "make_console", "render_diagnostics", "render_reports", "reports_json"]

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


@dataclass(frozen=True, slots=True)
class FileReport:
    """The diagnostics of one checked file."""

    file: str
    diagnostics: tuple[Diagnostic, ...]

    @property
    def errors(self) -> int:
        return sum(1 for d in self.diagnostics if d.severity is Severity.ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for d in self.diagnostics if d.severity is Severity.WARNING)

    @property
    def valid(self) -> bool:
        return self.errors == 0


def make_console(*, color: bool, stderr: bool = False) -> Console:
    """A console for the current stdout/stderr; no wrapping so ``FILE:LINE:COL`` lines stay whole."""
    return Console(
        no_color=not color,
        color_system="auto" if color else None,
        highlight=False,
        soft_wrap=True,
        stderr=stderr,
        emoji=False,
    )


def _diagnostic(d: Diagnostic) -> Text:
    text = Text()
    if d.position is not None:
        text.append(f"{d.position}: ", style="bold")
    text.append(d.severity.value, style=_STYLE[d.severity])
    if d.rule:
        text.append(f"[{d.rule}]", style=_STYLE[d.severity])
    text.append(f": {d.summary}")
    if d.detail:
        text.append(f"\n    {d.detail}", style="dim")
    if d.fix:
        text.append("\n    fix: ", style="green")
        text.append(d.fix)
    return text


def render_diagnostics(console: Console, diagnostics: Iterable[Diagnostic]) -> None:
    for d in diagnostics:
        console.print(_diagnostic(d))


def render_reports(console: Console, reports: Sequence[FileReport]) -> None:
    """Every diagnostic, then one summary line per file."""
    for report in reports:
        render_diagnostics(console, report.diagnostics)
    for report in reports:
        line = Text(f"{report.file}: ")
        if report.valid:
            line.append("valid", style="bold green")
        else:
            line.append(f"{report.errors} error(s)", style="bold red")
        if report.warnings:
            line.append(f", {report.warnings} warning(s)", style="yellow")
        console.print(line)


def reports_json(reports: Sequence[FileReport]) -> dict[str, object]:
    """``{"valid": bool, "files": [{"file", "valid", "errors", "warnings", "diagnostics": [...]}]}``."""
    return {
        "valid": all(r.valid for r in reports),
        "files": [
            {
                "file": r.file,
                "valid": r.valid,
                "errors": r.errors,
                "warnings": r.warnings,
                "diagnostics": [d.as_dict() for d in r.diagnostics],
            }
            for r in reports
        ],
    }
