"""Typed results of the AXL client (``providers.cucm_axl.client.AxlClient``): frozen, JSON-friendly values.

Used by the AXL client, the ``param`` provider, the CUCM DHCP backend and (through ``reconciler.wiring``)
by commands that show cluster facts. Nothing here talks to a system.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "CallManagerGroupInfo",
    "DevicePoolInfo",
    "DhcpSubnetInfo",
    "NodeService",
    "PhoneFilter",
    "PhoneInfo",
    "PoolDevice",
    "ProcessNodeInfo",
    "ResetKind",
    "ServiceParameterInfo",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class ProcessNodeInfo:
    """A CUCM server (``listProcessNode``; the ``EnterpriseWideData`` pseudo node is never one)."""

    name: str
    uuid: str = ""
    description: str = ""
    node_usage: str = ""  # "Publisher" | "Subscriber"
    role: str = ""  # "CUCM Voice/Video", ...

    @property
    def publisher(self) -> bool:
        return self.node_usage.lower() == "publisher"


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceParameterInfo:
    """A service parameter; enterprise parameters have node ``EnterpriseWideData``, service
    ``Enterprise Wide``. ``value`` is the raw AXL text (booleans are ``T``/``F``)."""

    node: str
    service: str
    name: str
    value: str
    value_type: str = ""

    @property
    def as_bool(self) -> bool | None:
        """``T``/``F`` (or true/false) as a bool; ``None`` when not a boolean text."""
        return parse_bool(self.value)


def parse_bool(text: str) -> bool | None:
    """AXL boolean texts (``T``/``F``/``true``/``false``/``t``/``f``/``1``/``0``) → bool, else ``None``."""
    low = text.strip().lower()
    if low in ("t", "true", "1"):
        return True
    if low in ("f", "false", "0"):
        return False
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeService:
    """One service on one node, from the database (``processnodeservice``): activation, not run state."""

    node: str
    service: str
    enabled: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class PhoneFilter:
    """``listPhone`` filters; patterns use AXL LIKE wildcards (``%``). ``callmanager_group`` goes through
    the device pools that use that group (``listPhone`` cannot filter by group, docs/cucm-domain.md#axl)."""

    name: str | None = None
    description: str | None = None
    device_pool: str | None = None
    callmanager_group: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PhoneInfo:
    name: str
    uuid: str = ""
    description: str = ""
    model: str = ""
    product: str = ""
    protocol: str = ""
    device_pool: str = ""
    security_profile: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class DevicePoolInfo:
    name: str
    uuid: str = ""
    callmanager_group: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CallManagerGroupInfo:
    """A CallManager group and its members in priority order (its nodes are the phones' TVS servers)."""

    name: str
    uuid: str = ""
    tftp_default: bool = False
    members: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class PoolDevice:
    """One device of a device pool, any class (``AxlClient.pool_devices``)."""

    name: str
    pool: str
    tkclass: str  # typeclass enum: 1 = Phone ([I], docs/cucm-interfaces.md)
    tkmodel: str  # typemodel enum: 72 = CTI Port, 73 = CTI Route Point ([I])

    @property
    def is_phone(self) -> bool:
        """A phone a pool-level reset may stand in for: class Phone, not a CTI port or route point."""
        return self.tkclass.strip() == "1" and self.tkmodel.strip() not in ("72", "73")


class ResetKind(enum.Enum):
    """``Reset`` reloads the configuration (what a migration wave needs); ``Restart`` re-registers."""

    RESET = "Reset"
    RESTART = "Restart"


@dataclass(frozen=True, slots=True, kw_only=True)
class DhcpSubnetInfo:
    """A CUCM DHCP subnet; option 150 is ``primary_tftp`` then ``secondary_tftp`` (empty = unset)."""

    server: str
    subnet: str  # subnetIpAddress, e.g. "10.1.0.0"
    mask: str = ""
    uuid: str = ""
    primary_tftp: str = ""
    secondary_tftp: str = ""
