"""The plan's dependency graph as inline SVG, every edge labelled with its rule id.

Called by ``reconciler.render.html.sections``. The graph is ``reconciler.plan.graph.MigrationGraph``
rebuilt from the plan's steps and recorded edges (``Plan.edges``; a plan saved before edges were
recorded falls back to the steps' ``depends_on`` and says the rule is not in the plan). Interchangeable
siblings — same kind of address, same predecessors, same successors, e.g. the option 150 changes of a
large wave — are drawn as one box "option150 × 250" so a big estate stays legible (the step table
lists every step). Layout: ``reconciler.render.html.layout``. Each node is ``<g class="node">`` with its
address in ``data-address``; each edge is ``<g class="edge" data-rule="R7">`` with a ``<title>`` giving
the reason and a visible ``<text class="rule">`` label.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reconciler.model import Action, Address
from reconciler.plan.document import Plan
from reconciler.plan.graph import MigrationGraph
from reconciler.render.html.layout import Layout, layered_layout
from reconciler.render.html.markup import Markup, el

__all__ = ["GROUP_AT", "NO_RULE", "graph_svg", "plan_graph", "rules_in"]

GROUP_AT = 4  # this many interchangeable siblings or more are drawn as one box listing them
_GROUP_LINES = 8  # members named inside a group box; the rest are counted
_LINE = 15.0
NO_RULE = "rule not in this plan"
_CHAR = 7.3  # width of one character of the 12px monospace label
_MAX_CHARS = 48


def plan_graph(plan: Plan) -> MigrationGraph:
    """The plan's steps and edges as our graph (nodes in plan order)."""
    g = MigrationGraph()
    for step in plan.steps:
        g.add_node(step.address)
    if plan.edges:
        for e in plan.edges:
            if e.before in g and e.after in g:
                g.add_edge(e.before, e.after, rule=e.rule, reason=e.reason)
    else:
        for step in plan.steps:
            for dep in step.depends_on:
                if dep in g:
                    g.add_edge(dep, step.address, rule=NO_RULE, reason="saved without the edges' rules")
    return g


@dataclass(frozen=True, slots=True)
class _Node:
    key: str
    label: str
    members: tuple[str, ...]
    action: Action | None


def _kind(address: str) -> str:
    return address.split(".", 1)[0]


def _collapse(g: MigrationGraph, actions: dict[Address, Action]) -> tuple[list[_Node], dict[Address, str]]:
    """Group interchangeable siblings; returns the drawn nodes and member → drawn key."""
    order = g.order() if g.find_cycle() is None else g.nodes()
    succ: dict[Address, list[Address]] = {n: [] for n in order}
    for e in g.edges():
        succ[e.before].append(e.after)
    groups: dict[tuple[object, ...], list[Address]] = {}
    for n in order:
        sig = (n.kind, actions.get(n), tuple(g.dependencies(n)), tuple(dict.fromkeys(succ[n])))
        groups.setdefault(sig, []).append(n)
    drawn: list[_Node] = []
    owner: dict[Address, str] = {}
    seen: set[tuple[object, ...]] = set()
    for n in order:
        sig = (n.kind, actions.get(n), tuple(g.dependencies(n)), tuple(dict.fromkeys(succ[n])))
        members = groups[sig]
        if len(members) < GROUP_AT:
            drawn.append(_Node(str(n), str(n), (str(n),), actions.get(n)))
            owner[n] = str(n)
        elif sig not in seen:
            seen.add(sig)
            key = f"{members[0]} …"
            drawn.append(_Node(key, f"{n.kind} × {len(members)}", tuple(map(str, members)), actions.get(n)))
            owner.update(dict.fromkeys(members, key))
    return drawn, owner


def _short(label: str) -> str:
    if len(label) <= _MAX_CHARS:
        return label
    keep = (_MAX_CHARS - 1) // 2
    return label[:keep] + "…" + label[-keep:]


