"""Property-based fuzzing (hypothesis) of what remote systems say: the admin CLI's screens
(``providers.cucm_cli.parse``) and the SOAP answer mappers (RisPort70, ControlCenterServices, AXL rows),
with the generators of ``tests.fuzzing``. The property: a result or an error of our own tree, never
another exception. ``bench/fuzz_parsers.py`` runs 100,000 inputs per parser; this is the small run.

The first runs found five classes, each fixed and kept here as an explicit example: a RisPort70
``TimeStamp`` out of the platform's range (``OverflowError``/``OSError``/``ValueError``); a start time of
year 1 or 9999 whose offset leaves datetime's range, and an ``UpTime`` of 2**63 seconds
(``OverflowError``); a CallManager group member priority that is not a number (``ValueError``); a
``Serial Number:`` line with no hex digit (``ValueError``)."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from providers.cucm_cli import parse
from providers.cucm_serviceability.ris import _when
from tests.fuzzing import TARGETS, is_clean


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_a_fixed_sample_ends_cleanly(name: str) -> None:
    for seed in range(150):
        try:
            TARGETS[name](random.Random(seed))
        except Exception as exc:
            assert is_clean(exc), f"{name} seed {seed}: {type(exc).__name__}: {exc}"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(TARGETS)), rng=st.randoms(use_true_random=False))
def test_generated_answers_end_cleanly(name: str, rng: random.Random) -> None:
    try:
        TARGETS[name](rng)
    except Exception as exc:
        assert is_clean(exc), f"{name}: {type(exc).__name__}: {exc}"


def test_found_cases_stay_fixed() -> None:
    assert _when(2**63) is None and _when(10**12) is None  # out of range: unknown, not a crash
    assert parse.parse_cert_detail("Serial Number: ::").serial is None
    assert parse.parse_cert_detail("Serial Number: 0x1A:2b").serial == 0x1A2B
