"""Every recorded wire answer under ``tests/cases/<kind>/`` through the product's own parser or mapper,
checked against the result stored in the case (``tests.wire_cases`` loads them).

One check per kind, registered with ``@checks("<kind>")``:

- ``axl-sql``: an ``executeSQLQuery`` answer through ``AxlClient.sql`` (zeep with the bundled AXL WSDL);
- ``risport70``: ``selectCmDevice`` pages through ``RisClient.raw_registrations`` (zeep with the bundled
  RisPort70 WSDL; paging by ``StateInfo``; a paced client whose clock never waits);
- ``kea-config-get``: a control agent's ``config-get`` answer through ``KeaDhcpBackend.list_scopes``;
- ``cli_listing``, ``cli_show_cert``, ``cli_failure``: admin-CLI screens (pager, ANSI, ``CN=X, OU=Y``
  names, failure texts) through the CLI parsers;
- ``ccs_status``: ControlCenterServices ``StartTime``/``UpTime`` through ``parse_start_time``;
- ``ris_fault``: RisPort70 faults (Cisco's text, the faultcode alone, another fault) through
  ``soap_errors``.

Adding a kind (admin-CLI screens, certmgr REST answers, ...) is a new directory of cases plus one function
here; a directory without a check, or a check without cases, fails ``test_every_kind_has_a_check``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Network
from typing import Any

import pytest
import zeep.exceptions
from lxml import etree

from providers.cucm_axl import AxlClient
from providers.cucm_cli.parse import (
    clean_output,
    count_pager_prompts,
    find_failure,
    parse_cert_detail,
    parse_cert_list,
)
from providers.cucm_serviceability import RisClient, RisPacer, parse_start_time
from providers.dhcp.kea import KeaDhcpBackend
from providers.transports.soap import CucmEndpoint, soap_errors
from reconciler.certnames import same_dn, serial_candidates
from reconciler.errors import RemoteFaultError, TemporaryError
from tests.wire_cases import CannedAnswers, WireCase, all_cases, kinds

Check = Callable[[WireCase], None]
CHECKS: dict[str, Check] = {}
SOAP_XML = "text/xml; charset=utf-8"


def checks(kind: str) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        assert kind not in CHECKS, f"two checks for kind {kind}"
        CHECKS[kind] = check
        return check

    return register


def _endpoint(case: WireCase) -> CucmEndpoint:
    return CucmEndpoint(cluster="old", node="cucm-pub", host="192.0.2.1", version=str(case.doc["version"]))


@checks("axl-sql")
def check_axl_sql(case: WireCase) -> None:
    far = CannedAnswers(case.answers(), content_type=SOAP_XML)
    client = AxlClient(endpoint=_endpoint(case), session=far.session())
    rows = client.sql(str(case.doc["query"]))
    assert [dict(r) for r in rows] == case.expected
    sent = far.requests[0].decode()
    assert "executeSQLQuery" in sent and str(case.doc["query"]).split()[0] in sent  # the query went out


class _NoWait:
    """The pacer's clock: time moves only by the pacer's own sleeps (no wall-time waits in a unit test)."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


def _registration(record: Any) -> dict[str, Any]:
    return {
        "name": record.name,
        "node": record.node,
        "status": record.status,
        "ip": record.ip,
        "timestamp": int(record.timestamp.timestamp()) if record.timestamp else None,
        "reason": record.reason,
        "protocol": record.protocol,
        "description": record.description,
        "model": record.model,
    }


@checks("risport70")
def check_risport70(case: WireCase) -> None:
    far = CannedAnswers(case.answers(), content_type=SOAP_XML)
    clock = _NoWait()
    pacer = RisPacer(per_minute=15, burst=3, clock=clock, sleep=clock.sleep)
    client = RisClient(endpoint=_endpoint(case), session=far.session(), pacer=pacer)
    records = client.raw_registrations(list(case.doc.get("items", ["*"])))
    expected = case.expected
    assert [_registration(r) for r in records] == expected["registrations"]
    assert client.queries == expected["queries"] == len(far.requests), "one query per recorded page"
    for previous, request in zip(case.answers(), far.requests[1:], strict=False):
        returned = _state_info(previous.encode())
        assert returned and _state_info(request) == returned, "the next page asks with the StateInfo returned"


