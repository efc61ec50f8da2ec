"""A small deterministic layered layout (top to bottom) for the report's dependency graph.

Called by ``reconciler.render.html.graph_svg``; pure geometry, no I/O, no randomness, so the same plan
always gives the same picture. The classic steps, kept simple:

1. layers by longest path from the sources, following the given node order (a topological order; an
   edge that goes backwards in it — only when the plan reports a cycle — is drawn but not layered);
2. an edge spanning several layers gets a bend point in each layer it crosses (so nothing is drawn
   through a box), and those points take part in the ordering;
3. order within each layer: a few barycentre sweeps down and up, ties kept in the previous order;
4. coordinates: every layer centred, boxes as wide as their labels.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Box", "Layout", "Route", "layered_layout"]

NODE_HEIGHT = 30.0
LAYER_GAP = 58.0  # vertical room between layers: arrows and their rule labels live here
NODE_GAP = 18.0
MARGIN = 16.0
SWEEPS = 4


@dataclass(frozen=True, slots=True)
class Box:
    """A node's rectangle: top-left ``x``/``y``, ``width``, ``height``, and its ``layer``."""

    node: str
    x: float
    y: float
    width: float
    height: float
    layer: int

    @property
    def top(self) -> tuple[float, float]:
        return (self.x + self.width / 2, self.y)

    @property
    def bottom(self) -> tuple[float, float]:
        return (self.x + self.width / 2, self.y + self.height)


@dataclass(frozen=True, slots=True)
class Route:
    """The polyline of edge ``index`` (into the input edges) from ``before`` to ``after``."""

    index: int
    before: str
    after: str
    points: tuple[tuple[float, float], ...]

    @property
    def label_point(self) -> tuple[float, float]:
        """Where the edge's label goes: half-way along its middle segment."""
        i = (len(self.points) - 2) // 2
        (x1, y1), (x2, y2) = self.points[i], self.points[i + 1]
        return ((x1 + x2) / 2, (y1 + y2) / 2)


@dataclass(frozen=True, slots=True)
class Layout:
    boxes: Mapping[str, Box]
    routes: tuple[Route, ...]
    width: float
    height: float


def layered_layout(
    *,
    nodes: Sequence[str],
    edges: Sequence[tuple[str, str]],
    widths: Mapping[str, float],
    heights: Mapping[str, float] | None = None,
) -> Layout:
    """Lay out ``nodes`` (in topological order) with ``edges`` ``(before, after)``; ``widths`` per node,
    ``heights`` where a node is taller than ``NODE_HEIGHT``."""
    index = {n: i for i, n in enumerate(nodes)}
    forward = [(b, a) for b, a in edges if index[b] < index[a]]
    layer = {n: 0 for n in nodes}
    for b, a in sorted(forward, key=lambda e: (index[e[1]], index[e[0]])):
        layer[a] = max(layer[a], layer[b] + 1)
    depth = max(layer.values(), default=-1) + 1
    # slots: real nodes ("n", name) and bend points ("d", edge index, layer)
    slots: list[list[tuple[object, ...]]] = [[] for _ in range(depth)]
    for n in nodes:
        slots[layer[n]].append(("n", n))
    chains: dict[int, list[tuple[object, ...]]] = {}
    for i, (b, a) in enumerate(edges):
        if index[b] >= index[a]:
            continue
        chain: list[tuple[object, ...]] = [("n", b)]
        for k in range(layer[b] + 1, layer[a]):
            dummy = ("d", i, k)
            slots[k].append(dummy)
            chain.append(dummy)
        chain.append(("n", a))
        chains[i] = chain
    up: dict[tuple[object, ...], list[tuple[object, ...]]] = {}
    down: dict[tuple[object, ...], list[tuple[object, ...]]] = {}
    for chain in chains.values():
        for u, v in itertools.pairwise(chain):
            down.setdefault(u, []).append(v)
            up.setdefault(v, []).append(u)
    _order_layers(slots, up=up, down=down)
    return _coordinates(slots, edges=edges, chains=chains, widths=widths, heights=heights or {})


def _order_layers(
    slots: list[list[tuple[object, ...]]],
    *,
    up: Mapping[tuple[object, ...], list[tuple[object, ...]]],
    down: Mapping[tuple[object, ...], list[tuple[object, ...]]],
) -> None:
    """Barycentre sweeps; a slot without neighbours on the reference side keeps its position."""

    def sweep(
        rows: range, neighbours: Mapping[tuple[object, ...], list[tuple[object, ...]]], ref: int
    ) -> None:
        for k in rows:
            pos = {s: i for i, s in enumerate(slots[k + ref])}
            keyed = []
            for i, slot in enumerate(slots[k]):
                ns = [pos[n] for n in neighbours.get(slot, ()) if n in pos]
                keyed.append((sum(ns) / len(ns) if ns else float(i), i, slot))
            slots[k] = [slot for _, _, slot in sorted(keyed, key=lambda t: (t[0], t[1]))]

    for _ in range(SWEEPS):
        sweep(range(1, len(slots)), up, -1)
        sweep(range(len(slots) - 2, -1, -1), down, +1)


def _coordinates(
    slots: list[list[tuple[object, ...]]],
    *,
    edges: Sequence[tuple[str, str]],
    chains: Mapping[int, list[tuple[object, ...]]],
    widths: Mapping[str, float],
    heights: Mapping[str, float],
) -> Layout:
    def slot_width(slot: tuple[object, ...]) -> float:
        return widths[str(slot[1])] if slot[0] == "n" else 8.0

    def slot_height(slot: tuple[object, ...]) -> float:
        return heights.get(str(slot[1]), NODE_HEIGHT) if slot[0] == "n" else NODE_HEIGHT

    row_widths = [sum(slot_width(s) for s in row) + NODE_GAP * max(len(row) - 1, 0) for row in slots]
    row_heights = [max((slot_height(s) for s in row), default=NODE_HEIGHT) for row in slots]
    total = max(row_widths, default=0.0) + 2 * MARGIN
    centre: dict[tuple[object, ...], tuple[float, float]] = {}
    boxes: dict[str, Box] = {}
    y = MARGIN
    for k, row in enumerate(slots):
        x = (total - row_widths[k]) / 2
        mid = y + row_heights[k] / 2
        for slot in row:
            w, h = slot_width(slot), slot_height(slot)
            if slot[0] == "n":
                name = str(slot[1])
                boxes[name] = Box(name, x, mid - h / 2, w, h, k)
            centre[slot] = (x + w / 2, mid)
            x += w + NODE_GAP
        y += row_heights[k] + LAYER_GAP
    routes = []
    for i, (b, a) in enumerate(edges):
        if i in chains:
            bends = tuple(centre[s] for s in chains[i][1:-1])
            points = (boxes[b].bottom, *bends, boxes[a].top)
        else:  # a back edge (only in a plan with a cycle): out of the side of one box into the other
            sb, sa = boxes[b], boxes[a]
            points = ((sb.x + sb.width, sb.y + sb.height / 2), (sa.x + sa.width, sa.y + sa.height / 2))
        routes.append(Route(i, b, a, points))
    height = y - LAYER_GAP + MARGIN if slots else 2 * MARGIN
    return Layout(boxes=boxes, routes=tuple(routes), width=total, height=height)
