"""The shapes of the AXL face's answers: for each object type the tags it carries, in the order of Cisco's
toolkit schema (docs/cucm-domain.md#axl); writing one object with only the ``returnedTags`` asked for;
``skip``/``first`` paging; and ``like``, the SQL LIKE of AXL ``searchCriteria``.

Called by ``simulator.faces.axl`` (the operations) and, for ``like``, by the lab's backends
(``simulator.adapters.axl``, ``simulator.adapters.services``, ``simulator.faces.fakes``) so that every
search matches the way CUCM's does.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from lxml import etree

from simulator.faces.soap import child_text, sub

__all__ = [
    "CMG_FIELDS",
    "DEVICE_POOL_FIELDS",
    "DHCP_SERVER_FIELDS",
    "DHCP_SUBNET_FIELDS",
    "DHCP_SUBNET_LIST_FIELDS",
    "PHONE_FIELDS",
    "PROCESS_NODE_FIELDS",
    "SERVICE_PARAMETER_FIELDS",
    "Field",
    "emit",
    "like",
    "page",
]

Field = tuple[str, Callable[[Any], Any], bool]  # (AXL tag, getter, is a reference element)


def like(pattern: str | None, value: str) -> bool:
    """SQL LIKE as AXL search criteria use it (``%`` any run, ``_`` one char), case-insensitive."""
    if pattern is None or pattern in ("", "%"):
        return True
    glob = (
        pattern.replace("[", "[[]")
        .replace("*", "[*]")
        .replace("?", "[?]")
        .replace("%", "*")
        .replace("_", "?")
    )
    return fnmatch.fnmatchcase(value.lower(), glob.lower())


def _f(tag: str, attr: str | None = None, *, ref: bool = False) -> Field:
    name = attr or tag

    def get(obj: Any) -> Any:
        return obj.get(tag) if isinstance(obj, Mapping) else getattr(obj, name)

    return (tag, get, ref)


PROCESS_NODE_FIELDS = [
    _f("name"),
    _f("description"),
    _f("mac"),
    _f("nodeUsage", "node_usage"),
    _f("processNodeRole", "role"),
]
SERVICE_PARAMETER_FIELDS = [
    _f("processNodeName", "node", ref=True),
    _f("name"),
    _f("service"),
    _f("value"),
    _f("valueType", "value_type"),
]
PHONE_FIELDS = [
    _f("name"),
    _f("description"),
    _f("product"),
    _f("model"),
    ("class", lambda p: "Phone", False),
    _f("protocol"),
    ("protocolSide", lambda p: "User", False),
    _f("callingSearchSpaceName", "calling_search_space_name", ref=True),
    _f("devicePoolName", "device_pool_name", ref=True),
    _f("securityProfileName", "security_profile_name", ref=True),
]
CMG_FIELDS = [_f("name"), _f("tftpDefault", "tftp_default")]
DEVICE_POOL_FIELDS = [_f("name"), _f("callManagerGroupName", "callmanager_group_name", ref=True)]
_DHCP_COMMON = [
    "primaryDnsIpAddress",
    "secondaryDnsIpAddress",
    "primaryTftpServerIpAddress",
    "secondaryTftpServerIpAddress",
    "bootstrapServerIpAddress",
    "domainName",
    "tftpServerName",
    "arpCacheTimeout",
    "ipAddressLeaseTime",
    "renewalTime",
    "rebindingTime",
]
DHCP_SERVER_FIELDS = [_f("processNodeName", ref=True), *(_f(n) for n in _DHCP_COMMON)]
_SUBNET_BODY = [
    "primaryStartIpAddress",
    "primaryEndIpAddress",
    "secondaryStartIpAddress",
    "secondaryEndIpAddress",
    "primaryRouterIpAddress",
    "secondaryRouterIpAddress",
    "subnetMask",
    "domainName",
    "primaryDnsIpAddress",
    "secondaryDnsIpAddress",
    "tftpServerName",
    "primaryTftpServerIpAddress",
    "secondaryTftpServerIpAddress",
    "bootstrapServerIpAddress",
    "arpCacheTimeout",
    "ipAddressLeaseTime",
    "renewalTime",
    "rebindingTime",
]
DHCP_SUBNET_LIST_FIELDS = [_f("subnetIpAddress"), *(_f(n) for n in _SUBNET_BODY)]
DHCP_SUBNET_FIELDS = [_f("dhcpServerName", ref=True), *DHCP_SUBNET_LIST_FIELDS]


def _uuid(obj: Any) -> str:
    return str(obj.get("uuid", "")) if isinstance(obj, Mapping) else str(obj.uuid)


def emit(
    parent: etree._Element, tag: str, obj: Any, fields: Sequence[Field], tags: etree._Element | None
) -> etree._Element:
    """Serialise ``obj`` as ``<tag uuid=..>`` with the ``fields`` named in ``returnedTags`` (all if none)."""
    wanted = (
        {etree.QName(el).localname for el in tags if isinstance(el.tag, str)} if tags is not None else set()
    )
    el = sub(parent, tag, uuid=_uuid(obj)) if _uuid(obj) else sub(parent, tag)
    for name, get, _ref in fields:
        if wanted and name not in wanted:
            continue
        value = get(obj)
        sub(el, name, "" if value is None else value)
    return el


def page(items: Sequence[Any], op: etree._Element) -> Sequence[Any]:
    skip = int(child_text(op, "skip") or 0)
    first = child_text(op, "first")
    return items[skip : skip + int(first)] if first else items[skip:]
