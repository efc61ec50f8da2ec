"""What each network face needs from the model: typing.Protocols plus the small frozen values they exchange.

Faces translate protocol <-> calls on these backends and hold no cluster logic; the adapters in
``simulator/adapters`` fit the model (``simulator/model``) to these protocols, and the unit tests feed the
faces small in-process backends. A backend rejects a request by raising ``reconciler.errors.RemoteFaultError``
whose ``code`` the face puts on the wire: an AXL code (``AXL_NOT_FOUND`` ...) for AXL, the HTTP status as text
("404", "400") for certmgr; the CLI prints the message. Everything else a backend raises is a bug and becomes
a server error.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

__all__ = [
    "AXL_DUPLICATE",
    "AXL_NOT_FOUND",
    "AXL_SQL_SYNTAX",
    "AXL_UPDATE_NOT_FOUND",
    "AxlBackend",
    "BulkFile",
    "CallManagerGroup",
    "CertEntry",
    "CertSnapshot",
    "CertmgrBackend",
    "CliBackend",
    "ControlAction",
    "DevicePool",
    "IosBackend",
    "PhoneCriteria",
    "PhoneRecord",
    "ProcessNode",
    "ResetMode",
    "RisBackend",
    "RisCriteria",
    "RisDevice",
    "ServiceParameter",
    "ServiceSpec",
    "ServiceState",
    "ServiceStatus",
    "ServicesBackend",
    "SqlResult",
    "TftpBackend",
    "TrustFile",
]

# AXL fault codes as CUCM sends them (docs/cucm-domain.md#axl), carried in RemoteFaultError.code.
AXL_NOT_FOUND = "5007"  # get/do on a missing item
AXL_UPDATE_NOT_FOUND = "5003"  # update on a missing item
AXL_DUPLICATE = "-239"  # duplicate value in a unique index
AXL_SQL_SYNTAX = "201"  # SQL syntax error


# ---------------------------------------------------------------- AXL values
@dataclass(frozen=True, slots=True)
class ProcessNode:
    """A server as ``listProcessNode`` shows it (the face adds the EnterpriseWideData row itself)."""

    name: str
    uuid: str
    description: str = ""
    node_usage: str = "Subscriber"  # "Publisher" | "Subscriber"
    role: str = "CUCM Voice/Video"
    mac: str = ""


@dataclass(frozen=True, slots=True)
class ServiceParameter:
    node: str  # process node name, "EnterpriseWideData" for enterprise parameters
    service: str  # e.g. "Cisco CallManager", "Enterprise Wide"
    name: str
    value: str
    value_type: str = "String"
    uuid: str = ""


@dataclass(frozen=True, slots=True)
class SqlResult:
    """Rows of a read-only SQL query; every row has a value for each column (``None`` = SQL NULL)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str | None, ...], ...]


@dataclass(frozen=True, slots=True)
class PhoneCriteria:
    """``listPhone`` search criteria; patterns use SQL LIKE wildcards (``%``, ``_``), ``None`` = any."""

    name: str | None = None
    description: str | None = None
    device_pool_name: str | None = None
    protocol: str | None = None


@dataclass(frozen=True, slots=True)
class PhoneRecord:
    name: str
    uuid: str
    description: str = ""
    model: str = "Cisco 8845"
    product: str = "Cisco 8845"
    protocol: str = "SIP"
    device_pool_name: str = ""
    security_profile_name: str = ""
    calling_search_space_name: str = ""


class ResetMode(enum.Enum):
    RESET = "Reset"  # resetPhone / doDeviceReset deviceResetType=Reset: the phone reloads its config
    RESTART = "Restart"  # restartPhone / deviceResetType=Restart


@dataclass(frozen=True, slots=True)
class CallManagerGroup:
    name: str
    uuid: str
    tftp_default: bool = False
    members: tuple[tuple[str, int], ...] = ()  # (callManagerName, priority), priority 1 first


@dataclass(frozen=True, slots=True)
class DevicePool:
    name: str
    uuid: str
    callmanager_group_name: str


# ---------------------------------------------------------------- services (ControlCenter + CLI)
class ServiceStatus(enum.Enum):
    STARTED = "Started"
    STOPPED = "Stopped"
    STARTING = "Starting"
    STOPPING = "Stopping"
    UNKNOWN = "Unknown"


class ControlAction(enum.Enum):
    START = "Start"
    STOP = "Stop"
    RESTART = "Restart"


@dataclass(frozen=True, slots=True)
class ServiceState:
    name: str
    status: ServiceStatus
    reason_code: int = -1
    reason: str = ""  # e.g. "Service Not Activated", "Commanded Out of Service"
    start_time: datetime | None = None
    up_time_s: int = 0


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    name: str
    service_type: str = "Service"  # "Service" | "Servlet"
    deployable: bool = True
    group: str = "CM Services"
    dependent_services: tuple[str, ...] = ()


# ---------------------------------------------------------------- RisPort70
@dataclass(frozen=True, slots=True)
class RisCriteria:
    device_class: str = "Any"
    model: int = 255  # 255 = any
    status: str = "Any"
    node_name: str = ""  # "" = every node
    select_by: str = "Name"
    items: tuple[str, ...] = ("*",)  # "*" wildcards allowed
    protocol: str = "Any"
    download_status: str = "Any"


@dataclass(frozen=True, slots=True)
class RisDevice:
    name: str
    node: str  # CallManager node the record belongs to
    status: str  # Registered | UnRegistered | Rejected | PartiallyRegistered | Unknown
    ip_address: str = ""
    description: str = ""
    dir_number: str = ""
    device_class: str = "Phone"
    model: int = 36670
    product: int = 36670
    status_reason: int = 0
    protocol: str = "SIP"
    timestamp: int = 0  # epoch seconds of the last status change
    active_load_id: str = ""
    download_status: str = "Unknown"


