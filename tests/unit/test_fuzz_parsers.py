"""Property-based fuzzing (hypothesis) of the parsers that meet untrusted bytes: the desired-state
loader, the lab-spec loader (``lab up --spec``) and the ITL/CTL (TLV) parser. The property: any input ends
in a result or the parser's own clean error (diagnostics with a position; ``LabSpecError`` whose every
diagnostic has one; ``TlvError``) — never another exception. A small run is part of the tests; the
admin-CLI screens and SOAP answer mappers are in test_fuzz_answers.py."""

from __future__ import annotations

import contextlib
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from reconciler.config.loader import load_text
from reconciler.cucm import tlv
from reconciler.errors import LabSpecError, TlvError
from simulator.lab.specfile import load_lab_text
from tests.unit.desired_fixtures import VALID

_YAML_PIECES = st.sampled_from(
    ["[", "]", "{", "}", ":", "- ", "&a ", "*a", "<<: ", "!!int ", "\n", "  ", "\x00", "9" * 20, "'", '"',
     "#", "? ", "|", ">", "2024-13-45", "~", "---", "...", "%YAML 1.1\n", "\t", "é"]
)  # fmt: skip


def _ends_cleanly(text: str) -> None:
    result = load_text(text, file="fuzz.yaml", base_dir=Path.cwd())
    for d in result.diagnostics.errors:
        assert d.position is not None and d.position.file == "fuzz.yaml"
        assert d.position.line >= 1 and d.position.column >= 1


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_loader_on_arbitrary_text(text: str) -> None:
    _ends_cleanly(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_YAML_PIECES, max_size=60).map("".join))
@example("!!int ")  # found by this test: PyYAML raised IndexError on an empty explicit int
def test_loader_on_yaml_shaped_noise(text: str) -> None:
    _ends_cleanly(text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=len(VALID) - 1), st.text(max_size=8))
def test_loader_on_a_valid_file_with_one_splice(at: int, insert: str) -> None:
    _ends_cleanly(VALID[:at] + insert + VALID[at + 1 :])


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=600))
def test_tlv_parser_on_arbitrary_bytes(data: bytes) -> None:
    with contextlib.suppress(TlvError):  # the one clean error; anything else fails the test
        tlv.parse(data)


_LAB_SPEC = """base: default
phones_per_scope: 2
restart_duration: 1
replication_lag: {old: 5}
scopes:
  - {name: s1, subnet: 192.0.2.0/24, relay: 127.0.30.1, dhcp: ios, pool: P1, phones: 2, itl: stale}
  - {name: s2, subnet: 198.51.100.0/24, relay: 127.0.30.2, dhcp: old-dhcp, phones: 2, on_target: 1}
defects:
  failing_services: [{cluster: old, node: cucm-old-sub1, service: Cisco Trust Verification Service}]
faults: [{kind: latency, node: cucm-old-pub, face: https, seconds: 0.2}]
"""


def _lab_spec_ends_cleanly(text: str) -> None:
    try:
        load_lab_text(text, file="fuzz-lab.yaml")
    except LabSpecError as exc:
        assert exc.diagnostics
        for d in exc.diagnostics:
            position = d.position  # type: ignore[attr-defined]
            assert position.file == "fuzz-lab.yaml" and position.line >= 1 and position.column >= 1


def test_the_lab_spec_seed_is_valid() -> None:
    load_lab_text(_LAB_SPEC, file="fuzz-lab.yaml")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_YAML_PIECES, max_size=60).map("".join))
@example("&a ")  # found by this test: a document that is only an anchored null raised with no diagnostic
def test_lab_spec_loader_on_yaml_shaped_noise(text: str) -> None:
    _lab_spec_ends_cleanly(text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=len(_LAB_SPEC) - 1), st.text(max_size=8))
def test_lab_spec_loader_on_a_valid_file_with_one_splice(at: int, insert: str) -> None:
    _lab_spec_ends_cleanly(_LAB_SPEC[:at] + insert + _LAB_SPEC[at + 1 :])


def test_a_duration_beyond_timedelta_is_an_error_with_position() -> None:
    # found by bench/fuzz_parsers.py: a deadline of 30 digits made timedelta raise OverflowError
    text = VALID.replace("deadline: 10m", "deadline: " + "9" * 30 + "s", 1)
    assert text != VALID
    result = load_text(text, file="fuzz.yaml", base_dir=Path.cwd())
    errors = list(result.diagnostics.errors)
    assert errors and all(d.position is not None for d in errors)
    assert any("too long for a duration" in d.summary for d in errors), [d.summary for d in errors]
