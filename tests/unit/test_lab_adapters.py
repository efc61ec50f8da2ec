"""The adapters from the model's ``Lab`` to the faces' backend protocols (simulator/adapters): where the
model and a face disagree, the adapter decides — these tests pin each decision. In-process, ManualClock."""

from __future__ import annotations

import pytest

from reconciler.cucm import certs, tlv
from reconciler.cucm.certs import IdentityKind
from reconciler.errors import RemoteFaultError
from simulator.adapters import (
    ModelAxl,
    ModelCertmgr,
    ModelCli,
    ModelIos,
    ModelRis,
    ModelServices,
    ModelTftp,
    describe_trust_file,
)
from simulator.faces.backends import (
    AxlBackend,
    CertmgrBackend,
    CliBackend,
    ControlAction,
    IosBackend,
    PhoneCriteria,
    ResetMode,
    RisBackend,
    RisCriteria,
    ServicesBackend,
    ServiceStatus,
    TftpBackend,
)
from simulator.model import PHONE_SAST_TRUST, Lab, ManualClock, build_lab
from simulator.spec import default_lab

ROLLBACK = "Prepare Cluster for Rollback to pre 8.0"


@pytest.fixture
def lab() -> Lab:
    return build_lab(default_lab(phones_per_scope=3), clock=ManualClock())


def test_every_adapter_satisfies_its_protocol(lab: Lab) -> None:
    axl = ModelAxl(lab, cluster="old", dhcp_source="old-dhcp")
    assert isinstance(axl, AxlBackend)
    assert isinstance(ModelServices(lab, cluster="old", node="cucm-old-pub"), ServicesBackend)
    assert isinstance(ModelRis(lab, cluster="old"), RisBackend)
    assert isinstance(ModelCertmgr(lab, cluster="new", node="cucm-new-pub"), CertmgrBackend)
    assert isinstance(ModelCli(lab, cluster="old", node="cucm-old-pub", axl=axl), CliBackend)
    assert isinstance(ModelTftp(lab, cluster="old", node="cucm-old-pub"), TftpBackend)
    assert isinstance(ModelIos(lab, router="ios"), IosBackend)


def test_enterprise_parameters_use_axl_names_and_booleans_and_change_the_model(lab: Lab) -> None:
    """R2: the rollback parameter is T/F over AXL and True/False in the model; the ITL is rebuilt."""
    seen: list[tuple[str, str]] = []
    axl = ModelAxl(lab, cluster="old", on_parameter=lambda k, v: seen.append((k, v)))
    params = {p.name: p.value for p in axl.list_service_parameters(node="EnterpriseWideData", service="%")}
    assert params == {"PrepareClusterForRollbackToPre80": "F", "AllowedDeviceQueriesPerMinute": "15",
                      "ClusterSecurityMode": "1"}  # fmt: skip
    by_label = axl.get_service_parameter(node="EnterpriseWideData", service="Enterprise Wide", name=ROLLBACK)
    assert by_label.name == "PrepareClusterForRollbackToPre80"
    itl_before = lab.tftp_file("old", "cucm-old-pub", "ITLFile.tlv")
    axl.update_service_parameter(
        node="EnterpriseWideData",
        service="Enterprise Wide",
        name="PrepareClusterForRollbackToPre80",
        value="T",
    )
    assert lab.enterprise_parameter("old", ROLLBACK) == "True"
    assert lab.tftp_file("old", "cucm-old-pub", "ITLFile.tlv") != itl_before
    axl.update_service_parameter(
        node="EnterpriseWideData", service="Enterprise Wide", name="AllowedDeviceQueriesPerMinute", value="12"
    )
    assert seen == [(ROLLBACK, "True"), ("Allowed Device Queries Per Minute", "12")]
    for name, value, code in (("ClusterSecurityMode", "0", "5003"), ("NoSuchParameter", "1", "5003"),
                              ("PrepareClusterForRollbackToPre80", "maybe", "5003")):  # fmt: skip
        with pytest.raises(RemoteFaultError) as caught:
            axl.update_service_parameter(
                node="EnterpriseWideData", service="Enterprise Wide", name=name, value=value
            )
        assert caught.value.code == code
    with pytest.raises(RemoteFaultError) as missing:
        axl.get_service_parameter(node="cucm-old-pub", service="Cisco CallManager", name="CdrEnabled")
    assert missing.value.code == "5007"


