"""Test helpers for the CUCM SOAP/HTTP providers: the lab's REAL faces (AXL, ControlCenterServices,
RisPort70 over HTTPS; TFTP over HTTP) on 127.0.40.x with port 0, backed by ``simulator.faces.fakes.FakeNode``
(which records every write), plus a fake clock for pacing and polling without wall time."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pydantic import SecretStr

from providers.transports.http import SafeSession
from providers.transports.soap import CucmEndpoint, open_session
from simulator.faces.backends import (
    CallManagerGroup,
    DevicePool,
    PhoneRecord,
    ProcessNode,
    ServiceState,
    ServiceStatus,
    SqlResult,
)
from simulator.faces.fakes import FakeNode
from simulator.faces.faults import FaceFaults, QueryAllowance
from simulator.faces.https import Credentials, HttpFaceServer
from simulator.faces.node import node_https_server
from simulator.faces.tftp_http import tftp_http_server
from simulator.faces.tls import LabCa, issue_server_cert, server_context

USER = "axl-lab-user"
PASSWORD = "axl-Pa55-secret-40"  # scanned for in logs and outputs
OS = Credentials("admin", "os-Pa55-secret-40")
HOST = "127.0.40.1"
TFTP_HOST = "127.0.40.2"
ROLLBACK_INTERNAL = "PrepareClusterForRollbackToPre80"
SERVICES_SQL_KEY = (
    "select pns.servername, ts.name as service, pns.enable from processnodeservice pns, typeservice ts "
    "where pns.tkservice = ts.enum"
)


class FakeClock:
    """Monotonic seconds that only move when someone sleeps (shared by pacer, allowance and poller)."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


def fake_node(version: str) -> FakeNode:
    node = FakeNode(name="cucm-pub", version=version)
    node.nodes = [
        ProcessNode("cucm-pub", "{N1}", node_usage="Publisher"),
        ProcessNode("cucm-sub1", "{N2}"),
        ProcessNode("cucm-sub2", "{N3}"),
    ]
    ew = ("EnterpriseWideData", "Enterprise Wide")
    node.parameters[(*ew, ROLLBACK_INTERNAL)] = "F"
    node.parameters[(*ew, "ClusterSecurityMode")] = "1"
    node.parameters[(*ew, "AllowedDeviceQueriesPerMinute")] = "15"
    node.parameters[("cucm-pub", "Cisco CallManager", "CdrEnabled")] = "F"
    node.phones = [
        PhoneRecord(
            f"SEP0000000000{i:02X}",
            f"{{PH{i}}}",
            description=f"phone {i}",
            device_pool_name="dp-a" if i < 17 else "dp-b",
        )
        for i in range(25)
    ]
    node.groups = [
        CallManagerGroup("old-cmg", "{G1}", members=(("cucm-sub2", 2), ("cucm-sub1", 1))),
        CallManagerGroup("other-cmg", "{G2}", members=(("cucm-pub", 1),)),
    ]
    node.pools = [DevicePool("dp-a", "{DP1}", "old-cmg"), DevicePool("dp-b", "{DP2}", "other-cmg")]
    node.servers = [{"uuid": "{D1}", "processNodeName": "cucm-pub"}]
    node.subnets = [
        {
            "uuid": "{S1}",
            "dhcpServerName": "cucm-pub",
            "subnetIpAddress": "198.51.100.0",
            "subnetMask": "255.255.255.0",
            "primaryTftpServerIpAddress": "10.30.0.11",
            "secondaryTftpServerIpAddress": "10.30.0.12",
        },
        {
            "uuid": "{S2}",
            "dhcpServerName": "cucm-pub",
            "subnetIpAddress": "203.0.113.0",
            "subnetMask": "255.255.255.128",
            "primaryTftpServerIpAddress": "10.30.0.11",
            "secondaryTftpServerIpAddress": "",
        },
    ]
    node.sql[SERVICES_SQL_KEY] = SqlResult(
        ("servername", "service", "enable"),
        (
            ("cucm-pub", "Cisco Tftp", "t"),
            ("cucm-sub1", "Cisco CallManager", "t"),
            ("cucm-sub1", "Cisco Tftp", "f"),
        ),
    )
    node.services = {
        name: ServiceState(name, ServiceStatus.STARTED)
        for name in ("Cisco Tftp", "Cisco Trust Verification Service", "Cisco CallManager")
    }
    return node


@dataclass
class CucmFaceLab:
    """One node's HTTPS faces plus a TFTP-HTTP face, with their fault switches."""

    tmp: Path
    version: str = "14.0.1.11900-132"
    host: str = HOST
    per_minute: int = 15
    clock: FakeClock = field(default_factory=FakeClock)

    def __post_init__(self) -> None:
        ca = LabCa.create()
        self.ca_file = self.tmp / "lab-ca.pem"
        self.ca_file.write_bytes(ca.cert_pem)
        self.other_ca_file = self.tmp / "other-ca.pem"
        self.other_ca_file.write_bytes(LabCa.create("some other CA").cert_pem)
        identity = issue_server_cert(ca, hostname="cucm-pub", ip=self.host)
        leaf = x509.load_pem_x509_certificate(identity.cert_pem)
        self.fingerprint = hashlib.sha256(leaf.public_bytes(Encoding.DER)).hexdigest()
        self.backend = fake_node(self.version)
        self.faults = FaceFaults()
        self.allowance = QueryAllowance(self.per_minute, clock=self.clock)
        self.server: HttpFaceServer = node_https_server(
            name="cucm-pub",
            host=self.host,
            port=0,
            tls=server_context(identity),
            version=self.version,
            app_user=Credentials(USER, PASSWORD),
            os_admin=OS,
            axl=self.backend,
            services=self.backend,
            ris=self.backend,
            certmgr=None,
            faults=self.faults,
            ris_allowance=self.allowance,
        ).start()
        self.tftp_faults = FaceFaults()
        self.tftp: HttpFaceServer = tftp_http_server(
            self.backend, name="cucm-pub-tftp", host=TFTP_HOST, port=0, faults=self.tftp_faults
        ).start()

    def endpoint(self, **overrides: object) -> CucmEndpoint:
        values: dict[str, object] = {
            "cluster": "old",
            "node": "cucm-pub",
            "host": self.host,
            "port": self.server.port,
            "version": self.version,
            "ca_bundle": self.ca_file,
        }
        values.update(overrides)
        return CucmEndpoint(**values)  # type: ignore[arg-type]

    def session(
        self,
        endpoint: CucmEndpoint | None = None,
        *,
        password: str = PASSWORD,
        timeout: float | tuple[float, float] = (2.0, 5.0),
    ) -> SafeSession:
        return open_session(
            endpoint or self.endpoint(), user=USER, password=SecretStr(password), timeout=timeout
        )

    def writes(self) -> list[tuple[str, object]]:
        return list(self.backend.writes)

    def stop(self) -> None:
        self.server.stop()
        self.tftp.stop()
