"""Small in-process backends for the faces' tests (and for anyone who needs a face before the model is wired).

``FakeNode`` implements every CUCM backend protocol of ``simulator.faces.backends`` with plain dicts and
records each mutating call in ``writes``; ``FakeRouter`` implements ``IosBackend``. No cluster logic:
restarting a service simply marks it Started (or Stopped when listed in ``failing_services``).
"""

from __future__ import annotations

import datetime as dt
import uuid as uuidlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from reconciler.errors import RemoteFaultError
from simulator.faces.axl_tags import like
from simulator.faces.backends import (
    AXL_NOT_FOUND,
    AXL_SQL_SYNTAX,
    AXL_UPDATE_NOT_FOUND,
    BulkFile,
    CallManagerGroup,
    CertEntry,
    CertSnapshot,
    ControlAction,
    DevicePool,
    PhoneCriteria,
    PhoneRecord,
    ProcessNode,
    ResetMode,
    RisCriteria,
    RisDevice,
    ServiceParameter,
    ServiceSpec,
    ServiceState,
    ServiceStatus,
    SqlResult,
    TrustFile,
)

__all__ = ["FakeNode", "FakeRouter"]


def _uuid() -> str:
    return "{" + str(uuidlib.uuid4()).upper() + "}"


@dataclass
class FakeNode:
    """One node (and, for AXL/RIS, its cluster) held in dicts."""

    name: str = "cucm-pub"
    version: str = "14.0.1.11900-132"
    nodes: list[ProcessNode] = field(default_factory=list)
    parameters: dict[tuple[str, str, str], str] = field(default_factory=dict)
    phones: list[PhoneRecord] = field(default_factory=list)
    groups: list[CallManagerGroup] = field(default_factory=list)
    pools: list[DevicePool] = field(default_factory=list)
    servers: list[dict[str, str]] = field(default_factory=list)
    subnets: list[dict[str, str]] = field(default_factory=list)
    sql: dict[str, SqlResult] = field(default_factory=dict)
    services: dict[str, ServiceState] = field(default_factory=dict)
    failing_services: set[str] = field(default_factory=set)
    devices: list[RisDevice] = field(default_factory=list)
    own: list[CertEntry] = field(default_factory=list)
    trust: list[CertEntry] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    writes: list[tuple[str, object]] = field(default_factory=list)

    # -- AxlBackend
    def ccm_version(self) -> str:
        return self.version

    def process_nodes(self) -> Sequence[ProcessNode]:
        return self.nodes

    def get_service_parameter(self, *, node: str, service: str, name: str) -> ServiceParameter:
        value = self.parameters.get((node, service, name))
        if value is None:
            raise RemoteFaultError(
                "Item not valid: The specified Service Parameter was not found", code=AXL_NOT_FOUND
            )
        return ServiceParameter(node=node, service=service, name=name, value=value, uuid="{P-" + name + "}")

    def list_service_parameters(self, *, node: str | None, service: str | None) -> Sequence[ServiceParameter]:
        return [
            ServiceParameter(node=n, service=s, name=k, value=v)
            for (n, s, k), v in self.parameters.items()
            if like(node, n) and like(service, s)
        ]

    def update_service_parameter(self, *, node: str, service: str, name: str, value: str) -> str:
        if (node, service, name) not in self.parameters:
            raise RemoteFaultError("Service Parameter not found", code=AXL_UPDATE_NOT_FOUND)
        self.parameters[(node, service, name)] = value
        self.writes.append(("updateServiceParameter", (node, service, name, value)))
        return "{P-" + name + "}"

    def execute_sql_query(self, sql: str) -> SqlResult:
        result = self.sql.get(" ".join(sql.split()).lower())
        if result is None:
            raise RemoteFaultError("A syntax error has occurred.", code=AXL_SQL_SYNTAX)
        return result

    def list_phones(self, criteria: PhoneCriteria, *, skip: int, first: int | None) -> Sequence[PhoneRecord]:
        found = [
            p
            for p in self.phones
            if like(criteria.name, p.name)
            and like(criteria.description, p.description)
            and like(criteria.device_pool_name, p.device_pool_name)
            and like(criteria.protocol, p.protocol)
        ]
        return found[skip : skip + first] if first is not None else found[skip:]

    def get_phone(self, *, name: str | None, uuid: str | None) -> PhoneRecord:
        for phone in self.phones:
            if (name and phone.name.lower() == name.lower()) or (uuid and phone.uuid == uuid):
                return phone
        raise RemoteFaultError("Item not valid: The specified Phone was not found", code=AXL_NOT_FOUND)

    def reset_device(self, *, name: str | None, uuid: str | None, mode: ResetMode, hard: bool) -> str:
        phone = self.get_phone(name=name, uuid=uuid)
        self.writes.append(("reset", (phone.name, mode, hard)))
        return phone.uuid

    def reset_device_pool(self, *, name: str | None, uuid: str | None) -> str:
        for pool in self.pools:
            if (name and pool.name == name) or (uuid and pool.uuid == uuid):
                self.writes.append(("reset_pool", (pool.name,)))
                return pool.uuid
        raise RemoteFaultError("Item not valid: The specified Device Pool was not found", code=AXL_NOT_FOUND)

    def callmanager_groups(self) -> Sequence[CallManagerGroup]:
        return self.groups

    def device_pools(self) -> Sequence[DevicePool]:
        return self.pools

    def dhcp_servers(self) -> Sequence[Mapping[str, str]]:
        return self.servers

    def update_dhcp_server(self, *, node: str, changes: Mapping[str, str]) -> str:
        for server in self.servers:
            if server["processNodeName"] == node:
                server.update(changes)
                self.writes.append(("updateDhcpServer", dict(changes)))
                return server.get("uuid", "")
        raise RemoteFaultError("DHCP Server not found", code=AXL_UPDATE_NOT_FOUND)

    def dhcp_subnets(self) -> Sequence[Mapping[str, str]]:
        return self.subnets

    def update_dhcp_subnet(self, *, server: str, subnet: str, changes: Mapping[str, str]) -> str:
        for row in self.subnets:
            if row["dhcpServerName"] == server and row["subnetIpAddress"] == subnet:
                row.update(changes)
                self.writes.append(("updateDhcpSubnet", dict(changes)))
                return row.get("uuid", "")
        raise RemoteFaultError("DHCP Subnet not found", code=AXL_UPDATE_NOT_FOUND)

    # -- ServicesBackend
    def service_states(self) -> Sequence[ServiceState]:
        return list(self.services.values())

    def control_services(self, *, action: ControlAction, names: Sequence[str]) -> Sequence[ServiceState]:
        out = []
        for name in names:
            if name not in self.services:
                raise RemoteFaultError(f"Service {name} is not a valid service name", code="invalid-service")
            if action is ControlAction.STOP or name in self.failing_services:
                state = ServiceState(name, ServiceStatus.STOPPED, reason="Commanded Out of Service")
            else:
                state = ServiceState(name, ServiceStatus.STARTED, start_time=dt.datetime.now(dt.UTC))
            self.services[name] = state
            self.writes.append(("control", (action, name)))
            out.append(
                replace(state, status=ServiceStatus.STARTING)
                if state.status is ServiceStatus.STARTED
                else state
            )
        return out

    def static_services(self) -> Sequence[ServiceSpec]:
        return [ServiceSpec(name) for name in self.services]

    # -- RisBackend
    def select_devices(self, criteria: RisCriteria) -> Sequence[RisDevice]:
        def pick(d: RisDevice) -> bool:
            key = {
                "Name": d.name,
                "IPV4Address": d.ip_address,
                "DirNumber": d.dir_number,
                "Description": d.description,
            }
            value = key.get(criteria.select_by, d.name)
            return (
                any(like(item.replace("*", "%"), value) for item in criteria.items)
                and criteria.status in ("Any", d.status)
                and criteria.node_name in ("", d.node)
            )

        return [d for d in self.devices if pick(d)]

    # -- CertmgrBackend / CliBackend
    def snapshot(self) -> CertSnapshot:
        return CertSnapshot(
            server=self.name, identities=tuple(self.own), trusts=tuple(self.trust), tracking_id="T1"
        )

    def upload_trust(
        self, *, services: Sequence[str], pems: Sequence[str], description: str
    ) -> Sequence[CertEntry]:
        stored = []
        for service in services:
            for index, pem in enumerate(pems):
                if "BEGIN CERTIFICATE" not in pem:
                    raise RemoteFaultError("Invalid certificate", code="400")
                entry = CertEntry(
                    f"{service.removesuffix('-trust')}-trust",
                    f"upload{len(self.trust)}_{index}.pem",
                    pem,
                    description,
                )
                self.trust.append(entry)
                stored.append(entry)
        self.writes.append(("upload_trust", tuple(services)))
        return stored

    def delete_trust(self, *, store: str, filename: str) -> None:
        self.delete_certificate(store=store, filename=filename)

    def active_version(self) -> str:
        return self.version

    def certificates(self, kind: str) -> Sequence[CertEntry]:
        return self.own if kind == "own" else self.trust

    def certificate(self, kind: str, *, unit: str, filename: str) -> CertEntry | None:
        found = [e for e in self.certificates(kind) if e.unit == unit]
        return next((e for e in found if not filename or e.filename == filename), None)

    def import_trust(self, *, unit: str, pem: str) -> CertEntry:
        return self.upload_trust(services=[unit], pems=[pem], description="Trust Certificate")[0]

    def delete_certificate(self, *, store: str, filename: str) -> None:
        for entry in self.trust:
            if entry.unit == store and entry.filename == filename:
                self.trust.remove(entry)
                self.writes.append(("delete", (store, filename)))
                return
        raise RemoteFaultError(f"{store}/{filename} does not exist", code="404")

    def trust_file(self, name: str) -> TrustFile | None:
        content = self.files.get(name)
        return (
            TrustFile(content, dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
            if content is not None
            else None
        )

    def bulk_export(self, unit: str) -> Sequence[BulkFile]:
        return [BulkFile(f"{self.name}_{unit}.p12", f"export of {unit} from {self.name}".encode())]

    def bulk_consolidate(self, unit: str, files: Sequence[BulkFile]) -> Sequence[BulkFile]:
        return [
            BulkFile(
                f"consolidated_{unit}.p12", b"\n".join(f.content for f in sorted(files, key=lambda f: f.name))
            )
        ]

    def bulk_import(self, unit: str, files: Sequence[BulkFile]) -> Sequence[str]:
        self.writes.append(("bulk_import", tuple(f.name for f in files)))
        return ["tomcat", "tftp"] if unit == "all" else [unit]

    # -- TftpBackend
    def tftp_file(self, name: str) -> bytes | None:
        return self.files.get(name)


@dataclass
class FakeRouter:
    """IOS DHCP pools: name -> (network, option 150 addresses)."""

    pool_table: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    saved: int = 0

    def pools(self) -> Sequence[tuple[str, str, tuple[str, ...]]]:
        return [(name, net, opt) for name, (net, opt) in self.pool_table.items()]

    def set_option150(self, *, pool: str, addresses: Sequence[str]) -> None:
        net = self.pool_table.get(pool, ("", ()))[0]
        self.pool_table[pool] = (net, tuple(addresses))

    def write_memory(self) -> None:
        self.saved += 1
