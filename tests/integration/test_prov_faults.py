"""Every fault the lab's faces can inject, seen through our SOAP/HTTP providers: each maps to the right
``reconciler.errors`` class with a message naming the node and a hint naming the fix, and nothing is
written. Plus: the lab's passwords never appear in logs, messages, reprs or results."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from providers.cucm_axl import AxlClient, EnterpriseParameterProvider
from providers.cucm_serviceability import ControlCenterClient, RisClient, RisPacer
from providers.cucm_tftp import TftpHttpClient
from providers.dhcp.cucm import CucmDhcpBackend
from providers.transports.soap import soap_errors
from reconciler.errors import (
    AuthenticationError,
    PermanentError,
    ProviderError,
    RemoteFaultError,
    TemporaryError,
    TlsVerificationError,
    UnreachableError,
)
from reconciler.model import Action, Address, Change
from tests.prov_cucm_lab import PASSWORD, CucmFaceLab

pytestmark = pytest.mark.lab


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[CucmFaceLab]:
    lab = CucmFaceLab(tmp_path)
    try:
        yield lab
    finally:
        lab.stop()


def _axl(lab: CucmFaceLab, **endpoint: object) -> AxlClient:
    ep = lab.endpoint(**endpoint)
    return AxlClient(endpoint=ep, session=lab.session(ep))


def test_latency_beyond_the_read_timeout_is_temporary(lab: CucmFaceLab) -> None:
    ep = lab.endpoint()
    client = AxlClient(endpoint=ep, session=lab.session(ep, timeout=(2.0, 0.2)))
    lab.faults.latency_s = 1.0
    with pytest.raises(TemporaryError) as caught:
        client.version()
    assert not isinstance(caught.value, PermanentError)
    assert "cucm-pub" in str(caught.value) and caught.value.endpoint == ep.label


def test_axl_write_throttle_503_is_temporary_and_writes_nothing(lab: CucmFaceLab) -> None:
    provider = EnterpriseParameterProvider(_axl(lab), cluster="old")
    address = Address.of("param", "old", "rollback_to_pre8")
    change = Change(address=address, action=Action.UPDATE, before="False", after="True", reason="test")
    lab.faults.axl_write_throttle = True
    with pytest.raises(TemporaryError, match=r"cucm-pub .*503") as caught:
        provider.apply(change)
    assert type(caught.value) is TemporaryError
    assert lab.writes() == []
    lab.faults.axl_write_throttle = False
    assert provider.apply(change).changed  # the executor's retry then succeeds


def test_unreachable_node_is_unreachable_error(lab: CucmFaceLab) -> None:
    """The face drops new connections, so the TLS handshake is cut: that is UnreachableError, mapped
    once by providers.transports.http — never a TlsVerificationError, not even one reclassified later."""
    lab.faults.unreachable = True
    with pytest.raises(UnreachableError) as caught:
        _axl(lab).version()
    assert "cucm-pub" in str(caught.value) and caught.value.hint
    assert caught.value.endpoint == lab.endpoint().label
    assert "ca_bundle" not in caught.value.hint and "pin_sha256" not in caught.value.hint
    chain: list[BaseException] = []
    link: BaseException | None = caught.value
    while link is not None and len(chain) < 10:
        chain.append(link)
        link = link.__cause__ or link.__context__
    assert not any(isinstance(e, TlsVerificationError) for e in chain)
    with pytest.raises(UnreachableError):  # the same for a pinned endpoint and for serviceability
        _axl(lab, ca_bundle=None, pin_sha256=lab.fingerprint).version()
    ep = lab.endpoint()
    with pytest.raises(UnreachableError):
        ControlCenterClient(endpoint=ep, session=lab.session(ep)).statuses()


def test_stopped_node_is_unreachable_error(lab: CucmFaceLab) -> None:
    client = _axl(lab)
    lab.stop()
    with pytest.raises(UnreachableError, match="cucm-pub"):
        client.version()


def test_bad_password_is_authentication_error_naming_node_and_fix(lab: CucmFaceLab) -> None:
    ep = lab.endpoint()
    client = AxlClient(endpoint=ep, session=lab.session(ep, password="wrong-password"))
    with pytest.raises(AuthenticationError) as caught:
        client.version()
    assert "cucm-pub" in str(caught.value) and "401" in str(caught.value)
    assert caught.value.hint and "password" in caught.value.hint
    with pytest.raises(AuthenticationError):
        ControlCenterClient(endpoint=ep, session=lab.session(ep, password="wrong")).statuses()


def test_wrong_ca_is_tls_error_naming_node_and_ca_bundle(lab: CucmFaceLab) -> None:
    client = _axl(lab, ca_bundle=lab.other_ca_file)
    with pytest.raises(TlsVerificationError) as caught:
        client.version()
    assert "cucm-pub" in str(caught.value)
    assert caught.value.hint and "ca_bundle" in caught.value.hint
    assert lab.writes() == []


def test_wrong_pin_is_tls_error_naming_node_and_pin(lab: CucmFaceLab) -> None:
    wrong = "ab" * 32
    client = _axl(lab, ca_bundle=None, pin_sha256=wrong)
    with pytest.raises(TlsVerificationError) as caught:
        client.process_nodes()
    assert "cucm-pub" in str(caught.value) and caught.value.hint and "pin_sha256" in caught.value.hint
    right = _axl(lab, ca_bundle=None, pin_sha256=lab.fingerprint)
    assert right.version() == lab.version  # the same path with the right pin works


def test_axl_fault_is_remote_fault_with_axlcode_and_text(lab: CucmFaceLab) -> None:
    client = _axl(lab)
    with pytest.raises(RemoteFaultError) as caught:
        client.call("getPhone", name="SEPFFFFFFFFFFFF")
    assert (
        caught.value.code == "5007" and "not found" in str(caught.value) and "cucm-pub" in str(caught.value)
    )
    with pytest.raises(RemoteFaultError) as update:
        client.update_dhcp_subnet_tftp(server="nope", subnet="10.0.0.0", primary="", secondary="")
    assert update.value.code == "5003"


def test_ris_allowance_exhausted_is_temporary_with_delay(lab: CucmFaceLab) -> None:
    ep = lab.endpoint()
    ris = RisClient(
        endpoint=ep, session=lab.session(ep), pacer=RisPacer(clock=lab.clock, sleep=lab.clock.sleep)
    )
    lab.allowance.exhaust()  # another client used the whole minute
    with pytest.raises(TemporaryError) as caught:
        ris.registrations(["SEP*"])
    assert caught.value.delay == pytest.approx(60 / 15)
    assert "allowance" in str(caught.value) and "cucm-pub" in str(caught.value)


def test_tftp_unreachable_and_latency(lab: CucmFaceLab) -> None:
    lab.tftp_faults.unreachable = True
    client = TftpHttpClient(node="cucm-pub", host=lab.tftp.host, port=lab.tftp.port)
    with pytest.raises(UnreachableError, match="cucm-pub") as caught:
        client.fetch("ITLFile.tlv")
    assert caught.value.endpoint == client.label  # node-level, like the SOAP providers
    assert caught.value.hint and "Tftp" in caught.value.hint and "cucm-pub" in caught.value.hint
    with pytest.raises(UnreachableError, match="cucm-pub"):
        client.cluster_files()


def test_secrets_never_reach_logs_messages_or_results(
    lab: CucmFaceLab, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    outputs: list[str] = []
    ep = lab.endpoint()
    session = lab.session(ep)
    outputs += [repr(session.auth), repr(ep), str(ep)]
    axl = AxlClient(endpoint=ep, session=session)
    outputs += [repr(axl.process_nodes()), repr(axl.enterprise_parameters())]
    backend = CucmDhcpBackend(axl, name="cucm-dhcp", server="cucm-pub")
    outputs.append(repr(backend.list_scopes()))
    ccs = ControlCenterClient(endpoint=ep, session=lab.session(ep))
    outputs.append(repr(ccs.statuses()))
    failures: list[ProviderError] = []
    for make in (
        lambda: AxlClient(endpoint=ep, session=lab.session(ep, password=PASSWORD + "x")).version(),
        lambda: _axl(lab, ca_bundle=lab.other_ca_file).version(),
        lambda: axl.call("getPhone", name="SEPFFFFFFFFFFFF"),
    ):
        try:
            make()
        except ProviderError as exc:
            failures.append(exc)
    assert len(failures) == 3
    outputs += [f"{e}\n{e.hint}\n{e!r}\n{e.__cause__!r}" for e in failures]
    text = caplog.text + "\n".join(outputs)
    assert caplog.records, "expected debug logging from the HTTP layer"
    assert PASSWORD not in text
    import base64

    assert base64.b64encode(f"axl-lab-user:{PASSWORD}".encode()).decode() not in text


def test_soap_errors_pass_through_already_mapped_errors(lab: CucmFaceLab) -> None:
    with pytest.raises(AuthenticationError), soap_errors(endpoint=lab.endpoint(), operation="x"):
        raise AuthenticationError("already mapped")
