"""The lab's AXL face against a client built on a Cisco-toolkit-shaped WSDL (issue 5 item 1).

The WSDL is tests/fixtures/cisco_toolkit_like (our own text laid out like Cisco's AXL toolkit: a WSDL
importing AXLSoap.xsd, which includes AXLEnums.xsd; named Req/Res types; XFkType references; uuid-or-key
choices; see its README). zeep loads it from disk in its default strict mode, so every answer of the face
must also parse against that schema. Requests conform to the fixture's schema, including the forms our
own subset never sends (by uuid instead of key, references given as ``{"_value_1", "uuid"}``). Everything
is HTTPS verified with the lab CA; every assertion compares with the model behind the lab.

The product's own ``AxlClient`` is also run with ``axl_wsdl`` pointing at the fixture (the YAML option).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import zeep
import zeep.exceptions
from pydantic import SecretStr
from zeep.plugins import HistoryPlugin
from zeep.transports import Transport

from providers.cucm_axl import NO_SUCH_OPERATION, AxlClient, PhoneFilter, ResetKind
from providers.transports.soap import CucmEndpoint, axl_version_tag, open_session
from reconciler.errors import RemoteFaultError
from simulator.lab.runtime import LabRuntime
from simulator.model import ManualClock
from simulator.spec import default_lab
from tests.loopback import Loopback

pytestmark = pytest.mark.lab
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "cisco_toolkit_like"
BINDING = "{http://www.cisco.com/AXLAPIService/}AXLAPIBinding"
FILES = ("AXLAPI.wsdl", "AXLSoap.xsd", "AXLEnums.xsd")
EW, EW_SERVICE = "EnterpriseWideData", "Enterprise Wide"
ROLLBACK = "Prepare Cluster for Rollback to pre 8.0"
CUCM_DHCP = "old-dhcp"  # the default lab's DHCP source served by cluster old's CUCM DHCP server


@pytest.fixture(scope="module")
def rt(tmp_path_factory: pytest.TempPathFactory, loopback: Loopback) -> Iterator[LabRuntime]:
    with loopback.lease() as lease:
        runtime = LabRuntime(
            directory=tmp_path_factory.mktemp("lab"),
            spec=default_lab(phones_per_scope=12),
            prefix=lease.prefix,
            ports=lease.ports,
            restart_duration=1.0,
            clock=ManualClock(start=time.time()),
        ).start()
        try:
            yield runtime
        finally:
            runtime.stop()


@pytest.fixture(scope="module")
def toolkits(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The fixture per AXL release: 14.0 as shipped, 11.5 with the release string replaced (as Cisco
    ships one toolkit per release)."""
    out = {"14.0": FIXTURE / "AXLAPI.wsdl"}
    target = tmp_path_factory.mktemp("toolkit-11.5")
    for name in FILES:
        text = (FIXTURE / name).read_text(encoding="utf-8")
        text = text.replace("AXL/API/14.0", "AXL/API/11.5").replace("ver=14.0 ", "ver=11.5 ")
        (target / name).write_text(text.replace('version="14.0"', 'version="11.5"'), encoding="utf-8")
    out["11.5"] = target / "AXLAPI.wsdl"
    return out


def clock(rt: LabRuntime) -> ManualClock:
    c = rt.lab.clock
    assert isinstance(c, ManualClock)
    return c


def credentials(rt: LabRuntime, cluster: str) -> tuple[str, str]:
    cred = rt.inventory["clusters"][cluster]["credentials"]["axl"]
    return cred["username"], Path(cred["password_file"]).read_text().strip()


def axl_url(rt: LabRuntime, cluster: str) -> str:
    pub = rt.lab.cluster(cluster).publisher
    return str(rt.inventory["clusters"][cluster]["nodes"][pub]["urls"]["axl"])


class Toolkit:
    """A zeep client of one cluster's publisher built from the toolkit-shaped WSDL on disk."""

    def __init__(self, rt: LabRuntime, cluster: str, toolkits: dict[str, Path]) -> None:
        self.release = axl_version_tag(rt.lab.cluster(cluster).version)
        self.wsdl = toolkits[self.release]
        session = requests.Session()
        session.trust_env = False  # REQUESTS_CA_BUNDLE must not override the lab CA
        session.verify = rt.inventory["ca_bundle"]
        session.auth = credentials(rt, cluster)
        self.history = HistoryPlugin()  # type: ignore[no-untyped-call]
        transport = Transport(session=session)  # type: ignore[no-untyped-call]
        client = zeep.Client(str(self.wsdl), transport=transport, plugins=[self.history])  # type: ignore[no-untyped-call]
        self.service = client.create_service(BINDING, axl_url(rt, cluster))  # type: ignore[no-untyped-call]

    def last_sent(self) -> tuple[str, Any]:
        sent = self.history.last_sent
        return sent["http_headers"]["SOAPAction"], sent["envelope"]


