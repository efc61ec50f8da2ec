"""CUCM AXL: the typed client (``client.AxlClient``), its result models (``models``) and the
``param.<cluster>.<name>`` provider (``params.EnterpriseParameterProvider``). Wired by ``reconciler.wiring``;
used by ``providers.dhcp.cucm``. Facts: docs/cucm-domain.md#axl; usage: docs/providers.md ("CUCM over
SOAP")."""

from providers.cucm_axl.client import (
    MUTATING_OPERATIONS,
    NO_SUCH_OPERATION,
    ROLLBACK_ALIASES,
    AxlClient,
    is_rollback_alias,
)
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
)
from providers.cucm_axl.params import EnterpriseParameterProvider, param_value

__all__ = [
    "MUTATING_OPERATIONS",
    "NO_SUCH_OPERATION",
    "ROLLBACK_ALIASES",
    "AxlClient",
    "CallManagerGroupInfo",
    "DevicePoolInfo",
    "DhcpSubnetInfo",
    "EnterpriseParameterProvider",
    "NodeService",
    "PhoneFilter",
    "PhoneInfo",
    "PoolDevice",
    "ProcessNodeInfo",
    "ResetKind",
    "ServiceParameterInfo",
    "is_rollback_alias",
    "param_value",
]