def test_cluster_security_mode_follows_mixed_mode(lab: Lab) -> None:
    axl = ModelAxl(lab, cluster="new")
    lab.set_mixed_mode(cluster="new", enabled=False)
    rows = axl.execute_sql_query(
        "select paramvalue from processconfig where paramname='ClusterSecurityMode'"
    ).rows
    assert rows == (("0",),)


def test_reset_from_a_cluster_reaches_only_phones_registered_to_it(lab: Lab) -> None:
    phone = lab.phones()[0]
    ops = len(lab.operation_log)
    ModelAxl(lab, cluster="new").reset_device(name=phone.name, uuid=None, mode=ResetMode.RESET, hard=False)
    assert len(lab.operation_log) == ops  # new cannot reset a phone registered to old
    axl = ModelAxl(lab, cluster="old")
    uuid = axl.get_phone(name=phone.name, uuid=None).uuid
    axl.reset_device(name=None, uuid=uuid, mode=ResetMode.RESTART, hard=False)
    assert lab.operation_log.entries()[-1].op == "reset_phones"


def test_list_phones_pages_and_filters(lab: Lab) -> None:
    axl = ModelAxl(lab, cluster="old")
    everything = [p.name for p in axl.list_phones(PhoneCriteria(), skip=0, first=None)]
    assert everything == [p.name for p in lab.phones()]
    paged = [p.name for s in range(0, 9, 4) for p in axl.list_phones(PhoneCriteria(), skip=s, first=4)]
    assert paged == everything
    scope_b = axl.list_phones(PhoneCriteria(description="scope-b%"), skip=0, first=None)
    assert [p.name for p in scope_b] == [p.name for p in lab.phones(scope="scope-b")]


def test_list_phones_reuses_a_match_only_until_the_lab_changes(lab: Lab) -> None:
    axl = ModelAxl(lab, cluster="old")
    views: list[int] = []
    phones = lab.phones
    lab.phones = lambda *a, **k: views.append(1) or phones(*a, **k)  # type: ignore[method-assign]
    every = PhoneCriteria(name="%")
    first = [p.name for p in axl.list_phones(every, skip=0, first=4)]
    second = [p.name for p in axl.list_phones(every, skip=4, first=4)]
    assert len(views) == 1 and len(first) == len(second) == 4 and not set(first) & set(second)
    axl.list_phones(PhoneCriteria(name="SEP%"), skip=0, first=50)
    assert len(views) == 2, "other criteria are matched afresh"
    lab.reset_phones([first[0]])  # any logged mutation
    axl.list_phones(PhoneCriteria(name="SEP%"), skip=0, first=50)
    assert len(views) == 3


def test_services_list_not_activated_ones_and_restart_is_timed(lab: Lab) -> None:
    services = ModelServices(lab, cluster="old", node="cucm-old-sub2")
    states = {s.name: s for s in services.service_states()}
    assert states["Cisco Tftp"].status is ServiceStatus.STOPPED
    assert states["Cisco Tftp"].reason == "Service Not Activated"
    assert states["Cisco Trust Verification Service"].status is ServiceStatus.STARTED
    [after] = services.control_services(
        action=ControlAction.RESTART, names=["Cisco Trust Verification Service"]
    )
    assert after.status is ServiceStatus.STOPPING
    with pytest.raises(RemoteFaultError):
        services.control_services(action=ControlAction.START, names=["Cisco Tftp"])
    clock = lab.clock
    assert isinstance(clock, ManualClock)
    clock.advance(10)
    tvs = next(s for s in services.service_states() if s.name == "Cisco Trust Verification Service")
    assert tvs.status is ServiceStatus.STARTED and tvs.start_time is not None


