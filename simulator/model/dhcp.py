"""DHCP sources behind one small interface: where a phone's scope gets its option 150 (TFTP servers).

Three kinds, as in the lab (lab.md): the CUCM DHCP server of a cluster (its ``DhcpSubnet`` objects, two
TFTP addresses at most, as AXL has ``tftpServer1Ip``/``tftpServer2Ip``), an IOS router (``ip dhcp pool``
with ``option 150 ip …``), and a real Kea server asked with a relayed DHCP DISCOVER (giaddr = the scope's
relay address, the phone's own MAC, via ``simulator.model.dhcprelay``). The model's phones call
``option150(scope)``;
mutations go through ``simulator.model.lab.Lab`` so that they are locked and logged.
"""

from __future__ import annotations

import enum
import ipaddress
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from reconciler.errors import RemoteFaultError

from .dhcprelay import DhcpRelay

__all__ = [
    "CucmDhcpServer",
    "CucmDhcpSubnet",
    "DhcpKind",
    "DhcpSource",
    "IosPool",
    "IosRouter",
    "KeaDhcpSource",
    "Scope",
]


class DhcpKind(enum.StrEnum):
    CUCM = "cucm"
    IOS = "ios"
    KEA = "kea"


@dataclass(frozen=True, slots=True, kw_only=True)
class Scope:
    """A phone subnet: ``name`` (e.g. ``scope-a``), ``subnet`` (data only, no traffic goes there), the relay
    (``ip helper-address``) address that identifies it to the server, and the name of its DHCP source."""

    name: str
    subnet: str
    relay: str
    source: str

    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.subnet)


@runtime_checkable
class DhcpSource(Protocol):
    """What a booting phone needs from DHCP: the option 150 addresses of its scope, in order.

    Returns ``()`` when the server answers without option 150; raises ``reconciler.errors.TemporaryError``
    (or ``UnreachableError``) when the server does not answer at all.
    """

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> DhcpKind: ...

    def option150(self, scope: Scope) -> tuple[str, ...]: ...


