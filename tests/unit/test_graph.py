"""The migration graph: rule-given edges (R2, R7–R9, R12, R13), cycles, stable order, DOT/Mermaid."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.diagnostics import Severity
from reconciler.errors import PlanError
from reconciler.model import Address
from reconciler.plan.graph import MigrationGraph, TrustTrack, WaveSpec, build_migration_graph

CM1 = "trust.old.CallManager-trust.cm-new-pub"
SAST1 = "trust.old.Phone-SAST-trust.cm-new-pub"
TVS = ("tvs.old.cucm-old-pub", "tvs.old.cucm-old-sub1", "tvs.old.cucm-old-sub2")
PARAM = "param.old.Prepare Cluster for Rollback to pre 8.0"


def _full() -> MigrationGraph:
    return build_migration_graph(
        tracks=[
            TrustTrack(
                trust=[CM1, SAST1],
                replication=["replication.old.cucm-old-sub1", "replication.old.cucm-old-sub2"],
                tvs=TVS,
            ),
            TrustTrack(trust=["trust.new.CallManager-trust.cm-old-pub"], tvs=["tvs.new.cucm-new-pub"]),  # R11
        ],
        params=[PARAM],
        waves=[
            WaveSpec(
                name="wave1", option150=["option150.ios.scope-a"], reset="reset.wave1", gate="gate.wave1"
            ),
            WaveSpec(
                name="wave2", option150=["option150.ios.scope-b", "option150.ios.scope-c"], gate="gate.wave2"
            ),
        ],
    )


def _before(order: tuple[object, ...], a: object, b: object) -> bool:
    return order.index(a) < order.index(b)


def _text(addresses: tuple[Address, ...]) -> tuple[str, ...]:
    return tuple(map(str, addresses))


def test_rule_given_order_of_a_full_migration() -> None:
    order = _text(_full().order())
    assert len(order) == len(set(order)) == 16
    chain = [
        CM1,
        "replication.old.cucm-old-sub1",
        *TVS,
        PARAM,
        "option150.ios.scope-a",
        "reset.wave1",
        "gate.wave1",
        "option150.ios.scope-b",
        "gate.wave2",
    ]
    assert all(_before(order, a, b) for a, b in itertools.pairwise(chain))
    assert _before(order, "tvs.new.cucm-new-pub", PARAM)  # R11 reverse trust before the move
    assert _before(order, "option150.ios.scope-c", "gate.wave2")


def test_each_edge_carries_its_rule() -> None:
    g = _full()
    assert [e.rule for e in g.reasons(CM1, "replication.old.cucm-old-sub1")] == ["R7"]
    assert [e.rule for e in g.reasons(TVS[0], TVS[1])] == ["R8"]
    assert [e.rule for e in g.reasons(PARAM, "option150.ios.scope-a")] == ["R2"]
    assert [e.rule for e in g.reasons("reset.wave1", "gate.wave1")] == ["R13"]
    assert [e.rule for e in g.reasons("gate.wave1", "option150.ios.scope-b")] == ["R13"]
    assert [e.rule for e in g.reasons("option150.ios.scope-b", "gate.wave2")] == ["R13"]  # natural reboot
    assert g.reasons(TVS[0], TVS[2]) == ()  # one node at a time: a chain, not a fan
    assert _text(g.dependencies(TVS[0])) == ("replication.old.cucm-old-sub1", "replication.old.cucm-old-sub2")
    assert all(e.reason for e in g.edges())


def test_bulk_steps_form_a_chain_before_trust() -> None:
    steps = ["bulk.old.export", "bulk.new.export", "bulk.old.consolidate", "bulk.old.import"]
    g = build_migration_graph(tracks=[TrustTrack(bulk=steps, tvs=["tvs.old.pub"])])
    assert _text(g.order()) == (*steps, "tvs.old.pub")
    assert {e.rule for e in g.edges() if e.after.kind == "bulk"} == {"R9"}


def test_ties_follow_declaration_order_not_names() -> None:
    names = [
        "trust.old.CallManager-trust.zz",
        "trust.old.CallManager-trust.aa",
        "trust.old.CallManager-trust.mm",
    ]
    forward = build_migration_graph(tracks=[TrustTrack(trust=names, tvs=["tvs.old.pub"])]).order()
    backward = build_migration_graph(tracks=[TrustTrack(trust=names[::-1], tvs=["tvs.old.pub"])]).order()
    assert _text(forward[:3]) == tuple(names)
    assert _text(backward[:3]) == tuple(names[::-1])


def test_depends_on_adds_an_edge() -> None:
    g = build_migration_graph(
        tracks=[TrustTrack(trust=[CM1], tvs=[TVS[0]])],
        others=["trust.old.CallManager-trust.old-owned"],
        depends_on={CM1: ["trust.old.CallManager-trust.old-owned"]},
    )
    assert g.order()[0] == Address.parse("trust.old.CallManager-trust.old-owned")
    assert [e.rule for e in g.reasons("trust.old.CallManager-trust.old-owned", CM1)] == ["depends_on"]


def test_cycle_from_depends_on_is_named_with_its_cause() -> None:
    g = build_migration_graph(
        tracks=[TrustTrack(trust=[CM1], tvs=TVS[:2])],
        waves=[WaveSpec(name="wave1", option150=["option150.ios.scope-a"], gate="gate.wave1")],
        depends_on={TVS[1]: ["gate.wave1"]},
    )
    diag = g.cycle_diagnostic()
    assert diag is not None
    assert diag.severity is Severity.ERROR
    for node in (TVS[1], "option150.ios.scope-a", "gate.wave1"):
        assert node in diag.summary
    assert f"likely cause: {TVS[1]} depends_on gate.wave1" in (diag.detail or "")
    assert "R12" in (diag.detail or "")
    with pytest.raises(PlanError, match="dependency cycle") as info:
        g.order()
    assert "depends_on" in (info.value.hint or "")


def test_acyclic_graph_has_no_cycle_diagnostic() -> None:
    assert _full().cycle_diagnostic() is None
    assert _full().find_cycle() is None


def test_unknown_depends_on_is_a_plan_error() -> None:
    with pytest.raises(PlanError, match=r"not in the plan: tvs\.old\.typo"):
        build_migration_graph(tracks=[TrustTrack(tvs=[TVS[0]])], depends_on={TVS[0]: ["tvs.old.typo"]})


def test_nodes_are_addresses_and_text_is_parsed() -> None:
    g = build_migration_graph(
        tracks=[TrustTrack(trust=[CM1], tvs=[Address.of("tvs", "old", "cucm-old-pub")])]
    )
    assert g.order() == (Address.parse(CM1), Address.of("tvs", "old", "cucm-old-pub"))
    assert all(isinstance(e.before, Address) and isinstance(e.after, Address) for e in g.edges())
    assert Address.parse(CM1) in g
    assert CM1 in g
    assert "not an address" not in g


def _small() -> MigrationGraph:
    return build_migration_graph(
        tracks=[TrustTrack(trust=["trust.old.CallManager-trust.c1"], tvs=["tvs.old.pub", "tvs.old.sub"])],
        waves=[WaveSpec(name="w1", option150=['option150.ios."a"'], reset="reset.w1", gate="gate.w1")],
    )


def test_dot_rendering_is_exact() -> None:
    assert _small().to_dot() == (
        "digraph reconciler {\n"
        "  rankdir=LR;\n"
        "  node [shape=box];\n"
        '  "trust.old.CallManager-trust.c1";\n'
        '  "tvs.old.pub";\n'
        '  "tvs.old.sub";\n'
        '  "option150.ios.\\"a\\"";\n'
        '  "reset.w1";\n'
        '  "gate.w1" [shape=diamond];\n'
        '  "trust.old.CallManager-trust.c1" -> "tvs.old.pub" [label="R7"];\n'
        '  "tvs.old.pub" -> "tvs.old.sub" [label="R8"];\n'
        '  "tvs.old.sub" -> "option150.ios.\\"a\\"" [label="R12"];\n'
        '  "option150.ios.\\"a\\"" -> "reset.w1" [label="R12"];\n'
        '  "reset.w1" -> "gate.w1" [label="R13"];\n'
        "}\n"
    )


def test_mermaid_rendering_is_exact() -> None:
    assert _small().to_mermaid() == (
        "flowchart LR\n"
        '  n0["trust.old.CallManager-trust.c1"]\n'
        '  n1["tvs.old.pub"]\n'
        '  n2["tvs.old.sub"]\n'
        '  n3["option150.ios.#quot;a#quot;"]\n'
        '  n4["reset.w1"]\n'
        '  n5{"gate.w1"}\n'
        "  n0 -->|R7| n1\n"
        "  n1 -->|R8| n2\n"
        "  n2 -->|R12| n3\n"
        "  n3 -->|R12| n4\n"
        "  n4 -->|R13| n5\n"
    )


def test_rendering_shows_every_rule_of_a_doubled_edge() -> None:
    g = build_migration_graph(tracks=[TrustTrack(tvs=TVS[:2])], depends_on={TVS[1]: [TVS[0]]})
    assert '[label="R8, depends_on"]' in g.to_dot()
    assert "-->|R8, depends_on|" in g.to_mermaid()


@given(
    n=st.integers(min_value=1, max_value=12),
    pairs=st.lists(st.tuples(st.integers(0, 11), st.integers(0, 11)), max_size=30),
)
def test_order_respects_every_edge_and_is_stable(n: int, pairs: list[tuple[int, int]]) -> None:
    g = MigrationGraph()
    names = [g.add_node(f"x.n{i}") for i in range(n)]
    for a, b in pairs:
        if a < b < n:  # forward edges only: a DAG
            g.add_edge(names[a], names[b], rule="depends_on", reason="test")
    order = g.order()
    assert sorted(order) == sorted(names)
    assert all(_before(order, e.before, e.after) for e in g.edges())
    assert order == g.order()
    assert order == tuple(names)  # forward edges never force a tie to break against declaration order


def test_public_names_are_pinned() -> None:
    from reconciler.plan import graph

    assert sorted(graph.__all__) == [
        "Edge",
        "MigrationGraph",
        "TrustTrack",
        "USER_RULE",
        "WaveSpec",
        "build_migration_graph",
    ]