# ---------------------------------------------------------------- certificates (CLI + certmgr)
@dataclass(frozen=True, slots=True)
class CertEntry:
    unit: str  # "tomcat", "CallManager" (own) or "CallManager-trust" (trust)
    filename: str  # "CallManager.pem", "Cisco_Root_CA_2099_019a.pem"
    pem: str
    description: str = "Self-signed certificate generated by system"


@dataclass(frozen=True, slots=True)
class CertSnapshot:
    server: str
    identities: tuple[CertEntry, ...]  # unit = identity service ("tomcat", "CallManager", ...)
    trusts: tuple[CertEntry, ...]  # unit = trust store ("tomcat-trust", ...)
    tracking_id: str = ""


@dataclass(frozen=True, slots=True)
class TrustFile:
    """An ITL/CTL file as a node's TFTP directory holds it."""

    content: bytes
    modified: datetime


@dataclass(frozen=True, slots=True)
class BulkFile:
    """A file of the bulk certificate method, as it lies in the SFTP directory."""

    name: str
    content: bytes = field(repr=False)


# ---------------------------------------------------------------- protocols
@runtime_checkable
class AxlBackend(Protocol):
    """One cluster as AXL sees it (AXL is served by the publisher but any node may answer)."""

    def ccm_version(self) -> str: ...  # full version, e.g. "14.0.1.11900-132"
    def process_nodes(self) -> Sequence[ProcessNode]: ...
    def get_service_parameter(self, *, node: str, service: str, name: str) -> ServiceParameter: ...
    def list_service_parameters(
        self, *, node: str | None, service: str | None
    ) -> Sequence[ServiceParameter]: ...
    def update_service_parameter(self, *, node: str, service: str, name: str, value: str) -> str: ...
    def execute_sql_query(self, sql: str) -> SqlResult: ...
    def list_phones(
        self, criteria: PhoneCriteria, *, skip: int, first: int | None
    ) -> Sequence[PhoneRecord]: ...
    def get_phone(self, *, name: str | None, uuid: str | None) -> PhoneRecord: ...
    def reset_device(self, *, name: str | None, uuid: str | None, mode: ResetMode, hard: bool) -> str: ...
    def reset_device_pool(self, *, name: str | None, uuid: str | None) -> str: ...  # resetDevicePool [I]
    def callmanager_groups(self) -> Sequence[CallManagerGroup]: ...
    def device_pools(self) -> Sequence[DevicePool]: ...
    def dhcp_servers(self) -> Sequence[Mapping[str, str]]: ...  # AXL field name -> value
    def update_dhcp_server(self, *, node: str, changes: Mapping[str, str]) -> str: ...
    def dhcp_subnets(self) -> Sequence[Mapping[str, str]]: ...  # incl. "dhcpServerName"
    def update_dhcp_subnet(self, *, server: str, subnet: str, changes: Mapping[str, str]) -> str: ...


@runtime_checkable
class ServicesBackend(Protocol):
    """Services of ONE node (ControlCenterServices and ``utils service``)."""

    def service_states(self) -> Sequence[ServiceState]: ...
    def control_services(self, *, action: ControlAction, names: Sequence[str]) -> Sequence[ServiceState]: ...
    def static_services(self) -> Sequence[ServiceSpec]: ...


@runtime_checkable
class RisBackend(Protocol):
    """Registration records of the whole cluster (any node answers for all)."""

    def select_devices(self, criteria: RisCriteria) -> Sequence[RisDevice]: ...


@runtime_checkable
class CertmgrBackend(Protocol):
    """Certificates of ONE node (certmgr REST is server specific)."""

    def snapshot(self) -> CertSnapshot: ...
    def upload_trust(
        self, *, services: Sequence[str], pems: Sequence[str], description: str
    ) -> Sequence[CertEntry]: ...
    def delete_trust(self, *, store: str, filename: str) -> None: ...


@runtime_checkable
class CliBackend(ServicesBackend, Protocol):
    """The admin CLI of ONE node."""

    def active_version(self) -> str: ...
    def certificates(self, kind: str) -> Sequence[CertEntry]: ...  # kind "own" | "trust"
    def certificate(self, kind: str, *, unit: str, filename: str) -> CertEntry | None: ...  # one of them
    def import_trust(self, *, unit: str, pem: str) -> CertEntry: ...
    def delete_certificate(self, *, store: str, filename: str) -> None: ...
    def trust_file(self, name: str) -> TrustFile | None: ...  # "ITLFile.tlv" | "CTLFile.tlv"
    def execute_sql_query(self, sql: str) -> SqlResult: ...
    def bulk_export(self, unit: str) -> Sequence[BulkFile]: ...
    def bulk_consolidate(self, unit: str, files: Sequence[BulkFile]) -> Sequence[BulkFile]: ...
    def bulk_import(self, unit: str, files: Sequence[BulkFile]) -> Sequence[str]: ...  # imported units


@runtime_checkable
class TftpBackend(Protocol):
    """Files a TFTP node serves; ``None`` = no such file (404)."""

    def tftp_file(self, name: str) -> bytes | None: ...


@runtime_checkable
class IosBackend(Protocol):
    """The IOS router's DHCP pools: pool name -> option 150 addresses (and the network for show)."""

    def pools(self) -> Sequence[tuple[str, str, tuple[str, ...]]]: ...  # (name, "net mask", opt150)
    def set_option150(self, *, pool: str, addresses: Sequence[str]) -> None: ...
    def write_memory(self) -> None: ...