def test_ris_reports_registrations_with_reasons_and_filters(lab: Lab) -> None:
    ris = ModelRis(lab, cluster="old")
    devices = ris.select_devices(RisCriteria())
    assert len(devices) == lab.phone_count()
    assert {d.status for d in devices} == {"Registered"} and {d.status_reason for d in devices} == {0}
    one = lab.phones()[0]
    assert [d.name for d in ris.select_devices(RisCriteria(select_by="IPV4Address", items=(one.ip,)))] == [
        one.name
    ]
    assert ris.select_devices(RisCriteria(status="UnRegistered")) == []
    assert ModelRis(lab, cluster="new").select_devices(RisCriteria()) == []


def test_ris_reuses_an_answer_only_until_the_lab_changes(lab: Lab) -> None:
    """Paging through one wildcard answer reuses it; a logged mutation (a reset moving a phone's
    registration) makes the next query look again."""
    ris = ModelRis(lab, cluster="old")
    scans: list[RisCriteria] = []
    scan = ris._select
    ris._select = lambda criteria: scans.append(criteria) or scan(criteria)  # type: ignore[method-assign]
    first = ris.select_devices(RisCriteria())
    assert ris.select_devices(RisCriteria()) == first and len(scans) == 1
    ris.select_devices(RisCriteria(status="Registered"))
    assert len(scans) == 2, "other criteria are answered afresh"
    phone = lab.phones()[0]
    lab.reset_phones([phone.name])  # logged, even when nothing else changed
    again = ris.select_devices(RisCriteria(status="Registered"))
    assert len(scans) == 3 and sorted(d.name for d in again) == sorted(d.name for d in first)


def test_ris_by_exact_names_matches_what_a_full_scan_finds(lab: Lab) -> None:
    """The name lookup (no fleet scan) must give what LIKE over every record gives: case-insensitive,
    unknown names absent, duplicates once, and wildcards still scanning."""
    ris = ModelRis(lab, cluster="old")
    a, b = lab.phones()[0].name, lab.phones()[3].name
    items = (a.lower(), b, b, "SEPFFFFFFFFFFFF")
    by_name = ris.select_devices(RisCriteria(items=items))
    assert sorted(d.name for d in by_name) == sorted([a, b])
    scanned = [d for d in ris.select_devices(RisCriteria()) if d.name in (a, b)]
    assert sorted(by_name, key=lambda d: d.name) == sorted(scanned, key=lambda d: d.name)
    prefix = a[:-1] + "*"
    assert a in {d.name for d in ris.select_devices(RisCriteria(items=(prefix,)))}


def test_certmgr_upload_replicates_and_keeps_the_description(lab: Lab) -> None:
    cert = lab.identity("old", "cucm-old-pub", IdentityKind.CALLMANAGER)
    assert cert is not None
    pub, sub = (
        ModelCertmgr(lab, cluster="new", node="cucm-new-pub"),
        ModelCertmgr(lab, cluster="new", node="cucm-new-sub1"),
    )
    [entry] = pub.upload_trust(services=["phone-sast"], pems=[certs.certificate_pem(cert.cert).decode()],
                               description="rollback")  # fmt: skip
    assert (entry.unit, entry.filename, entry.description) == (
        PHONE_SAST_TRUST,
        certs.trust_file_name(cert.cert),
        "rollback",
    )
    assert entry.filename in {e.filename for e in sub.snapshot().trusts}  # lag 0 in the default spec
    with pytest.raises(RemoteFaultError) as bad:
        pub.upload_trust(services=["tomcat"], pems=["not a pem"], description="")
    assert bad.value.code == "400"
    pub.delete_trust(store="Phone-SAST-trust", filename=entry.filename)
    with pytest.raises(RemoteFaultError) as gone:
        pub.delete_trust(store="Phone-SAST-trust", filename=entry.filename)
    assert gone.value.code == "404"


def test_own_certificates_itlrecovery_only_on_the_publisher_from_12_5(lab: Lab) -> None:
    axl_new, axl_old = ModelAxl(lab, cluster="new"), ModelAxl(lab, cluster="old")
    units = lambda c, n, a: {e.unit for e in ModelCli(lab, cluster=c, node=n, axl=a).certificates("own")}  # noqa: E731
    assert "ITLRecovery" in units("new", "cucm-new-pub", axl_new)
    assert "ITLRecovery" not in units("new", "cucm-new-sub1", axl_new)
    assert "ITLRecovery" in units("old", "cucm-old-sub1", axl_old)  # 11.5: one per node


