"""The AXL face (``/axl/``): SOAP 1.1 document/literal in, calls on an ``AxlBackend`` out.

Accepts requests in any ``http://www.cisco.com/AXL/API/<v>`` namespace (so clients built on Cisco's own
toolkit WSDL work; tests/fixtures/cisco_toolkit_like is such a WSDL) and answers in the namespace the
request used, with unqualified children in the order of Cisco's toolkit schema (docs/cucm-domain.md#axl).
Get/update requests may name their object by ``uuid`` instead of its key, as the toolkit schema allows.
``returnedTags`` selects the tags of list/get answers (all tags when it is empty; the shapes are
``simulator.faces.axl_tags``). Faults are what CUCM sends:
HTTP 500 with ``detail/axlError`` (``axlcode``, ``axlmessage``, ``request``) when the backend raises
``RemoteFaultError``; HTTP 503 on writes while the node's write throttle is on. ``SOAPAction: "CUCM:DB ver=<v>
<op>"`` is accepted with or without quotes and operation (the Body decides).
"""

# ruff: noqa: N802 - handler names mirror the AXL operation names (_op_<operation>)
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from lxml import etree

from reconciler.errors import RemoteFaultError
from simulator.faces.axl_tags import (
    CMG_FIELDS,
    DEVICE_POOL_FIELDS,
    DHCP_SERVER_FIELDS,
    DHCP_SUBNET_FIELDS,
    DHCP_SUBNET_LIST_FIELDS,
    PHONE_FIELDS,
    PROCESS_NODE_FIELDS,
    SERVICE_PARAMETER_FIELDS,
    emit,
    like,
    page,
)
from simulator.faces.backends import (
    AXL_NOT_FOUND,
    AXL_UPDATE_NOT_FOUND,
    AxlBackend,
    CallManagerGroup,
    DevicePool,
    PhoneCriteria,
    PhoneRecord,
    ProcessNode,
    ResetMode,
    ServiceParameter,
)
from simulator.faces.faults import FaceFaults
from simulator.faces.https import Credentials, Request, Route, tomcat_error_page
from simulator.faces.soap import HttpStatusError, SoapFault, SoapService, child, child_text, load_wsdl, sub

__all__ = ["ENTERPRISE_WIDE_NODE", "WRITE_OPERATIONS", "AxlFace"]

ENTERPRISE_WIDE_NODE = ProcessNode(
    name="EnterpriseWideData", uuid="{00000000-1111-0000-0000-000000000000}", node_usage=""
)
WSDL_VERSION = "14.0"  # the version string written in wsdl/AXLAPI.wsdl
WRITE_OPERATIONS = frozenset(
    {
        "updateServiceParameter",
        "resetPhone",
        "restartPhone",
        "doDeviceReset",
        "resetDevicePool",
        "updateDhcpServer",
        "updateDhcpSubnet",
    }
)


