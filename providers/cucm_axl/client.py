"""``AxlClient``: typed calls on one cluster's AXL (zeep over a verified session,
``providers.transports.soap``).

Used by the ``param`` provider (``providers.cucm_axl.params``), the CUCM DHCP backend
(``providers.dhcp.cucm``) and, through ``reconciler.wiring``, by commands that read cluster facts. Read
methods never mutate; the mutating ones are listed in ``MUTATING_OPERATIONS`` (tests compare them with
the lab's write log). Every call goes through ``providers.transports.soap.soap_errors`` (foreign errors mapped
at the boundary).

What it covers (docs/cucm-domain.md#axl): ``getCCMVersion``; process nodes (without the
``EnterpriseWideData`` pseudo node); service and enterprise parameters, including discovery of the
internal name of "Prepare Cluster for Rollback to pre 8.0" (its paramname is not documented, [GAP],
so it is looked up by name among the Enterprise Wide parameters, then in ``processconfig``); services per
node from the database (``executeSQLQuery``); phones, paged with ``skip``/``first`` and filtered by name
pattern, description, device pool or CallManager group (through the pools that use the group);
CallManager groups with members; phone reset (``resetPhone``/``restartPhone``/``doDeviceReset``);
CUCM DHCP servers and subnets.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Self

import requests

from providers.cucm_axl.models import (
    CallManagerGroupInfo,
    DevicePoolInfo,
    DhcpSubnetInfo,
    NodeService,
    PhoneFilter,
    PhoneInfo,
    PoolDevice,
    ProcessNodeInfo,
    ResetKind,
    ServiceParameterInfo,
    parse_bool,
)
from providers.cucm_axl.wire import (
    AXL_NOT_FOUND,
    ENTERPRISE_SERVICE,
    ENTERPRISE_WIDE_NODE,
    LEAN_PAGE,
    MAX_PAGES,
    MUTATING_OPERATIONS,
    NO_SUCH_OPERATION,
    PHONE_TAGS,
    POOL_DEVICES_SQL,
    RESET_POOL_OPERATION,
    ROLLBACK_ALIASES,
    ROLLBACK_SQL,
    SERVICES_SQL,
    SUBNET_TAGS,
    is_rollback_alias,
)
from providers.cucm_axl.wire import get as _get
from providers.cucm_axl.wire import items as _items
from providers.cucm_axl.wire import norm as _norm
from providers.cucm_axl.wire import text as _text
from providers.transports.soap import CucmEndpoint, SoapService, make_soap_client, open_session, soap_errors
from reconciler.errors import RemoteFaultError

__all__ = [
    "ENTERPRISE_SERVICE",
    "ENTERPRISE_WIDE_NODE",
    "MUTATING_OPERATIONS",
    "NO_SUCH_OPERATION",
    "POOL_DEVICES_SQL",
    "ROLLBACK_ALIASES",
    "ROLLBACK_SQL",
    "SERVICES_SQL",
    "AxlClient",
    "is_rollback_alias",
]


class AxlClient:
    """AXL of one cluster (any node answers; usually the publisher). Context manager."""

    def __init__(self, *, endpoint: CucmEndpoint, session: requests.Session, page_size: int = 200) -> None:
        if page_size < 1:
            raise ValueError("page_size must be positive")
        self.endpoint = endpoint
        self.page_size = page_size
        self._session = session
        self._service = make_soap_client(
            service=SoapService.AXL, endpoint=endpoint, session=session, wsdl=endpoint.axl_wsdl
        )

    @classmethod
    def connect(cls, cluster: Any, *, node: Any | None = None, page_size: int = 200) -> AxlClient:
        """For a ``schemas.cluster.Cluster``: its publisher (or ``node``) with ``credentials.axl``; the
        password reference is resolved now, never earlier."""
        endpoint = CucmEndpoint.from_cluster(cluster, node)
        cred = cluster.credentials.axl
        session = open_session(endpoint, user=cred.username, password=cred.password)
        return cls(endpoint=endpoint, session=session, page_size=page_size)

    @property
    def name(self) -> str:
        return self.endpoint.label

    def call(self, operation: str, **kwargs: Any) -> Any:
        """One AXL operation with errors mapped (``RemoteFaultError.code`` = axlcode)."""
        with soap_errors(endpoint=self.endpoint, operation=operation):
            return getattr(self._service, operation)(**kwargs)

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _paged(
        self, operation: str, key: str, *, page_size: int | None = None, **kwargs: Any
    ) -> Iterator[Any]:
        size = page_size or self.page_size
        for page in range(MAX_PAGES):
            items = _items(self.call(operation, skip=page * size, first=size, **kwargs), key)
            yield from items
            if len(items) < size:
                return
        raise RemoteFaultError(
            f"AXL {operation} on {self.name} did not end after {MAX_PAGES} pages", endpoint=self.name
        )

    # ------------------------------------------------------------------ cluster
    def version(self) -> str:
        """The active CUCM version (``getCCMVersion``), e.g. ``14.0.1.11900-132``."""
        return _text(self.call("getCCMVersion")["return"]["componentVersion"]["version"])

    def process_nodes(self) -> tuple[ProcessNodeInfo, ...]:
        """The cluster's servers (``EnterpriseWideData`` skipped)."""
        tags = {"name": "", "description": "", "nodeUsage": "", "processNodeRole": ""}
        nodes = self._paged("listProcessNode", "processNode", searchCriteria={"name": "%"}, returnedTags=tags)
        return tuple(
            ProcessNodeInfo(
                name=_text(_get(n, "name")),
                uuid=_text(_get(n, "uuid")),
                description=_text(_get(n, "description")),
                node_usage=_text(_get(n, "nodeUsage")),
                role=_text(_get(n, "processNodeRole")),
            )
            for n in nodes
            if _text(_get(n, "name")) != ENTERPRISE_WIDE_NODE
        )

    def node_services(self) -> tuple[NodeService, ...]:
        """Services activated per node, from the database (``SERVICES_SQL``); run state is
        ControlCenterServices' business (``providers.cucm_serviceability``)."""
        out = []
        for row in self.sql(SERVICES_SQL):
            node, service, enabled = (
                row.get("servername", ""),
                row.get("service", ""),
                row.get("enable", ""),
            )
            out.append(NodeService(node=node, service=service, enabled=bool(parse_bool(enabled or "f"))))
        return tuple(out)

    def sql(self, query: str) -> tuple[dict[str, str], ...]:
        """Read-only ``executeSQLQuery``: one dict per row, column name → text (NULL → ``""``)."""
        rows = _items(self.call("executeSQLQuery", sql=query), "row")
        return tuple(_sql_columns(row) for row in rows)

    # ------------------------------------------------------------------ parameters
    def service_parameter(self, *, node: str, service: str, name: str) -> ServiceParameterInfo | None:
        """One parameter, ``None`` when AXL says it does not exist (axlcode 5007)."""
        try:
            answer = self.call("getServiceParameter", processNodeName=node, service=service, name=name)
        except RemoteFaultError as exc:
            if exc.code == AXL_NOT_FOUND:
                return None
            raise
        return self._param(answer["return"]["serviceParameter"])

    def service_parameters(
        self, *, node: str | None = None, service: str | None = None
    ) -> tuple[ServiceParameterInfo, ...]:
        """``listServiceParameter`` (paged); ``None`` criteria match everything."""
        criteria = {k: v for k, v in (("processNodeName", node), ("service", service)) if v is not None}
        tags = {"processNodeName": "", "name": "", "service": "", "value": "", "valueType": ""}
        return tuple(
            self._param(p)
            for p in self._paged(
                "listServiceParameter", "serviceParameter", searchCriteria=criteria, returnedTags=tags
            )
        )

    def enterprise_parameters(self) -> tuple[ServiceParameterInfo, ...]:
        return self.service_parameters(node=ENTERPRISE_WIDE_NODE, service=ENTERPRISE_SERVICE)

    def update_service_parameter(self, *, node: str, service: str, name: str, value: str) -> str:
        """``updateServiceParameter`` (mutating); returns the uuid AXL answers."""
        answer = self.call(
            "updateServiceParameter", processNodeName=node, service=service, name=name, value=value
        )
        return _text(_get(answer, "return"))

    def rollback_parameter(self) -> ServiceParameterInfo | None:
        """ "Prepare Cluster for Rollback to pre 8.0", whatever its internal name is on this release
        (§6.2): the one Enterprise Wide parameter whose name mentions rollback (preferring one that also
        says prepare / pre-8), else ``processconfig`` via SQL. ``None`` if the cluster has none;
        ``RemoteFaultError`` listing the candidates if several fit equally."""
        try:
            found = [p for p in self.enterprise_parameters() if "rollback" in _norm(p.name)]
        except RemoteFaultError:
            found = []
        if not found:
            try:
                rows = self.sql(ROLLBACK_SQL)
            except RemoteFaultError:
                rows = ()
            found = [
                ServiceParameterInfo(
                    node=ENTERPRISE_WIDE_NODE,
                    service=ENTERPRISE_SERVICE,
                    name=r.get("paramname", ""),
                    value=r.get("paramvalue", ""),
                )
                for r in rows
                if r.get("paramname")
            ]
        if len(found) > 1:
            preferred = [p for p in found if any(k in _norm(p.name) for k in ("prepare", "pre8"))]
            found = preferred or found
        if len(found) > 1:
            names = ", ".join(sorted(p.name for p in found))
            raise RemoteFaultError(
                f"{self.name}: several enterprise parameters look like the rollback parameter: {names}",
                endpoint=self.name,
                hint="name the internal parameter in the address (param.<cluster>.<name>)",
            )
        return found[0] if found else None

    def enterprise_parameter(self, name: str) -> ServiceParameterInfo | None:
        """An enterprise parameter by internal name (case-insensitive) or by a rollback alias."""
        if is_rollback_alias(name):
            return self.rollback_parameter()
        exact = self.service_parameter(node=ENTERPRISE_WIDE_NODE, service=ENTERPRISE_SERVICE, name=name)
        if exact is not None:
            return exact
        wanted = _norm(name)
        return next((p for p in self.enterprise_parameters() if _norm(p.name) == wanted), None)

    @staticmethod
    def _param(p: Any) -> ServiceParameterInfo:
        return ServiceParameterInfo(
            node=_text(_get(p, "processNodeName")),
            service=_text(_get(p, "service")),
            name=_text(_get(p, "name")),
            value=_text(_get(p, "value")),
            value_type=_text(_get(p, "valueType")),
        )

    # ------------------------------------------------------------------ phones
    def device_pools(self, *, callmanager_group: str | None = None) -> tuple[DevicePoolInfo, ...]:
        criteria = {"name": "%"} if callmanager_group is None else {"callManagerGroupName": callmanager_group}
        pools = self._paged(
            "listDevicePool",
            "devicePool",
            searchCriteria=criteria,
            returnedTags={"name": "", "callManagerGroupName": ""},
        )
        return tuple(
            DevicePoolInfo(
                name=_text(_get(p, "name")),
                uuid=_text(_get(p, "uuid")),
                callmanager_group=_text(_get(p, "callManagerGroupName")),
            )
            for p in pools
        )

    def phone_device_pools(self) -> dict[str, str]:
        """Every phone's device pool (name → pool): ``listPhone`` asking for those two tags only, in
        pages of ``LEAN_PAGE`` — about 150 bytes a phone, far under AXL's response size limit (about
        8 MB, [I] in docs/cucm-domain.md#axl); 80,000 phones are 80 requests instead of 400 full ones."""
        size = max(self.page_size, LEAN_PAGE)
        rows = self._paged(
            "listPhone",
            "phone",
            page_size=size,
            searchCriteria={"name": "%"},
            returnedTags={"name": "", "devicePoolName": ""},
        )
        return {_text(_get(p, "name")): _text(_get(p, "devicePoolName")) for p in rows}

    def phones(self, filt: PhoneFilter | None = None) -> Iterator[PhoneInfo]:
        """Phones matching ``filt``, paged (``skip``/``first`` of ``page_size``). A CallManager group
        filter becomes one listing per device pool of that group (combined with ``device_pool``)."""
        filt = filt or PhoneFilter()
        pools: Sequence[str | None] = [filt.device_pool]
        if filt.callmanager_group is not None:
            names = [p.name for p in self.device_pools(callmanager_group=filt.callmanager_group)]
            pools = [n for n in names if filt.device_pool is None or _norm(n) == _norm(filt.device_pool)]
        for pool in pools:
            criteria = {
                k: v
                for k, v in (
                    ("name", filt.name or "%"),
                    ("description", filt.description),
                    ("devicePoolName", pool),
                )
                if v is not None
            }
            for p in self._paged("listPhone", "phone", searchCriteria=criteria, returnedTags=PHONE_TAGS):
                yield PhoneInfo(
                    name=_text(_get(p, "name")),
                    uuid=_text(_get(p, "uuid")),
                    description=_text(_get(p, "description")),
                    model=_text(_get(p, "model")),
                    product=_text(_get(p, "product")),
                    protocol=_text(_get(p, "protocol")),
                    device_pool=_text(_get(p, "devicePoolName")),
                    security_profile=_text(_get(p, "securityProfileName")),
                )

    def reset_phone(
        self, name: str, *, kind: ResetKind = ResetKind.RESET, hard: bool = False, via: str = "phone"
    ) -> str:
        """Reset (reload config) or restart one phone (mutating). ``via="phone"`` uses
        ``resetPhone``/``restartPhone``; ``via="device"`` uses ``doDeviceReset`` (which also takes
        ``hard``; a hard reset clears the phone's call history)."""
        if via == "device":
            answer = self.call("doDeviceReset", deviceName=name, isHardReset=hard, deviceResetType=kind.value)
        elif via == "phone":
            answer = self.call("resetPhone" if kind is ResetKind.RESET else "restartPhone", name=name)
        else:
            raise ValueError(f"via must be 'phone' or 'device', not {via!r}")
        return _text(_get(answer, "return"))

    # ------------------------------------------------------------------ device pools: pool-level resets
    def pool_devices(self, pool: str | None = None) -> tuple[PoolDevice, ...]:
        """Every device (all classes: phones, gateways, CTI ports, ...) of device pool ``pool``, or of
        every pool when ``None``, from the database (``POOL_DEVICES_SQL``, read-only; the pools' names
        from ``listDevicePool``). An unknown ``pool`` lists nothing."""
        names = {_pkid(p.uuid): p.name for p in self.device_pools()}
        query = POOL_DEVICES_SQL
        if pool is not None:
            pkid = next((k for k, n in names.items() if n == pool), None)
            if pkid is None:
                return ()
            query += " where d.fkdevicepool = '" + pkid.replace("'", "''") + "'"
        return tuple(
            PoolDevice(
                name=row.get("name", ""),
                pool=names.get(_pkid(row.get("fkdevicepool", "")), ""),
                tkclass=row.get("tkclass", ""),
                tkmodel=row.get("tkmodel", ""),
            )
            for row in self.sql(query)
            if row.get("fkdevicepool")
        )

    def reset_device_pool(self, pool: str) -> str:
        """Reset every device of ``pool`` in one call (``resetDevicePool``, mutating; the request shape
        is inferred, [I] in docs/cucm-interfaces.md). A CUCM or WSDL without the operation raises
        ``RemoteFaultError`` with code ``NO_SUCH_OPERATION`` (the caller resets per phone instead)."""
        try:
            getattr(self._service, RESET_POOL_OPERATION)
        except AttributeError as exc:  # zeep: the WSDL in use does not define it
            raise RemoteFaultError(
                f"AXL on {self.name}: the WSDL in use has no {RESET_POOL_OPERATION} operation",
                endpoint=self.name,
                code=NO_SUCH_OPERATION,
            ) from exc
        try:
            answer = self.call(RESET_POOL_OPERATION, name=pool)
        except RemoteFaultError as exc:
            low = exc.message.lower()
            if (
                exc.code != AXL_NOT_FOUND
                and RESET_POOL_OPERATION.lower() in low
                and ("no such operation" in low or "not supported" in low or "invalid operation" in low)
            ):
                raise RemoteFaultError(exc.message, endpoint=self.name, code=NO_SUCH_OPERATION) from exc
            raise
        return _text(_get(answer, "return"))

    # ------------------------------------------------------------------ CallManager groups
    def callmanager_groups(self) -> tuple[CallManagerGroupInfo, ...]:
        """Every CallManager group with its members in priority order (one get per group)."""
        listed = self._paged(
            "listCallManagerGroup",
            "callManagerGroup",
            searchCriteria={"name": "%"},
            returnedTags={"name": "", "tftpDefault": ""},
        )
        return tuple(self.callmanager_group(_text(_get(g, "name"))) for g in listed)

    def callmanager_group(self, name: str) -> CallManagerGroupInfo:
        group = self.call("getCallManagerGroup", name=name)["return"]["callManagerGroup"]
        members = _get(_get(group, "members"), "member") or []
        ordered = sorted(members or [], key=lambda m: _priority(_text(_get(m, "priority"))))
        return CallManagerGroupInfo(
            name=_text(_get(group, "name")),
            uuid=_text(_get(group, "uuid")),
            tftp_default=bool(parse_bool(_text(_get(group, "tftpDefault")) or "f")),
            members=tuple(_text(_get(m, "callManagerName")) for m in ordered),
        )

    # ------------------------------------------------------------------ DHCP
    def dhcp_subnets(self, *, server: str | None = None) -> tuple[DhcpSubnetInfo, ...]:
        """CUCM DHCP subnets (of ``server``, a process node name, or all). ``listDhcpSubnet`` does not
        return the server name, so with ``server=None`` each server is listed in turn."""
        servers = [server] if server is not None else [s for s in self.dhcp_servers()]
        out: list[DhcpSubnetInfo] = []
        for srv in servers:
            rows = self._paged(
                "listDhcpSubnet",
                "dhcpSubnet",
                searchCriteria={"dhcpServerName": srv},
                returnedTags=SUBNET_TAGS,
            )
            out.extend(
                DhcpSubnetInfo(
                    server=srv,
                    subnet=_text(_get(r, "subnetIpAddress")),
                    mask=_text(_get(r, "subnetMask")),
                    uuid=_text(_get(r, "uuid")),
                    primary_tftp=_text(_get(r, "primaryTftpServerIpAddress")),
                    secondary_tftp=_text(_get(r, "secondaryTftpServerIpAddress")),
                )
                for r in rows
            )
        return tuple(out)

    def dhcp_servers(self) -> tuple[str, ...]:
        """Process node names that have a CUCM DHCP server."""
        rows = self._paged(
            "listDhcpServer",
            "dhcpServer",
            searchCriteria={"processNodeName": "%"},
            returnedTags={"processNodeName": ""},
        )
        return tuple(_text(_get(r, "processNodeName")) for r in rows)

    def update_dhcp_subnet_tftp(self, *, server: str, subnet: str, primary: str, secondary: str) -> str:
        """Set the subnet's TFTP addresses (option 150; mutating). Empty text clears a field."""
        answer = self.call(
            "updateDhcpSubnet",
            dhcpServerName=server,
            subnetIpAddress=subnet,
            primaryTftpServerIpAddress=primary,
            secondaryTftpServerIpAddress=secondary,
        )
        return _text(_get(answer, "return"))


