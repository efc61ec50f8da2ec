"""providers.cucm_axl against the lab's real AXL face (zeep over verified HTTPS on 127.0.40.1), both on
CUCM 11.5 and 14.0: typed reads, paging and filters, the rollback parameter discovery (R2), the ``param``
provider's contract (read/diff mutate nothing, apply twice == once, verify), phone resets, and a
user-supplied AXL WSDL. Fault mapping lives in test_prov_faults.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from providers.cucm_axl import (
    AxlClient,
    EnterpriseParameterProvider,
    PhoneFilter,
    ResetKind,
    is_rollback_alias,
)
from providers.transports.http import SafeSession
from providers.transports.soap import AXL_WSDL_VERSION
from reconciler.errors import RemoteFaultError
from reconciler.model import Action, Address, Change
from reconciler.provider import Provider
from simulator.faces.backends import ResetMode
from tests.prov_cucm_lab import ROLLBACK_INTERNAL, CucmFaceLab

pytestmark = pytest.mark.lab


@pytest.fixture(params=["11.5.1.21900-40", "14.0.1.11900-132"])
def lab(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CucmFaceLab]:
    lab = CucmFaceLab(tmp_path, version=request.param)
    try:
        yield lab
    finally:
        lab.stop()


@pytest.fixture
def axl(lab: CucmFaceLab) -> Iterator[AxlClient]:
    with AxlClient(endpoint=lab.endpoint(), session=lab.session(), page_size=7) as client:
        yield client


def test_reads_are_typed_and_make_no_write(lab: CucmFaceLab, axl: AxlClient) -> None:
    assert axl.version() == lab.version
    nodes = axl.process_nodes()
    assert [n.name for n in nodes] == ["cucm-pub", "cucm-sub1", "cucm-sub2"]  # EnterpriseWideData skipped
    assert [n.publisher for n in nodes] == [True, False, False]
    services = axl.node_services()
    assert {(s.node, s.service, s.enabled) for s in services} == {
        ("cucm-pub", "Cisco Tftp", True),
        ("cucm-sub1", "Cisco CallManager", True),
        ("cucm-sub1", "Cisco Tftp", False),
    }
    groups = {g.name: g.members for g in axl.callmanager_groups()}
    assert groups == {"old-cmg": ("cucm-sub1", "cucm-sub2"), "other-cmg": ("cucm-pub",)}  # priority order
    assert lab.writes() == []


def test_phones_are_paged_with_skip_and_first_and_filtered(lab: CucmFaceLab, axl: AxlClient) -> None:
    everything = [p.name for p in axl.phones()]
    assert everything == [p.name for p in lab.backend.phones]  # 25 phones through pages of 7
    by_pool = [p.name for p in axl.phones(PhoneFilter(device_pool="dp-b"))]
    assert by_pool == [p.name for p in lab.backend.phones if p.device_pool_name == "dp-b"]
    by_group = list(axl.phones(PhoneFilter(callmanager_group="old-cmg")))
    assert {p.device_pool for p in by_group} == {"dp-a"} and len(by_group) == 17
    by_name = [p.name for p in axl.phones(PhoneFilter(name="SEP00000000001%"))]
    assert by_name == [f"SEP0000000000{i:02X}" for i in range(16, 25) if f"{i:02X}".startswith("1")]
    assert list(axl.phones(PhoneFilter(callmanager_group="no-such-group"))) == []
    assert lab.writes() == []


def test_phone_device_pools_pages_the_two_tag_listing(
    lab: CucmFaceLab, axl: AxlClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import providers.cucm_axl.client as client_mod

    monkeypatch.setattr(client_mod, "LEAN_PAGE", 10)  # 25 phones: pages of 10, 10, 5
    pools = axl.phone_device_pools()
    assert pools == {p.name: p.device_pool_name for p in lab.backend.phones}
    assert len(pools) == 25 and lab.writes() == []


def test_phone_resets_reach_the_node(lab: CucmFaceLab, axl: AxlClient) -> None:
    axl.reset_phone("SEP000000000001")
    axl.reset_phone("SEP000000000002", kind=ResetKind.RESTART)
    axl.reset_phone("SEP000000000003", via="device", hard=True)
    assert lab.writes() == [
        ("reset", ("SEP000000000001", ResetMode.RESET, False)),
        ("reset", ("SEP000000000002", ResetMode.RESTART, False)),
        ("reset", ("SEP000000000003", ResetMode.RESET, True)),
    ]
    with pytest.raises(RemoteFaultError) as caught:
        axl.reset_phone("SEPFFFFFFFFFFFF")
    assert caught.value.code == "5007" and "cucm-pub" in str(caught.value)


@pytest.mark.parametrize(
    "internal", [ROLLBACK_INTERNAL, "PrepareClusterForRollbackToPre86", "RollbackToPre8Enabled"]
)
def test_rollback_parameter_is_discovered_whatever_its_internal_name(
    lab: CucmFaceLab, axl: AxlClient, internal: str
) -> None:
    """R2: the paramname is undocumented ([GAP], docs/cucm-domain.md): found by name, tolerant of wording."""
    params = lab.backend.parameters
    value = params.pop(("EnterpriseWideData", "Enterprise Wide", ROLLBACK_INTERNAL))
    params[("EnterpriseWideData", "Enterprise Wide", internal)] = value
    found = axl.rollback_parameter()
    assert found is not None and found.name == internal and found.as_bool is False
    for alias in ("rollback_to_pre8", "Prepare Cluster for Rollback to pre 8.0"):
        assert is_rollback_alias(alias)
        assert axl.enterprise_parameter(alias) == found


def test_rollback_parameter_ambiguity_is_reported(lab: CucmFaceLab, axl: AxlClient) -> None:
    lab.backend.parameters[("EnterpriseWideData", "Enterprise Wide", "PrepareRollbackPre8Copy")] = "F"
    with pytest.raises(RemoteFaultError, match="several enterprise parameters"):
        axl.rollback_parameter()


def _provider(axl: AxlClient) -> EnterpriseParameterProvider:
    return EnterpriseParameterProvider(axl, cluster="old")


def test_param_provider_verify_makes_no_mutating_call(lab: CucmFaceLab, axl: AxlClient) -> None:
    provider = _provider(axl)
    assert isinstance(provider, Provider)
    rollback = Address.of("param", "old", "Prepare Cluster for Rollback to pre 8.0")
    change = Change(address=rollback, action=Action.UPDATE, before="False", after="True", reason="R2")
    early = provider.verify(change)
    assert not early.complies and early.observed == {"value": False}
    in_sync = Change(address=rollback, action=Action.UPDATE, after="False", reason="R2")
    assert provider.verify(in_sync).complies  # "F" on the wire is "False" in the plan (one in-sync rule)
    assert lab.writes() == []


def test_param_provider_apply_twice_is_once_and_verifies(lab: CucmFaceLab, axl: AxlClient) -> None:
    provider = _provider(axl)
    address = Address.of("param", "old", "rollback_to_pre8")
    change = Change(address=address, action=Action.UPDATE, before="False", after="True", reason="R2")
    assert not provider.verify(change).complies
    first = provider.apply(change)
    writes_after_once = lab.writes()
    second = provider.apply(change)
    assert first.changed and not second.changed
    assert (
        lab.writes()
        == writes_after_once
        == [("updateServiceParameter", ("EnterpriseWideData", "Enterprise Wide", ROLLBACK_INTERNAL, "T"))]
    )
    assert first.observed == {"value": True}
    assert provider.verify(change).complies


def test_param_provider_apply_on_a_missing_parameter_fails_without_writing(
    lab: CucmFaceLab, axl: AxlClient
) -> None:
    provider = _provider(axl)
    address = Address.of("param", "old", "NoSuchParameter")
    change = Change(address=address, action=Action.UPDATE, after="x", reason="test")
    with pytest.raises(RemoteFaultError, match="NoSuchParameter"):
        provider.apply(change)
    assert lab.writes() == []


def _record_posts(session: SafeSession) -> list[tuple[bytes, str]]:
    """Wrap ``session.request`` to keep (body, SOAPAction) of every request (a recorder, not a mock)."""
    sent: list[tuple[bytes, str]] = []
    original = session.request

    def spy(method: Any, url: Any, *args: Any, **kwargs: Any) -> Any:
        headers = kwargs.get("headers") or {}
        sent.append((bytes(kwargs.get("data") or b""), str(headers.get("SOAPAction", ""))))
        return original(method, url, *args, **kwargs)

    session.__dict__["request"] = spy
    return sent


def test_a_user_supplied_axl_wsdl_is_used_as_is(lab: CucmFaceLab, tmp_path: Path) -> None:
    """axl_wsdl: the file's own namespace/SOAPAction version is sent (the lab answers any version)."""
    bundled = Path(__file__).resolve().parents[2] / "providers" / "wsdl" / "AXLAPI.wsdl"
    toolkit = tmp_path / "toolkit" / "AXLAPI.wsdl"
    toolkit.parent.mkdir()
    text = bundled.read_text().replace(f"API/{AXL_WSDL_VERSION}", "API/12.5")
    toolkit.write_text(text.replace(f"ver={AXL_WSDL_VERSION} ", "ver=12.5 "))
    session = lab.session()
    sent = _record_posts(session)
    client = AxlClient(endpoint=lab.endpoint(axl_wsdl=toolkit), session=session)
    assert client.version() == lab.version
    body, action = sent[0]
    assert b"http://www.cisco.com/AXL/API/12.5" in body and action == '"CUCM:DB ver=12.5 getCCMVersion"'