@pytest.fixture(scope="module")
def old(rt: LabRuntime, toolkits: dict[str, Path]) -> Toolkit:
    return Toolkit(rt, "old", toolkits)


def ref(value: Any) -> str:
    """The text of an XFkType answer (``_value_1``)."""
    return str(value["_value_1"]) if value is not None and not isinstance(value, str) else str(value or "")


def pages(call: Any, key: str, *, size: int, limit: int = 100, **kwargs: Any) -> list[Any]:
    out: list[Any] = []
    for page in range(limit):  # bounded
        found = call(skip=page * size, first=size, **kwargs)["return"]
        items = list(found[key] or []) if found is not None else []
        out.extend(items)
        if len(items) < size:
            return out
    raise AssertionError("paging did not end")


# --------------------------------------------------------------------------------- version and nodes


@pytest.mark.parametrize("cluster", ["old", "new"])
def test_version_and_process_nodes_come_from_the_model(
    rt: LabRuntime, toolkits: dict[str, Path], cluster: str
) -> None:
    axl = Toolkit(rt, cluster, toolkits)
    info = rt.lab.cluster(cluster)
    answer = axl.service.getCCMVersion(processNodeName=info.publisher)
    assert answer["return"]["componentVersion"]["version"] == info.version
    action, envelope = axl.last_sent()
    assert action.strip('"') == f"CUCM:DB ver={axl.release} getCCMVersion"
    op = envelope.find("{http://schemas.xmlsoap.org/soap/envelope/}Body")[0]
    assert op.tag == f"{{http://www.cisco.com/AXL/API/{axl.release}}}getCCMVersion"
    assert [c.tag for c in op] == ["processNodeName"]  # unqualified child

    nodes = axl.service.listProcessNode(
        searchCriteria={"name": "%", "processNodeRole": "CUCM Voice/Video"},
        returnedTags={"name": "", "nodeUsage": "", "processNodeRole": ""},
    )["return"]["processNode"]
    assert [n["name"] for n in nodes] == [EW, *(n.name for n in info.nodes)]
    usage = {n["name"]: n["nodeUsage"] for n in nodes[1:]}
    assert usage == {n.name: "Publisher" if n.publisher else "Subscriber" for n in info.nodes}
    assert all(n["uuid"] for n in nodes)
    assert nodes[1]["description"] is None  # not asked for in returnedTags, so not sent

    one = axl.service.listProcessNode(searchCriteria={"name": info.publisher}, returnedTags={"name": ""})
    assert [n["name"] for n in one["return"]["processNode"]] == [info.publisher]


# ------------------------------------------------------------------------------- service parameters


def test_rollback_parameter_by_key_and_by_uuid_reads_and_writes_the_model(
    rt: LabRuntime, old: Toolkit
) -> None:
    """R2 through toolkit-shaped requests: list, get by key and by uuid, update by key and by uuid."""
    listed = pages(
        old.service.listServiceParameter,
        "serviceParameter",
        size=1,
        searchCriteria={"processNodeName": EW, "service": EW_SERVICE},
        returnedTags={"processNodeName": "", "name": "", "service": "", "value": "", "valueType": ""},
    )
    by_name = {p["name"]: p for p in listed}
    internal = next(n for n in by_name if "ollback" in n)
    param = by_name[internal]
    assert ref(param["processNodeName"]) == EW and param["service"] == EW_SERVICE
    assert param["valueType"] == "Boolean"
    model_value = rt.lab.enterprise_parameter("old", ROLLBACK)
    assert param["value"] == ("T" if model_value == "True" else "F")
    assert len(listed) == len(rt.lab.enterprise_parameters("old"))

    key = {"processNodeName": {"_value_1": EW}, "name": internal, "service": EW_SERVICE}
    got = old.service.getServiceParameter(**key, returnedTags={"name": "", "value": ""})
    assert got["return"]["serviceParameter"]["value"] == param["value"]
    by_uuid = old.service.getServiceParameter(uuid=param["uuid"])["return"]["serviceParameter"]
    assert (by_uuid["name"], by_uuid["value"]) == (internal, param["value"])
    assert by_uuid["uuid"] == param["uuid"]

    try:
        old.service.updateServiceParameter(**key, value="T")
        assert rt.lab.enterprise_parameter("old", ROLLBACK) == "True"
        answer = old.service.updateServiceParameter(uuid=param["uuid"], value="F")
        assert rt.lab.enterprise_parameter("old", ROLLBACK) == "False"
        assert answer["return"] == param["uuid"]
    finally:
        rt.lab.set_enterprise_parameter(cluster="old", name=ROLLBACK, value=model_value or "False")


