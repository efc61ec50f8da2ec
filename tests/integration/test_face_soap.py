"""zeep (a real SOAP client) against the AXL, ControlCenterServices and RisPort70 faces over HTTPS.

Each client loads the WSDL from the face at ``?wsdl`` over TLS verified with the lab CA
(``session.trust_env = False`` so REQUESTS_CA_BUNDLE cannot override the CA). Faults show what a client
sees: AXL faults (HTTP 500 + axlError), HTTP 401, the 503 write throttle, the RisPort70 allowance.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import zeep
import zeep.exceptions
from zeep.transports import Transport

from simulator.faces.backends import (
    CallManagerGroup,
    DevicePool,
    PhoneRecord,
    ProcessNode,
    RisDevice,
    ServiceState,
    ServiceStatus,
    SqlResult,
)
from simulator.faces.fakes import FakeNode
from simulator.faces.faults import FaceFaults, QueryAllowance
from simulator.faces.https import Credentials, HttpFaceServer
from simulator.faces.node import node_https_server
from simulator.faces.tls import LabCa, issue_server_cert, server_context

pytestmark = pytest.mark.lab

APP = Credentials("axladmin", "axl-secret")
OS = Credentials("admin", "os-secret")
HOST = "127.0.10.1"


def _node(version: str) -> FakeNode:
    node = FakeNode(name="cucm-pub", version=version)
    node.nodes = [
        ProcessNode("cucm-pub", "{N1}", node_usage="Publisher"),
        ProcessNode("cucm-sub1", "{N2}"),
    ]
    node.parameters[("EnterpriseWideData", "Enterprise Wide", "PrepareClusterForRollback")] = "F"
    node.phones = [
        PhoneRecord(f"SEP0000000000{i:02X}", f"{{PH{i}}}", description=f"phone {i}", device_pool_name="dp-a")
        for i in range(30)
    ]
    node.groups = [CallManagerGroup("old-cmg", "{G1}", members=(("cucm-sub1", 1), ("cucm-sub2", 2)))]
    node.pools = [DevicePool("dp-a", "{DP1}", "old-cmg")]
    node.servers = [
        {"uuid": "{D1}", "processNodeName": "cucm-pub", "primaryTftpServerIpAddress": "127.0.10.1"}
    ]
    node.subnets = [
        {
            "uuid": "{S1}",
            "dhcpServerName": "cucm-pub",
            "subnetIpAddress": "198.51.100.0",
            "subnetMask": "255.255.255.0",
            "primaryTftpServerIpAddress": "127.0.10.1",
            "secondaryTftpServerIpAddress": "127.0.10.2",
        }
    ]
    node.sql["select paramname,paramvalue from processconfig where paramname='clustersecuritymode'"] = (
        SqlResult(("paramname", "paramvalue"), (("ClusterSecurityMode", "1"),))
    )
    node.services = {
        "Cisco Tftp": ServiceState("Cisco Tftp", ServiceStatus.STARTED),
        "Cisco Trust Verification Service": ServiceState(
            "Cisco Trust Verification Service", ServiceStatus.STARTED
        ),
    }
    node.failing_services = {"Cisco Trust Verification Service"}
    node.devices = [
        RisDevice(
            f"SEP0000000000{i:02X}",
            node=("cucm-sub1" if i % 2 else "cucm-sub2"),
            status="Registered",
            ip_address=f"192.0.2.{i + 10}",
        )
        for i in range(30)
    ]
    return node


class Lab:
    def __init__(self, tmp: Path, version: str) -> None:
        ca = LabCa.create()
        self.ca_file = tmp / "ca.pem"
        self.ca_file.write_bytes(ca.cert_pem)
        self.backend = _node(version)
        self.faults = FaceFaults()
        self.allowance = QueryAllowance(15)
        self.server: HttpFaceServer = node_https_server(
            name="cucm-pub-https",
            host=HOST,
            port=0,
            tls=server_context(issue_server_cert(ca, hostname="cucm-pub", ip=HOST)),
            version=version,
            app_user=APP,
            os_admin=OS,
            axl=self.backend,
            services=self.backend,
            ris=self.backend,
            certmgr=self.backend,
            faults=self.faults,
            ris_allowance=self.allowance,
        ).start()
        self.url = self.server.base_url

    def session(self, creds: Credentials = APP) -> requests.Session:
        s = requests.Session()
        s.trust_env = False
        s.verify = str(self.ca_file)
        s.auth = (creds.user, creds.password)
        return s

    def client(self, path: str, creds: Credentials = APP) -> zeep.Client:
        return zeep.Client(f"{self.url}{path}?wsdl", transport=Transport(session=self.session(creds)))


@pytest.fixture(params=["11.5.1.21900-40", "14.0.1.11900-132"])
def lab(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Lab]:
    lab = Lab(tmp_path, request.param)
    try:
        yield lab
    finally:
        lab.server.stop()


def _axl(lab: Lab) -> zeep.proxy.ServiceProxy:
    return lab.client("/axl/").service


def test_axl_wsdl_is_served_with_node_address_and_version_namespace(lab: Lab) -> None:
    text = lab.session().get(f"{lab.url}/axl/?wsdl", timeout=5).text
    ver = ".".join(lab.backend.version.split(".")[:2])
    assert f'location="{lab.url}/axl/"' in text
    assert f"http://www.cisco.com/AXL/API/{ver}" in text and f"CUCM:DB ver={ver} getPhone" in text


def test_axl_reads(lab: Lab) -> None:
    axl = _axl(lab)
    assert axl.getCCMVersion()["return"]["componentVersion"]["version"] == lab.backend.version
    nodes = axl.listProcessNode(searchCriteria={"name": "%"}, returnedTags={"name": "", "nodeUsage": ""})
    names = [n["name"] for n in nodes["return"]["processNode"]]
    assert names == ["EnterpriseWideData", "cucm-pub", "cucm-sub1"]
    assert nodes["return"]["processNode"][1]["nodeUsage"] == "Publisher"
    param = axl.getServiceParameter(
        processNodeName="EnterpriseWideData", name="PrepareClusterForRollback", service="Enterprise Wide"
    )
    assert param["return"]["serviceParameter"]["value"] == "F"
    rows = axl.executeSQLQuery(
        sql="select paramname,paramvalue from processconfig where paramname='ClusterSecurityMode'"
    )
    row = rows["return"]["row"][0]
    assert {el.tag: el.text for el in row} == {"paramname": "ClusterSecurityMode", "paramvalue": "1"}
    group = axl.getCallManagerGroup(name="old-cmg")["return"]["callManagerGroup"]
    assert [(m["callManagerName"]["_value_1"], m["priority"]) for m in group["members"]["member"]] == [
        ("cucm-sub1", "1"),
        ("cucm-sub2", "2"),
    ]
    pools = axl.listDevicePool(
        searchCriteria={"callManagerGroupName": "old-cmg"},
        returnedTags={"name": "", "callManagerGroupName": ""},
    )
    assert pools["return"]["devicePool"][0]["name"] == "dp-a"


def test_axl_list_phone_pages_with_skip_and_first(lab: Lab) -> None:
    axl = _axl(lab)
    seen: list[str] = []
    for skip in range(0, 40, 8):
        page = axl.listPhone(
            searchCriteria={"name": "SEP%"},
            returnedTags={"name": "", "devicePoolName": ""},
            skip=skip,
            first=8,
        )
        seen += [p["name"] for p in (page["return"] or {"phone": []})["phone"]]
    assert seen == [p.name for p in lab.backend.phones]
    phone = axl.getPhone(name="SEP000000000003")["return"]["phone"]
    assert phone["devicePoolName"]["_value_1"] == "dp-a"


def test_axl_writes_reach_the_backend(lab: Lab) -> None:
    axl = _axl(lab)
    axl.updateServiceParameter(
        processNodeName="EnterpriseWideData",
        name="PrepareClusterForRollback",
        service="Enterprise Wide",
        value="T",
    )
    axl.doDeviceReset(deviceName="SEP000000000001", isHardReset=True)
    axl.restartPhone(name="SEP000000000002")
    axl.updateDhcpSubnet(
        dhcpServerName="cucm-pub",
        subnetIpAddress="198.51.100.0",
        primaryTftpServerIpAddress="127.0.20.1",
        secondaryTftpServerIpAddress="127.0.20.2",
    )
    subnet = axl.listDhcpSubnet(
        searchCriteria={"dhcpServerName": "cucm-pub"},
        returnedTags={"subnetIpAddress": "", "primaryTftpServerIpAddress": ""},
    )
    assert subnet["return"]["dhcpSubnet"][0]["primaryTftpServerIpAddress"] == "127.0.20.1"
    assert (
        "reset",
        ("SEP000000000001", pytest.importorskip("simulator.faces.backends").ResetMode.RESET, True),
    ) in lab.backend.writes
    assert (
        lab.backend.parameters[("EnterpriseWideData", "Enterprise Wide", "PrepareClusterForRollback")] == "T"
    )


def test_axl_fault_is_http_500_with_axlerror(lab: Lab) -> None:
    with pytest.raises(zeep.exceptions.Fault) as caught:
        _axl(lab).getPhone(name="SEPFFFFFFFFFFFF")
    assert "not found" in caught.value.message
    assert caught.value.detail.find("axlError/axlcode").text == "5007"
    raw = lab.session().post(
        f"{lab.url}/axl/",
        timeout=5,
        headers={"SOAPAction": "CUCM:DB ver=14.0"},
        data=b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>'
        b'<a:updateDhcpServer xmlns:a="http://www.cisco.com/AXL/API/11.5">'
        b"<processNodeName>nope</processNodeName></a:updateDhcpServer></e:Body></e:Envelope>",
    )
    assert raw.status_code == 500 and b"<axlcode>5003</axlcode>" in raw.content


def test_axl_bad_credentials_are_http_401(lab: Lab) -> None:
    with pytest.raises(requests.HTTPError) as caught:
        lab.client("/axl/", Credentials("axladmin", "wrong"))
    assert caught.value.response.status_code == 401
    assert "HTTP Status 401" in caught.value.response.text


def test_axl_write_throttle_answers_503_and_reads_still_work(lab: Lab) -> None:
    axl = _axl(lab)
    lab.faults.axl_write_throttle = True
    with pytest.raises(zeep.exceptions.TransportError) as caught:
        axl.resetPhone(name="SEP000000000001")
    assert caught.value.status_code == 503
    assert axl.getPhone(name="SEP000000000001")["return"]["phone"]["name"] == "SEP000000000001"
    lab.faults.axl_write_throttle = False
    axl.resetPhone(name="SEP000000000001")
    assert [w for w in lab.backend.writes if w[0] == "reset"] == [
        ("reset", ("SEP000000000001", pytest.importorskip("simulator.faces.backends").ResetMode.RESET, False))
    ]


def test_control_center_services(lab: Lab) -> None:
    ccs = lab.client("/controlcenterservice2/services/ControlCenterServices").service
    status = ccs.soapGetServiceStatus(ServiceStatus=[""])
    assert {i["ServiceName"]: i["ServiceStatus"] for i in status["ServiceInfoList"]["item"]} == {
        "Cisco Tftp": "Started",
        "Cisco Trust Verification Service": "Started",
    }
    answer = ccs.soapDoControlServices(
        ControlServiceRequest={
            "NodeName": "cucm-pub",
            "ControlType": "Restart",
            "ServiceList": {"item": ["Cisco Tftp", "Cisco Trust Verification Service"]},
        }
    )
    assert [i["ServiceStatus"] for i in answer["ServiceInfoList"]["item"]] == ["Starting", "Stopped"]
    after = ccs.soapGetServiceStatus(ServiceStatus=["Cisco Trust Verification Service"])
    assert after["ServiceInfoList"]["item"][0]["ServiceStatus"] == "Stopped"
    static = ccs.soapGetStaticServiceList(ServiceInformationResponse="")
    assert [s["ServiceName"] for s in static["item"]] == list(lab.backend.services)  # zeep unwraps Services


def _ris_query(ris: zeep.proxy.ServiceProxy, state: str = "", max_devices: int = 1000) -> dict:
    return ris.selectCmDevice(
        StateInfo=state,
        CmSelectionCriteria={
            "MaxReturnedDevices": max_devices,
            "DeviceClass": "Phone",
            "Model": 255,
            "Status": "Any",
            "NodeName": "",
            "SelectBy": "Name",
            "SelectItems": {"item": [{"Item": "SEP*"}]},
            "Protocol": "Any",
            "DownloadStatus": "Any",
        },
    )


def test_risport_pages_with_stateinfo(lab: Lab) -> None:
    ris = lab.client("/realtimeservice2/services/RISService70").service
    names: list[str] = []
    state = ""
    for _ in range(10):
        answer = _ris_query(ris, state, max_devices=7)
        assert answer["SelectCmDeviceResult"]["TotalDevicesFound"] == 30
        for node in answer["SelectCmDeviceResult"]["CmNodes"]["item"]:
            names += [d["Name"] for d in node["CmDevices"]["item"]]
        state = answer["StateInfo"]
        if not state:
            break
    assert sorted(names) == sorted(d.name for d in lab.backend.devices)


def test_risport_cap_depends_on_version(lab: Lab) -> None:
    lab.backend.devices = [
        RisDevice(f"SEP{i:012X}", node="cucm-sub1", status="Registered") for i in range(2500)
    ]
    ris = lab.client("/realtimeservice2/services/RISService70").service
    answer = _ris_query(ris, max_devices=5000)
    got = sum(len(n["CmDevices"]["item"]) for n in answer["SelectCmDeviceResult"]["CmNodes"]["item"])
    assert got == (2000 if lab.backend.version.startswith("14") else 1000)
    assert answer["StateInfo"]


def test_risport_allowance_exhausted_is_a_soap_fault(lab: Lab) -> None:
    ris = lab.client("/realtimeservice2/services/RISService70").service
    lab.allowance.per_minute = 3
    for _ in range(3):
        _ris_query(ris)
    with pytest.raises(zeep.exceptions.Fault) as caught:
        _ris_query(ris)
    assert "Exceeded allowed rate" in caught.value.message
    lab.allowance.reset()
    lab.allowance.exhaust()
    with pytest.raises(zeep.exceptions.Fault):
        _ris_query(ris)


def test_latency_is_added_before_each_answer(lab: Lab) -> None:
    events: list[str] = []
    lab.faults.latency_s = 0.3
    session = lab.session()

    def call() -> None:
        events.append("start")
        session.get(f"{lab.url}/axl/?wsdl", timeout=5)
        events.append("answered")

    worker = threading.Thread(target=call)
    worker.start()
    worker.join(0.1)
    assert events == ["start"], "the answer came before the injected latency elapsed"
    worker.join(5)
    assert events == ["start", "answered"]


def test_stop_leaves_no_threads(tmp_path: Path) -> None:
    before = set(threading.enumerate())
    lab = Lab(tmp_path, "14.0.1.11900-132")
    session = lab.session()
    session.get(f"{lab.url}/axl/?wsdl", timeout=5)  # keep-alive connection stays open
    lab.server.stop()
    assert set(threading.enumerate()) <= before