def graph_svg(plan: Plan) -> Markup:
    """The ``<svg>`` element (or a paragraph saying there is nothing to draw)."""
    if not plan.steps:
        return el("p", "No steps: nothing to draw.", class_="empty")
    g = plan_graph(plan)
    actions = {s.address: s.change.action for s in plan.steps}
    drawn, owner = _collapse(g, actions)
    # edges between drawn nodes, rules merged, reasons kept for the tooltip
    merged: dict[tuple[str, str], dict[str, list[str]]] = {}
    for e in g.edges():
        pair = (owner[e.before], owner[e.after])
        reasons = merged.setdefault(pair, {}).setdefault(e.rule, [])
        if e.reason not in reasons:
            reasons.append(e.reason)
    widths = {n.key: max(max(len(line) for line in _lines(n)) * _CHAR + 20, 60.0) for n in drawn}
    heights = {n.key: 14.0 + _LINE * len(_lines(n)) for n in drawn if len(n.members) > 1}
    layout = layered_layout(nodes=[n.key for n in drawn], edges=list(merged), widths=widths, heights=heights)
    edges = [_edge(layout, i, rules) for i, rules in enumerate(merged.values())]
    nodes = [_node(layout, n) for n in drawn]
    w, h = round(layout.width), round(layout.height)
    return el(
        "svg",
        _defs(),
        el("g", edges, class_="edges"),
        el("g", nodes, class_="nodes"),
        xmlns="http://www.w3.org/2000/svg",
        viewBox=f"0 0 {w} {h}",
        width=w,
        height=h,
        role="img",
        aria_label=f"dependency graph: {len(plan.steps)} steps, {len(g.edges())} edges",
        class_="graph",
    )


def _defs() -> Markup:
    marker = el(
        "marker",
        el("path", d="M0,0 L10,5 L0,10 z"),
        id="arrow",
        viewBox="0 0 10 10",
        refX="10",
        refY="5",
        markerWidth="7",
        markerHeight="7",
        orient="auto-start-reverse",
    )
    return el("defs", marker)


def _edge(layout: Layout, i: int, rules: dict[str, list[str]]) -> Markup:
    route = layout.routes[i]
    d = "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in route.points)
    label = ", ".join(rules)
    why = "; ".join(f"{r}: {' / '.join(reasons)}" for r, reasons in rules.items())
    lx, ly = route.label_point
    return el(
        "g",
        el("title", f"{route.before} → {route.after} — {why}"),
        el("path", d=d, marker_end="url(#arrow)"),
        el("text", label, x=f"{lx:.1f}", y=f"{ly + 4:.1f}", class_="rule"),
        class_="edge",
        data_rule=label,
        data_from=route.before,
        data_to=route.after,
    )


_ACTION_CLASS = {
    Action.CREATE: "create",
    Action.UPDATE: "update",
    Action.DELETE: "delete",
    Action.REPLACE: "replace",
    Action.RUN: "run",
    Action.NOOP: "noop",
}


def _lines(node: _Node) -> list[str]:
    """The text lines of a box: the address, or for a group its count and (some of) its members."""
    if len(node.members) == 1:
        return [_short(node.label)]
    shown = [_short(m) for m in node.members[:_GROUP_LINES]]
    if len(node.members) > len(shown):
        shown.append(f"… and {len(node.members) - len(shown)} more")
    return [node.label, *shown]


def _node(layout: Layout, node: _Node) -> Markup:
    box = layout.boxes[node.key]
    kind = _kind(node.members[0])
    classes = ["node", "run" if node.action is None else _ACTION_CLASS[node.action], f"kind-{kind}"]
    if len(node.members) > 1:
        classes.append("group")
    title = node.members[0] if len(node.members) == 1 else "\n".join(_members_title(node.members))
    return el(
        "g",
        el("title", title),
        el(
            "rect",
            x=f"{box.x:.1f}",
            y=f"{box.y:.1f}",
            width=f"{box.width:.1f}",
            height=f"{box.height:.1f}",
            rx="5" if kind != "gate" else "14",
        ),
        _text(node, box.x + box.width / 2, box.y, box.height),
        class_=" ".join(classes),
        data_address=node.key,
        data_members=len(node.members),
    )


def _text(node: _Node, cx: float, top: float, height: float) -> Markup:
    lines = _lines(node)
    if len(lines) == 1:
        return el("text", lines[0], x=f"{cx:.1f}", y=f"{top + height / 2 + 4:.1f}")
    spans = [
        el("tspan", line, x=f"{cx:.1f}", y=f"{top + 18 + i * _LINE:.1f}", class_="head" if i == 0 else None)
        for i, line in enumerate(lines)
    ]
    return el("text", spans)


def _members_title(members: Sequence[str]) -> list[str]:
    shown = list(members[:20])
    if len(members) > len(shown):
        shown.append(f"… and {len(members) - len(shown)} more")
    return shown


def rules_in(plan: Plan) -> list[str]:
    """The distinct rule ids on the plan's edges, in first-seen order (for the legend)."""
    return list(dict.fromkeys(e.rule for e in plan_graph(plan).edges()))