def test_the_bundled_wsdl_speaks_the_cluster_version(lab: CucmFaceLab) -> None:
    session = lab.session()
    sent = _record_posts(session)
    AxlClient(endpoint=lab.endpoint(), session=session).process_nodes()
    ver = ".".join(lab.version.split(".")[:2])
    body, action = sent[0]
    assert f"http://www.cisco.com/AXL/API/{ver}".encode() in body
    assert action == f'"CUCM:DB ver={ver} listProcessNode"'
    assert b"<searchCriteria>" in body  # children unqualified (docs/cucm-domain.md#axl)


def test_connect_from_the_desired_state_resolves_the_password_only_then(
    lab: CucmFaceLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    from schemas.cluster import Cluster
    from tests.prov_cucm_lab import HOST, PASSWORD, USER

    cluster = Cluster.model_validate(
        {
            "name": "old",
            "role": "source",
            "version": lab.version,
            "credentials": {
                "axl": {"username": USER, "password": "env:PROV_TEST_AXL_PW"},
                "os": {"username": "admin", "password": "env:PROV_TEST_OS_PW"},
            },
            "nodes": [
                {"name": "cucm-pub", "host": HOST, "publisher": True, "ports": {"https": lab.server.port}}
            ],
            "tls": {"ca_bundle": str(lab.ca_file)},
        }
    )
    monkeypatch.delenv("PROV_TEST_AXL_PW", raising=False)
    from reconciler.errors import SecretError

    with pytest.raises(SecretError, match="PROV_TEST_AXL_PW"):
        AxlClient.connect(cluster)
    monkeypatch.setenv("PROV_TEST_AXL_PW", PASSWORD)
    with AxlClient.connect(cluster) as client:
        assert client.version() == lab.version
        assert client.name == f"cucm-pub ({HOST}:{lab.server.port})"


def test_our_mutating_operation_list_covers_every_write_the_lab_counts() -> None:
    from providers.cucm_axl import MUTATING_OPERATIONS
    from simulator.faces.axl import WRITE_OPERATIONS

    assert WRITE_OPERATIONS <= MUTATING_OPERATIONS
