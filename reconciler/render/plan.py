"""Rendering a ``Plan`` for people (rich, in Terraform's spirit) and the summary line.

Called by ``reconciler plan`` and ``reconciler show``; ``plan --json`` prints ``Plan.to_json()`` instead
(the stable document of docs/plan-format.md). Sections, in order: what changed outside reconciler
(drift against the state's essence), the steps in execution order with ``+ ~ -`` symbols (``run`` for
actions), reasons and rule ids, the forecast table per wave, diagnostics, then
``Plan: N to add, M to change, K to destroy, R to run, W waves, P phones to move, S stranded, U unknown.``
Text is built with ``rich.text.Text`` so user strings are never taken for markup.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.console import Console
from rich.table import Table
from rich.text import Text

from reconciler.model import Action
from reconciler.plan.cost import describe
from reconciler.plan.document import Plan, PlanStep
from reconciler.render.diagnostics import render_diagnostics

__all__ = ["render_plan", "summary_line", "value_text"]

_STYLE = {
    Action.CREATE: "green",
    Action.UPDATE: "yellow",
    Action.DELETE: "red",
    Action.REPLACE: "magenta",
    Action.RUN: "cyan",
    Action.NOOP: "dim",
}
_VERB = {
    Action.CREATE: "will be added",
    Action.UPDATE: "will be changed",
    Action.DELETE: "will be removed",
    Action.REPLACE: "will be replaced",
    Action.RUN: "",  # the symbol already says it: "run replication.old.sub1", not "run ... will run"
    Action.NOOP: "is in sync",
}


def summary_line(plan: Plan) -> str:
    s = plan.summary
    if plan.errored:
        return f"Plan failed: {sum(1 for d in plan.diagnostics if d.severity.value == 'error')} error(s)."
    if not plan.has_changes:
        return "No changes. The estate matches the desired state."
    line = (
        f"Plan: {s.add} to add, {s.change} to change, {s.destroy} to destroy, {s.run} to run, "
        f"{s.waves} waves, {s.phones_to_move} phones to move, {s.stranded} stranded, {s.unknown} unknown."
    )
    return line + (f" {s.one_way} one-way step(s) need --approve-one-way." if s.one_way else "")


def render_plan(console: Console, plan: Plan) -> None:
    """The whole human rendering."""
    if plan.drift:
        console.print(Text("Objects have changed outside reconciler", style="bold underline"))
        for change in plan.drift:
            console.print(Text(f"  {change.action.symbol} {change.address}: {change.reason}", style="yellow"))
        console.print(Text(""))
    if plan.rollback is not None:
        scopes = ", ".join(plan.rollback)
        console.print(Text(f"Rollback plan: moves scopes {scopes} back to the source (R11).", style="bold"))
    if plan.canary is not None:
        console.print(Text(plan.canary.describe().capitalize() + " (R12, R13).", style="bold"))
    forward = [s for s in plan.steps if s.contingent_on is None]
    if forward:
        console.print(Text("reconciler will perform these steps, in this order:", style="bold"))
        for index, step in enumerate(forward, start=1):
            _step(console, step, f"{index:>3}. ")
    reverts = [s for s in plan.steps if s.contingent_on is not None]
    if reverts:
        console.print(Text("\nOnly if a wave's gate fails (on_failure: revert, R13):", style="bold"))
        for step in reverts:
            _step(console, step, f"  if {step.contingent_on} fails: ")
    if not plan.complete:
        console.print(
            Text(
                f"\nNote: the plan is restricted (--target {list(plan.targets)} "
                f"--exclude {list(plan.excludes)}); other changes may be pending.",
                style="yellow",
            )
        )
    if plan.forecast:
        table = Table(title="Forecast per wave (trust model on the planned end state)", title_justify="left")
        for column in ("wave", "phones", "on target", "move", "stranded", "unknown", "on failure", "why"):
            table.add_column(column, justify="right" if column not in ("wave", "why") else "left")
        for f in plan.forecast:
            why = "; ".join(
                [f"{g.phones} {g.rule or '?'}: {g.reason} (e.g. {', '.join(g.examples)})" for g in f.stranded]
                + [f"{u.phones} unknown: {u.missing} (e.g. {', '.join(u.examples)})" for u in f.unknown]
            )
            notes = "; ".join(f.notes)
            table.add_row(
                f.wave,
                str(f.phones),
                str(f.already),
                str(f.move),
                Text(str(f.stranded_count), style="bold red" if f.stranded_count else ""),
                Text(str(f.unknown_count), style="bold yellow" if f.unknown_count else ""),
                f.on_failure or "-",
                Text(why + (f" NOTE: {notes}" if notes else "")),
            )
        console.print(table)
        for f in plan.forecast:
            if f.cost is not None:
                console.print(Text(f"Estimated time of {f.wave}: {describe(f.cost)}"))
            if f.resets is not None:
                console.print(Text(f"Resets of {f.wave}: {f.resets.removeprefix('reset: ')}"))
            if f.window is not None:
                console.print(Text(f"When {f.wave} runs: {f.window}"))
    if plan.rollback_possible is not None:
        console.print(Text(f"Rollback possible (R11): {'yes' if plan.rollback_possible else 'no'}"))
    if plan.diagnostics:
        console.print(Text(""))
        render_diagnostics(console, plan.diagnostics)
    style = "bold red" if plan.errored else "bold"
    console.print(Text("\n" + summary_line(plan), style=style))


def _step(console: Console, step: PlanStep, lead: str) -> None:
    change = step.change
    line = Text(lead)
    line.append(f"{change.action.symbol:>3} ", style=_STYLE[change.action])
    line.append(str(change.address), style="bold")
    if _VERB[change.action]:
        line.append(f" {_VERB[change.action]}")
    if change.rule:
        line.append(f" [{change.rule}]", style=_STYLE[change.action])
    if step.one_way:
        line.append(" ONE-WAY", style="bold red")
    console.print(line)
    detail = Text(f"        {change.reason}", style="dim")
    if change.before is not None and change.action is Action.UPDATE:
        detail.append(f"\n        {_short(value_text(change.before))} -> {_short(value_text(change.after))}")
    if step.reversibility is not None:
        detail.append(f"\n        {step.reversibility}")
    console.print(detail)


def value_text(value: object) -> str:
    """A change's value for people: ``10.0.0.1, 10.0.0.2`` for option 150 (never a Python tuple),
    ``name=value`` pairs for a mapping, ``(none)`` for nothing."""
    if value is None:
        return "(none)"
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={value_text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple | frozenset | set):
        return ", ".join(value_text(v) for v in value) if value else "(none)"
    return str(value)


def _short(value: object) -> str:
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."