def test_sql_rows_are_the_models_tables(rt: LabRuntime, old: Toolkit) -> None:
    rows = old.service.executeSQLQuery(sql="select name, systemnode from processnode")["return"]["row"]
    table = [{el.tag: el.text or "" for el in row} for row in rows]  # rows are open content (lxml)
    assert [r["name"] for r in table] == [EW, *(n.name for n in rt.lab.cluster("old").nodes)]
    assert [r["systemnode"] for r in table] == ["t"] + ["f"] * len(rt.lab.cluster("old").nodes)
    services = old.service.executeSQLQuery(
        sql="select pns.servername, ts.name as service from processnodeservice pns, typeservice ts "
        "where pns.tkservice = ts.enum"
    )["return"]["row"]
    got = {(r[0].text, r[1].text) for r in services}
    assert got == {(n.name, s) for n in rt.lab.cluster("old").nodes for s in n.services}


# ------------------------------------------------------------------------------------------- phones


def test_phones_paged_with_skip_and_first_are_the_models_phones(rt: LabRuntime, old: Toolkit) -> None:
    phones = pages(
        old.service.listPhone,
        "phone",
        size=7,
        searchCriteria={"name": "SEP%"},
        returnedTags={"name": "", "model": "", "devicePoolName": "", "securityProfileName": ""},
    )
    model = rt.lab.phones()
    assert [p["name"] for p in phones] == [p.name for p in model]
    assert {p["name"]: ref(p["devicePoolName"]) for p in phones} == {p.name: p.device_pool for p in model}
    assert {p["model"] for p in phones} == {p.model for p in model}

    pool = model[0].device_pool
    in_pool = pages(
        old.service.listPhone,
        "phone",
        size=5,
        searchCriteria={"devicePoolName": pool},
        returnedTags={"name": ""},
    )
    assert [p["name"] for p in in_pool] == [p.name for p in model if p.device_pool == pool]

    first = phones[0]
    by_name = old.service.getPhone(name=first["name"])["return"]["phone"]
    by_uuid = old.service.getPhone(uuid=first["uuid"], returnedTags={"name": "", "devicePoolName": ""})
    assert by_name["uuid"] == first["uuid"]
    assert by_uuid["return"]["phone"]["name"] == first["name"]
    assert ref(by_uuid["return"]["phone"]["devicePoolName"]) == model[0].device_pool


def test_resets_by_name_by_uuid_and_by_device_reference_boot_the_phone(rt: LabRuntime, old: Toolkit) -> None:
    """R12: each reset form re-registers the phone (its registration time becomes the model's now)."""
    mine = [p for p in rt.lab.phones() if p.cluster == "old"][:4]
    assert len(mine) == 4
    uuids = {
        p.name: old.service.getPhone(name=p.name, returnedTags={"name": ""})["return"]["phone"]["uuid"]
        for p in mine
    }
    calls: list[Callable[[Any], Any]] = [
        lambda p: old.service.resetPhone(name=p.name),
        lambda p: old.service.restartPhone(uuid=uuids[p.name]),
        lambda p: old.service.doDeviceReset(
            deviceName=p.name, isHardReset="false", deviceResetType="Reset", isMGCP="false"
        ),
        lambda p: old.service.doDeviceReset(
            deviceName={"_value_1": "", "uuid": uuids[p.name]}, isHardReset="true", deviceResetType="Restart"
        ),
    ]
    for phone, call in zip(mine, calls, strict=True):
        clock(rt).advance(5)
        untouched = rt.lab.phone(mine[0].name).timestamp if phone is not mine[0] else None
        answer = call(phone)
        assert answer["return"] == uuids[phone.name]
        assert rt.wait_booted(60.0)  # the phone reboots over the wire (the manual clock stands still)
        assert rt.lab.phone(phone.name).timestamp == clock(rt).now()
        if untouched is not None:
            assert rt.lab.phone(mine[0].name).timestamp == untouched  # only the named phone


