"""Clusters and nodes of the desired state: role, CUCM version, nodes with ports and services,
credentials, TLS and SSH verification settings, and how certificates are managed.

``SERVICE_NAMES`` maps the closed service vocabulary of the YAML to the exact CUCM service names used
by ControlCenterServices and ``utils service`` (docs/cucm-domain.md#services); providers and the simulator
use it. Validated by ``schemas.document.DesiredState``; cross-references are checked by
``reconciler.config.semantic``.
"""

from __future__ import annotations

import enum

from pydantic import Field

from schemas.common import FilePath, Host, Name, Port, StrictModel, TlsSettings
from schemas.secret import Credential
from schemas.version import CucmVersion

__all__ = [
    "DEFAULT_PORTS",
    "SERVICE_NAMES",
    "CertificateApi",
    "CertmgrServiceName",
    "Cluster",
    "ClusterCredentials",
    "CucmService",
    "Node",
    "Ports",
    "Role",
    "Service",
    "SshSettings",
]


class Role(enum.StrEnum):
    """A cluster's part in the migration: phones move from the ``source`` to the ``target``."""

    SOURCE = "source"
    TARGET = "target"


class CertificateApi(enum.StrEnum):
    """How certificates are read/written: certmgr REST (CUCM 14+), the admin CLI, or ``auto``
    (REST when the version is 14 or newer, else CLI)."""

    AUTO = "auto"
    REST = "rest"
    CLI = "cli"


class CertmgrServiceName(enum.StrEnum):
    """How certmgr REST (CUCM 14+) names a trust store in ``service``: ``unit`` (``CallManager``,
    ``Phone-SAST``; what every public client sends, the default) or ``store`` (``CallManager-trust``)."""

    UNIT = "unit"
    STORE = "store"


class Service(enum.StrEnum):
    """Services a node runs, in the YAML's closed vocabulary (see ``SERVICE_NAMES``)."""

    CALLMANAGER = "callmanager"
    TFTP = "tftp"
    TVS = "tvs"
    CTL_PROVIDER = "ctl_provider"
    CAPF = "capf"
    CTIMANAGER = "ctimanager"
    TOMCAT = "tomcat"
    AXL = "axl"
    RIS = "ris"
    SOAP_REALTIME = "soap_realtime"
    DHCP_MONITOR = "dhcp_monitor"


class CucmService(enum.StrEnum):
    """The exact CUCM name of each service (docs/cucm-domain.md#services): what AXL and ControlCenterServices
    show. Members are named like ``Service``'s, so ``CucmService[word.name]`` maps one to the other."""

    CALLMANAGER = "Cisco CallManager"
    TFTP = "Cisco Tftp"
    TVS = "Cisco Trust Verification Service"
    CTL_PROVIDER = "Cisco CTL Provider"
    CAPF = "Cisco Certificate Authority Proxy Function"
    CTIMANAGER = "Cisco CTIManager"
    TOMCAT = "Cisco Tomcat"
    AXL = "Cisco AXL Web Service"
    RIS = "Cisco RIS Data Collector"
    SOAP_REALTIME = "Cisco SOAP - Real-Time Service APIs"
    DHCP_MONITOR = "Cisco DHCP Monitor Service"


#: The exact CUCM service name for each vocabulary word.
SERVICE_NAMES: dict[Service, CucmService] = {word: CucmService[word.name] for word in Service}

#: Port defaults per protocol: HTTPS (AXL, serviceability, certmgr), TFTP over HTTP, admin SSH.
DEFAULT_PORTS: dict[str, int] = {"https": 8443, "tftp_http": 6970, "ssh": 22}


class Ports(StrictModel):
    """Per-protocol ports; unset ones fall back to the cluster's ``ports``, then ``DEFAULT_PORTS``."""

    https: Port | None = None
    tftp_http: Port | None = None
    ssh: Port | None = None


class Node(StrictModel):
    """One CUCM server. ``name`` is its CUCM server name (processnode), ``host`` where to reach it."""

    name: Name
    host: Host
    publisher: bool = Field(
        default=False, description="The publisher; if no node says so, the first node listed is it."
    )
    ports: Ports = Ports()
    services: tuple[Service, ...] = ()
    host_key: str | None = Field(
        default=None,
        description="Pinned SSH host key ('ssh-ed25519 AAAA...'), checked instead of known_hosts.",
        pattern=r"^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]+$",
    )

    def runs(self, service: Service) -> bool:
        return service in self.services


class SshSettings(StrictModel):
    """SSH host-key checking for the admin CLI: a ``known_hosts`` file (default ``~/.ssh/known_hosts``)
    and/or per-node pinned keys (``nodes[].host_key``). Unknown keys are always rejected."""

    known_hosts: FilePath | None = None


class ClusterCredentials(StrictModel):
    """The two accounts CUCM needs: the AXL/serviceability application user and the OS admin
    (admin CLI over SSH, certmgr REST)."""

    axl: Credential
    os: Credential


class Cluster(StrictModel):
    """A CUCM cluster taking part in the migration."""

    name: Name
    role: Role
    version: CucmVersion
    nodes: tuple[Node, ...] = Field(min_length=1)
    credentials: ClusterCredentials
    ports: Ports = Ports()
    tls: TlsSettings = TlsSettings()
    ssh: SshSettings = SshSettings()
    certificate_api: CertificateApi = CertificateApi.AUTO
    certmgr_service_name: CertmgrServiceName = Field(
        default=CertmgrServiceName.UNIT,
        description="How certmgr REST names a trust store in 'service': 'unit' (CallManager, the form "
        "public clients send) or 'store' (CallManager-trust).",
    )
    axl_wsdl: FilePath | None = Field(
        default=None,
        description="Cisco's AXL toolkit AXLAPI.wsdl (user-supplied); default: the built-in subset.",
    )

    @property
    def publisher(self) -> Node:
        """The node flagged ``publisher: true``, else the first node."""
        for node in self.nodes:
            if node.publisher:
                return node
        return self.nodes[0]

    def node(self, name: str) -> Node | None:
        return next((n for n in self.nodes if n.name == name), None)

    def nodes_running(self, service: Service) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.runs(service))

    def port(self, node: Node, protocol: str) -> int:
        """Effective port of ``protocol`` (``https``, ``tftp_http``, ``ssh``) on ``node``."""
        for ports in (node.ports, self.ports):
            value = getattr(ports, protocol)
            if value is not None:
                return int(value)
        return DEFAULT_PORTS[protocol]

    @property
    def effective_certificate_api(self) -> CertificateApi:
        """``auto`` resolved: REST from CUCM 14 on, else the admin CLI."""
        if self.certificate_api is not CertificateApi.AUTO:
            return self.certificate_api
        return CertificateApi.REST if self.version.at_least(14) else CertificateApi.CLI
