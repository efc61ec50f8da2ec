"""Renderers of an apply: rich progress bars with a final summary, and JSON-lines events for ``--json``.

Both implement ``reconciler.apply.hooks.ApplyHooks`` and are chosen by ``reconciler apply``
(``reconciler.commands.apply``); the executor never prints. ``RichApplyRenderer`` shows an
overall bar and one bar per wave gate (registered phones against the wave's total), one line per finished
step, retries in yellow and a summary with every stranded phone and its reason (R13).
``JsonLinesRenderer`` writes one JSON object per event (``{"event": "step_finished", ...}``) and a final
``apply_finished`` object holding the whole report (``ApplyReport.to_dict``).
"""

from __future__ import annotations

import json
from typing import IO, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from reconciler.apply.hooks import ApplyHooks, ApplyReport, ApplyStatus, GateProgress
from reconciler.model import Change, Outcome, OutcomeStatus
from reconciler.plan.document import Plan
from reconciler.plan.windows import format_seconds

__all__ = [
    "JsonLinesRenderer",
    "RichApplyRenderer",
    "no_changes_json",
    "outcome_label",
    "plan_summary_lines",
    "summary_lines",
]

_STYLE = {
    OutcomeStatus.APPLIED: "green",
    OutcomeStatus.UNCHANGED: "cyan",
    OutcomeStatus.FAILED: "bold red",
    OutcomeStatus.SKIPPED: "dim",
}


_CHECKS = frozenset({"gate", "replication"})  # steps that only check (R13, R7)


def plan_summary_lines(plan: Plan) -> list[str]:
    """What the confirmation prompt shows: the steps with symbols and reasons, then the counts."""
    lines = [
        f"  {s.change.action.symbol} {s.address}  ({s.change.reason or s.change.action.verb})"
        for s in plan.steps
    ]
    sm = plan.summary
    lines.append(
        f"Plan: {sm.add} to add, {sm.change} to change, {sm.destroy} to destroy, {sm.run} to run; "
        f"{sm.waves} wave(s), {sm.phones_to_move} phone(s) to move, {sm.stranded} forecast stranded."
    )
    return lines


def outcome_label(change: Change, outcome: Outcome) -> str:
    """How a step's outcome reads: a check (gate R13, replication R7) that held is ``passed``, not
    ``unchanged``; every other outcome is its status."""
    if outcome.status is OutcomeStatus.UNCHANGED and change.address.kind in _CHECKS:
        return "passed"
    return outcome.status.value


_NOT_NEEDED = "not needed: "


def _count_texts(report: ApplyReport) -> list[str]:
    """Per outcome status, how many; a skipped step whose trigger passed (a revert step of a wave whose
    gate passed, R13) is counted as "not needed", apart from steps skipped because something failed."""
    texts = []
    for status in OutcomeStatus:
        if status is OutcomeStatus.SKIPPED:
            skipped = [o for o in report.outcomes if o.status is status]
            unneeded = sum(1 for o in skipped if o.detail.startswith(_NOT_NEEDED))
            if len(skipped) > unneeded:
                texts.append(f"{len(skipped) - unneeded} {status.value}")
            if unneeded:
                texts.append(f"{unneeded} not needed (revert steps of passed gates)")
        elif report.count(status):
            texts.append(f"{report.count(status)} {status.value}")
    return texts


def summary_lines(report: ApplyReport) -> list[str]:
    """The final summary as plain lines (also used by tests)."""
    counts = ", ".join(_count_texts(report))
    head = {
        ApplyStatus.SUCCEEDED: "Apply complete!",
        ApplyStatus.FAILED: "Apply failed.",
        ApplyStatus.INTERRUPTED: "Apply interrupted.",
        ApplyStatus.PAUSED: "Apply paused.",
    }[report.status]
    lines = [f"{head} {counts or 'nothing to do'} in {report.elapsed:.1f}s."]
    for outcome in report.outcomes:
        if outcome.status is OutcomeStatus.FAILED:
            lines.append(f"  failed: {outcome.address}: {outcome.detail}")
    if report.phones:
        lines.append(f"{len(report.phones)} phone(s) of reverted wave(s) (R13):")
        lines.extend(f"  {p.describe()}" for p in report.phones)
    if report.stranded:
        lines.append(f"{len(report.stranded)} phone(s) not Registered on the target (R13):")
        lines.extend(f"  {p.describe()}" for p in report.stranded)
    if report.message and report.status is ApplyStatus.FAILED:
        lines.append(report.message)
    if report.status in (
        ApplyStatus.INTERRUPTED,
        ApplyStatus.PAUSED,
    ):  # said once (the report's message says the same)
        lines.append("Resume with `reconciler apply --resume`.")
    if report.journal:
        lines.append(f"Journal: {report.journal}")
    return lines


