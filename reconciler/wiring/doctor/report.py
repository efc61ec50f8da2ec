"""What ``reconciler doctor`` found: one ``Finding`` per check, the report, its table, JSON and bundle.

Written by ``reconciler.wiring.doctor.runner`` (the checks); read by ``reconciler.commands.doctor``
(table, ``--json``, ``--bundle``). A finding is ``pass``, ``warn``, ``fail`` or ``skip`` (not checked,
with the reason); every ``fail`` carries the fix. ``Capture`` keeps a screen or answer the tool did not
recognise (an unknown prompt, a CLI error text, an undecodable field) so that a user can attach it.

The support bundle (``write_bundle``) is a zip of ``report.json``, ``versions.json``, ``timings.json``
and one ``captures/NN-<endpoint>.txt`` per capture. Every text that goes into it passes through
``reconciler.redact.scrub`` with the secrets the run resolved, so no password reaches the bundle even
when a remote system echoed one.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from reconciler.redact import scrub

__all__ = ["STATUSES", "Capture", "DoctorReport", "Finding", "Status", "table_lines", "write_bundle"]

Status = Literal["pass", "warn", "fail", "skip"]
STATUSES: tuple[Status, ...] = ("pass", "warn", "fail", "skip")
REPORT_VERSION = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One check of one endpoint (``old/cucm-old-pub``, ``dhcp/lab-router``)."""

    endpoint: str
    check: str
    status: Status
    detail: str
    fix: str | None = None
    seconds: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Capture:
    """A screen or answer that was not recognised, as it came (cleaned of terminal escapes)."""

    endpoint: str
    what: str
    text: str


@dataclass(slots=True, kw_only=True)
class DoctorReport:
    findings: list[Finding] = field(default_factory=list)
    captures: list[Capture] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)  # endpoint -> version it reported
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not any(f.status == "fail" for f in self.findings)

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for f in self.findings if f.status == s) for s in STATUSES}

    def to_json(self) -> dict[str, Any]:
        return {
            "version": REPORT_VERSION,
            "ok": self.ok,
            "counts": self.counts(),
            "seconds": round(self.seconds, 3),
            "versions": dict(self.versions),
            "findings": [asdict(f) | {"seconds": round(f.seconds, 3)} for f in self.findings],
            "captures": [asdict(c) for c in self.captures],
        }


_MARK = {"pass": "ok  ", "warn": "WARN", "fail": "FAIL", "skip": "skip"}


def table_lines(report: DoctorReport, *, width: int = 100) -> list[str]:
    """The human table: one line per finding (status, endpoint, check, detail), the fix under a fail or
    warn, then a summary line."""
    ends = max((len(f.endpoint) for f in report.findings), default=8)
    checks = max((len(f.check) for f in report.findings), default=5)
    lines = [f"{'':4}  {'endpoint':<{ends}}  {'check':<{checks}}  detail"]
    for f in report.findings:
        detail = f.detail if len(f.detail) <= width else f.detail[: width - 1] + "…"
        lines.append(f"{_MARK[f.status]}  {f.endpoint:<{ends}}  {f.check:<{checks}}  {detail}")
        if f.fix and f.status in ("fail", "warn"):
            lines.append(f"{'':4}  {'':<{ends}}  {'':<{checks}}  fix: {f.fix}")
    counts = report.counts()
    lines.append(
        f"{counts['pass']} passed, {counts['warn']} warnings, {counts['fail']} failed, {counts['skip']} "
        f"skipped in {report.seconds:.1f} s"
        + (f"; {len(report.captures)} unrecognised screen(s)" if report.captures else "")
    )
    return lines


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in text)[:60]


def write_bundle(
    report: DoctorReport, path: Path, *, secrets: Iterable[str], extra: Sequence[str] = ()
) -> None:
    """A support bundle (zip) at ``path``: report, versions, timings and captures, secrets scrubbed.
    ``extra`` are more words to scrub (user names are kept: they help and are not secrets)."""
    words = [*secrets, *extra]

    def clean(text: str) -> str:
        return scrub(text, words)

    timings = [
        {"endpoint": f.endpoint, "check": f.check, "seconds": round(f.seconds, 3)} for f in report.findings
    ]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("report.json", clean(json.dumps(report.to_json(), indent=2)))
        bundle.writestr("versions.json", clean(json.dumps(report.versions, indent=2)))
        bundle.writestr("timings.json", clean(json.dumps(timings, indent=2)))
        for n, capture in enumerate(report.captures, 1):
            name = f"captures/{n:02d}-{_slug(capture.endpoint)}-{_slug(capture.what)}.txt"
            bundle.writestr(name, clean(f"# {capture.endpoint}: {capture.what}\n{capture.text}\n"))
    path.chmod(0o600)