class AxlFace:
    """Operations of the AXL face on one backend; ``route()`` mounts it on an ``HttpFaceServer``."""

    def __init__(self, backend: AxlBackend, *, faults: FaceFaults | None = None) -> None:
        self.backend = backend
        self.faults = faults or FaceFaults()
        major_minor = ".".join(backend.ccm_version().split(".")[:2])
        self.service = SoapService(
            name="AXL",
            wsdl=load_wsdl("AXLAPI.wsdl"),
            operations={
                name[4:]: self._wrap(name[4:]) for name in dir(type(self)) if name.startswith("_op_")
            },
            rewrite_wsdl=lambda text: text.replace(f"API/{WSDL_VERSION}", f"API/{major_minor}").replace(
                f"ver={WSDL_VERSION} ", f"ver={major_minor} "
            ),
        )

    def route(self, credentials: Credentials | Callable[[], Credentials], prefix: str = "/axl/") -> Route:
        return Route(prefix, self.service, credentials, realm="Cisco AXL")

    # ------------------------------------------------------------ plumbing
    def _wrap(self, op_name: str) -> Callable[[etree._Element, Request], etree._Element]:
        handler = getattr(self, "_op_" + op_name)

        def run(op: etree._Element, request: Request) -> etree._Element:
            queue = self.faults.change_queue
            if op_name in WRITE_OPERATIONS and (
                self.faults.axl_write_throttle or (queue is not None and not queue.offer())
            ):
                raise HttpStatusError(503, tomcat_error_page(503, "Service Unavailable"))
            namespace = etree.QName(op).namespace or ""
            response = etree.Element(f"{{{namespace}}}{op_name}Response", nsmap={"ns": namespace})
            if op.get("sequence"):
                response.set("sequence", op.get("sequence", ""))
            ret = sub(response, "return")
            try:
                handler(op, ret)
            except RemoteFaultError as exc:
                detail = etree.Element("axlError")
                sub(detail, "axlcode", exc.code or "-1")
                sub(detail, "axlmessage", exc.message)
                sub(detail, "request", op_name)
                raise SoapFault(exc.message, code="Server", detail=detail) from exc
            return response

        return run

    # ------------------------------------------------------------ operations
    def _op_getCCMVersion(self, op: etree._Element, ret: etree._Element) -> None:
        sub(sub(ret, "componentVersion"), "version", self.backend.ccm_version())

    def _op_listProcessNode(self, op: etree._Element, ret: etree._Element) -> None:
        crit = child(op, "searchCriteria")
        nodes = [ENTERPRISE_WIDE_NODE, *self.backend.process_nodes()]
        found = [
            n
            for n in nodes
            if like(child_text(crit, "name"), n.name)
            and like(child_text(crit, "description"), n.description)
            and like(child_text(crit, "processNodeRole"), n.role)
        ]
        for node in page(found, op):
            el = emit(ret, "processNode", node, PROCESS_NODE_FIELDS, child(op, "returnedTags"))
            if not node.node_usage and (usage := child(el, "nodeUsage")) is not None:
                el.remove(usage)

    def _op_getServiceParameter(self, op: etree._Element, ret: etree._Element) -> None:
        node, service, name = self._parameter_key(op, code=AXL_NOT_FOUND)
        param = self.backend.get_service_parameter(node=node, service=service, name=name)
        emit(ret, "serviceParameter", param, SERVICE_PARAMETER_FIELDS, child(op, "returnedTags"))

    def _op_listServiceParameter(self, op: etree._Element, ret: etree._Element) -> None:
        crit = child(op, "searchCriteria")
        params: list[ServiceParameter] = list(
            self.backend.list_service_parameters(
                node=child_text(crit, "processNodeName"), service=child_text(crit, "service")
            )
        )
        for param in page(params, op):
            emit(ret, "serviceParameter", param, SERVICE_PARAMETER_FIELDS, child(op, "returnedTags"))

    def _op_updateServiceParameter(self, op: etree._Element, ret: etree._Element) -> None:
        node, service, name = self._parameter_key(op, code=AXL_UPDATE_NOT_FOUND)
        ret.text = self.backend.update_service_parameter(
            node=node, service=service, name=name, value=child_text(op, "value") or ""
        )

    def _op_executeSQLQuery(self, op: etree._Element, ret: etree._Element) -> None:
        result = self.backend.execute_sql_query(child_text(op, "sql") or "")
        for row in result.rows:
            row_el = sub(ret, "row")
            for column, value in zip(result.columns, row, strict=True):
                sub(row_el, column, value)

    def _op_listPhone(self, op: etree._Element, ret: etree._Element) -> None:
        crit = child(op, "searchCriteria")
        criteria = PhoneCriteria(
            name=child_text(crit, "name"),
            description=child_text(crit, "description"),
            device_pool_name=child_text(crit, "devicePoolName"),
            protocol=child_text(crit, "protocol"),
        )
        first = child_text(op, "first")
        phones = self.backend.list_phones(
            criteria, skip=int(child_text(op, "skip") or 0), first=int(first) if first else None
        )
        for phone in phones:
            emit(ret, "phone", phone, PHONE_FIELDS, child(op, "returnedTags"))

    def _op_getPhone(self, op: etree._Element, ret: etree._Element) -> None:
        phone: PhoneRecord = self.backend.get_phone(name=child_text(op, "name"), uuid=child_text(op, "uuid"))
        emit(ret, "phone", phone, PHONE_FIELDS, child(op, "returnedTags"))

    def _reset(self, op: etree._Element, ret: etree._Element, mode: ResetMode) -> None:
        ret.text = self.backend.reset_device(
            name=child_text(op, "name"), uuid=child_text(op, "uuid"), mode=mode, hard=False
        )

    def _op_resetPhone(self, op: etree._Element, ret: etree._Element) -> None:
        self._reset(op, ret, ResetMode.RESET)

    def _op_restartPhone(self, op: etree._Element, ret: etree._Element) -> None:
        self._reset(op, ret, ResetMode.RESTART)

    def _op_doDeviceReset(self, op: etree._Element, ret: etree._Element) -> None:
        kind = child_text(op, "deviceResetType") or "Reset"
        ret.text = self.backend.reset_device(
            name=child_text(op, "deviceName"),
            uuid=device.get("uuid") if (device := child(op, "deviceName")) is not None else None,
            mode=ResetMode.RESTART if kind.lower() == "restart" else ResetMode.RESET,
            hard=(child_text(op, "isHardReset") or "false").lower() in ("true", "1"),
        )

    def _op_resetDevicePool(self, op: etree._Element, ret: etree._Element) -> None:
        """Resets every device of the pool registered to this cluster (the shape is inferred, [I] in
        docs/cucm-interfaces.md: the pool by ``name`` or ``uuid``)."""
        ret.text = self.backend.reset_device_pool(name=child_text(op, "name"), uuid=child_text(op, "uuid"))

    def _op_listCallManagerGroup(self, op: etree._Element, ret: etree._Element) -> None:
        crit = child(op, "searchCriteria")
        groups = [g for g in self.backend.callmanager_groups() if like(child_text(crit, "name"), g.name)]
        for group in page(groups, op):
            emit(ret, "callManagerGroup", group, CMG_FIELDS, child(op, "returnedTags"))

    def _op_getCallManagerGroup(self, op: etree._Element, ret: etree._Element) -> None:
        group: CallManagerGroup = self._find(
            self.backend.callmanager_groups(), op, "CallManager Group", lambda g: (g.name, g.uuid)
        )
        tags = child(op, "returnedTags")
        el = emit(ret, "callManagerGroup", group, CMG_FIELDS, tags)
        if tags is None or len(tags) == 0 or child(tags, "members") is not None:
            members = sub(el, "members")
            for name, priority in group.members:
                member = sub(members, "member")
                sub(member, "callManagerName", name)
                sub(member, "priority", priority)

    def _op_listDevicePool(self, op: etree._Element, ret: etree._Element) -> None:
        crit = child(op, "searchCriteria")
        pools = [
            p
            for p in self.backend.device_pools()
            if like(child_text(crit, "name"), p.name)
            and like(child_text(crit, "callManagerGroupName"), p.callmanager_group_name)
        ]
        for pool in page(pools, op):
            emit(ret, "devicePool", pool, DEVICE_POOL_FIELDS, child(op, "returnedTags"))

    def _op_getDevicePool(self, op: etree._Element, ret: etree._Element) -> None:
        pool: DevicePool = self._find(
            self.backend.device_pools(), op, "Device Pool", lambda p: (p.name, p.uuid)
        )
        emit(ret, "devicePool", pool, DEVICE_POOL_FIELDS, child(op, "returnedTags"))

    def _op_listDhcpServer(self, op: etree._Element, ret: etree._Element) -> None:
        crit = child(op, "searchCriteria")
        keys = ("processNodeName", "primaryDnsIpAddress", "secondaryDnsIpAddress", "domainName")
        servers = [
            s
            for s in self.backend.dhcp_servers()
            if all(like(child_text(crit, k), s.get(k, "")) for k in keys)
        ]
        for server in page(servers, op):
            emit(ret, "dhcpServer", server, DHCP_SERVER_FIELDS, child(op, "returnedTags"))

    def _op_getDhcpServer(self, op: etree._Element, ret: etree._Element) -> None:
        server = self._dhcp_server(op)
        emit(ret, "dhcpServer", server, DHCP_SERVER_FIELDS, child(op, "returnedTags"))

    def _op_updateDhcpServer(self, op: etree._Element, ret: etree._Element) -> None:
        server = self._dhcp_server(op, code="5003")
        changes = self._changes(op, exclude={"uuid", "processNodeName"})
        ret.text = self.backend.update_dhcp_server(node=server["processNodeName"], changes=changes)

    def _op_listDhcpSubnet(self, op: etree._Element, ret: etree._Element) -> None:
        crit = child(op, "searchCriteria")
        keys = (
            "dhcpServerName",
            "subnetIpAddress",
            "primaryStartIpAddress",
            "primaryEndIpAddress",
            "secondaryStartIpAddress",
            "secondaryEndIpAddress",
        )
        subnets = [
            s
            for s in self.backend.dhcp_subnets()
            if all(like(child_text(crit, k), s.get(k, "")) for k in keys)
        ]
        for subnet in page(subnets, op):
            emit(ret, "dhcpSubnet", subnet, DHCP_SUBNET_LIST_FIELDS, child(op, "returnedTags"))

    def _op_getDhcpSubnet(self, op: etree._Element, ret: etree._Element) -> None:
        emit(ret, "dhcpSubnet", self._dhcp_subnet(op), DHCP_SUBNET_FIELDS, child(op, "returnedTags"))

    def _op_updateDhcpSubnet(self, op: etree._Element, ret: etree._Element) -> None:
        subnet = self._dhcp_subnet(op, code="5003")
        changes = self._changes(op, exclude={"uuid", "dhcpServerName", "subnetIpAddress"})
        ret.text = self.backend.update_dhcp_subnet(
            server=subnet["dhcpServerName"], subnet=subnet["subnetIpAddress"], changes=changes
        )

    # ------------------------------------------------------------ lookups
    def _parameter_key(self, op: etree._Element, *, code: str) -> tuple[str, str, str]:
        """(node, service, name) of a get/update that names the parameter by key or, as the toolkit's
        schema also allows, by ``uuid`` alone."""
        name, uuid = child_text(op, "name"), child_text(op, "uuid")
        if name or not uuid:
            return (child_text(op, "processNodeName") or "", child_text(op, "service") or "", name or "")
        for param in self.backend.list_service_parameters(node=None, service=None):
            if param.uuid and param.uuid.lower() == uuid.lower():
                return param.node, param.service, param.name
        raise RemoteFaultError("Item not valid: The specified Service Parameter was not found", code=code)

    @staticmethod
    def _find(
        items: Iterable[Any], op: etree._Element, what: str, key: Callable[[Any], tuple[str, str]]
    ) -> Any:
        name, uuid = child_text(op, "name"), child_text(op, "uuid")
        for item in items:
            item_name, item_uuid = key(item)
            if (uuid and item_uuid.lower() == uuid.lower()) or (name and item_name.lower() == name.lower()):
                return item
        raise RemoteFaultError(f"Item not valid: The specified {what} was not found", code=AXL_NOT_FOUND)

    def _dhcp_server(self, op: etree._Element, code: str = AXL_NOT_FOUND) -> Mapping[str, str]:
        uuid, node = child_text(op, "uuid"), child_text(op, "processNodeName")
        for server in self.backend.dhcp_servers():
            if (uuid and server.get("uuid", "").lower() == uuid.lower()) or (
                node and server.get("processNodeName") == node
            ):
                return server
        raise RemoteFaultError("Item not valid: The specified DHCP Server was not found", code=code)

    def _dhcp_subnet(self, op: etree._Element, code: str = AXL_NOT_FOUND) -> Mapping[str, str]:
        uuid, server, net = (
            child_text(op, "uuid"),
            child_text(op, "dhcpServerName"),
            child_text(op, "subnetIpAddress"),
        )
        for subnet in self.backend.dhcp_subnets():
            if (uuid and subnet.get("uuid", "").lower() == uuid.lower()) or (
                server
                and net
                and subnet.get("dhcpServerName") == server
                and subnet.get("subnetIpAddress") == net
            ):
                return subnet
        raise RemoteFaultError("Item not valid: The specified DHCP Subnet was not found", code=code)

    @staticmethod
    def _changes(op: etree._Element, *, exclude: set[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for el in op:
            if isinstance(el.tag, str) and (name := etree.QName(el).localname) not in exclude:
                out[name] = (el.text or "").strip()
        return out