def axlcode(fault: zeep.exceptions.Fault) -> list[str | None]:
    return [el.text for el in fault.detail.iter() if el.tag == "axlcode"]


def test_unknown_objects_are_the_axl_faults_cucm_sends(old: Toolkit) -> None:
    """get of a missing item: 5007; update of a missing item: 5003 (also when named by uuid)."""
    with pytest.raises(zeep.exceptions.Fault) as caught:
        old.service.getPhone(name="SEP000000000000")
    assert axlcode(caught.value) == ["5007"]
    missing = "{00000000-0000-0000-0000-00000000BEEF}"
    with pytest.raises(zeep.exceptions.Fault) as caught:
        old.service.getServiceParameter(uuid=missing)
    assert axlcode(caught.value) == ["5007"]
    with pytest.raises(zeep.exceptions.Fault) as caught:
        old.service.updateServiceParameter(uuid=missing, value="T")
    assert axlcode(caught.value) == ["5003"]


# --------------------------------------------------------------------- CallManager groups and pools


def test_callmanager_groups_and_members_come_from_the_model(rt: LabRuntime, old: Toolkit) -> None:
    info = rt.lab.cluster("old")
    listed = old.service.listCallManagerGroup(
        searchCriteria={"name": "%"}, returnedTags={"name": "", "tftpDefault": ""}
    )["return"]["callManagerGroup"]
    assert [g["name"] for g in listed] == list(info.cm_groups)
    for group in listed:
        tags = {"name": "", "members": {"member": [{"callManagerName": "", "priority": ""}]}}
        got = old.service.getCallManagerGroup(name=group["name"], returnedTags=tags)
        members = got["return"]["callManagerGroup"]["members"]["member"]
        ordered = sorted(members, key=lambda m: int(m["priority"]))
        assert tuple(ref(m["callManagerName"]) for m in ordered) == info.cm_groups[group["name"]]
        again = old.service.getCallManagerGroup(uuid=group["uuid"])["return"]["callManagerGroup"]
        assert again["name"] == group["name"]
    pools = old.service.listDevicePool(
        searchCriteria={"callManagerGroupName": listed[0]["name"]},
        returnedTags={"name": "", "callManagerGroupName": ""},
    )["return"]["devicePool"]
    expected = sorted(p for p, g in info.device_pools.items() if g == listed[0]["name"])
    assert sorted(p["name"] for p in pools) == expected
    assert {ref(p["callManagerGroupName"]) for p in pools} == {listed[0]["name"]}


# ------------------------------------------------------------------------------------------ DHCP


def test_cucm_dhcp_update_by_key_and_by_uuid_changes_option150(rt: LabRuntime, old: Toolkit) -> None:
    pub = rt.lab.cluster("old").publisher
    servers = old.service.listDhcpServer(
        searchCriteria={"processNodeName": "%"}, returnedTags={"processNodeName": "", "domainName": ""}
    )["return"]["dhcpServer"]
    assert [ref(s["processNodeName"]) for s in servers] == [pub]
    server = old.service.getDhcpServer(processNodeName={"_value_1": pub})["return"]["dhcpServer"]
    assert server["uuid"] == servers[0]["uuid"]

    subnets = old.service.listDhcpSubnet(
        searchCriteria={"dhcpServerName": pub},
        returnedTags={"subnetIpAddress": "", "subnetMask": "", "primaryTftpServerIpAddress": ""},
    )["return"]["dhcpSubnet"]
    scope = next(s for s in rt.lab.scopes() if s.source == CUCM_DHCP)
    net = scope.network()
    assert [(s["subnetIpAddress"], s["subnetMask"]) for s in subnets] == [
        (str(net.network_address), str(net.netmask))
    ]
    key = {"dhcpServerName": {"_value_1": pub}, "subnetIpAddress": str(net.network_address)}
    got = old.service.getDhcpSubnet(**key)["return"]["dhcpSubnet"]
    assert ref(got["dhcpServerName"]) == pub
    assert got["primaryTftpServerIpAddress"] == (rt.lab.option150(scope.name) or ("",))[0]

    before = rt.lab.option150(scope.name)
    new_tftp = [n.ip for n in rt.lab.cluster("new").nodes_running("Cisco Tftp")]
    try:
        old.service.updateDhcpSubnet(
            **key, primaryTftpServerIpAddress=new_tftp[0], secondaryTftpServerIpAddress=new_tftp[1]
        )
        assert rt.lab.option150(scope.name) == tuple(new_tftp[:2])
        old.service.updateDhcpSubnet(
            uuid=got["uuid"], primaryTftpServerIpAddress=new_tftp[1], secondaryTftpServerIpAddress=""
        )
        assert rt.lab.option150(scope.name) == (new_tftp[1],)
        answer = old.service.updateDhcpServer(processNodeName={"_value_1": pub}, domainName="lab.example")
        assert answer["return"] == servers[0]["uuid"]
        again = old.service.getDhcpServer(uuid=servers[0]["uuid"], returnedTags={"domainName": ""})
        assert again["return"]["dhcpServer"]["domainName"] == "lab.example"
    finally:
        rt.lab.set_option150(scope=scope.name, addresses=before)


