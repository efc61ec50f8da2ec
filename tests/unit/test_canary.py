"""Canary growth at scope granularity (reconciler.plan.canary, docs/waves.md): smallest scopes first up to
about ``first_phones``, each later wave about ``growth`` times the one before, every scope exactly once."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.errors import PlanError
from reconciler.plan.canary import expand_canary


def test_smallest_scopes_first_then_growing_waves() -> None:
    counts = {"big": 800, "s1": 20, "s2": 25, "s3": 30, "m1": 100, "m2": 90, "l1": 300}
    waves = expand_canary(counts, first_phones=50, growth=4)
    assert [w.scopes for w in waves] == [("s1", "s2"), ("s3", "m2"), ("m1", "l1"), ("big",)]
    assert [w.phones for w in waves] == [45, 120, 400, 800]
    assert [w.aim for w in waves] == [50, 180, 480, 1600]  # 4 x the phones the previous wave holds
    assert [w.name for w in waves] == ["canary-1", "canary-2", "canary-3", "canary-4"]


def test_a_first_scope_larger_than_first_phones_is_a_wave_of_its_own() -> None:
    waves = expand_canary({"a": 120, "b": 500}, first_phones=50, growth=4)
    assert [w.scopes for w in waves] == [("a",), ("b",)]


def test_equal_counts_are_ordered_by_name() -> None:
    waves = expand_canary({"b": 10, "a": 10, "c": 10}, first_phones=10, growth=2)
    assert [w.scopes for w in waves] == [("a",), ("b", "c")]


def test_an_unknown_count_refuses_the_expansion_naming_the_scope() -> None:
    with pytest.raises(PlanError, match="unknown for: x"):
        expand_canary({"x": None, "y": 3}, first_phones=50, growth=4)


@pytest.mark.parametrize(("first", "growth"), [(0, 4.0), (50, 1.0)])
def test_bad_parameters_are_refused(first: int, growth: float) -> None:
    with pytest.raises(PlanError):
        expand_canary({"a": 1}, first_phones=first, growth=growth)


@given(st.dictionaries(st.text("abcdef", min_size=1, max_size=4), st.integers(0, 5000), max_size=30),
       st.integers(1, 500), st.floats(1.5, 10))  # fmt: skip
def test_every_scope_once_in_size_order_within_each_aim(
    counts: dict[str, int], first: int, growth: float
) -> None:
    waves = expand_canary(counts, first_phones=first, growth=growth)
    placed = [s for w in waves for s in w.scopes]
    assert sorted(placed) == sorted(counts)
    assert placed == sorted(counts, key=lambda s: (counts[s], s))
    for w in waves:
        assert w.phones == sum(counts[s] for s in w.scopes)
        assert len(w.scopes) == 1 or w.phones <= w.aim