def test_one_certificate_is_the_listing_entry_of_that_unit_and_file(lab: Lab) -> None:
    cli = ModelCli(lab, cluster="old", node="cucm-old-sub1", axl=ModelAxl(lab, cluster="old"))
    for kind in ("trust", "own"):
        listed = cli.certificates(kind)
        assert listed
        for entry in listed:
            assert cli.certificate(kind, unit=entry.unit, filename=entry.filename) == entry
        first = listed[0]
        assert cli.certificate(kind, unit=first.unit, filename="absent.pem") is None
    trust = cli.certificates("trust")[0]
    # the unit as listed, not a short form: ``show cert trust CallManager/...`` does not name a store
    assert cli.certificate("trust", unit=trust.unit.removesuffix("-trust"), filename=trust.filename) is None


def test_show_itl_description_parses_and_verifies(lab: Lab) -> None:
    data = lab.tftp_file("new", "cucm-new-pub", "ITLFile.tlv")
    assert data is not None
    lines = describe_trust_file("ITL", data)
    assert lines[-1] == "The ITL file was verified successfully."
    assert sum(1 for line in lines if line.startswith("ITL Record #:")) == len(tlv.parse(data).records)
    tampered = data[:-1] + bytes([data[-1] ^ 0xFF])
    assert "could not be verified" in describe_trust_file("ITL", tampered)[-1]
    assert describe_trust_file("ITL", b"garbage")[0].startswith("Error parsing the ITL File")


def test_cli_trust_file_is_none_where_tftp_does_not_run(lab: Lab) -> None:
    axl = ModelAxl(lab, cluster="old")
    assert ModelCli(lab, cluster="old", node="cucm-old-sub2", axl=axl).trust_file("ITLFile.tlv") is None
    assert ModelCli(lab, cluster="old", node="cucm-old-pub", axl=axl).trust_file("ITLFile.tlv") is not None
    assert ModelTftp(lab, cluster="old", node="cucm-old-sub2").tftp_file("SEP001B54000001.cnf.xml") is None


def test_bulk_export_consolidate_import_maps_certificates_like_tn_215539(lab: Lab) -> None:
    """R9: CallManager and ITLRecovery -> CallManager-trust and Phone-SAST-trust; tomcat -> tomcat-trust."""
    old_cli = ModelCli(lab, cluster="old", node="cucm-old-pub", axl=ModelAxl(lab, cluster="old"))
    new_cli = ModelCli(lab, cluster="new", node="cucm-new-pub", axl=ModelAxl(lab, cluster="new"))
    files = [*old_cli.bulk_export("all"), *new_cli.bulk_export("all")]
    merged = old_cli.bulk_consolidate("all", files)
    assert sorted(f.name for f in merged) == ["consolidated_tftp.pem", "consolidated_tomcat.pem"]
    with pytest.raises(RemoteFaultError):
        old_cli.bulk_import("tftp", files)  # nothing consolidated yet
    assert old_cli.bulk_import("all", [*files, *merged]) == ["tftp", "tomcat"]
    recovery = lab.identity("new", "cucm-new-pub", IdentityKind.ITLRECOVERY)
    tomcat = lab.identity("new", "cucm-new-sub2", IdentityKind.TOMCAT)
    assert recovery is not None and tomcat is not None
    for store in ("CallManager-trust", "Phone-SAST-trust"):
        assert any(
            e.view.fingerprint == certs.sha256_hex(recovery.cert)
            for e in lab.trust_store("old", "cucm-old-pub", store)
        )
    assert any(
        e.view.fingerprint == certs.sha256_hex(tomcat.cert)
        for e in lab.trust_store("old", "cucm-old-pub", "tomcat-trust")
    )


def test_ios_backend_changes_the_pool_and_refuses_unknown_pools(lab: Lab) -> None:
    ios = ModelIos(lab, router="ios")
    assert [p[0] for p in ios.pools()] == ["PHONES-A", "PHONES-C"]
    ios.set_option150(pool="PHONES-A", addresses=["127.0.20.1"])
    assert lab.option150("scope-a") == ("127.0.20.1",)
    with pytest.raises(RemoteFaultError):
        ios.set_option150(pool="NOPE", addresses=[])