def _addresses(addresses: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return tuple(str(ipaddress.IPv4Address(a)) for a in addresses)


# -- CUCM DHCP server --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class CucmDhcpSubnet:
    """An AXL ``DhcpSubnet`` of the CUCM DHCP server (only the fields the migration touches)."""

    subnet: str
    tftp_server1: str | None
    tftp_server2: str | None

    def option150(self) -> tuple[str, ...]:
        return tuple(a for a in (self.tftp_server1, self.tftp_server2) if a)


class CucmDhcpServer:
    """The DHCP server built into a CUCM cluster (``Cisco DHCP Monitor Service``), configured over AXL."""

    kind = DhcpKind.CUCM

    def __init__(self, *, name: str, cluster: str) -> None:
        self._name = name
        self.cluster = cluster
        self._subnets: dict[str, CucmDhcpSubnet] = {}

    @property
    def name(self) -> str:
        return self._name

    def subnets(self) -> Mapping[str, CucmDhcpSubnet]:
        return dict(self._subnets)

    def subnet(self, subnet: str) -> CucmDhcpSubnet | None:
        return self._subnets.get(str(ipaddress.IPv4Network(subnet)))

    def put_subnet(self, *, subnet: str, tftp: tuple[str, ...]) -> CucmDhcpSubnet:
        """Create or update a subnet (lab-internal; call ``Lab.set_option150``)."""
        addrs = _addresses(tftp)
        if len(addrs) > 2:
            raise RemoteFaultError(
                "a CUCM DhcpSubnet holds at most two TFTP servers (tftpServer1Ip, tftpServer2Ip)",
                endpoint=self._name,
                code="5003",
            )
        key = str(ipaddress.IPv4Network(subnet))
        value = CucmDhcpSubnet(
            subnet=key,
            tftp_server1=addrs[0] if addrs else None,
            tftp_server2=addrs[1] if len(addrs) > 1 else None,
        )
        self._subnets[key] = value
        return value

    def option150(self, scope: Scope) -> tuple[str, ...]:
        found = self.subnet(scope.subnet)
        return found.option150() if found else ()


# -- IOS router --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class IosPool:
    """``ip dhcp pool NAME`` / ``network A.B.C.D M.M.M.M`` / ``option 150 ip X Y``."""

    name: str
    network: str
    option150: tuple[str, ...]

    def config_lines(self) -> tuple[str, ...]:
        net = ipaddress.IPv4Network(self.network)
        lines = [f"ip dhcp pool {self.name}", f" network {net.network_address} {net.netmask}"]
        if self.option150:
            lines.append(" option 150 ip " + " ".join(self.option150))
        return tuple(lines)


class IosRouter:
    """An IOS router serving phone scopes from ``ip dhcp pool`` definitions."""

    kind = DhcpKind.IOS

    def __init__(self, *, name: str, address: str) -> None:
        self._name = name
        self.address = address
        self._pools: dict[str, IosPool] = {}
        self._by_network: dict[str, str] = {}

    @property
    def name(self) -> str:
        return self._name

    def pools(self) -> Mapping[str, IosPool]:
        return dict(self._pools)

    def pool(self, name: str) -> IosPool | None:
        return self._pools.get(name)

    def running_config(self) -> str:
        """The ``show running-config | section ip dhcp pool`` text of every pool, in name order."""
        lines: list[str] = []
        for name in sorted(self._pools):
            lines.extend(self._pools[name].config_lines())
            lines.append("!")
        return "\n".join(lines) + ("\n" if lines else "")

    def put_pool(self, *, name: str, network: str, option150: tuple[str, ...] = ()) -> IosPool:
        """Create or replace a pool (lab-internal; call ``Lab.set_ios_pool_option150``)."""
        pool = IosPool(
            name=name, network=str(ipaddress.IPv4Network(network)), option150=_addresses(option150)
        )
        self._pools[name] = pool
        self._by_network[pool.network] = name
        return pool

    def set_option150(self, *, pool: str, addresses: tuple[str, ...]) -> IosPool:
        current = self._pools.get(pool)
        if current is None:
            raise RemoteFaultError(f"% pool {pool} does not exist", endpoint=self._name)
        updated = IosPool(name=pool, network=current.network, option150=_addresses(addresses))
        self._pools[pool] = updated
        return updated

    def pool_for(self, subnet: str) -> IosPool | None:
        """The pool whose ``network`` is ``subnet``."""
        name = self._by_network.get(str(ipaddress.IPv4Network(subnet)))
        return self._pools.get(name) if name is not None else None

    def option150(self, scope: Scope) -> tuple[str, ...]:
        pool = self.pool_for(scope.subnet)
        return pool.option150 if pool is not None else ()


# -- Kea (real server, relayed query) ----------------------------------------------------------------

QueryFunction = Callable[[Scope, str], tuple[str, ...]]
SCOPE_MAC = "00:1b:54:00:00:01"  # who asks when no phone does (the scope's option 150 for reads and tests)


class KeaDhcpSource:
    """Asks a real kea-dhcp4 on loopback with a relayed DISCOVER (giaddr = ``scope.relay``).

    Each phone asks with its own MAC (``option150(scope, mac=...)``) through the scope's relay
    (``simulator.model.dhcprelay.DhcpRelay``), so phones booting at once ask concurrently and Kea's log
    shows each of them. Kea itself is configured by ``simulator.kea`` / the Kea provider (its control
    agent), never through the model, so changes to Kea do not appear in the model's operation log.
    ``query`` can be replaced in unit tests.
    """

    kind = DhcpKind.KEA

    def __init__(
        self,
        *,
        name: str,
        server: tuple[str, int],
        client_port: int,
        timeout: float = 2.0,
        query: QueryFunction | None = None,
    ) -> None:
        self._name = name
        self.server = server
        self.client_port = client_port
        self.timeout = timeout
        self._query = query or self._query_wire
        self._relays: dict[str, DhcpRelay] = {}
        self._relays_lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._name

    def relay(self, address: str) -> DhcpRelay:
        """The relay agent of one relay address (one per scope's ``relay``)."""
        with self._relays_lock:
            found = self._relays.get(address)
            if found is None:
                found = DhcpRelay(server=self.server, relay=address, client_port=self.client_port)
                self._relays[address] = found
            return found

    def _query_wire(self, scope: Scope, mac: str) -> tuple[str, ...]:
        offer = self.relay(scope.relay).discover(mac=mac, timeout=self.timeout)
        return tuple(str(a) for a in offer.option150)

    def option150(self, scope: Scope, *, mac: str = SCOPE_MAC) -> tuple[str, ...]:
        return self._query(scope, mac)
