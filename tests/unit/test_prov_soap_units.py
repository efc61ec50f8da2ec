"""Unit tests of the pure parts of the CUCM SOAP/HTTP providers: the RisPort70 token bucket never exceeds
the per-minute allowance over any sliding minute (hypothesis), de-duplication of RIS records, start-time
parsing, TFTP phone file names, rollback-parameter aliases (R2), AXL version tags, and the zeep-fault
mapping of ``providers.transports.soap.soap_errors`` on real zeep fault objects."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import zeep.exceptions
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from providers.cucm_axl import is_rollback_alias
from providers.cucm_serviceability import Registration, RisPacer, dedupe, parse_start_time, ris_max_devices
from providers.cucm_tftp import phone_file_names
from providers.transports.soap import CucmEndpoint, axl_version_tag, fault_code, soap_errors
from reconciler.errors import ConfigError, RemoteFaultError, TemporaryError
from schemas.cluster import Cluster


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


@settings(max_examples=150, deadline=None)
@given(
    per_minute=st.integers(min_value=2, max_value=18),
    burst_fraction=st.floats(min_value=0.0, max_value=0.99),
    gaps=st.lists(st.floats(min_value=0.0, max_value=30.0), min_size=1, max_size=80),
)
def test_pacer_never_admits_more_than_the_allowance_in_any_minute(
    per_minute: int, burst_fraction: float, gaps: list[float]
) -> None:
    clock = Clock()
    burst = max(1, min(per_minute - 1, int(burst_fraction * per_minute)))
    pacer = RisPacer(per_minute=per_minute, burst=burst, clock=clock, sleep=clock.sleep, max_wait=1e9)
    admitted: list[float] = []
    for gap in gaps:
        clock.t += gap
        pacer.acquire()
        admitted.append(clock.t)
    for i, t in enumerate(admitted):  # the server's window: stamps with now - stamp < 60
        in_window = [s for s in admitted[: i + 1] if t - s < 60.0]
        assert len(in_window) <= per_minute


def test_pacer_refuses_a_wait_beyond_max_wait() -> None:
    clock = Clock()
    pacer = RisPacer(per_minute=4, burst=1, clock=clock, sleep=clock.sleep, max_wait=5.0)
    pacer.acquire()
    with pytest.raises(TemporaryError) as caught:
        pacer.acquire()
    assert caught.value.delay and caught.value.delay > 5.0
    with pytest.raises(ValueError):
        RisPacer(per_minute=15, burst=15)


def test_dedupe_keeps_the_most_recent_record_and_prefers_registered_on_ties() -> None:
    t = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    records = [
        Registration(name="SEPA", node="n1", status="Registered", timestamp=t),
        Registration(name="sepa", node="n2", status="UnRegistered", timestamp=t + dt.timedelta(seconds=1)),
        Registration(name="SEPB", node="n1", status="UnRegistered", timestamp=t),
        Registration(name="SEPB", node="n2", status="Registered", timestamp=t),
        Registration(name="SEPC", node="n1", status="Registered", timestamp=None),
    ]
    assert [(r.name, r.node) for r in dedupe(records)] == [("SEPB", "n2"), ("SEPC", "n1"), ("sepa", "n2")]


def test_ris_cap_per_version() -> None:
    assert ris_max_devices("11.5.1.1-1") == 1000 and ris_max_devices("12.5") == 1000
    assert ris_max_devices("14.0.1.11900-132") == 2000 and ris_max_devices("15.0") == 2000


def test_start_time_parsing_prefers_uptime_and_never_guesses_a_zone() -> None:
    """R8: UpTime (integer seconds) wins; a StartTime without a zone is unknown, not UTC."""
    now = dt.datetime(2026, 11, 27, 8, 0, tzinfo=dt.UTC)
    utc = dt.datetime(2026, 11, 27, 7, 47, 15, tzinfo=dt.UTC)
    assert parse_start_time("Fri Nov 27 07:47:15 2026", up_time_s=None, now=now) is None
    assert parse_start_time("2026-11-27 07:47:15", up_time_s=None, now=now) is None
    assert parse_start_time("Fri Nov 27 07:47:15 PST 2026", up_time_s=None, now=now) is None
    assert parse_start_time("Fri Nov 27 07:47:15 UTC 2026", up_time_s=None, now=now) == utc
    assert parse_start_time("Fri Nov 27 08:47:15 GMT+01:00 2026", up_time_s=None, now=now) == utc
    assert parse_start_time("2026-11-26T23:47:15-08:00", up_time_s=None, now=now) == utc
    cet = dt.timezone(dt.timedelta(hours=1))  # a zone the caller knows is used
    assert parse_start_time("Fri Nov 27 08:47:15 2026", up_time_s=None, now=now, tz=cet) == utc
    # with UpTime a naive StartTime's zone is derived, keeping its exact second (stable across reads)
    assert parse_start_time("Thu Nov 26 23:47:15 2026", up_time_s=765, now=now) == utc  # UTC-8
    jitter = now + dt.timedelta(milliseconds=700)
    assert parse_start_time("Fri Nov 27 16:47:15 2026", up_time_s=765, now=jitter) == utc  # UTC+9
    # a StartTime that disagrees with UpTime loses to it
    assert parse_start_time("Fri Nov 27 03:13:00 2026", up_time_s=765, now=now) == utc
    assert parse_start_time("Fri Nov 27 01:00:00 UTC 2026", up_time_s=765, now=now) == utc
    assert parse_start_time("", up_time_s=60, now=now) == now - dt.timedelta(minutes=1)
    assert parse_start_time("", up_time_s=0, now=now) == now
    assert parse_start_time("", up_time_s=60, now=now, started=False) is None
    assert parse_start_time("garbage", up_time_s=None, now=now) is None


def test_phone_file_names() -> None:
    assert phone_file_names("00:1a:2b:3c:4d:5e") == ("CTLSEP001A2B3C4D5E.tlv", "ITLSEP001A2B3C4D5E.tlv")
    with pytest.raises(ValueError):
        phone_file_names("00:1a:2b")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("rollback_to_pre8", True),
        ("Prepare Cluster for Rollback to pre 8.0", True),
        ("Prepare Cluster for Rollback to pre-8.6", True),
        ("prepare_cluster_for_rollback", True),
        ("ClusterSecurityMode", False),
        ("RollbackDisabled", False),
    ],
)
def test_rollback_aliases(name: str, expected: bool) -> None:
    assert is_rollback_alias(name) is expected


def test_axl_version_tag() -> None:
    assert axl_version_tag("11.5.1.21900-40") == "11.5" and axl_version_tag("14.0") == "14.0"
    with pytest.raises(ConfigError):
        axl_version_tag("fourteen")


def _fault(text: str, axlcode: str | None) -> zeep.exceptions.Fault:
    detail = None
    if axlcode is not None:
        detail = etree.fromstring(
            f"<detail><axlError><axlcode>{axlcode}</axlcode><axlmessage>{text}</axlmessage></axlError></detail>"
        )
    return zeep.exceptions.Fault(text, code="soapenv:Server", detail=detail)  # type: ignore[no-untyped-call]


ENDPOINT = CucmEndpoint(cluster="old", node="cucm-pub", host="192.0.2.1")


def test_axl_fault_maps_to_remote_fault_with_code() -> None:
    fault = _fault("Item not valid", "5007")
    assert fault_code(fault) == "5007"
    with pytest.raises(RemoteFaultError) as caught, soap_errors(endpoint=ENDPOINT, operation="getPhone"):
        raise fault
    assert (
        caught.value.code == "5007"
        and "getPhone" in str(caught.value)
        and "cucm-pub (192.0.2.1:8443)" in str(caught.value)
    )
    assert caught.value.__cause__ is fault


def test_ris_allowance_fault_maps_to_temporary_with_delay() -> None:
    text = (
        "Exceeded allowed rate for Realtime information. Current allowed rate ... is 12 requests per minute."
    )
    with (
        pytest.raises(TemporaryError) as caught,
        soap_errors(endpoint=ENDPOINT, operation="selectCmDevice", service="RisPort70"),
    ):
        raise _fault(text, None)
    assert caught.value.delay == pytest.approx(5.0)


def test_transport_errors_map_by_status() -> None:
    from reconciler.errors import AuthenticationError

    with pytest.raises(AuthenticationError), soap_errors(endpoint=ENDPOINT, operation="x"):
        raise zeep.exceptions.TransportError(status_code=401, content=b"HTTP Status 401")  # type: ignore[no-untyped-call]
    with pytest.raises(TemporaryError), soap_errors(endpoint=ENDPOINT, operation="x"):
        raise zeep.exceptions.TransportError(status_code=503, content=b"")  # type: ignore[no-untyped-call]
    with pytest.raises(RemoteFaultError) as caught, soap_errors(endpoint=ENDPOINT, operation="x"):
        raise zeep.exceptions.TransportError(status_code=404, content=b"")  # type: ignore[no-untyped-call]
    assert caught.value.code == "404"


def test_endpoint_from_cluster(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    cluster = Cluster.model_validate(
        {
            "name": "old",
            "role": "source",
            "version": "12.5.1.1-1",
            "credentials": {
                "axl": {"username": "u", "password": "env:X"},
                "os": {"username": "a", "password": "env:Y"},
            },
            "nodes": [
                {"name": "sub", "host": "192.0.2.2"},
                {"name": "pub", "host": "192.0.2.1", "publisher": True, "ports": {"https": 9443}},
            ],
            "tls": {"ca_bundle": str(ca)},
        }
    )
    ep = CucmEndpoint.from_cluster(cluster)
    assert (ep.node, ep.host, ep.port, ep.version, ep.ca_bundle) == (
        "pub",
        "192.0.2.1",
        9443,
        "12.5.1.1-1",
        ca,
    )
    assert CucmEndpoint.from_cluster(cluster, cluster.nodes[0]).port == 8443


def test_sql_rows_are_read_from_every_shape_a_wsdl_may_give_them() -> None:
    """Cisco leaves ``row`` untyped (raw element); a typed wrapper (``_value_1``) or named fields must
    read the same, not crash with an untranslated AttributeError."""
    from types import SimpleNamespace

    from lxml import etree

    from providers.cucm_axl.client import _sql_columns

    raw = etree.fromstring("<row><name>cucm-pub</name><nodeid>2</nodeid><empty/></row>")
    assert _sql_columns(raw) == {"name": "cucm-pub", "nodeid": "2", "empty": ""}
    assert _sql_columns(list(raw)) == {"name": "cucm-pub", "nodeid": "2", "empty": ""}
    wrapped = SimpleNamespace(_value_1=list(raw))
    assert _sql_columns(wrapped) == {"name": "cucm-pub", "nodeid": "2", "empty": ""}
    named = SimpleNamespace(_value_1=None, __values__={"name": "cucm-pub", "nodeid": 2, "x": None})
    assert _sql_columns(named) == {"name": "cucm-pub", "nodeid": "2", "x": ""}