def _state_info(xml: bytes) -> str:
    element = etree.fromstring(xml.strip()).find(".//{http://schemas.cisco.com/ast/soap}StateInfo")
    return "" if element is None else element.text or ""


@checks("kea-config-get")
def check_kea_config_get(case: WireCase) -> None:
    far = CannedAnswers(case.answers(), content_type="application/json")
    backend = KeaDhcpBackend(name="kea1", url="http://192.0.2.53:8000/", session=far.session())
    scopes = backend.list_scopes()
    got = [
        {
            "name": s.name,
            "subnet": str(s.subnet),
            "option150": [str(a) for a in s.option150],
            "relay": str(s.relay) if s.relay is not None else None,
        }
        for s in scopes
    ]
    assert got == case.expected
    assert [json.loads(r)["command"] for r in far.requests] == ["config-get"], "a read sends config-get only"
    for s in scopes:  # typed, not text
        assert isinstance(s.subnet, IPv4Network) and all(isinstance(a, IPv4Address) for a in s.option150)


@checks("cli_listing")
def check_cli_listing(case: WireCase) -> None:
    body = case.answers()[0]
    lines = clean_output(body).split("\n")
    if case.expected.get("ends_with_prompt"):
        assert lines[-1] == "admin:"  # the prompt after the pager is a line of its own
    assert count_pager_prompts(body) == body.count("Press <enter>")
    listing = parse_cert_list("\n".join(line for line in lines if line != "admin:"))
    assert [item.filename for item in listing] == case.expected["files"]


@checks("cli_show_cert")
def check_cli_show_cert(case: WireCase) -> None:
    detail = parse_cert_detail(clean_output(case.answers()[0]))
    assert (detail.pem is not None) is case.expected["pem"]
    assert detail.serial_text is not None
    assert serial_candidates(detail.serial_text) == frozenset(case.expected["serial"])
    assert same_dn(detail.issuer, case.expected["issuer"])
    assert detail.not_after == case.expected["not_after"]


@checks("cli_failure")
def check_cli_failure(case: WireCase) -> None:
    assert (find_failure(clean_output(case.answers()[0])) is not None) is case.expected["failed"]


@checks("ccs_status")
def check_ccs_status(case: WireCase) -> None:
    doc = case.doc
    start = parse_start_time(
        doc["StartTime"],
        up_time_s=doc["UpTime"],
        now=dt.datetime.fromisoformat(doc["now"]),
        started=doc["ServiceStatus"] == "Started",
    )
    expected = doc["expect_start"]
    assert start == (dt.datetime.fromisoformat(expected) if expected else None)


@checks("ris_fault")
def check_ris_fault(case: WireCase) -> None:
    doc = case.doc
    endpoint = CucmEndpoint(cluster="c", node="n", host="192.0.2.1")
    fault = zeep.exceptions.Fault(doc["faultstring"], code=doc["faultcode"])
    wanted = TemporaryError if doc["expect"] == "temporary" else RemoteFaultError
    with (
        pytest.raises(wanted) as caught,
        soap_errors(endpoint=endpoint, operation="selectCmDevice", service="RisPort70", fault_delay=4.0),
    ):
        raise fault
    if doc["delay"] is not None:
        assert isinstance(caught.value, TemporaryError) and caught.value.delay == pytest.approx(doc["delay"])


CASES = all_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_recorded_answer_parses_to_the_expected_result(case: WireCase) -> None:
    check = CHECKS.get(case.kind)
    assert check is not None, f"{case.path}: no check for kind {case.kind!r} in {__name__}"
    check(case)


def test_every_kind_has_a_check_and_every_check_has_cases() -> None:
    on_disk = kinds()
    assert on_disk == set(CHECKS), f"case kinds {sorted(on_disk)} vs checks {sorted(CHECKS)}"
    assert {c.kind for c in CASES} == on_disk, "a kind directory without cases"
