"""Real clients against a running ``LabRuntime`` (issue 5): zeep over HTTPS with the lab CA for AXL,
ControlCenterServices and RisPort70; paramiko for the admin CLI, the IOS router and SFTP; requests for
certmgr REST and TFTP-over-HTTP. Everything is the model underneath, so what a client changes shows up in
the model and vice versa. The runtime uses a ``ManualClock``: replication lag and service restarts move
only when a test advances time, so nothing here depends on wall-clock timing.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paramiko
import pytest
import requests
import zeep
import zeep.exceptions
from zeep.transports import Transport

from reconciler.cucm import certs, tlv
from reconciler.cucm.certs import IdentityKind
from simulator.lab.faults import Fault
from simulator.lab.runtime import LabRuntime
from simulator.model import CALLMANAGER_TRUST, PHONE_SAST_TRUST, ManualClock, RegStatus
from simulator.spec import default_lab
from tests.loopback import Loopback

pytestmark = pytest.mark.lab
LAG = 30.0


@pytest.fixture(scope="module")
def rt(tmp_path_factory: pytest.TempPathFactory, loopback: Loopback) -> Iterator[LabRuntime]:
    clock = ManualClock(start=time.time())
    with loopback.lease() as lease:
        runtime = LabRuntime(
            directory=tmp_path_factory.mktemp("lab"),
            spec=default_lab(phones_per_scope=20),
            prefix=lease.prefix,
            ports=lease.ports,
            restart_duration=10.0,
            clock=clock,
        ).start()
        try:
            yield runtime
        finally:
            runtime.stop()


def clock(rt: LabRuntime) -> ManualClock:
    c = rt.lab.clock
    assert isinstance(c, ManualClock)
    return c


def node(rt: LabRuntime, cluster: str, name: str) -> dict[str, Any]:
    return rt.inventory["clusters"][cluster]["nodes"][name]  # type: ignore[no-any-return]


def session(rt: LabRuntime, cluster: str, kind: str = "axl") -> requests.Session:
    cred = rt.inventory["clusters"][cluster]["credentials"][kind]
    s = requests.Session()
    s.trust_env = False  # REQUESTS_CA_BUNDLE must not override the lab CA
    s.verify = rt.inventory["ca_bundle"]
    s.auth = (cred["username"], Path(cred["password_file"]).read_text().strip())
    return s


def soap(rt: LabRuntime, cluster: str, name: str, service: str) -> Any:
    url = node(rt, cluster, name)["urls"][service]
    return zeep.Client(f"{url}?wsdl", transport=Transport(session=session(rt, cluster))).service


def ssh(rt: LabRuntime, host: str, port: int, user: str, password_file: str) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    client.load_host_keys(rt.inventory["known_hosts"])  # the lab's known_hosts, nothing else
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    sock = socket.create_connection((host, port), timeout=5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    password = Path(password_file).read_text().strip()
    client.connect(
        host,
        port,
        username=user,
        password=password,
        sock=sock,
        look_for_keys=False,
        allow_agent=False,
        timeout=5,
    )
    return client


def read_until(chan: paramiko.Channel, suffix: bytes, timeout: float = 10) -> str:
    buf = b""
    deadline = time.monotonic() + timeout
    while not buf.endswith(suffix):
        if time.monotonic() > deadline:
            raise AssertionError(f"timeout waiting for {suffix!r}; got {buf[-300:]!r}")
        if chan.recv_ready():
            data = chan.recv(65536)
            if not data:
                break
            buf += data
        elif chan.closed:
            break
        else:
            time.sleep(0.005)
    return buf.decode()


class Cli:
    """An interactive ``admin:`` session on one node."""

    def __init__(self, rt: LabRuntime, cluster: str, name: str) -> None:
        n = node(rt, cluster, name)
        cred = rt.inventory["clusters"][cluster]["credentials"]["os"]
        self.client = ssh(rt, n["ssh"]["host"], n["ssh"]["port"], cred["username"], cred["password_file"])
        self.chan = self.client.invoke_shell()
        read_until(self.chan, b"admin:")
        # the lab pages long output like CUCM until a session turns it off
        assert "Automatic pagination is turned off" in self.run("set cli pagination off")

    def run(self, command: str, expect: bytes = b"admin:") -> str:
        self.chan.send((command + "\n").encode())
        return read_until(self.chan, expect).replace("\r\n", "\n")

    def close(self) -> None:
        self.client.close()


def ris_query(ris: Any, status: str = "Any") -> Any:
    return ris.selectCmDevice(
        StateInfo="",
        CmSelectionCriteria={
            "MaxReturnedDevices": 1000,
            "DeviceClass": "Phone",
            "Model": 255,
            "Status": status,
            "NodeName": "",
            "SelectBy": "Name",
            "SelectItems": {"item": [{"Item": "SEP*"}]},
            "Protocol": "Any",
            "DownloadStatus": "Any",
        },
    )


def ris_names(answer: Any) -> list[str]:
    nodes = answer["SelectCmDeviceResult"]["CmNodes"]
    return [d["Name"] for n in (nodes["item"] if nodes else []) for d in n["CmDevices"]["item"]]


# ---------------------------------------------------------------------------------------------- AXL


@pytest.mark.parametrize("cluster", ["old", "new"])
def test_zeep_loads_the_axl_wsdl_over_https_with_the_lab_ca_and_reads_the_models_version(
    rt: LabRuntime, cluster: str
) -> None:
    pub = rt.lab.cluster(cluster).publisher
    axl = soap(rt, cluster, pub, "axl")
    version = axl.getCCMVersion()["return"]["componentVersion"]["version"]
    assert version == rt.lab.cluster(cluster).version
    nodes = axl.listProcessNode(searchCriteria={"name": "%"}, returnedTags={"name": "", "nodeUsage": ""})
    names = [n["name"] for n in nodes["return"]["processNode"]]
    assert names == ["EnterpriseWideData", *(n.name for n in rt.lab.cluster(cluster).nodes)]


def test_a_wrong_ca_is_refused_by_the_client(rt: LabRuntime, tmp_path: Path) -> None:
    other = tmp_path / "other-ca.pem"
    other.write_bytes(certs.certificate_pem(certs.generate_ca(common_name="Not the lab CA").cert))
    s = session(rt, "old")
    s.verify = str(other)
    with pytest.raises(requests.exceptions.SSLError):
        s.get(node(rt, "old", "cucm-old-pub")["urls"]["axl"] + "?wsdl", timeout=5)


def test_axl_rollback_parameter_round_trips_into_the_model_and_rebuilds_the_itl(rt: LabRuntime) -> None:
    """R2: setting the rollback enterprise parameter through AXL blanks the ITL the TFTP face serves."""
    axl = soap(rt, "old", "cucm-old-pub", "axl")
    rows = axl.executeSQLQuery(
        sql="select paramname, paramvalue from processconfig where paramname like '%ollback%'"
    )
    name = rows["return"]["row"][0][0].text
    url = node(rt, "old", "cucm-old-pub")["urls"]["tftp"] + "ITLFile.tlv"
    before = tlv.parse(requests.get(url, timeout=5).content)
    try:
        axl.updateServiceParameter(
            processNodeName="EnterpriseWideData", service="Enterprise Wide", name=name, value="T"
        )
        assert rt.lab.enterprise_parameter("old", "Prepare Cluster for Rollback to pre 8.0") == "True"
        after = tlv.parse(requests.get(url, timeout=5).content)
        assert len(after.records) == 1 < len(before.records)
    finally:
        axl.updateServiceParameter(
            processNodeName="EnterpriseWideData", service="Enterprise Wide", name=name, value="F"
        )


def test_axl_cucm_dhcp_subnet_update_changes_option150_of_the_scope(rt: LabRuntime) -> None:
    axl = soap(rt, "old", "cucm-old-pub", "axl")
    subnets = axl.listDhcpSubnet(
        searchCriteria={"subnetIpAddress": "%"},
        returnedTags={"subnetIpAddress": "", "primaryTftpServerIpAddress": ""},
    )
    assert [s["subnetIpAddress"] for s in subnets["return"]["dhcpSubnet"]] == ["198.51.100.0"]
    old = rt.lab.option150("scope-b")
    new_tftp = [n.ip for n in rt.lab.cluster("new").nodes_running("Cisco Tftp")]
    try:
        axl.updateDhcpSubnet(
            dhcpServerName="cucm-old-pub",
            subnetIpAddress="198.51.100.0",
            primaryTftpServerIpAddress=new_tftp[0],
            secondaryTftpServerIpAddress=new_tftp[1],
        )
        assert rt.lab.option150("scope-b") == tuple(new_tftp)
    finally:
        rt.lab.set_option150(scope="scope-b", addresses=old)


# ------------------------------------------------------------------------------------- CLI and trust


def test_cli_show_cert_list_trust_reflects_a_model_upload(rt: LabRuntime) -> None:
    cert = rt.lab.identity("new", "cucm-new-sub1", IdentityKind.CALLMANAGER)
    assert cert is not None
    file_name = certs.trust_file_name(cert.cert)
    cli = Cli(rt, "old", "cucm-old-pub")
    try:
        assert f"Phone-SAST-trust/{file_name}" not in cli.run("show cert list trust")
        rt.lab.upload_trust(cluster="old", node="cucm-old-pub", store=PHONE_SAST_TRUST, cert=cert.cert)
        assert f"Phone-SAST-trust/{file_name}" in cli.run("show cert list trust")
    finally:
        cli.close()
        rt.lab.delete_trust(cluster="old", node="cucm-old-pub", store=PHONE_SAST_TRUST, file_name=file_name)
        clock(rt).advance(1)


def test_cli_import_reaches_the_subscriber_only_after_the_replication_lag(rt: LabRuntime) -> None:
    """R7: an upload on the publisher is on a subscriber only ``replication_lag`` seconds later."""
    cert = rt.lab.identity("new", "cucm-new-pub", IdentityKind.ITLRECOVERY)
    assert cert is not None
    pem = certs.certificate_pem(cert.cert).decode()
    file_name = certs.trust_file_name(cert.cert)
    rt.apply_fault(Fault(kind="replication-lag", cluster="old", seconds=LAG))
    pub, sub = Cli(rt, "old", "cucm-old-pub"), Cli(rt, "old", "cucm-old-sub2")
    try:
        pub.chan.send(b"set cert import trust CallManager\n")
        read_until(pub.chan, b"Paste the Certificate and Hit Enter\r\n")
        out = pub.run(pem.replace("\n", "\r") + "\r")
        assert "Successfully imported certificate for CallManager." in out
        assert f"CallManager-trust/{file_name}" in pub.run("show cert list trust")
        assert f"CallManager-trust/{file_name}" not in sub.run("show cert list trust")
        clock(rt).advance(LAG - 1)
        assert f"CallManager-trust/{file_name}" not in sub.run("show cert list trust")
        clock(rt).advance(1)
        assert f"CallManager-trust/{file_name}" in sub.run("show cert list trust")
        delete = pub.run(f"set cert delete CallManager-trust {file_name}", expect=b"(yes|no)? ")
        assert "Proceed" in delete
        assert "Successfully deleted" in pub.run("yes")
    finally:
        pub.close()
        sub.close()
        rt.apply_fault(Fault(kind="replication-lag", cluster="old", off=True))
        clock(rt).advance(LAG)
    assert all(
        e.view.file_name != file_name for e in rt.lab.trust_store("old", "cucm-old-sub2", CALLMANAGER_TRUST)
    )


def test_cli_show_itl_prints_the_verified_records_and_show_version(rt: LabRuntime) -> None:
    cli = Cli(rt, "new", "cucm-new-sub1")
    try:
        out = cli.run("show itl")
        assert "ITL Record #:1" in out and "The ITL file was verified successfully." in out
        assert out.count("FUNCTION") == len(
            tlv.parse(rt.lab.tftp_file("new", "cucm-new-sub1", "ITLFile.tlv") or b"").records
        )
        assert f"Active Master Version: {rt.lab.cluster('new').version}" in cli.run("show version active")
        sql = cli.run("run sql select name from processnode where systemnode = 'f'")
        assert all(n.name in sql for n in rt.lab.cluster("new").nodes)
    finally:
        cli.close()


def test_certmgr_rest_upload_lands_in_the_model_and_replicates(rt: LabRuntime) -> None:
    cert = rt.lab.identity("old", "cucm-old-pub", IdentityKind.CALLMANAGER)
    assert cert is not None
    url = node(rt, "new", "cucm-new-pub")["urls"]["certmgr"] + "config/trust/certificates"
    answer = session(rt, "new", "os").post(
        url,
        json={
            "service": ["Phone-SAST"],
            "certificates": [certs.certificate_pem(cert.cert).decode()],
            "description": "source CallManager (rollback)",
        },
        timeout=5,
    )
    assert answer.status_code == 201, answer.text
    stored = answer.json()["certificates"][0]
    assert stored == {"service": "Phone-SAST-trust", "filename": certs.trust_file_name(cert.cert)}
    clock(rt).advance(1)
    on_sub = rt.lab.trust_store("new", "cucm-new-sub2", PHONE_SAST_TRUST)
    assert any(e.view.fingerprint == certs.sha256_hex(cert.cert) for e in on_sub)
    assert session(rt, "new", "axl").post(url, json={}, timeout=5).status_code == 401  # app user != OS admin
    rt.lab.delete_trust(
        cluster="new", node="cucm-new-pub", store=PHONE_SAST_TRUST, file_name=stored["filename"]
    )
    clock(rt).advance(1)


# ---------------------------------------------------------------------------------- RIS, TFTP, IOS


def test_risport70_shows_the_models_registrations(rt: LabRuntime) -> None:
    rt.faults.allowances["old"].reset()
    ris = soap(rt, "old", "cucm-old-sub1", "risport")
    answer = ris_query(ris, status="Registered")
    expected = sorted(r.device for r in rt.lab.registrations("old") if r.status is RegStatus.REGISTERED)
    assert sorted(ris_names(answer)) == expected and len(expected) == rt.lab.phone_count()
    nodes = {n["Name"] for n in answer["SelectCmDeviceResult"]["CmNodes"]["item"]}
    assert nodes <= set(rt.lab.cluster("old").cm_groups["old-cmg"])
    assert ris_names(ris_query(soap(rt, "new", "cucm-new-pub", "risport"))) == []


def test_tftp_over_http_serves_a_really_signed_itl_that_parses_and_verifies(rt: LabRuntime) -> None:
    tftp = node(rt, "new", "cucm-new-sub1")["urls"]["tftp"]
    data = requests.get(tftp + "ITLFile.tlv", timeout=5).content
    parsed = tlv.parse(data)
    signer = tlv.verify(parsed)
    recovery = rt.lab.identity("new", "cucm-new-pub", IdentityKind.ITLRECOVERY)
    assert (
        recovery is not None and signer.serial_number == recovery.cert.serial_number
    )  # R6: 14.0 signs with ITLRecovery
    tvs = {r.serial_number for r in parsed.records_with_role(tlv.Role.TVS)}
    expected = {
        rt.lab.identity("new", n.name, IdentityKind.TVS).cert.serial_number  # type: ignore[union-attr]
        for n in rt.lab.cluster("new").nodes
    }
    assert tvs == expected
    assert requests.get(tftp + "ITLSEP001B54000001.tlv", timeout=5).content == data
    assert requests.get(tftp + "nothing.txt", timeout=5).status_code == 404
    sub2 = node(rt, "new", "cucm-new-sub2")
    assert sub2["tftp_http"] is None  # no TFTP there: the port refuses connections
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"http://{sub2['host']}:{rt.ports.tftp_http}/ITLFile.tlv", timeout=5)


def test_ios_router_option150_change_reaches_the_model(rt: LabRuntime) -> None:
    ios = next(s for s in rt.inventory["dhcp"]["servers"] if s["kind"] == "ios")
    client = ssh(rt, ios["host"], ios["port"], ios["username"], ios["password_file"])
    old = rt.lab.option150("scope-a")
    new = " ".join(n.ip for n in rt.spec.cluster("new").nodes[:2])  # the target cluster's first two nodes
    try:
        chan = client.invoke_shell()
        read_until(chan, b"Router#")
        for line, prompt in (
            ("configure terminal", b"(config)#"),
            ("ip dhcp pool PHONES-A", b"(dhcp-config)#"),
            (f"option 150 ip {new}", b"(dhcp-config)#"),
            ("end", b"Router#"),
        ):
            chan.send((line + "\n").encode())
            read_until(chan, prompt)
        assert rt.lab.option150("scope-a") == tuple(new.split())
        chan.send(b"show running-config | section ip dhcp pool\n")
        assert f"option 150 ip {new}" in read_until(chan, b"Router#")
    finally:
        client.close()
        rt.lab.set_option150(scope="scope-a", addresses=old)


def test_bulk_export_consolidate_import_through_the_labs_sftp_server(rt: LabRuntime) -> None:
    """R9: both clusters export to the same SFTP directory, one consolidates, the source imports."""
    sftp = rt.inventory["sftp"]
    password = Path(sftp["password_file"]).read_text().strip()
    answers = (
        (b"SFTP Server IP: ", sftp["host"]),
        (b"Port [22]: ", str(sftp["port"])),
        (b"User ID: ", sftp["username"]),
        (b"Password: ", password),
        (b"Directory: ", "/"),
    )
    before = {
        s: {e.view.subject for e in rt.lab.trust_store("old", "cucm-old-pub", s)}
        for s in (CALLMANAGER_TRUST, PHONE_SAST_TRUST)
    }
    try:
        for cluster in ("new", "old"):
            cli = Cli(rt, cluster, rt.lab.cluster(cluster).publisher)
            try:
                cli.chan.send(b"set cert bulk sftp\n")
                for prompt, answer in answers:
                    read_until(cli.chan, prompt)
                    cli.chan.send((answer + "\n").encode())
                assert "Successfully configured" in read_until(cli.chan, b"admin:")
                assert "Successfully exported" in cli.run("set cert bulk export all")
                if cluster == "old":
                    assert "Successfully consolidated" in cli.run("set cert bulk consolidate tftp")
                    assert "Successfully imported tftp" in cli.run("set cert bulk import tftp")
            finally:
                cli.close()
        recovery = rt.lab.identity("new", "cucm-new-pub", IdentityKind.ITLRECOVERY)
        assert recovery is not None
        for store in (CALLMANAGER_TRUST, PHONE_SAST_TRUST):  # TN-215539's mapping
            entries = rt.lab.trust_store("old", "cucm-old-pub", store)
            assert any(e.view.fingerprint == certs.sha256_hex(recovery.cert) for e in entries)
        assert (Path(sftp["root"]) / "consolidated_tftp.pem").exists()
    finally:
        for store, subjects in before.items():
            for e in rt.lab.trust_store("old", "cucm-old-pub", store):
                if e.view.subject not in subjects:
                    rt.lab.delete_trust(
                        cluster="old", node="cucm-old-pub", store=store, subject=e.view.subject
                    )
        clock(rt).advance(1)


# --------------------------------------------------------------------- faults: what a client sees


def test_fault_latency_makes_a_client_with_a_short_timeout_give_up(rt: LabRuntime) -> None:
    url = node(rt, "old", "cucm-old-sub1")["urls"]["axl"] + "?wsdl"
    rt.apply_fault(Fault(kind="latency", node="cucm-old-sub1", face="https", seconds=3.0))
    try:
        with pytest.raises(requests.exceptions.ReadTimeout):
            session(rt, "old").get(url, timeout=0.5)
    finally:
        rt.apply_fault(Fault(kind="latency", node="cucm-old-sub1", face="https", off=True))
    assert session(rt, "old").get(url, timeout=5).status_code == 200


def test_fault_axl_write_throttle_answers_503_to_writes_only(rt: LabRuntime) -> None:
    axl = soap(rt, "new", "cucm-new-pub", "axl")
    rt.apply_fault(Fault(kind="axl-throttle", cluster="new"))
    try:
        with pytest.raises(zeep.exceptions.TransportError) as caught:
            axl.resetPhone(name="SEP001B54000001")
        assert caught.value.status_code == 503
        assert axl.getCCMVersion()["return"]["componentVersion"]["version"] == rt.lab.cluster("new").version
    finally:
        rt.apply_fault(Fault(kind="axl-throttle", cluster="new", off=True))


def test_fault_drop_ssh_cuts_the_session_in_the_middle_of_a_command(rt: LabRuntime) -> None:
    cli = Cli(rt, "old", "cucm-old-sub1")
    rt.apply_fault(Fault(kind="drop-ssh", node="cucm-old-sub1", count=1))
    try:
        out = cli.run("show cert list trust")
        assert not out.rstrip().endswith("admin:")
        assert cli.chan.closed or not cli.client.get_transport().is_active()  # type: ignore[union-attr]
    finally:
        cli.close()
    again = Cli(rt, "old", "cucm-old-sub1")  # the fault was for one command only
    try:
        assert "CallManager-trust/" in again.run("show cert list trust")
    finally:
        again.close()


def test_fault_tvs_fails_to_start_seen_through_controlcenterservices(rt: LabRuntime) -> None:
    ccs = soap(rt, "old", "cucm-old-sub2", "controlcenter")
    tvs = "Cisco Trust Verification Service"
    rt.apply_fault(Fault(kind="tvs-fail", node="cucm-old-sub2"))
    try:
        answer = ccs.soapDoControlServices(
            ControlServiceRequest={
                "NodeName": "cucm-old-sub2",
                "ControlType": "Restart",
                "ServiceList": {"item": [tvs]},
            }
        )
        assert (
            answer["ServiceInfoList"]["item"][0]["ServiceStatus"] == "Stopping"
        )  # returns before it settles
        clock(rt).advance(10)
        item = ccs.soapGetServiceStatus(ServiceStatus=[tvs])["ServiceInfoList"]["item"][0]
        assert (item["ServiceStatus"], item["ReasonCodeString"]) == ("Stopped", "failed to start")
    finally:
        rt.apply_fault(Fault(kind="tvs-fail", node="cucm-old-sub2", off=True))
    ccs.soapDoControlServices(
        ControlServiceRequest={
            "NodeName": "cucm-old-sub2",
            "ControlType": "Start",
            "ServiceList": {"item": [tvs]},
        }
    )
    clock(rt).advance(10)
    assert (
        ccs.soapGetServiceStatus(ServiceStatus=[tvs])["ServiceInfoList"]["item"][0]["ServiceStatus"]
        == "Started"
    )


def test_fault_ris_allowance_exhausted_is_the_soap_fault_cucm_sends(rt: LabRuntime) -> None:
    ris = soap(rt, "new", "cucm-new-sub1", "risport")
    rt.apply_fault(Fault(kind="ris-exhausted", cluster="new"))
    try:
        with pytest.raises(zeep.exceptions.Fault) as caught:
            ris_query(ris)
        assert "Exceeded allowed rate" in caught.value.message
    finally:
        rt.apply_fault(Fault(kind="ris-exhausted", cluster="new", off=True))
    assert ris_query(ris)["SelectCmDeviceResult"]["TotalDevicesFound"] == 0


def test_fault_unreachable_node_refuses_https_and_ssh(rt: LabRuntime) -> None:
    n = node(rt, "new", "cucm-new-sub2")
    rt.apply_fault(Fault(kind="unreachable", node=n["host"]))
    try:
        with pytest.raises(requests.exceptions.ConnectionError):
            session(rt, "new").get(n["urls"]["axl"] + "?wsdl", timeout=5)
        with pytest.raises((paramiko.SSHException, EOFError, OSError)):
            Cli(rt, "new", "cucm-new-sub2")
    finally:
        rt.apply_fault(Fault(kind="unreachable", node=n["host"], off=True))
    Cli(rt, "new", "cucm-new-sub2").close()


# ------------------------------------------------------------------- a move, through the faces only


def test_phones_move_when_trust_tvs_option150_and_reset_go_through_the_faces(rt: LabRuntime) -> None:
    """R4-R8, R12, R13 end to end. Set up through the model: the target's TFTP CallManager certificates
    and ITLRecovery in both stores of the source, option 150 of scope-a (the IOS path has its own test).
    Through the faces: TVS restarted on every source node (ControlCenterServices), phones reset (AXL),
    the move verified on the target (RisPort70)."""
    new_tftp = [n for n in rt.lab.cluster("new").nodes_running("Cisco Tftp")]
    wanted = [rt.lab.identity("new", n.name, IdentityKind.CALLMANAGER) for n in new_tftp]
    wanted.append(rt.lab.identity("new", "cucm-new-pub", IdentityKind.ITLRECOVERY))
    for issued in wanted:
        assert issued is not None
        for store in (CALLMANAGER_TRUST, PHONE_SAST_TRUST):
            rt.lab.upload_trust(cluster="old", node="cucm-old-pub", store=store, cert=issued.cert)
    clock(rt).advance(1)
    tvs = "Cisco Trust Verification Service"
    for n in rt.lab.cluster("old").nodes:
        soap(rt, "old", n.name, "controlcenter").soapDoControlServices(
            ControlServiceRequest={
                "NodeName": n.name,
                "ControlType": "Restart",
                "ServiceList": {"item": [tvs]},
            }
        )
    clock(rt).advance(11)
    old_option = rt.lab.option150("scope-a")
    rt.lab.set_ios_pool_option150(router="ios", pool="PHONES-A", addresses=[n.ip for n in new_tftp])
    phones = [p.name for p in rt.lab.phones(scope="scope-a")][:5]
    axl = soap(rt, "old", "cucm-old-pub", "axl")
    try:
        for name in phones:
            axl.doDeviceReset(deviceName=name, isHardReset=False, deviceResetType="Reset")
        assert rt.wait_booted(60.0)  # the phones reboot over the wire: DHCP, TFTP face, TVS face
        rt.faults.allowances["new"].reset()
        moved = ris_names(ris_query(soap(rt, "new", "cucm-new-pub", "risport"), status="Registered"))
        assert sorted(moved) == sorted(phones)
        assert {rt.lab.phone(p).cluster for p in phones} == {"new"}
    finally:
        rt.lab.set_option150(scope="scope-a", addresses=old_option)
