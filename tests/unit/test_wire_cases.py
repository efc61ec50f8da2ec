"""Wire captures as test data: every file under ``tests/cases/<kind>/`` is one case, checked by the pure
parsers the clients use. Text cases (``.txt``) start with ``# `` header lines (``shape:`` says where the
shape comes from, ``expect:`` is JSON) ended by ``# ---``; what follows is the body byte for byte (ANSI
escapes and CRs included). JSON cases carry ``_shape`` and their fields. The shapes are written for this
project from the facts in docs/cucm-interfaces.md; no one's text is copied.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import zeep.exceptions

from providers._soap import CucmEndpoint, soap_errors
from providers.cucm_cli_parse import (
    clean_output,
    count_pager_prompts,
    find_failure,
    parse_cert_detail,
    parse_cert_list,
)
from providers.cucm_serviceability import parse_start_time
from reconciler.cucm.certs import same_dn, serial_candidates
from reconciler.errors import RemoteFaultError, TemporaryError

CASES = Path(__file__).resolve().parent.parent / "cases"
FILES = sorted(p for p in CASES.rglob("*") if p.suffix in (".txt", ".json"))


def _text_case(path: Path) -> tuple[dict[str, Any], str]:
    raw = path.read_bytes().decode("utf-8")
    head, sep, body = raw.partition("# ---\n")
    assert sep, f"{path}: no '# ---' line after the header"
    header = [line.removeprefix("# ") for line in head.splitlines()]
    assert header[0].startswith("shape: "), f"{path}: the header must say where its shape comes from"
    expect = next(line.removeprefix("expect: ") for line in header if line.startswith("expect: "))
    return json.loads(expect), body


def _cli_listing(path: Path) -> None:
    expect, body = _text_case(path)
    text = clean_output(body)
    lines = text.split("\n")
    if expect.get("ends_with_prompt"):
        assert lines[-1] == "admin:"  # the prompt after the pager is a line of its own
    assert count_pager_prompts(body) == body.count("Press <enter>")
    listing = parse_cert_list("\n".join(line for line in lines if line != "admin:"))
    assert [item.filename for item in listing] == expect["files"]


def _cli_show_cert(path: Path) -> None:
    expect, body = _text_case(path)
    detail = parse_cert_detail(clean_output(body))
    assert (detail.pem is not None) is expect["pem"]
    assert serial_candidates(detail.serial_text) == frozenset(expect["serial"])
    assert same_dn(detail.issuer, expect["issuer"])
    assert detail.not_after == expect["not_after"]


def _cli_failure(path: Path) -> None:
    expect, body = _text_case(path)
    assert (find_failure(clean_output(body)) is not None) is expect["failed"]


def _ccs_status(path: Path) -> None:
    case = json.loads(path.read_text())
    start = parse_start_time(
        case["StartTime"],
        up_time_s=case["UpTime"],
        now=dt.datetime.fromisoformat(case["now"]),
        started=case["ServiceStatus"] == "Started",
    )
    expected = case["expect_start"]
    assert start == (dt.datetime.fromisoformat(expected) if expected else None)


def _ris_fault(path: Path) -> None:
    case = json.loads(path.read_text())
    endpoint = CucmEndpoint(cluster="c", node="n", host="192.0.2.1")
    fault = zeep.exceptions.Fault(case["faultstring"], code=case["faultcode"])
    wanted = TemporaryError if case["expect"] == "temporary" else RemoteFaultError
    with (
        pytest.raises(wanted) as caught,
        soap_errors(endpoint=endpoint, operation="selectCmDevice", service="RisPort70", fault_delay=4.0),
    ):
        raise fault
    if case["delay"] is not None:
        assert caught.value.delay == pytest.approx(case["delay"])


CHECKS = {
    "cli_listing": _cli_listing,
    "cli_show_cert": _cli_show_cert,
    "cli_failure": _cli_failure,
    "ccs_status": _ccs_status,
    "ris_fault": _ris_fault,
}


def test_every_kind_has_cases() -> None:
    assert {p.parent.name for p in FILES} == set(CHECKS)


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_case(path: Path) -> None:
    if path.suffix == ".json":
        assert json.loads(path.read_text()).get("_shape"), f"{path}: say where the shape comes from"
    CHECKS[path.parent.name](path)
