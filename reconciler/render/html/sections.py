"""The sections of the plan report, each a function ``Plan → Markup``: summary, graph, waves, steps,
rollback readiness, diagnostics, changes made outside reconciler, fingerprint.

Called by ``reconciler.render.html.page.plan_page``; ``diagnostics_section`` is shared with the drift
page. Every section has a stable ``id`` (``summary``, ``graph``, ``waves``, ``steps``, ``rollback``,
``diagnostics``, ``outside``, ``fingerprint``) and each wave's forecast is a ``<table class="forecast">``,
which is what the browser test checks. Fields that not every plan carries (unknown phones, on_failure,
window, cost, reversibility) are read only through ``reconciler.render.html.seam.optional`` and shown as
"not in this plan" when absent.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence

from reconciler.diagnostics import Diagnostic, Severity
from reconciler.model import Action, Change
from reconciler.plan.document import Plan, PlanStep, StrandedGroup, UnknownGroup, WaveForecast
from reconciler.render.html.graph_svg import graph_svg, rules_in
from reconciler.render.html.markup import Markup, el
from reconciler.render.html.seam import NOT_IN_PLAN, optional
from reconciler.render.html.values import NOT_IN_PLAN_TEXT, describe, seconds

__all__ = [
    "diagnostics_section",
    "fingerprint_digest",
    "fingerprint_section",
    "graph_section",
    "outside_section",
    "rollback_section",
    "steps_section",
    "summary_section",
    "waves_section",
]

_VALUE_CHARS = 90


def _section(id_: str, title: str, *body: object) -> Markup:
    return el("section", el("h2", title), *body, id=id_)


def _dl(rows: Sequence[tuple[str, object]], *, class_: str | None = None) -> Markup:
    return el("dl", [(el("dt", k), el("dd", v)) for k, v in rows], class_=class_)


def _missing(text: str = NOT_IN_PLAN_TEXT) -> Markup:
    return el("span", text, class_="not-in-plan")


def _shown(value: object) -> Markup:
    """An optional value, with the "not in this plan" style when absent."""
    return _missing() if value is NOT_IN_PLAN else el("span", describe(value))


def fingerprint_digest(plan: Plan) -> str:
    """sha256 over the plan's fact fingerprint (sorted ``key → sha256`` as JSON): one value to quote."""
    canonical = json.dumps({k: plan.fingerprint[k] for k in sorted(plan.fingerprint)}, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _verdict(plan: Plan) -> Markup:
    if plan.errored:
        errors = sum(1 for d in plan.diagnostics if d.severity is Severity.ERROR)
        return el(
            "p", f"Plan failed: {errors} error(s). This plan must not be applied.", class_="verdict bad"
        )
    if not plan.has_changes:
        return el("p", "No changes: the estate matches the desired state.", class_="verdict ok")
    text = "Ready to apply."
    if plan.summary.stranded:
        text += f" The forecast strands {plan.summary.stranded} phone(s) (see the waves)."
    return el("p", text, class_="verdict warn" if plan.summary.stranded else "verdict ok")


def _unknown_total(plan: Plan) -> object:
    values = [optional(f, "unknown") for f in plan.forecast]
    if not values or any(v is NOT_IN_PLAN for v in values):
        return NOT_IN_PLAN
    return sum(v for v in values if isinstance(v, int))


def summary_section(plan: Plan) -> Markup:
    s = plan.summary
    counts = el(
        "table",
        el(
            "thead",
            el(
                "tr",
                [
                    el("th", h)
                    for h in (
                        "add",
                        "change",
                        "destroy",
                        "run",
                        "waves",
                        "phones to move",
                        "stranded",
                        "unknown",
                    )
                ],
            ),
        ),
        el(
            "tbody",
            el(
                "tr",
                [
                    el("td", v)
                    for v in (s.add, s.change, s.destroy, s.run, s.waves, s.phones_to_move, s.stranded)
                ],
                el("td", _shown(_unknown_total(plan))),
            ),
        ),
        class_="counts",
    )
    targets, excludes = ", ".join(plan.targets) or "—", ", ".join(plan.excludes) or "—"
    scope = (
        "complete"
        if plan.complete
        else f"restricted: --target {targets} --exclude {excludes} (other changes may be pending)"
    )
    facts = _dl(
        [
            ("Plan", el("code", plan.plan_id)),
            ("Created", el("time", plan.created_at, datetime=plan.created_at)),
            ("Desired state", (el("code", plan.desired_path), " sha256 ", el("code", plan.desired_sha256))),
            (
                "Prior state",
                f"lineage {plan.state_lineage or 'none (first apply)'}, serial {plan.state_serial}",
            ),
            (
                "Fingerprint",
                (el("code", fingerprint_digest(plan)), f" over {len(plan.fingerprint)} live fact(s)"),
            ),
            ("Scope", scope),
            ("Rollback", _rollback_line(plan)),
        ],
        class_="facts",
    )
    return _section("summary", "Summary", _verdict(plan), counts, facts)


def graph_section(plan: Plan) -> Markup:
    rules = rules_in(plan)
    legend = el(
        "p",
        "Each arrow: the step above completes before the step below starts, labelled with the rule that "
        "requires it" + (f" ({', '.join(rules)})" if rules else "") + ". Colours: ",
        [el("span", name, class_=f"key {cls}") for cls, name in _LEGEND],
        class_="legend",
    )
    return _section("graph", "Dependency graph", el("div", graph_svg(plan), class_="graph-box"), legend)


_LEGEND = (("create", "add"), ("update", "change"), ("delete", "remove"), ("run", "action / check"))


def _wave_names(plan: Plan) -> list[str]:
    names = [s.wave for s in plan.steps if s.wave is not None]
    names.extend(f.wave for f in plan.forecast)
    return list(dict.fromkeys(names))


def _groups(groups: Sequence[StrandedGroup]) -> Markup:
    return el(
        "ul",
        [
            el(
                "li",
                f"{g.phones} phone(s)",
                f" [{g.rule}]" if g.rule else "",
                f": {g.reason}",
                f" (e.g. {', '.join(g.examples)})" if g.examples else "",
            )
            for g in groups
        ],
        class_="causes",
    )


def _unknown_causes(forecast: WaveForecast) -> Markup:
    groups = optional(forecast, "unknown_groups")
    if groups is NOT_IN_PLAN:
        return _missing("causes of unknown outcomes: not in this plan")
    if isinstance(groups, Sequence) and not isinstance(groups, str):
        if not groups:
            return el("span", "none")
        return el("ul", [el("li", _unknown_group(g)) for g in groups], class_="causes")
    return el("span", describe(groups))


def _unknown_group(group: object) -> Markup | str:
    if isinstance(group, UnknownGroup):
        examples = f" (e.g. {', '.join(group.examples)})" if group.examples else ""
        return el("span", f"{group.phones} phone(s): {group.missing}{examples}")
    return describe(group)


def _forecast_table(wave: str, forecast: WaveForecast | None) -> Markup:
    if forecast is None:
        return el("p", "No forecast for this wave in this plan.", class_="not-in-plan forecast-missing")
    unknown = optional(forecast, "unknown")
    head = ("phones", "already on target", "move", "stranded", "unknown")
    row = (forecast.phones, forecast.already, forecast.move, forecast.stranded_count)
    return el(
        "table",
        el("caption", f"Forecast for wave {wave} (trust model on the planned end state)"),
        el("thead", el("tr", [el("th", h) for h in head])),
        el("tbody", el("tr", [el("td", v) for v in row], el("td", _shown(unknown), class_="unknown"))),
        class_="forecast",
        data_wave=wave,
    )


def _gate_text(step: PlanStep | None) -> object:
    if step is None:
        return _missing("no gate step in this plan (nothing left to move in this wave)")
    after = step.change.after
    if not isinstance(after, Mapping):
        return describe(after)
    share, deadline, phones = (
        after.get("min_registered_share"),
        after.get("deadline_seconds"),
        after.get("phones"),
    )
    if isinstance(share, int | float):
        return (
            f"at least {share:.0%} of {describe(phones)} phone(s) Registered on the target within "
            f"{seconds(deadline)} [{step.change.rule or 'R13'}]"
        )
    return describe(after)


def _wave(plan: Plan, wave: str) -> Markup:
    forecast = next((f for f in plan.forecast if f.wave == wave), None)
    steps = [s for s in plan.steps if s.wave == wave]
    gate = next((s for s in steps if str(s.address).startswith("gate.")), None)
    scopes = forecast.scopes if forecast is not None else ()
    causes: list[object] = []
    if forecast is not None:
        causes.append(el("h4", "Stranded: causes"))
        causes.append(_groups(forecast.stranded) if forecast.stranded else el("p", "none"))
        causes.append(el("h4", "Unknown: causes"))
        causes.append(_unknown_causes(forecast))
        if forecast.notes:
            causes.append(el("h4", "Notes"))
            causes.append(el("ul", [el("li", n) for n in forecast.notes]))
    facts = _dl(
        [
            ("Scopes", ", ".join(scopes) or "—"),
            (
                "Steps",
                f"{len(steps)}: "
                + (", ".join(str(s.address) for s in steps[:8]) or "none")
                + (f", … {len(steps) - 8} more" if len(steps) > 8 else ""),
            ),
            ("Gate", _gate_text(gate)),
            ("On failure", _shown(optional(forecast, "on_failure"))),
            ("Window", _shown(optional(forecast, "window"))),
            ("Cost estimate", _shown(optional(forecast, "cost"))),
        ],
        class_="wave-facts",
    )
    return el(
        "article",
        el("h3", f"Wave {wave}"),
        _forecast_table(wave, forecast),
        facts,
        causes,
        class_="wave",
        data_wave=wave,
    )


def waves_section(plan: Plan) -> Markup:
    names = _wave_names(plan)
    body = [_wave(plan, w) for w in names] or [el("p", "No waves in this plan.")]
    if plan.canary is not None:
        body.insert(0, el("p", plan.canary.describe().capitalize() + " (R12, R13).", class_="canary"))
    return _section("waves", "Waves", body)


def _value(value: object) -> str:
    text = describe(value)
    return text if len(text) <= _VALUE_CHARS else text[: _VALUE_CHARS - 1] + "…"


def _change_text(change: Change) -> str:
    if change.action is Action.UPDATE:
        return f"{_value(change.before)} → {_value(change.after)}"
    if change.action is Action.DELETE:
        return f"remove {_value(change.before)}"
    return _value(change.after) if change.after is not None else ""


def steps_section(plan: Plan) -> Markup:
    if not plan.steps:
        return _section("steps", "Steps", el("p", "No steps."))
    head = ("#", "step", "action", "rule", "wave", "why", "change", "reversibility")
    rows = [
        el(
            "tr",
            el("td", i),
            el("td", el("code", str(s.address))),
            el("td", s.change.action.value, class_=f"action {s.change.action.name.lower()}"),
            el("td", s.change.rule or "—"),
            el("td", s.wave or "—"),
            el("td", s.change.reason),
            el("td", _change_text(s.change), class_="value"),
            el("td", _shown(optional(s, "reversibility")), class_="reversibility"),
        )
        for i, s in enumerate(plan.steps, start=1)
    ]
    table = el("table", el("thead", el("tr", [el("th", h) for h in head])), el("tbody", rows), class_="steps")
    return _section("steps", "Steps, in execution order", table)


def _rollback_line(plan: Plan) -> str:
    if plan.rollback_possible is True:
        return "possible: reverse trust is declared (R11)"
    if plan.rollback_possible is False:
        return "NOT possible: reverse trust is not declared or not complete (R11)"
    return "unknown: the clusters could not be read (R11)"


def rollback_section(plan: Plan) -> Markup:
    r11 = [d for d in plan.diagnostics if d.rule == "R11"]
    ways = [(f.wave, optional(f, "on_failure")) for f in plan.forecast]
    marks = [optional(s, "reversibility") for s in plan.steps]
    if marks and all(m is NOT_IN_PLAN for m in marks):
        reversible: object = _missing("reversibility of the steps: not in this plan")
    else:
        reversible = (
            f"{sum(1 for m in marks if m is not NOT_IN_PLAN)} of {len(marks)} step(s) say how they revert"
        )
    cls = "ok" if plan.rollback_possible is True else "bad" if plan.rollback_possible is False else "warn"
    return _section(
        "rollback",
        "Rollback readiness",
        el("p", _rollback_line(plan), class_=f"verdict {cls}"),
        _dl(
            [
                (
                    "Gate failure policy",
                    el("ul", [el("li", f"wave {w}: ", _shown(v)) for w, v in ways]) if ways else "—",
                ),
                ("Steps", reversible),
            ]
        ),
        diagnostics_list(r11) if r11 else el("p", "No R11 findings."),
    )


def diagnostics_list(diagnostics: Sequence[Diagnostic]) -> Markup:
    return el("ol", [_diagnostic(d) for d in diagnostics], class_="diagnostics")


def _diagnostic(d: Diagnostic) -> Markup:
    return el(
        "li",
        el("span", d.severity.value, class_="severity"),
        el("span", d.rule, class_="rule") if d.rule else None,
        " ",
        el("span", d.summary, class_="summary"),
        el("div", "at ", el("code", str(d.position)), class_="where") if d.position else None,
        el("div", "address ", el("code", d.address), class_="where") if d.address else None,
        el("div", d.detail, class_="detail") if d.detail else None,
        el("div", el("strong", "Fix: "), d.fix, class_="fix") if d.fix else None,
        class_=f"diagnostic {d.severity.value}",
        data_rule=d.rule or "",
    )


def diagnostics_section(diagnostics: Sequence[Diagnostic], *, title: str = "Diagnostics") -> Markup:
    by = {sev: sum(1 for d in diagnostics if d.severity is sev) for sev in Severity}
    head = ", ".join(f"{n} {sev.value}(s)" for sev, n in by.items() if n) or "none"
    return _section(
        "diagnostics", title, el("p", head), diagnostics_list(diagnostics) if diagnostics else None
    )


def outside_section(changes: Sequence[Change], *, title: str = "Changed outside reconciler") -> Markup:
    if not changes:
        return _section("outside", title, el("p", "Nothing changed outside reconciler since the last apply."))
    rows = [
        el(
            "tr",
            el("td", el("code", str(c.address))),
            el("td", c.action.value),
            el("td", c.rule or "—"),
            el("td", c.reason),
            el("td", _change_text(c), class_="value"),
        )
        for c in changes
    ]
    head = ("address", "action", "rule", "what", "change")
    return _section(
        "outside",
        title,
        el("p", "Shown, never applied: these are differences from the state last applied."),
        el("table", el("thead", el("tr", [el("th", h) for h in head])), el("tbody", rows), class_="outside"),
    )


def fingerprint_section(plan: Plan) -> Markup:
    rows = [
        el("tr", el("td", el("code", k)), el("td", el("code", plan.fingerprint[k][:16] + "…")))
        for k in sorted(plan.fingerprint)
    ]
    return _section(
        "fingerprint",
        "Fingerprint (R14)",
        el(
            "p",
            "apply re-reads these live facts and refuses the plan if any of them changed. Digest: ",
            el("code", fingerprint_digest(plan)),
        ),
        el(
            "table",
            el("thead", el("tr", el("th", "fact"), el("th", "sha256"))),
            el("tbody", rows),
            class_="fingerprint",
        )
        if rows
        else el("p", "No facts recorded."),
    )
