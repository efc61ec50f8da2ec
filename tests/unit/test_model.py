"""Unit tests of reconciler.model: addresses, actions, changes and outcomes as frozen JSON-able data."""

from __future__ import annotations

import dataclasses
import json
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.model import Action, Address, Change, FrozenMap, Outcome, OutcomeStatus, freeze, thaw

_part = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC0123456789-_", min_size=1, max_size=12)


@pytest.mark.parametrize(
    ("text", "kind", "name"),
    [
        ("option150.lab-ios.scope-a", "option150", "scope-a"),
        ("trust.old.CallManager-trust.3f2a9c", "trust", "3f2a9c"),
        ("tvs.old.cucm-old-sub1", "tvs", "cucm-old-sub1"),
        (
            "param.old.Prepare Cluster for Rollback to pre 8.0",
            "param",
            "Prepare Cluster for Rollback to pre 8.0",
        ),
        ("reset.wave1", "reset", "wave1"),
        ("gate.wave1", "gate", "wave1"),
        ("option150.kea1.10.1.2.0/24", "option150", "10.1.2.0/24"),
    ],
)
def test_address_parse_round_trips_and_exposes_kind_and_name(text: str, kind: str, name: str) -> None:
    address = Address.parse(text)
    assert str(address) == text
    assert address.kind == kind
    assert address.name == name


def test_param_address_keeps_the_dotted_parameter_name_in_one_part_R2() -> None:
    address = Address.parse("param.old.Prepare Cluster for Rollback to pre 8.0")
    assert address.parts == ("param", "old", "Prepare Cluster for Rollback to pre 8.0")


@pytest.mark.parametrize(
    "bad", ["tvs.old", "reset", "gate.", "trust.old.store", ".x", "tvs..n", "tvs.old. n"]
)
def test_malformed_addresses_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        Address.parse(bad)


def test_unknown_kind_splits_at_every_dot_and_refuses_dotted_parts() -> None:
    assert Address.parse("identity.new.pub").parts == ("identity", "new", "pub")
    with pytest.raises(ValueError, match="only the last part"):
        Address.of("tvs", "old.x", "n")


@given(cluster=_part, store=_part, cert=_part)
def test_trust_addresses_round_trip_and_order_deterministically(cluster: str, store: str, cert: str) -> None:
    address = Address.of("trust", cluster, store, cert)
    assert Address.parse(str(address)) == address
    assert sorted([address, Address.of("gate", "w")])[0] == Address.of("gate", "w")


def test_action_values_are_the_display_symbols() -> None:
    assert [a.value for a in Action] == ["+", "~", "-", "±", "run", "no-op"]
    assert Action.REPLACE.symbol == "±"
    assert Action.NOOP.verb == "no-op" and Action.CREATE.verb == "create"
    assert not Action.NOOP.mutates and Action.RUN.mutates


def _change() -> Change:
    return Change(
        address=Address.parse("option150.kea1.scope-a"),
        action=Action.UPDATE,
        before=freeze({"option150": ["10.0.0.1"], "meta": {"n": 1}}),
        after=freeze({"option150": ["10.0.0.9", "10.0.0.8"], "meta": {"n": 1}}),
        reason="move wave 1",
        rule="R12",
    )


def test_change_survives_a_json_round_trip() -> None:
    change = _change()
    text = json.dumps(change.to_dict(), ensure_ascii=False)
    again = Change.from_dict(json.loads(text))
    assert again == change
    assert json.loads(text)["action"] == "~"
    assert json.loads(text)["after"]["option150"] == ["10.0.0.9", "10.0.0.8"]


def test_change_is_deeply_frozen_hashable_and_picklable() -> None:
    change = _change()
    with pytest.raises(dataclasses.FrozenInstanceError):
        change.reason = "x"  # type: ignore[misc]
    assert isinstance(change.after, FrozenMap)
    with pytest.raises(TypeError):
        change.after["option150"] = ()  # type: ignore[index]
    assert isinstance(change.after["option150"], tuple)
    assert hash(change) == hash(_change())
    assert pickle.loads(pickle.dumps(change)) == change


def test_change_refuses_values_json_cannot_hold() -> None:
    with pytest.raises(TypeError):
        Change(address=Address.parse("reset.w1"), action=Action.RUN, after={"when": object()})  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        freeze({1: "int key"})


def test_changed_fields_names_only_differing_keys() -> None:
    assert _change().changed_fields() == ("option150",)
    assert Change(address=Address.parse("reset.w1"), action=Action.RUN).changed_fields() == ()


def test_freeze_thaw_are_inverse_on_json() -> None:
    doc = {"a": [1, 2.5, None, True, {"b": ["c"]}], "d": {}}
    assert thaw(freeze(doc)) == doc


def test_outcome_round_trip_and_ok() -> None:
    outcome = Outcome(
        address=Address.parse("tvs.old.cucm-old-sub1"),
        status=OutcomeStatus.FAILED,
        detail="TVS did not reach Started",
        error="TemporaryError",
        attempts=3,
        extra={"started": None},  # a plain dict is frozen on the way in
    )
    again = Outcome.from_dict(json.loads(json.dumps(outcome.to_dict())))
    assert again == outcome
    assert not outcome.ok
    assert Outcome(address=outcome.address, status=OutcomeStatus.UNCHANGED).ok