def _sql_columns(row: Any) -> dict[str, str]:
    """One ``executeSQLQuery`` row as column → text, whatever shape the WSDL gave it.

    Cisco's schema leaves ``row`` untyped, so zeep hands over the raw XML (an element, or the list of
    its children; our bundled WSDL does the same). A toolkit release that typed it as a wrapper with
    ``xsd:any`` children arrives as a zeep object whose ``_value_1`` holds the elements; a typed one
    with named fields as an object with attributes. All are accepted (be tolerant where facts are
    [I]: docs/cucm-domain.md#interface-facts).
    """
    if hasattr(row, "tag") or isinstance(row, list | tuple):
        elements: Any = row  # the raw element, or the list of its child elements
    elif getattr(row, "_value_1", None) is not None:
        elements = row._value_1
    elif hasattr(row, "__values__"):
        return {str(k): "" if v is None else str(v) for k, v in row.__values__.items()}
    else:
        elements = ()
    return {
        str(el.tag).rsplit("}", 1)[-1]: (el.text or "")
        for el in elements
        if el is not None and isinstance(getattr(el, "tag", None), str)
    }


def _priority(text: str) -> tuple[int, int]:
    """Sort key of a CallManager group member: its priority; members without a readable one last."""
    try:
        return (0, int(text or 0))
    except ValueError:
        return (1, 0)


def _pkid(uuid: str) -> str:
    """A uuid as the database stores a pkid: lower case, no braces (AXL answers ``{UPPER}``)."""
    return uuid.strip().strip("{}").lower()