class RichApplyRenderer(ApplyHooks):
    """Progress bars on ``console`` (stderr by default in the CLI) and a summary at the end."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._overall: TaskID | None = None
        self._gates: dict[str, TaskID] = {}

    def plan_started(self, *, apply_id: str, steps: tuple[Change, ...], skipped: tuple[str, ...]) -> None:
        self._progress.start()
        self._overall = self._progress.add_task("apply", total=len(steps), completed=len(skipped))
        if skipped:
            self._progress.console.print(f"resuming {apply_id}: {len(skipped)} step(s) already done")

    def step_started(self, *, change: Change, index: int, total: int, attempt: int) -> None:
        again = f" (attempt {attempt})" if attempt > 1 else ""
        self._progress.console.print(
            f"[bold]{change.action.symbol}[/] {escape(str(change.address))}{again} …"
        )

    def step_retry(self, *, change: Change, attempt: int, error: str, delay: float) -> None:
        self._progress.console.print(
            f"  [yellow]retry {attempt} of {escape(str(change.address))} in {delay:.1f}s: {escape(error)}[/]"
        )

    def step_finished(self, *, change: Change, outcome: Outcome) -> None:
        style = _STYLE[outcome.status]
        label = outcome_label(change, outcome)
        self._progress.console.print(
            f"  [{style}]{label}[/] {escape(str(change.address))}: {escape(outcome.detail)}"
        )
        if self._overall is not None:
            self._progress.advance(self._overall)

    def wave_gate_progress(self, *, progress: GateProgress) -> None:
        task = self._gates.get(progress.wave)
        if task is None:
            task = self._progress.add_task(f"gate {progress.wave}", total=progress.total)
            self._gates[progress.wave] = task
        self._progress.update(
            task,
            completed=progress.registered,
            description=f"gate {progress.wave} (need {progress.needed}, {progress.elapsed:.0f}/"
            f"{progress.deadline:.0f}s)",
        )

    def window_wait(self, *, wave: str, opens: str, remaining: float, window: str) -> None:
        key = f"window:{wave}"
        task = self._gates.get(key)
        if task is None:
            task = self._progress.add_task(f"window {wave}", total=None)
            self._gates[key] = task
            self._progress.console.print(f"  [bold]waiting[/] wave {escape(wave)}: {escape(window)}")
        self._progress.update(
            task,
            description=f"window {wave}: starts {opens} (in {format_seconds(remaining)})",
        )

    def wave_paused(self, *, wave: str, reason: str) -> None:
        self._progress.console.print(f"  [bold yellow]paused[/] {escape(reason)}")

    def apply_finished(self, *, report: ApplyReport) -> None:
        self._progress.stop()
        style = "green" if report.ok else "red"
        lines = summary_lines(report)
        self._console.print(f"[bold {style}]{escape(lines[0])}[/]")
        for line in lines[1:]:
            self._console.print(escape(line))


class JsonLinesRenderer(ApplyHooks):
    """One JSON object per line on ``stream`` (stdout for ``--json``)."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def _emit(self, event: str, **fields: Any) -> None:
        self._stream.write(json.dumps({"event": event, **fields}, sort_keys=True) + "\n")
        self._stream.flush()

    def plan_started(self, *, apply_id: str, steps: tuple[Change, ...], skipped: tuple[str, ...]) -> None:
        self._emit(
            "plan_started", apply_id=apply_id, steps=[str(c.address) for c in steps], skipped=list(skipped)
        )

    def step_started(self, *, change: Change, index: int, total: int, attempt: int) -> None:
        self._emit("step_started", address=str(change.address), index=index, total=total, attempt=attempt)

    def step_retry(self, *, change: Change, attempt: int, error: str, delay: float) -> None:
        self._emit("step_retry", address=str(change.address), attempt=attempt, error=error, delay=delay)

    def step_finished(self, *, change: Change, outcome: Outcome) -> None:
        self._emit("step_finished", **outcome.to_dict())

    def wave_gate_progress(self, *, progress: GateProgress) -> None:
        self._emit(
            "wave_gate_progress",
            wave=progress.wave,
            registered=progress.registered,
            total=progress.total,
            needed=progress.needed,
            elapsed=round(progress.elapsed, 3),
            deadline=progress.deadline,
            polls=progress.polls,
        )

    def window_wait(self, *, wave: str, opens: str, remaining: float, window: str) -> None:
        self._emit("window_wait", wave=wave, opens=opens, remaining=round(remaining, 1), window=window)

    def wave_paused(self, *, wave: str, reason: str) -> None:
        self._emit("wave_paused", wave=wave, reason=reason)

    def apply_finished(self, *, report: ApplyReport) -> None:
        self._emit("apply_finished", **report.to_dict())


def no_changes_json(message: str) -> str:
    """``apply --json`` when there is nothing to do: the same ``apply_finished`` event an apply ends
    with (status ``succeeded``, no apply id, no outcomes), so a script always reads one document."""
    document: dict[str, object] = {
        "event": "apply_finished",
        "status": ApplyStatus.SUCCEEDED.value,
        "apply_id": None,
        "journal": None,
        "resumed": False,
        "message": message,
        "elapsed": 0.0,
        "counts": {s.value: 0 for s in OutcomeStatus},
        "outcomes": [],
        "stranded": [],
    }
    return json.dumps(document, sort_keys=True) + "\n"
