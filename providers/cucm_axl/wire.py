"""AXL wire vocabulary shared by the AXL client and the ``param`` provider: constants (pseudo node,
SQL texts, mutating operations, rollback aliases) and helpers that read zeep answers tolerantly (a value
may be plain text or a reference element with ``_value_1``; absent/undeclared elements read as empty).
Imported by ``providers.cucm_axl.client`` and ``providers.cucm_axl.params`` only.
"""

from __future__ import annotations

import re
from typing import Any

from reconciler.vocabulary import ROLLBACK_ALIAS, ROLLBACK_PARAMETER

__all__ = [
    "AXL_NOT_FOUND",
    "ENTERPRISE_SERVICE",
    "ENTERPRISE_WIDE_NODE",
    "MAX_PAGES",
    "MUTATING_OPERATIONS",
    "NO_SUCH_OPERATION",
    "PHONE_TAGS",
    "POOL_DEVICES_SQL",
    "RESET_POOL_OPERATION",
    "ROLLBACK_ALIASES",
    "ROLLBACK_SQL",
    "SERVICES_SQL",
    "SUBNET_TAGS",
    "get",
    "is_rollback_alias",
    "items",
    "norm",
    "text",
]

ENTERPRISE_WIDE_NODE = "EnterpriseWideData"
ENTERPRISE_SERVICE = "Enterprise Wide"
AXL_NOT_FOUND = "5007"
MUTATING_OPERATIONS = frozenset(
    {
        "updateServiceParameter",
        "resetPhone",
        "restartPhone",
        "doDeviceReset",
        "resetDevicePool",
        "updateDhcpServer",
        "updateDhcpSubnet",
        "executeSQLUpdate",
    }
)
SERVICES_SQL = (
    "select pns.servername, ts.name as service, pns.enable from processnodeservice pns, typeservice ts "
    "where pns.tkservice = ts.enum"
)
#: Every device, all classes, with its device pool's pkid (the pool-level reset's eligibility check
#: reads it and names the pools from ``listDevicePool``; no join, so a large table stays one scan;
#: ``tkclass`` 1 is Phone, ``tkmodel`` tells a CTI port from a phone; [I], docs/cucm-interfaces.md).
POOL_DEVICES_SQL = "select d.name, d.tkclass, d.tkmodel, d.fkdevicepool from device d"
RESET_POOL_OPERATION = "resetDevicePool"
#: ``RemoteFaultError.code`` when the CUCM (or the WSDL in use) does not know an operation.
NO_SUCH_OPERATION = "no-such-operation"
ROLLBACK_SQL = "select paramname, paramvalue from processconfig where paramname like '%ollback%'"
#: Names a desired state may use for "Prepare Cluster for Rollback to pre 8.0" (R2).
ROLLBACK_ALIASES = (ROLLBACK_ALIAS, str(ROLLBACK_PARAMETER))
PHONE_TAGS = {
    t: ""
    for t in ("name", "description", "model", "product", "protocol", "devicePoolName", "securityProfileName")
}
SUBNET_TAGS = {
    t: ""
    for t in ("subnetIpAddress", "subnetMask", "primaryTftpServerIpAddress", "secondaryTftpServerIpAddress")
}
MAX_PAGES = 10_000  # bounded loops: 10k pages of page_size items
LEAN_PAGE = 1_000  # rows per page of a two-tag listing (AxlClient.phone_device_pools)


def norm(value: str) -> str:
    """Lower-case letters and digits only (for tolerant name matching)."""
    return re.sub(r"[^a-z0-9]", "", value.lower())


def is_rollback_alias(name: str) -> bool:
    """True for the names that mean "Prepare Cluster for Rollback to pre 8.0" (label, short alias, or
    the "pre-8.6" wording some guides use)."""
    key = norm(name)
    return key in ("rollbacktopre8", "preparerollback") or ("prepare" in key and "rollback" in key)


def text(value: Any) -> str:
    """A zeep value (plain text or a reference element with ``_value_1``) as text."""
    if value is None:
        return ""
    inner = getattr(value, "_value_1", None) if not isinstance(value, str | int | float | bool) else None
    if inner is None and not isinstance(value, str | int | float | bool):
        try:
            inner = value["_value_1"]
        except (KeyError, TypeError, IndexError):
            inner = None
    return str(inner if inner is not None else value).strip()


def get(obj: Any, key: str) -> Any:
    """``obj[key]`` of a zeep object, ``None`` when the element/attribute is absent or not declared."""
    if obj is None:
        return None
    try:
        return obj[key]
    except (KeyError, AttributeError, TypeError, IndexError):
        return None


def items(response: Any, key: str) -> list[Any]:
    """The repeated ``key`` elements under ``return`` of a list answer (``[]`` when none)."""
    ret = response["return"] if response is not None else None
    if ret is None:
        return []
    try:
        found = ret[key]
    except (KeyError, AttributeError, TypeError):
        return []
    return list(found or [])
