"""The clients against the lab's faces in every ``WireDialect`` combination that matters (real SSH, real
HTTPS/SOAP on 127.0.0.1 with port 0, backed by ``FakeNode``). Each case is a point where the public
evidence showed the old shared guess was wrong (docs/cucm-interfaces.md, "Later public evidence"):

- certmgr REST names a trust store by its unit (``CallManager``); the YAML's ``certmgr_service_name``
  reaches the client and a mismatch with the node is an error, never a silent success;
- ``show cert trust`` without a PEM block and with ``CN=X, OU=Y`` (or RFC 4514) names and hex or decimal
  serials: the trust provider still finds the certificate (no re-import, R7 verify passes);
- an unsupported ``set cert delete`` (``No valid command entered`` or ``Executed command unsuccessfully``)
  is a failure, and a delete is read back;
- the ANSI-wrapped pager (pagination that cannot be turned off), including a page break right at the
  end (``admin:`` after the erase-line), loses no row and finds the prompt;
- TVS freshness from ``UpTime`` whatever ``StartTime`` looks like (R8), unknown when only a zone-less
  ``StartTime`` is given;
- ``NodeName`` is CUCM's own process-node name; RisPort70's rate fault is a ``TemporaryError``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from pydantic import SecretStr

from providers.cucm_certs import (
    CliCertClient,
    RestCertClient,
    TrustStoreProvider,
    clients_for_cluster,
    trust_value,
)
from providers.cucm_cli.session import CliSession
from providers.cucm_serviceability import ControlCenterClient, RisClient, RisPacer, match_process_node
from providers.transports.http import make_session
from providers.transports.soap import CucmEndpoint, open_session
from providers.transports.ssh import SshTarget
from reconciler.cucm.certs import (
    IdentityKind,
    certificate_pem,
    generate_identity,
    load_certificate,
    shared_lab_key,
)
from reconciler.errors import RemoteFaultError, TemporaryError
from reconciler.model import Action, Address, Change
from schemas.cluster import Cluster
from simulator.faces.backends import CertEntry, RisDevice, ServiceState, ServiceStatus
from simulator.faces.cucm_cli import cucm_cli_server
from simulator.faces.dialect import WireDialect
from simulator.faces.fakes import FakeNode
from simulator.faces.faults import QueryAllowance
from simulator.faces.https import Credentials, HttpFaceServer
from simulator.faces.node import node_https_server
from simulator.faces.ssh import SshFaceServer, generate_host_key
from simulator.faces.tls import LabCa, issue_server_cert, server_context

HOST = "127.0.0.1"
OS_PASSWORD = "Wire-Os-Pa55-13"
APP = Credentials("axl-wire", "Wire-App-Pa55-13")
TVS = "Cisco Trust Verification Service"
NEW_CM = certificate_pem(
    generate_identity(
        kind=IdentityKind.CALLMANAGER, host="cucm-new-pub", cluster="new", key=shared_lab_key()
    ).cert
).decode()
ADDRESS = Address.of("trust", "old", "CallManager-trust", "cucm-new-pub")


def _node() -> FakeNode:
    node = FakeNode(name="cucm-old-pub", version="14.0.1.11900-132")
    node.trust = [CertEntry("CallManager-trust", "Cisco_Root_CA_M2_01.pem", LabCa.create().cert_pem.decode())]
    node.services = {TVS: ServiceState(TVS, ServiceStatus.STARTED)}
    return node


# -- SSH admin CLI --------------------------------------------------------------------------------------
@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Callable[[FakeNode, WireDialect], CliSession]]:
    servers: list[SshFaceServer] = []
    sessions: list[CliSession] = []

    def make(node: FakeNode, dialect: WireDialect) -> CliSession:
        server = cucm_cli_server(
            node,
            name=node.name,
            host=HOST,
            port=0,
            host_key=generate_host_key(),
            users={"admin": OS_PASSWORD},
            dialect=dialect,
        ).start()
        servers.append(server)
        known = tmp_path / f"known_hosts_{len(servers)}"
        known.write_text(server.known_hosts_line() + "\n")
        target = SshTarget(
            name=node.name,
            host=server.host,
            port=server.port,
            username="admin",
            password=SecretStr(OS_PASSWORD),
            known_hosts=known,
            connect_timeout=5.0,
        )
        session = CliSession(target, command_timeout=20.0, login_timeout=20.0)
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        session.close()
    for server in servers:
        server.stop()


SHOW_CERT_DIALECTS = [
    WireDialect(),  # no PEM, "CN=X, OU=Y", hex serial
    WireDialect(dn_style="rfc4514", serial_style="decimal"),
    WireDialect(serial_style="decimal"),
    WireDialect(show_cert_trust_pem=True),
]


@pytest.mark.parametrize(
    "dialect", SHOW_CERT_DIALECTS, ids=lambda d: f"{d.dn_style}-{d.serial_style}-pem{d.show_cert_trust_pem}"
)
def test_cli_trust_is_found_however_show_cert_prints_it(
    cli: Callable[[FakeNode, WireDialect], CliSession], dialect: WireDialect
) -> None:
    """Without the normalised comparison every certificate looked absent: re-imported, never verified."""
    node = _node()
    client = CliCertClient(cli(node, dialect))
    provider = TrustStoreProvider(cluster="old", clients=[client])
    want = trust_value(load_certificate(NEW_CM.encode()))
    change = Change(address=ADDRESS, action=Action.CREATE, after={**want, "pem": NEW_CM}, rule="R5")
    assert not provider.verify(change).complies  # absent before the change
    assert provider.apply(change).changed
    listed = [
        e
        for e in client.trust(["CallManager-trust"])
        if e.same_certificate(sha256=None, serial=str(want["serial"]), issuer=str(want["issuer"]))
    ]
    assert len(listed) == 1  # found by serial number and normalised issuer, however it was printed
    assert provider.verify(change).complies
    assert not provider.apply(change).changed  # found: not imported again
    assert [w for w in node.writes if w[0] == "upload_trust"] == [("upload_trust", ("CallManager",))]


@pytest.mark.parametrize("text", ["No valid command entered", "Executed command unsuccessfully"])
def test_unsupported_delete_is_a_failure(
    cli: Callable[[FakeNode, WireDialect], CliSession], text: str
) -> None:
    node = _node()
    node.trust.append(CertEntry("CallManager-trust", "cucm-new-pub_01.pem", NEW_CM))
    session = cli(node, WireDialect(unknown_command=text, unsupported_commands=("set cert delete",)))
    with pytest.raises(RemoteFaultError, match=text):
        session.delete_cert(store="CallManager-trust", filename="cucm-new-pub_01.pem")
    assert len(node.trust) == 2


@pytest.mark.parametrize("rows", [7, 9])  # 9 = a page break right before admin: (3 lines a page)
def test_pager_that_cannot_be_turned_off_loses_no_row(
    cli: Callable[[FakeNode, WireDialect], CliSession], rows: int
) -> None:
    node = _node()
    pem = node.trust[0].pem
    node.trust = [CertEntry("CallManager-trust", f"ca_{i:02d}.pem", pem) for i in range(rows)]
    session = cli(node, WireDialect(pagination="always", page_lines=3))
    listed = session.cert_list("trust")
    assert [c.filename for c in listed] == [f"ca_{i:02d}.pem" for i in range(rows)]
    assert session.active_version() == node.version  # the prompt was found every time


# -- HTTPS: certmgr, ControlCenterServices, RisPort70 ---------------------------------------------------
class Web:
    def __init__(self, tmp: Path, node: FakeNode, dialect: WireDialect, *, process_node: str) -> None:
        ca = LabCa.create()
        self.ca_file = tmp / "ca.pem"
        self.ca_file.write_bytes(ca.cert_pem)
        self.node = node
        self.allowance = QueryAllowance(2)
        self.server: HttpFaceServer = node_https_server(
            name=f"{node.name}-https",
            host=HOST,
            port=0,
            tls=server_context(issue_server_cert(ca, hostname=node.name, ip=HOST)),
            version=node.version,
            app_user=APP,
            os_admin=Credentials("admin", OS_PASSWORD),
            axl=None,
            services=node,
            ris=node,
            certmgr=node,
            ris_allowance=self.allowance,
            dialect=dialect,
            process_node=process_node,
        ).start()

    def endpoint(self) -> CucmEndpoint:
        return CucmEndpoint(
            cluster="old",
            node="pub",
            host=HOST,
            port=self.server.port,
            version="14.0",
            ca_bundle=self.ca_file,
        )

    def rest(self, style: str = "unit") -> RestCertClient:
        session = make_session(
            endpoint="pub", ca_bundle=self.ca_file, auth=("admin", OS_PASSWORD), insecure=False
        )
        return RestCertClient(
            node="pub",
            base_url=f"https://{HOST}:{self.server.port}",
            session=session,
            service_style=style,  # type: ignore[arg-type]
        )

    def control(self, **kw: object) -> ControlCenterClient:
        ep = self.endpoint()
        return ControlCenterClient(
            endpoint=ep,
            session=open_session(ep, user=APP.user, password=SecretStr(APP.password)),
            **kw,  # type: ignore[arg-type]
        )


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Callable[..., Web]]:
    made: list[Web] = []

    def make(dialect: WireDialect | None = None, *, process_node: str = "cucm-old-pub") -> Web:
        made.append(Web(tmp_path, _node(), dialect or WireDialect(), process_node=process_node))
        return made[-1]

    yield make
    for item in made:
        item.server.stop()


@pytest.mark.parametrize(
    ("face", "client", "works"),
    [
        ("unit", "unit", True),
        ("both", "unit", True),
        ("both", "store", True),
        ("store", "store", True),
        ("unit", "store", False),
        ("store", "unit", False),
    ],
)
def test_certmgr_service_names(web: Callable[..., Web], face: str, client: str, works: bool) -> None:
    lab = web(WireDialect(certmgr_service=face))  # type: ignore[arg-type]
    rest = lab.rest(client)
    if not works:  # a mismatch is an HTTP error, never a silent success
        with pytest.raises(RemoteFaultError):
            rest.upload_trust(store="CallManager-trust", pem=NEW_CM, description="t")
        with pytest.raises(RemoteFaultError):
            rest.trust(["CallManager-trust"])
        return
    rest.upload_trust(store="CallManager-trust", pem=NEW_CM, description="t")
    listed = rest.trust(["Phone-SAST-trust", "CallManager-trust"])
    assert {e.store for e in listed} == {"CallManager-trust"} and any(e.pem == NEW_CM for e in listed)
    token = "CallManager-trust" if client == "store" else "CallManager"
    assert ("upload_trust", (f"{token.removesuffix('-trust')}-trust",)) in lab.node.writes


def test_yaml_service_name_reaches_the_client() -> None:
    base = {
        "name": "new",
        "role": "target",
        "version": "14.0.1.11900-132",
        "nodes": [{"name": "cucm-new-pub", "host": "192.0.2.1"}],
        "credentials": {
            "axl": {"username": "a", "password": "env:X"},
            "os": {"username": "b", "password": "env:Y"},
        },
    }
    (default,) = clients_for_cluster(Cluster.model_validate(base))
    (store,) = clients_for_cluster(Cluster.model_validate({**base, "certmgr_service_name": "store"}))
    assert isinstance(default, RestCertClient) and default.service_name("CallManager-trust") == "CallManager"
    assert isinstance(store, RestCertClient) and store.service_name("Phone-SAST") == "Phone-SAST-trust"


@pytest.mark.parametrize("start_time", ["naive", "zoned", "iso", "empty"])
@pytest.mark.parametrize("offset", [-8, 9])
def test_tvs_start_comes_from_uptime_whatever_start_time_says(
    web: Callable[..., Web], start_time: str, offset: int
) -> None:
    """R8: west of UTC a naive StartTime read as UTC made every restart look stale; east, fresh."""
    lab = web(WireDialect(start_time=start_time, node_utc_offset_h=offset))  # type: ignore[arg-type]
    true_start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=30)
    lab.node.services[TVS] = ServiceState(TVS, ServiceStatus.STARTED, start_time=true_start)
    info = lab.control().status(TVS)
    assert info.start_time is not None and abs((info.start_time - true_start).total_seconds()) <= 2


def test_node_name_is_cucms_process_node_name(web: Callable[..., Web]) -> None:
    lab = web(process_node="CUCM-OLD-PUB.lab.example")
    with pytest.raises(RemoteFaultError, match="Invalid NodeName"):
        lab.control(process_node="pub").control("Restart", [TVS])  # the YAML's name: refused
    own = match_process_node(
        name="pub",
        host="cucm-old-pub.lab.example",
        process_nodes=["EnterpriseWideData", "CUCM-OLD-PUB.lab.example"],
    )
    assert own == "CUCM-OLD-PUB.lab.example"
    lab.control(process_node=own).control("Restart", [TVS])
    assert ("control", (lab.node.writes[-1][1][0], TVS)) in lab.node.writes


def test_ris_rate_fault_is_cisco_spelt_and_temporary(web: Callable[..., Web]) -> None:
    lab = web()
    lab.node.devices = [RisDevice("SEP000000000001", node="cucm-old-pub", status="Registered")]
    ep = lab.endpoint()
    session = open_session(ep, user=APP.user, password=SecretStr(APP.password))
    lab.allowance.exhaust()
    ris = RisClient(
        endpoint=ep, session=session, pacer=RisPacer(per_minute=15, burst=3, sleep=lambda _s: None)
    )
    with pytest.raises(TemporaryError, match="Reatime"):
        ris.raw_registrations(["*"])
    fault = requests.post(
        f"https://{HOST}:{lab.server.port}/realtimeservice2/services/RISService70",
        data=_ris_envelope(),
        headers={"Content-Type": "text/xml", "SOAPAction": "selectCmDevice"},
        verify=str(lab.ca_file),
        auth=(APP.user, APP.password),
        timeout=5,
    ).text
    assert "ns1:Server.RateControl" in fault and "Reatime information" in fault


def _ris_envelope() -> bytes:
    return (
        b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        b'xmlns:soap="http://schemas.cisco.com/ast/soap"><soapenv:Body><soap:selectCmDevice>'
        b"<soap:StateInfo></soap:StateInfo><soap:CmSelectionCriteria><soap:MaxReturnedDevices>10"
        b"</soap:MaxReturnedDevices></soap:CmSelectionCriteria></soap:selectCmDevice></soapenv:Body>"
        b"</soapenv:Envelope>"
    )


def test_empty_ris_answer_has_nil_cm_nodes(web: Callable[..., Web]) -> None:
    lab = web()
    lab.node.devices = []
    ep = lab.endpoint()
    ris = RisClient(
        endpoint=ep,
        session=open_session(ep, user=APP.user, password=SecretStr(APP.password)),
        pacer=RisPacer(per_minute=15, burst=3, sleep=lambda _s: None),
    )
    assert ris.raw_registrations(["*"]) == ()
