"""The serviceability faces: ControlCenterServices and RisPort70 (docs/cucm-domain.md#risport70).

``ControlCenterFace`` maps ``soapGetServiceStatus`` / ``soapDoControlServices`` (returns at once, before
the service settles) / ``soapGetStaticServiceList`` to a node's ``ServicesBackend``. ``StartTime`` is
printed as the ``WireDialect`` says (default: local time of a node west of UTC, no zone); ``UpTime`` is
integer seconds; a strict dialect refuses a ``NodeName`` that is not the node's own process-node name.
``RisFace`` maps ``selectCmDevice`` / ``selectCmDeviceExt`` to the cluster's ``RisBackend``; it enforces
the per-reply cap (1000 devices, 2000 from CUCM 14.0), pages with an opaque ``StateInfo``, and refuses
queries beyond the cluster's ``QueryAllowance`` with CUCM's fault (faultcode ``ns1:Server.RateControl``,
Cisco's spelling "Reatime"); an empty answer has a nil ``CmNodes``; ``DirNumber`` reads
``<number>-<status>``. Both are mounted with the application user.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence

from lxml import etree

from reconciler.errors import RemoteFaultError
from simulator.faces.backends import (
    ControlAction,
    RisBackend,
    RisCriteria,
    RisDevice,
    ServicesBackend,
    ServiceState,
)
from simulator.faces.dialect import WireDialect
from simulator.faces.faults import QueryAllowance
from simulator.faces.https import Credentials, Request, Route
from simulator.faces.soap import SoapFault, SoapService, child, child_text, children, load_wsdl, sub

__all__ = ["CCS_PATH", "RIS_PATH", "ControlCenterFace", "RisFace", "ris_cap"]

AST = "http://schemas.cisco.com/ast/soap"
CCS_PATH = "/controlcenterservice2/services/ControlCenterServices"
RIS_PATH = "/realtimeservice2/services/RISService70"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
RATE_FAULT = (
    "Exceeded allowed rate for Reatime information. Current allowed rate for realtime information "
    "is {per_minute} requests per minute."
)
_ZONES = {-8: "PST", -7: "MST", -6: "CST", -5: "EST", 0: "UTC", 1: "CET"}


def _q(name: str) -> str:
    return f"{{{AST}}}{name}"


def _el(parent: etree._Element, name: str, text: object = None) -> etree._Element:
    return sub(parent, _q(name), text)


def _root(name: str) -> etree._Element:
    return etree.Element(_q(name), nsmap={"ns1": AST})


def start_time_text(start: dt.datetime | None, dialect: WireDialect) -> str:
    """``StartTime`` as the dialect prints it (``""`` when the service has none)."""
    if start is None or dialect.start_time == "empty":
        return ""
    zone = dt.timezone(dt.timedelta(hours=dialect.node_utc_offset_h))
    local = (start if start.tzinfo else start.replace(tzinfo=dt.UTC)).astimezone(zone)
    if dialect.start_time == "iso":
        return local.replace(microsecond=0).isoformat()
    if dialect.start_time == "zoned":
        offset = dialect.node_utc_offset_h
        name = _ZONES.get(offset, f"GMT{offset:+03d}:00")
        return local.strftime(f"%a %b %d %H:%M:%S {name} %Y")
    return local.strftime("%a %b %d %H:%M:%S %Y")


class ControlCenterFace:
    def __init__(
        self, backend: ServicesBackend, *, dialect: WireDialect | None = None, process_node: str = ""
    ) -> None:
        self.backend = backend
        self.dialect = dialect or WireDialect()
        self.process_node = process_node
        self.service = SoapService(
            name="ControlCenterServices",
            wsdl=load_wsdl("ControlCenterServices.wsdl"),
            operations={
                "soapGetServiceStatus": self._status,
                "soapDoControlServices": self._control,
                "soapGetStaticServiceList": self._static,
            },
        )

    def route(self, credentials: Credentials | Callable[[], Credentials]) -> Route:
        return Route(CCS_PATH, self.service, credentials, realm="Cisco Serviceability")

    def _info(self, parent: etree._Element, states: Sequence[ServiceState], tag: str) -> etree._Element:
        now = dt.datetime.now(dt.UTC)
        ret = _el(parent, tag)
        _el(ret, "ReturnCode", "0")
        _el(ret, "ReasonCode", -1)
        _el(ret, "ReasonString", "")
        info = _el(ret, "ServiceInfoList")
        for state in states:
            item = _el(info, "item")
            _el(item, "ServiceName", state.name)
            _el(item, "ServiceStatus", state.status.value)
            _el(item, "ReasonCode", state.reason_code)
            _el(item, "ReasonCodeString", state.reason)
            _el(item, "StartTime", start_time_text(state.start_time, self.dialect))
            up: int | None = state.up_time_s
            if not up and state.start_time is not None:  # a backend that keeps only the start time
                up = max(0, int((now - state.start_time).total_seconds()))
            elif not up:
                up = None  # a test double's service with no start at all: no uptime to tell
            if up is not None:
                _el(item, "UpTime", up)
        return ret

    def _status(self, op: etree._Element, request: Request) -> etree._Element:
        wanted = {text for el in children(op, "ServiceStatus") if (text := (el.text or "").strip())}
        states = [s for s in self.backend.service_states() if not wanted or s.name in wanted]
        response = _root("soapGetServiceStatusResponse")
        self._info(response, states, "soapGetServiceStatusReturn")
        return response

    def _control(self, op: etree._Element, request: Request) -> etree._Element:
        req = child(op, "ControlServiceRequest")
        kind = child_text(req, "ControlType") or ""
        node_name = child_text(req, "NodeName") or ""
        if self.dialect.strict_node_name and node_name and node_name != self.process_node:
            raise SoapFault(f"Invalid NodeName '{node_name}'", code="Client")
        try:
            action = ControlAction(kind)
        except ValueError as exc:
            raise SoapFault(f"Invalid ControlType '{kind}' (Start|Stop|Restart)", code="Client") from exc
        names = [(el.text or "").strip() for el in children(child(req, "ServiceList"), "item")]
        try:
            states = self.backend.control_services(action=action, names=[n for n in names if n])
        except RemoteFaultError as exc:  # e.g. a service still Stopping/Starting: a fault, not HTTP 500
            raise SoapFault(exc.message, code="Server") from exc
        response = _root("soapDoControlServicesResponse")
        self._info(response, states, "soapDoControlServicesReturn")
        return response

    def _static(self, op: etree._Element, request: Request) -> etree._Element:
        response = _root("soapGetStaticServiceListResponse")
        services = _el(_el(response, "soapGetStaticServiceListReturn"), "Services")
        for spec in self.backend.static_services():
            item = _el(services, "item")
            _el(item, "ServiceName", spec.name)
            _el(item, "ServiceType", spec.service_type)
            _el(item, "Deployable", spec.deployable)
            _el(item, "GroupName", spec.group)
            deps = _el(item, "DependentServices")
            for dep in spec.dependent_services:
                _el(deps, "Service", dep)
        return response


def ris_cap(version: str) -> int:
    """Devices per RisPort70 reply: 1000; 2000 from CUCM 14.0 ([I]: docs/cucm-domain.md#risport70)."""
    return 2000 if int(version.split(".", maxsplit=1)[0]) >= 14 else 1000


def _encode_state(offset: int, total: int) -> str:
    return base64.b64encode(f"reconciler-ris:{offset}:{total}".encode()).decode()


def _decode_state(text: str | None) -> int:
    if not text:
        return 0
    try:
        tag, offset, _total = base64.b64decode(text, validate=True).decode().split(":")
        if tag != "reconciler-ris":
            raise ValueError(tag)
        return int(offset)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise SoapFault("Invalid StateInfo", code="Client") from exc


class RisFace:
    def __init__(self, backend: RisBackend, *, version: str, allowance: QueryAllowance | None = None) -> None:
        self.backend = backend
        self.cap = ris_cap(version)
        self.allowance = allowance or QueryAllowance()
        self.service = SoapService(
            name="RisPort70",
            wsdl=load_wsdl("RISService70.wsdl"),
            operations={"selectCmDevice": self._select, "selectCmDeviceExt": self._select},
        )

    def route(self, credentials: Credentials | Callable[[], Credentials]) -> Route:
        return Route(RIS_PATH, self.service, credentials, realm="Cisco RIS")

    def _select(self, op: etree._Element, request: Request) -> etree._Element:
        if not self.allowance.try_consume():
            raise SoapFault(
                RATE_FAULT.format(per_minute=self.allowance.per_minute),
                code="ns1:Server.RateControl",
                code_namespace=AST,
            )
        crit = child(op, "CmSelectionCriteria")
        offset = _decode_state(child_text(op, "StateInfo"))
        items = tuple(
            text
            for item in children(child(crit, "SelectItems"), "item")
            if (text := child_text(item, "Item"))
        )
        criteria = RisCriteria(
            device_class=child_text(crit, "DeviceClass") or "Any",
            model=int(child_text(crit, "Model") or 255),
            status=child_text(crit, "Status") or "Any",
            node_name=child_text(crit, "NodeName") or "",
            select_by=child_text(crit, "SelectBy") or "Name",
            items=items or ("*",),
            protocol=child_text(crit, "Protocol") or "Any",
            download_status=child_text(crit, "DownloadStatus") or "Any",
        )
        limit = min(int(child_text(crit, "MaxReturnedDevices") or self.cap) or self.cap, self.cap)
        devices = list(self.backend.select_devices(criteria))
        page = devices[offset : offset + limit]
        following = offset + len(page)
        state = _encode_state(following, len(devices)) if following < len(devices) else ""
        return self._answer(page, total=len(devices), state=state)

    @staticmethod
    def _answer(page: Sequence[RisDevice], *, total: int, state: str) -> etree._Element:
        response = _root("selectCmDeviceResponse")
        ret = _el(response, "selectCmDeviceReturn")
        result = _el(ret, "SelectCmDeviceResult")
        _el(result, "TotalDevicesFound", total)
        nodes = _el(result, "CmNodes")
        if not page:
            nodes.set(f"{{{XSI}}}nil", "1")
        by_node: dict[str, list[RisDevice]] = defaultdict(list)
        for device in page:
            by_node[device.node].append(device)
        for node_name, devices in by_node.items():
            node = _el(nodes, "item")
            _el(node, "ReturnCode", "Ok")
            _el(node, "Name", node_name)
            _el(node, "NoChange", False)
            cm_devices = _el(node, "CmDevices")
            for d in devices:
                item = _el(cm_devices, "item")
                for name, value in (
                    ("Name", d.name),
                    ("DirNumber", f"{d.dir_number}-{d.status}" if d.dir_number else ""),
                    ("DeviceClass", d.device_class),
                    ("Model", d.model),
                    ("Product", d.product),
                    ("BoxProduct", 0),
                    ("Httpd", "Yes"),
                    ("RegistrationAttempts", 0),
                    ("IsCtiControllable", True),
                    ("LoginUserId", ""),
                    ("Status", d.status),
                    ("StatusReason", d.status_reason),
                    ("PerfMonObject", 2),
                    ("DChannel", 0),
                    ("Description", d.description),
                ):
                    _el(item, name, value)
                _el(item, "H323Trunk")
                for name, value in (
                    ("TimeStamp", d.timestamp),
                    ("Protocol", d.protocol),
                    ("NumOfLines", 1 if d.dir_number else 0),
                ):
                    _el(item, name, value)
                lines = _el(item, "LinesStatus")
                if d.dir_number:
                    line = _el(lines, "item")
                    _el(line, "DirectoryNumber", d.dir_number)
                    _el(line, "Status", "Registered" if d.status == "Registered" else "UnRegistered")
                for name, value in (
                    ("ActiveLoadID", d.active_load_id),
                    ("InactiveLoadID", ""),
                    ("DownloadStatus", d.download_status),
                    ("DownloadFailureReason", ""),
                    ("DownloadServer", ""),
                ):
                    _el(item, name, value)
                addresses = _el(item, "IPAddress")
                if d.ip_address:
                    address = _el(addresses, "item")
                    _el(address, "IP", d.ip_address)
                    _el(address, "IPAddrType", "ipv4")
                    _el(address, "Attribute", "Unknown")
        _el(ret, "StateInfo", state)
        return response
