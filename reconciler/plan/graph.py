"""The migration as a dependency graph of resource addresses (docs/architecture.md, R1–R14).

``build_migration_graph`` turns plain inputs — addresses by kind, the waves, the user's ``depends_on``
— into a ``MigrationGraph`` whose edges come from the rules, each with its rule id and reason:

* per trust track (the source cluster, R4–R8; the target cluster for rollback, R11): bulk steps in
  order (R9) → trust certificates → replication verified on each node (R7) → TVS restarts as a chain,
  one node at a time (R8);
* every track → rollback parameter ok (R2) → [the maintenance window of wave 1 (R13) →] option 150 of
  wave 1 (R12) → reset of wave 1 (R12) →
  gate of wave 1 (R13) → option 150 of wave 2 (R13) … A stage left empty is skipped.

The graph knows nothing about CUCM or providers; nodes are ``reconciler.model.Address`` (address text is
accepted and parsed; renderings write the text). Called by the planner (order, cycle diagnostics) and
``reconciler graph`` (``to_dot``/``to_mermaid``). Order and renderings are deterministic: ties go by
declaration order.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import networkx as nx

from reconciler.diagnostics import Diagnostic, Severity
from reconciler.errors import PlanError
from reconciler.model import Address

__all__ = [
    "USER_RULE",
    "Edge",
    "MigrationGraph",
    "TrustTrack",
    "WaveSpec",
    "build_migration_graph",
]

USER_RULE = "depends_on"
AddressLike = Address | str


@dataclass(frozen=True, slots=True, kw_only=True)
class Edge:
    """``before`` must complete before ``after`` starts, because of ``rule`` (e.g. ``"R7"``)."""

    before: Address
    after: Address
    rule: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustTrack:
    """Trust work on one cluster: bulk steps (in order), certificates, replication checks, TVS chain."""

    bulk: Sequence[AddressLike] = ()
    trust: Sequence[AddressLike] = ()
    replication: Sequence[AddressLike] = ()
    tvs: Sequence[AddressLike] = ()  # restart order: one node at a time (R8)


@dataclass(frozen=True, slots=True, kw_only=True)
class WaveSpec:
    """One wave: its option 150 scopes, its reset (None = natural reboots), its gate, and the steps that
    revert it when the gate fails (option 150 restores, the reset back, the gate on the source; in that
    order, each after the previous group)."""

    name: str
    option150: Sequence[AddressLike] = ()
    window: AddressLike | None = None  # wait for the maintenance window before anything of the wave
    reset: AddressLike | None = None
    gate: AddressLike | None = None
    restore: Sequence[AddressLike] = ()
    revert_reset: AddressLike | None = None
    revert_gate: AddressLike | None = None


class MigrationGraph:
    """A DAG of addresses with the reason for every edge; nodes keep their declaration order."""

    def __init__(self) -> None:
        self._g = nx.DiGraph()
        self._index: dict[Address, int] = {}

    def add_node(self, address: AddressLike) -> Address:
        """Declare ``address`` (idempotent); returns it as an ``Address``."""
        key = _address(address)
        if key not in self._index:
            self._index[key] = len(self._index)
            self._g.add_node(key)
        return key

    def add_edge(self, before: AddressLike, after: AddressLike, *, rule: str, reason: str) -> None:
        """Add ``before → after``; both must be declared. A second reason for an edge is kept too."""
        b, a = _address(before), _address(after)
        for key in (b, a):
            if key not in self._index:
                raise PlanError(f"edge {b} → {a} refers to undeclared address {key}")
        if self._g.has_edge(b, a):
            self._g.edges[b, a]["reasons"].append((rule, reason))
        else:
            self._g.add_edge(b, a, reasons=[(rule, reason)])

    # --- queries ----------------------------------------------------------------------------------
    def __contains__(self, address: object) -> bool:
        if isinstance(address, str):
            try:
                address = Address.parse(address)
            except ValueError:
                return False
        return address in self._index

    def nodes(self) -> tuple[Address, ...]:
        """Every address in declaration order."""
        return tuple(self._index)

    def edges(self) -> tuple[Edge, ...]:
        """Every edge reason, sorted by (before, after) declaration order, then as added."""
        out: list[Edge] = []
        for b, a in sorted(self._g.edges, key=lambda e: (self._index[e[0]], self._index[e[1]])):
            out.extend(Edge(before=b, after=a, rule=r, reason=t) for r, t in self._g.edges[b, a]["reasons"])
        return tuple(out)

    def reasons(self, before: AddressLike, after: AddressLike) -> tuple[Edge, ...]:
        """Why ``before`` precedes ``after`` directly (empty when there is no such edge)."""
        b, a = _address(before), _address(after)
        if not self._g.has_edge(b, a):
            return ()
        return tuple(Edge(before=b, after=a, rule=r, reason=t) for r, t in self._g.edges[b, a]["reasons"])

    def dependencies(self, address: AddressLike) -> tuple[Address, ...]:
        """Direct predecessors of ``address``, in declaration order."""
        return tuple(sorted(self._g.predecessors(_address(address)), key=self._index.__getitem__))

    def find_cycle(self) -> tuple[Address, ...] | None:
        """One cycle as ``(a, b, ..., a)``, or None when the graph is acyclic."""
        try:
            cycle = nx.find_cycle(self._g)
        except nx.NetworkXNoCycle:
            return None
        return (*(u for u, _ in cycle), cycle[0][0])

    def cycle_diagnostic(self) -> Diagnostic | None:
        """An error diagnostic naming the cycle and its likely cause, or None."""
        cycle = self.find_cycle()
        if cycle is None:
            return None
        pairs = list(itertools.pairwise(cycle))
        user = [(b, a) for b, a in pairs if any(e.rule == USER_RULE for e in self.reasons(b, a))]
        rules = sorted({e.rule for b, a in pairs for e in self.reasons(b, a)} - {USER_RULE})
        if user:
            cause = "likely cause: " + ", ".join(f"{a} depends_on {b}" for b, a in user)
            cause += f", which contradicts the order required by {', '.join(rules) or 'other depends_on'}"
            fix = "remove or reverse that depends_on; the rule-given order cannot change"
        else:
            cause = f"the rule-given edges ({', '.join(rules)}) form a cycle: this is a reconciler bug"
            fix = "report it with the desired-state file"
        return Diagnostic(
            severity=Severity.ERROR,
            summary="dependency cycle: " + " → ".join(map(str, cycle)),
            rule="graph",
            detail=cause,
            address=str(cycle[0]),
            fix=fix,
        )

    def order(self) -> tuple[Address, ...]:
        """A topological order, ties broken by declaration order; ``PlanError`` on a cycle."""
        diag = self.cycle_diagnostic()
        if diag is not None:
            raise PlanError(f"{diag.summary} ({diag.detail})", hint=diag.fix)
        return tuple(nx.lexicographical_topological_sort(self._g, key=self._index.__getitem__))

    # --- renderings -------------------------------------------------------------------------------
    def _render_nodes(self) -> tuple[Address, ...]:
        return self.order() if self.find_cycle() is None else self.nodes()

    def to_dot(self) -> str:
        """Graphviz DOT text; edges labelled with their rule ids."""
        lines = ["digraph reconciler {", "  rankdir=LR;", "  node [shape=box];"]
        for node in self._render_nodes():
            shape = " [shape=diamond]" if node.kind == "gate" else ""
            lines.append(f"  {_dot_quote(str(node))}{shape};")
        for b, a, label in self._labelled_edges():
            lines.append(f"  {_dot_quote(str(b))} -> {_dot_quote(str(a))} [label={_dot_quote(label)}];")
        lines.append("}")
        return "\n".join(lines) + "\n"

    def to_mermaid(self) -> str:
        """Mermaid flowchart text; node ids are ``n<declaration index>``, edges labelled by rule."""
        lines = ["flowchart LR"]
        for node in self._render_nodes():
            text = _mermaid_quote(str(node))
            shape = f"{{{text}}}" if node.kind == "gate" else f"[{text}]"
            lines.append(f"  n{self._index[node]}{shape}")
        for b, a, label in self._labelled_edges():
            lines.append(f"  n{self._index[b]} -->|{label}| n{self._index[a]}")  # rule ids: [A-Za-z0-9_, ]
        return "\n".join(lines) + "\n"

    def _labelled_edges(self) -> Iterable[tuple[Address, Address, str]]:
        for b, a in sorted(self._g.edges, key=lambda e: (self._index[e[0]], self._index[e[1]])):
            rules = dict.fromkeys(r for r, _ in self._g.edges[b, a]["reasons"])
            yield b, a, ", ".join(rules)


def build_migration_graph(
    *,
    tracks: Sequence[TrustTrack] = (),
    params: Sequence[AddressLike] = (),
    waves: Sequence[WaveSpec] = (),
    depends_on: Mapping[AddressLike, Sequence[AddressLike]] | None = None,
    others: Sequence[AddressLike] = (),
) -> MigrationGraph:
    """The graph of the rule-given edges plus the user's ``depends_on`` (``address → its prerequisites``).

    Declaration order (and so tie order) is tracks, params, waves, then ``others`` (addresses with no
    rule-given position, e.g. certificates removed under ``mode: exact``). A ``depends_on`` naming an
    address that is not in the plan raises ``PlanError``; a cycle is reported by ``cycle_diagnostic``.
    """
    g = MigrationGraph()
    tails: list[Address] = []
    for track in tracks:
        tails.extend(_add_track(g, track))
    param_keys = [g.add_node(p) for p in params]
    for p in param_keys:
        for t in tails:
            g.add_edge(t, p, rule="R12", reason="trust and TVS restarts come before the parameter check")
    prev = param_keys or tails
    prev_rule, prev_reason = (
        ("R2", "rollback parameter must be False before the move")
        if param_keys
        else (
            "R12",
            "option 150 changes only after trust is established and TVS restarted",
        )
    )
    for wave in waves:
        window = g.add_node(wave.window) if wave.window is not None else None
        opts = [g.add_node(o) for o in wave.option150]
        reset = g.add_node(wave.reset) if wave.reset is not None else None
        gate = g.add_node(wave.gate) if wave.gate is not None else None
        heads = opts or ([reset] if reset else []) or ([gate] if gate else [])
        if window:
            _connect(g, prev, [window], rule=prev_rule, reason=prev_reason)
            _connect(g, [window], heads, rule="R13",
                     reason=f"wave {wave.name}: only inside its maintenance window")  # fmt: skip
        else:
            _connect(g, prev, heads, rule=prev_rule, reason=prev_reason)
        if reset:
            _connect(g, opts, [reset], rule="R12", reason=f"wave {wave.name}: reset after option 150 changed")
        if gate:
            last = [reset] if reset else opts
            _connect(g, last, [gate], rule="R13", reason=f"wave {wave.name}: verify registration on target")
        if gate:
            _add_revert(g, wave, gate)
        prev = [gate] if gate else ([reset] if reset else opts) or prev
        prev_rule, prev_reason = "R13", f"next wave only after wave {wave.name} passed its gate"
    for other in others:
        g.add_node(other)
    unknown = sorted(
        {str(a) for a, reqs in (depends_on or {}).items() for a in (a, *reqs) if a not in g},
    )
    if unknown:
        raise PlanError(
            f"depends_on names addresses that are not in the plan: {', '.join(unknown)}",
            hint="check the spelling against `reconciler plan` output",
        )
    for after, reqs in (depends_on or {}).items():
        for before in reqs:
            g.add_edge(before, after, rule=USER_RULE, reason=f"declared: {after} depends_on {before}")
    return g


def _add_revert(g: MigrationGraph, wave: WaveSpec, gate: Address) -> None:
    """The revert chain of a wave, after its gate (run only when the gate fails, R13)."""
    restores = [g.add_node(r) for r in wave.restore]
    back = g.add_node(wave.revert_reset) if wave.revert_reset is not None else None
    regate = g.add_node(wave.revert_gate) if wave.revert_gate is not None else None
    why = f"wave {wave.name}: revert only after its gate failed"
    _connect(g, [gate], restores or [n for n in (back, regate) if n][:1], rule="R13", reason=why)
    if back:
        _connect(
            g, restores, [back], rule="R12", reason=f"wave {wave.name}: reset back after option 150 restored"
        )
    if regate:
        _connect(g, [back] if back else restores, [regate], rule="R13",
                 reason=f"wave {wave.name}: verify the phones are back on the source")  # fmt: skip


def _add_track(g: MigrationGraph, track: TrustTrack) -> list[Address]:
    """Add one track's nodes and edges; return its tail nodes (what later stages wait for)."""
    bulk = [g.add_node(b) for b in track.bulk]
    trust = [g.add_node(t) for t in track.trust]
    repl = [g.add_node(r) for r in track.replication]
    tvs = [g.add_node(t) for t in track.tvs]
    for b, a in itertools.pairwise(bulk):
        g.add_edge(b, a, rule="R9", reason="bulk: export, consolidate on one cluster, then import")
    prev = bulk[-1:]
    _connect(g, prev, trust, rule="R9", reason="bulk import provides the certificates")
    prev = trust or prev
    _connect(g, prev, repl, rule="R7", reason="check replication after the upload to the publisher")
    prev = repl or prev
    _connect(g, prev, tvs[:1], rule="R7", reason="TVS restarts only after every node has the certificates")
    for b, a in itertools.pairwise(tvs):
        g.add_edge(b, a, rule="R8", reason="rolling restart: one TVS node at a time, wait for Started")
    return tvs[-1:] or prev


def _connect(
    g: MigrationGraph, befores: Sequence[Address], afters: Sequence[Address], *, rule: str, reason: str
) -> None:
    for b in befores:
        for a in afters:
            g.add_edge(b, a, rule=rule, reason=reason)


def _address(address: AddressLike) -> Address:
    return address if isinstance(address, Address) else Address.parse(address)


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _mermaid_quote(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'
