"""Wording people read: counts agree with their nouns, values read as values (not Python reprs), a
check that held reads "passed" (the CLI-level cases are in test_cli_plan.py and test_cli_apply.py)."""

from __future__ import annotations

from providers.cucm_certs.provider import _all_nodes
from reconciler.model import Action, Address, Change, Outcome, OutcomeStatus
from reconciler.render.apply import outcome_label
from reconciler.render.plan import value_text


def test_replication_detail_counts_nodes_in_words() -> None:
    assert _all_nodes(1) == "its one node"  # not "all 1 node(s)" (R7)
    assert _all_nodes(3) == "all 3 nodes"


def test_values_read_as_values() -> None:
    assert value_text(("10.0.0.1", "10.0.0.2")) == "10.0.0.1, 10.0.0.2"
    assert value_text(None) == "(none)" and value_text(()) == "(none)"
    assert value_text({"tftp": ("10.0.0.1",)}) == "tftp=10.0.0.1"


def test_a_gate_that_held_passed_and_a_parameter_left_alone_is_unchanged() -> None:
    gate = Change(address=Address.parse("gate.pilot"), action=Action.RUN, reason="R13")
    param = Change(address=Address.parse("param.old.x"), action=Action.UPDATE, reason="R2")
    held = Outcome(address=gate.address, status=OutcomeStatus.UNCHANGED, detail="98% registered")
    same = Outcome(address=param.address, status=OutcomeStatus.UNCHANGED, detail="already so")
    assert outcome_label(gate, held) == "passed"
    assert outcome_label(param, same) == "unchanged"
