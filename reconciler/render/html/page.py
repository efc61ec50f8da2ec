"""The report pages: ``plan_page(plan)`` and ``drift_page(report, checks=...)``, each one self-contained
HTML document (inline CSS, inline SVG, no script, no external reference) that prints well.

Called by ``reconciler plan --html``, ``show --html`` and ``drift --html`` (``reconciler.commands.plan``).
Output depends only on its input (no clock, no randomness): the same plan gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence

from reconciler import __version__
from reconciler.plan.document import Plan
from reconciler.plan.drift import DriftReport
from reconciler.render.html.markup import Markup, el
from reconciler.render.html.sections import (
    diagnostics_section,
    fingerprint_section,
    graph_section,
    outside_section,
    rollback_section,
    steps_section,
    summary_section,
    waves_section,
)

__all__ = ["CSS", "drift_page", "plan_page"]

CSS = """
:root { --fg:#1d232a; --muted:#5b6570; --line:#c9d1d9; --ok:#1a7f37; --warn:#9a6700; --bad:#cf222e;
  --create:#1a7f37; --update:#9a6700; --delete:#cf222e; --replace:#8250df; --run:#0969da; }
* { box-sizing: border-box; }
body { font: 14px/1.45 "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: var(--fg);
  margin: 0 auto; padding: 24px; max-width: 1200px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; border-bottom: 2px solid var(--line);
  padding-bottom: 3px; margin-top: 28px; } h3 { font-size: 16px; margin: 18px 0 6px; }
h4 { font-size: 13px; margin: 10px 0 2px; color: var(--muted); }
code { font: 12px "DejaVu Sans Mono", monospace; overflow-wrap: anywhere; }
.sub { color: var(--muted); margin: 0; }
table { border-collapse: collapse; margin: 6px 0; }
th, td { border: 1px solid var(--line); padding: 3px 7px; text-align: left; vertical-align: top; }
th { background: #f3f5f7; font-weight: 600; }
caption { text-align: left; font-weight: 600; padding: 2px 0; white-space: nowrap; }
table.counts td, table.forecast td { text-align: right; font-variant-numeric: tabular-nums; min-width: 5em; }
table.steps { width: 100%; font-size: 12.5px; }
table.steps td:nth-child(3), table.steps td:nth-child(4), table.steps td:nth-child(5) { white-space: nowrap; }
td.value { color: var(--muted); overflow-wrap: anywhere; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 8px 0; }
dt { font-weight: 600; } dd { margin: 0; }
.verdict { font-weight: 700; padding: 6px 10px; border-left: 5px solid; }
.verdict.ok { border-color: var(--ok); } .verdict.warn { border-color: var(--warn); }
.verdict.bad { border-color: var(--bad); color: var(--bad); }
.not-in-plan { color: var(--muted); font-style: italic; }
.wave { border: 1px solid var(--line); border-radius: 6px; padding: 4px 14px 10px; margin: 10px 0; }
ul.causes { margin: 2px 0; padding-left: 20px; }
ol.diagnostics { padding-left: 22px; } .diagnostic { margin: 6px 0; }
.diagnostic .severity { font-weight: 700; text-transform: uppercase; font-size: 11px; margin-right: 4px; }
.diagnostic.error .severity { color: var(--bad); } .diagnostic.warning .severity { color: var(--warn); }
.diagnostic.info .severity { color: var(--run); }
.diagnostic .rule { font-weight: 700; } .diagnostic .rule::before { content: "["; }
.diagnostic .rule::after { content: "]"; }
.diagnostic .detail, .diagnostic .where { color: var(--muted); } .diagnostic .fix { color: var(--ok); }
.graph-box { overflow-x: auto; border: 1px solid var(--line); border-radius: 6px; padding: 4px; }
svg.graph { max-width: 100%; height: auto; display: block; margin: 0 auto; }
svg.graph .node rect { fill: #fff; stroke-width: 1.6; }
svg.graph .node text { font: 12px "DejaVu Sans Mono", monospace; text-anchor: middle; fill: var(--fg); }
svg.graph .node.create rect { stroke: var(--create); fill: #e9f7ee; }
svg.graph .node.update rect { stroke: var(--update); fill: #fff6dd; }
svg.graph .node.delete rect { stroke: var(--delete); fill: #ffebe9; }
svg.graph .node.replace rect { stroke: var(--replace); fill: #f3eefe; }
svg.graph .node.run rect, svg.graph .node.noop rect { stroke: var(--run); fill: #eaf2fd; }
svg.graph .node tspan.head { font-weight: bold; }
svg.graph .node.kind-gate rect { stroke-width: 3; }
svg.graph .node.group rect { stroke-dasharray: 5 3; }
svg.graph .edge path { fill: none; stroke: #6e7781; stroke-width: 1.2; }
svg.graph marker path { fill: #6e7781; }
svg.graph .edge text.rule { font: bold 11px "DejaVu Sans", sans-serif; text-anchor: middle; fill: #24292f;
  paint-order: stroke; stroke: #fff; stroke-width: 4px; stroke-linejoin: round; }
.legend .key { display: inline-block; padding: 0 6px; margin-right: 6px; border: 1.6px solid;
  border-radius: 4px; }
.legend .key.create { border-color: var(--create); background: #e9f7ee; }
.legend .key.update { border-color: var(--update); background: #fff6dd; }
.legend .key.delete { border-color: var(--delete); background: #ffebe9; }
.legend .key.run { border-color: var(--run); background: #eaf2fd; }
table.fingerprint { font-size: 11.5px; }
footer { margin-top: 30px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line); }
@media print {
  @page { size: A4 landscape; margin: 12mm; }
  body { padding: 0; max-width: none; font-size: 11.5px; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .graph-box { overflow: visible; border: none; }
  section, .wave, tr, .diagnostic { break-inside: avoid; }
  section#graph, section#steps, section#fingerprint { break-inside: auto; }
  h2, h3 { break-after: avoid; }
}
"""


def _document(title: str, subtitle: str, *sections: Markup) -> str:
    head = el(
        "head",
        el("meta", charset="utf-8"),
        el("meta", name="viewport", content="width=device-width, initial-scale=1"),
        # nothing may be fetched: no scripts, no images, no fonts, no connections (only inline CSS)
        el(
            "meta",
            http_equiv="Content-Security-Policy",
            content="default-src 'none'; style-src 'unsafe-inline'; img-src data:",
        ),
        el("meta", name="generator", content=f"reconciler {__version__}"),
        el("title", title),
        el("style", Markup(CSS)),
    )
    body = el(
        "body",
        el("header", el("h1", title), el("p", subtitle, class_="sub")),
        el("main", *sections),
        el(
            "footer",
            el(
                "p",
                f"Generated by reconciler {__version__}. Self-contained: nothing in this page "
                "is loaded from the network; it needs no JavaScript.",
            ),
        ),
    )
    return "<!DOCTYPE html>\n" + el("html", head, body, lang="en") + "\n"


def plan_page(plan: Plan) -> str:
    """The change-request report of ``plan``."""
    return _document(
        f"Change request: reconciler plan {plan.plan_id[:12]}",
        f"{plan.desired_path} — planned {plan.created_at}",
        summary_section(plan),
        graph_section(plan),
        waves_section(plan),
        steps_section(plan),
        rollback_section(plan),
        diagnostics_section(plan.diagnostics),
        outside_section(plan.drift),
        fingerprint_section(plan),
    )


def drift_page(report: DriftReport, *, checks: Sequence[str], desired_path: str) -> str:
    """The drift report: what ran, the findings with their fixes, what changed outside reconciler."""
    verdict = (
        el("p", f"Drift: {len(report.findings)} finding(s).", class_="verdict bad")
        if report.drifted
        else el("p", "No drift: the estate matches the declaration and the last apply.", class_="verdict ok")
    )
    summary = el(
        "section",
        el("h2", "Summary"),
        verdict,
        el(
            "dl",
            el("dt", "Desired state"),
            el("dd", el("code", desired_path)),
            el("dt", "Checked"),
            el("dd", el("time", report.checked_at, datetime=report.checked_at)),
            el("dt", "Checks"),
            el("dd", ", ".join(checks)),
            class_="facts",
        ),
        id="summary",
    )
    return _document(
        "Drift report: reconciler",
        f"{desired_path} — checked {report.checked_at}",
        summary,
        diagnostics_section(report.findings, title="Findings"),
        outside_section(report.changed),
    )