# ----------------------------------------------------------------- the product's AxlClient, axl_wsdl


def test_the_products_axl_client_works_with_a_toolkit_shaped_axl_wsdl(
    rt: LabRuntime, toolkits: dict[str, Path], tmp_path: Path
) -> None:
    """``axl_wsdl`` (the YAML option) pointing at a toolkit laid out in its own directory, used as is."""
    info = rt.lab.cluster("old")
    release = axl_version_tag(info.version)
    here = tmp_path / "toolkit"
    shutil.copytree(toolkits[release].parent, here)  # only the three files; imports resolve beside it
    pub = rt.inventory["clusters"]["old"]["nodes"][info.publisher]["https"]
    endpoint = CucmEndpoint(
        cluster="old",
        node=info.publisher,
        host=pub["host"],
        port=int(pub["port"]),
        version=info.version,
        ca_bundle=Path(rt.inventory["ca_bundle"]),
        axl_wsdl=here / "AXLAPI.wsdl",
    )
    user, password = credentials(rt, "old")
    with AxlClient(
        endpoint=endpoint,
        session=open_session(endpoint, user=user, password=SecretStr(password)),
        page_size=5,
    ) as axl:
        binding = axl._service._binding  # the proxy really is built from the fixture
        assert Path(binding.wsdl.location) == here / "AXLAPI.wsdl"
        assert binding.name.localname == "AXLAPIBinding"

        assert axl.version() == info.version
        assert [n.name for n in axl.process_nodes()] == [n.name for n in info.nodes]
        services = {(s.node, s.service) for s in axl.node_services()}
        assert services == {(n.name, s) for n in info.nodes for s in n.services}
        rollback = axl.rollback_parameter()
        assert rollback is not None and "ollback" in rollback.name
        assert [p.name for p in axl.phones()] == [p.name for p in rt.lab.phones()]
        group = next(iter(info.cm_groups))
        in_group = [p.name for p in axl.phones(PhoneFilter(callmanager_group=group))]
        pools = {p for p, g in info.device_pools.items() if g == group}
        assert sorted(in_group) == sorted(p.name for p in rt.lab.phones() if p.device_pool in pools)
        assert {g.name: g.members for g in axl.callmanager_groups()} == dict(info.cm_groups)
        scope = next(s for s in rt.lab.scopes() if s.source == CUCM_DHCP)
        subnets = axl.dhcp_subnets()
        assert [(s.server, s.subnet) for s in subnets] == [
            (info.publisher, str(scope.network().network_address))
        ]

        phone = next(p for p in rt.lab.phones() if p.cluster == "old")
        clock(rt).advance(5)
        axl.reset_phone(phone.name, kind=ResetKind.RESET, via="device")
        assert rt.lab.phone(phone.name).timestamp == clock(rt).now()

        # this toolkit has no resetDevicePool: the client says so (the reset step goes per phone), no call
        ops = len(rt.lab.operation_log)
        with pytest.raises(RemoteFaultError) as unknown:
            axl.reset_device_pool("DP-PHONES")
        assert unknown.value.code == NO_SUCH_OPERATION and len(rt.lab.operation_log) == ops

        before = rt.lab.option150(scope.name)
        new_tftp = [n.ip for n in rt.lab.cluster("new").nodes_running("Cisco Tftp")]
        try:
            axl.update_dhcp_subnet_tftp(
                server=info.publisher, subnet=subnets[0].subnet, primary=new_tftp[0], secondary=new_tftp[1]
            )
            assert rt.lab.option150(scope.name) == tuple(new_tftp[:2])
        finally:
            rt.lab.set_option150(scope=scope.name, addresses=before)
