"""``ModelAxl``: one cluster of the model as the AXL face's ``AxlBackend``.

Where AXL and the model differ, this adapter decides (never the face):

* Enterprise parameters are service parameters of ``EnterpriseWideData`` / ``Enterprise Wide`` with
  AXL-internal names (``PrepareClusterForRollbackToPre80``, ``AllowedDeviceQueriesPerMinute``,
  ``ClusterSecurityMode``) and AXL booleans ``T``/``F``; the model keeps the GUI labels and
  ``True``/``False``. Lookups accept the internal name or the label. ``ClusterSecurityMode`` is derived
  from the cluster's mixed mode and is read-only. Changing the query allowance calls ``on_parameter``
  (the runtime resizes the RisPort70 budget).
* Every phone exists on both clusters (model decision); a reset sent by a cluster reaches only phones
  currently registered to that cluster's configuration (``PhoneView.cluster``), as a real CUCM can only
  reset devices registered to it; for others it answers success and nothing happens.
* The CUCM DHCP server exists only on clusters the lab's spec gives one (``dhcp_source``); subnet TFTP
  addresses drive the model (``Lab.set_cucm_dhcp_subnet``); other DHCP fields are kept here, not modelled.
* ``executeSQLQuery`` answers from tables derived from the model (``simulator.adapters.sql``).
"""

from __future__ import annotations

import ipaddress
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence

from reconciler.errors import RemoteFaultError
from simulator.adapters.common import ENTERPRISE_SERVICE, ENTERPRISE_WIDE, object_uuid
from simulator.adapters.sql import Table, run_query
from simulator.faces.axl_tags import like
from simulator.faces.backends import (
    AXL_NOT_FOUND,
    AXL_UPDATE_NOT_FOUND,
    CallManagerGroup,
    DevicePool,
    PhoneCriteria,
    PhoneRecord,
    ProcessNode,
    ResetMode,
    ServiceParameter,
    SqlResult,
)
from simulator.model import ROLLBACK_PARAMETER, Lab, PhoneView
from simulator.model.dhcp import CucmDhcpServer
from simulator.model.services import KNOWN_SERVICES

__all__ = ["LISTING_TTL", "PARAMETER_NAMES", "ModelAxl", "phone_description", "service_enum"]

LISTING_TTL = 5.0  # seconds ModelAxl reuses an unchanged listPhone match while a client pages through it

#: model label -> (AXL internal name, valueType)
PARAMETER_NAMES: Mapping[str, tuple[str, str]] = {
    ROLLBACK_PARAMETER: ("PrepareClusterForRollbackToPre80", "Boolean"),
    "Allowed Device Queries Per Minute": ("AllowedDeviceQueriesPerMinute", "Integer"),
    "Cluster Security Mode": ("ClusterSecurityMode", "Integer"),
}
_READ_ONLY = frozenset({"Cluster Security Mode"})
_TRUE = ("t", "true", "1")
_FALSE = ("f", "false", "0")


def _internal(label: str) -> tuple[str, str]:
    return PARAMETER_NAMES.get(label, (re.sub(r"[^A-Za-z0-9]", "", label.title()), "String"))


def service_enum(name: str) -> int:
    """A stable ``typeservice.enum`` for a service name."""
    return KNOWN_SERVICES.index(name) if name in KNOWN_SERVICES else 1000 + sum(map(ord, name))


def _node_row(pkid: str, name: str, nodeid: int, *, system: bool) -> dict[str, str | None]:
    return {
        "pkid": pkid,
        "name": name,
        "mac": "",
        "systemnode": "t" if system else "f",
        "description": "",
        "isactive": "t",
        "nodeid": str(nodeid),
        "tknodeusage": "0",
        "ipv6name": "",
        "tkprocessnoderole": "1",
    }


def phone_description(phone: PhoneView) -> str:
    return f"{phone.scope} {phone.model} {phone.mac}"


class ModelAxl:
    """AXL of cluster ``cluster`` on ``lab``."""

    def __init__(
        self,
        lab: Lab,
        *,
        cluster: str,
        dhcp_source: str | None = None,
        on_parameter: Callable[[str, str], None] | None = None,
    ) -> None:
        self.lab = lab
        self.cluster = cluster
        self.dhcp_source = dhcp_source
        self.on_parameter = on_parameter
        self._lock = threading.Lock()
        self._dhcp_extra: dict[str, dict[str, str]] = {}  # uuid -> AXL fields not modelled
        self._uuids: dict[str, str] | None = None  # phone uuid -> name (built on first use)
        # the last listPhone match: (criteria, operation count) -> when, phones; see list_phones
        self._listed: tuple[tuple[PhoneCriteria, int], float, tuple[PhoneView, ...]] | None = None

    # -- topology -----------------------------------------------------------------------------------
    def ccm_version(self) -> str:
        return self.lab.cluster(self.cluster).version

    def process_nodes(self) -> Sequence[ProcessNode]:
        info = self.lab.cluster(self.cluster)
        return [
            ProcessNode(
                name=n.name,
                uuid=object_uuid(self.cluster, "node", n.name),
                description=f"{n.name} ({n.ip})",
                node_usage="Publisher" if n.publisher else "Subscriber",
                mac="",
            )
            for n in info.nodes
        ]

    # -- parameters ---------------------------------------------------------------------------------
    def _parameters(self) -> list[ServiceParameter]:
        info = self.lab.cluster(self.cluster)
        out = []
        for label, stored in self.lab.enterprise_parameters(self.cluster).items():
            name, kind = _internal(label)
            value = stored
            if label == "Cluster Security Mode":
                value = "1" if info.mixed_mode else "0"
            elif kind == "Boolean":
                value = "T" if stored.strip().lower() in _TRUE else "F"
            out.append(
                ServiceParameter(
                    node=ENTERPRISE_WIDE,
                    service=ENTERPRISE_SERVICE,
                    name=name,
                    value=value,
                    value_type=kind,
                    uuid=object_uuid(self.cluster, "param", name),
                )
            )
        return out

    def _label(self, name: str) -> str | None:
        wanted = name.strip().lower()
        for label in self.lab.enterprise_parameters(self.cluster):
            if wanted in (label.lower(), _internal(label)[0].lower()):
                return label
        return None

    def get_service_parameter(self, *, node: str, service: str, name: str) -> ServiceParameter:
        if node == ENTERPRISE_WIDE and service == ENTERPRISE_SERVICE and (label := self._label(name)):
            internal = _internal(label)[0]
            return next(p for p in self._parameters() if p.name == internal)
        raise RemoteFaultError(
            "Item not valid: The specified Service Parameter was not found", code=AXL_NOT_FOUND
        )

    def list_service_parameters(self, *, node: str | None, service: str | None) -> Sequence[ServiceParameter]:
        return [p for p in self._parameters() if like(node, p.node) and like(service, p.service)]

    def update_service_parameter(self, *, node: str, service: str, name: str, value: str) -> str:
        label = self._label(name) if (node, service) == (ENTERPRISE_WIDE, ENTERPRISE_SERVICE) else None
        if label is None:
            raise RemoteFaultError("Service Parameter not found", code=AXL_UPDATE_NOT_FOUND)
        if label in _READ_ONLY:
            raise RemoteFaultError(f"{_internal(label)[0]} cannot be updated through AXL", code="5003")
        internal, kind = _internal(label)
        if kind == "Boolean":
            low = value.strip().lower()
            if low not in _TRUE + _FALSE:
                raise RemoteFaultError(f"Invalid value {value!r} for {internal} (T or F)", code="5003")
            value = "True" if low in _TRUE else "False"
        elif kind == "Integer" and not value.strip().lstrip("-").isdigit():
            raise RemoteFaultError(f"Invalid value {value!r} for {internal} (an integer)", code="5003")
        self.lab.set_enterprise_parameter(cluster=self.cluster, name=label, value=value.strip())
        if self.on_parameter is not None:
            self.on_parameter(label, value.strip())
        return object_uuid(self.cluster, "param", internal)

    # -- SQL ----------------------------------------------------------------------------------------
    def sql_tables(self) -> dict[str, Table]:
        """``processnode``, ``typeservice``, ``processnodeservice``, ``processconfig`` of this cluster."""
        info = self.lab.cluster(self.cluster)
        ew = object_uuid(self.cluster, "node", ENTERPRISE_WIDE)
        nodes: list[dict[str, str | None]] = [_node_row(ew, ENTERPRISE_WIDE, 1, system=True)]
        for i, n in enumerate(info.nodes, start=2):
            row = _node_row(object_uuid(self.cluster, "node", n.name), n.name, i, system=False)
            row.update(description=f"{n.name} ({n.ip})", tknodeusage="0" if n.publisher else "1")
            nodes.append(row)
        names = sorted({*KNOWN_SERVICES, *(s for n in info.nodes for s in n.services)}, key=service_enum)
        pns: list[dict[str, str | None]] = [
            {
                "pkid": object_uuid(self.cluster, "pns", n.name, s),
                "fkprocessnode": object_uuid(self.cluster, "node", n.name),
                "servername": n.name,
                "tkservice": str(service_enum(s)),
                "enable": "t",
                "isactive": "t",
                "tracelevel": "0",
            }
            for n in info.nodes
            for s in n.services
        ]
        config: list[dict[str, str | None]] = [
            {
                "pkid": object_uuid(self.cluster, "pc", p.name),
                "fkprocessnode": ew,
                "tkservice": "11",
                "paramname": p.name,
                "paramvalue": p.value,
                "tkparam": "0",
                "isvalid": "t",
            }
            for p in self._parameters()
        ]
        return {
            "processnode": nodes,
            "typeservice": [{"enum": str(service_enum(s)), "name": s} for s in names],
            "processnodeservice": pns,
            "processconfig": config,
        }

    def device_tables(self) -> dict[str, Table]:
        """``devicepool`` and ``device`` (every phone of the lab: ``tkclass`` 1 = Phone; the lab has no
        other device classes) of this cluster, for the device-pool listing of pool-level resets."""
        pools = {p.name: p.uuid.strip("{}").lower() for p in self.device_pools()}  # pkid: lower, no braces
        return {
            "devicepool": [{"pkid": uuid, "name": name} for name, uuid in pools.items()],
            "device": [
                {
                    "pkid": object_uuid("phone", p.name).strip("{}").lower(),
                    "name": p.name,
                    "tkclass": "1",
                    "tkmodel": "0",
                    "fkdevicepool": pools.get(p.device_pool),
                }
                for p in self.lab.phones()
            ],
        }

    def execute_sql_query(self, sql: str) -> SqlResult:
        tables = self.sql_tables()
        if "device" in sql.lower():  # the fleet-sized tables only when a query names them
            tables.update(self.device_tables())
        return run_query(sql, tables)

    # -- phones -------------------------------------------------------------------------------------
    def _record(self, phone: PhoneView) -> PhoneRecord:
        return PhoneRecord(
            name=phone.name,
            uuid=object_uuid("phone", phone.name),
            description=phone_description(phone),
            model=phone.model,
            product=phone.model,
            protocol="SIP",
            device_pool_name=phone.device_pool,
            security_profile_name=f"{phone.model} - Standard SIP Secure Profile",
        )

    def list_phones(self, criteria: PhoneCriteria, *, skip: int, first: int | None) -> Sequence[PhoneRecord]:
        """One ``skip``/``first`` page of the phones ``criteria`` matches. A client pages through the
        same listing (80 pages of 1,000 for 80,000 phones): with no lab mutation in between (the
        operation log did not grow) and within ``LISTING_TTL`` seconds the match is reused instead of
        viewing the whole fleet again for each page."""
        key = (criteria, len(self.lab.operation_log))
        now = time.monotonic()
        with self._lock:
            last = self._listed
        if last is not None and last[0] == key and now - last[1] < LISTING_TTL:
            found = last[2]
        else:
            found = tuple(
                p
                for p in self.lab.phones()
                if like(criteria.name, p.name)
                and like(criteria.description, phone_description(p))
                and like(criteria.device_pool_name, p.device_pool)
                and like(criteria.protocol, "SIP")
            )
            with self._lock:
                self._listed = (key, now, found)
        page = found[skip : skip + first] if first is not None else found[skip:]
        return [self._record(p) for p in page]

    def _phone(self, *, name: str | None, uuid: str | None) -> PhoneView:
        if not name and uuid:
            with self._lock:
                if self._uuids is None:
                    self._uuids = {object_uuid("phone", p.name): p.name for p in self.lab.phones()}
                name = self._uuids.get(uuid.upper() if uuid.startswith("{") else "{" + uuid.upper() + "}")
        try:
            if name:
                return self.lab.phone(name)
        except KeyError:
            pass
        raise RemoteFaultError("Item not valid: The specified Phone was not found", code=AXL_NOT_FOUND)

    def get_phone(self, *, name: str | None, uuid: str | None) -> PhoneRecord:
        return self._record(self._phone(name=name, uuid=uuid))

    def reset_device(self, *, name: str | None, uuid: str | None, mode: ResetMode, hard: bool) -> str:
        phone = self._phone(name=name, uuid=uuid)
        if phone.cluster == self.cluster:  # only a cluster the phone is registered to can reset it
            self.lab.reset_phones([phone.name])
        return object_uuid("phone", phone.name)

    def reset_device_pool(self, *, name: str | None, uuid: str | None) -> str:
        """``resetDevicePool``: every phone of the pool currently registered to this cluster is reset
        (one logged ``reset_device_pool`` operation); an unknown pool is AXL's not-found fault."""
        pool = next(
            (p for p in self.device_pools() if (name and p.name == name) or (uuid and p.uuid == uuid)), None
        )
        if pool is None:
            raise RemoteFaultError(
                "Item not valid: The specified Device Pool was not found", code=AXL_NOT_FOUND
            )
        names = [
            p.name for p in self.lab.phones() if p.device_pool == pool.name and p.cluster == self.cluster
        ]
        self.lab.reset_phones(names, device_pool=pool.name)
        return pool.uuid

    # -- CallManager groups and device pools --------------------------------------------------------
    def callmanager_groups(self) -> Sequence[CallManagerGroup]:
        info = self.lab.cluster(self.cluster)
        return [
            CallManagerGroup(
                name=group,
                uuid=object_uuid(self.cluster, "cmg", group),
                tftp_default=index == 0,
                members=tuple((member, priority) for priority, member in enumerate(members, start=1)),
            )
            for index, (group, members) in enumerate(info.cm_groups.items())
        ]

    def device_pools(self) -> Sequence[DevicePool]:
        info = self.lab.cluster(self.cluster)
        return [
            DevicePool(name=pool, uuid=object_uuid(self.cluster, "dp", pool), callmanager_group_name=group)
            for pool, group in info.device_pools.items()
        ]

    # -- CUCM DHCP ----------------------------------------------------------------------------------
    def _server(self) -> CucmDhcpServer | None:
        if self.dhcp_source is None:
            return None
        source = self.lab.dhcp_source(self.dhcp_source)
        return source if isinstance(source, CucmDhcpServer) else None

    def dhcp_servers(self) -> Sequence[Mapping[str, str]]:
        server = self._server()
        if server is None:
            return []
        pub = self.lab.cluster(self.cluster).publisher
        uuid = object_uuid(self.cluster, "dhcpserver", pub)
        row = {"uuid": uuid, "processNodeName": pub, "ipAddressLeaseTime": "86400", "arpCacheTimeout": "0"}
        with self._lock:
            row.update(self._dhcp_extra.get(uuid, {}))
        return [row]

    def update_dhcp_server(self, *, node: str, changes: Mapping[str, str]) -> str:
        for row in self.dhcp_servers():
            if row["processNodeName"] == node:
                with self._lock:
                    self._dhcp_extra.setdefault(row["uuid"], {}).update(changes)
                return row["uuid"]
        raise RemoteFaultError("DHCP Server not found", code=AXL_UPDATE_NOT_FOUND)

    def dhcp_subnets(self) -> Sequence[Mapping[str, str]]:
        server = self._server()
        if server is None:
            return []
        pub = self.lab.cluster(self.cluster).publisher
        rows = []
        for key, subnet in sorted(server.subnets().items()):
            net = ipaddress.IPv4Network(key)
            hosts = list(net.hosts()) if net.num_addresses <= 65536 else [net.network_address + 1]
            uuid = object_uuid(self.cluster, "dhcpsubnet", key)
            row = {
                "uuid": uuid,
                "dhcpServerName": pub,
                "subnetIpAddress": str(net.network_address),
                "subnetMask": str(net.netmask),
                "primaryStartIpAddress": str(hosts[min(len(hosts) - 1, 99)]),
                "primaryEndIpAddress": str(hosts[-1]),
                "primaryRouterIpAddress": str(hosts[0]),
                "primaryTftpServerIpAddress": subnet.tftp_server1 or "",
                "secondaryTftpServerIpAddress": subnet.tftp_server2 or "",
            }
            with self._lock:
                row.update(self._dhcp_extra.get(uuid, {}))
            rows.append(row)
        return rows

    def update_dhcp_subnet(self, *, server: str, subnet: str, changes: Mapping[str, str]) -> str:
        for row in self.dhcp_subnets():
            if row["dhcpServerName"] != server or row["subnetIpAddress"] != subnet:
                continue
            tftp = [
                changes.get("primaryTftpServerIpAddress", row["primaryTftpServerIpAddress"]),
                changes.get("secondaryTftpServerIpAddress", row["secondaryTftpServerIpAddress"]),
            ]
            try:
                addresses = tuple(str(ipaddress.IPv4Address(a)) for a in tftp if a)
            except ValueError as exc:
                raise RemoteFaultError(f"Invalid TFTP server address: {exc}", code="5003") from exc
            prefix = ipaddress.IPv4Network(f"{subnet}/{row['subnetMask']}").prefixlen
            self.lab.set_cucm_dhcp_subnet(cluster=self.cluster, subnet=f"{subnet}/{prefix}", tftp=addresses)
            rest = {k: v for k, v in changes.items() if "TftpServerIpAddress" not in k}
            with self._lock:
                self._dhcp_extra.setdefault(row["uuid"], {}).update(rest)
            return row["uuid"]
        raise RemoteFaultError("DHCP Subnet not found", code=AXL_UPDATE_NOT_FOUND)
