"""``CucmDhcpBackend``: option 150 on the CUCM DHCP server (Cisco DHCP Monitor Service) over AXL.

Implements ``providers.dhcp.base.DhcpBackend``; ``reconciler.wiring`` wraps it in an ``Option150Provider``
for each ``kind: cucm`` DHCP server of the YAML (``schemas.dhcp.CucmDhcpServer``: a cluster and the node
whose DHCP server it is), and ``tests/contract/test_dhcp_cucm.py`` runs the shared DHCP suite on it.

A scope is a CUCM DHCP subnet (``listDhcpSubnet`` of that server), named by its ``subnetIpAddress``
(``10.1.0.0``) and also found by ``10.1.0.0/24``. Its option 150 is the subnet's TFTP addresses,
``primaryTftpServerIpAddress`` then ``secondaryTftpServerIpAddress`` (docs/cucm-domain.md#axl): at most two
addresses, and a change is one ``updateDhcpSubnet`` keyed by (server, subnet). Idempotent: when the
subnet already announces the addresses nothing is sent. Verification is a read-back (CUCM's DHCP server
cannot be probed from here).
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network
from typing import Self

from providers.cucm_axl.client import AxlClient
from providers.cucm_axl.models import DhcpSubnetInfo
from providers.dhcp.base import DhcpScope, Option150Check, SetResult, find_scope
from reconciler.errors import PermanentError, RemoteFaultError

__all__ = ["CucmDhcpBackend"]


def _scope(info: DhcpSubnetInfo) -> DhcpScope:
    try:
        network = IPv4Network(f"{info.subnet}/{info.mask}" if info.mask else info.subnet, strict=False)
        tftp = tuple(IPv4Address(a) for a in (info.primary_tftp, info.secondary_tftp) if a)
    except ValueError as exc:
        raise RemoteFaultError(
            f"CUCM DHCP subnet {info.subnet} of {info.server} is not readable: {exc}"
        ) from exc
    return DhcpScope(name=info.subnet, subnet=network, option150=tftp)


class CucmDhcpBackend:
    """The DHCP server of process node ``server`` of one cluster, through that cluster's ``AxlClient``."""

    def __init__(self, client: AxlClient, *, name: str, server: str) -> None:
        self.client = client
        self._name = name
        self.server = server

    @property
    def name(self) -> str:
        """The YAML's name of this DHCP server (``<server>`` in ``option150.<server>.<scope>``)."""
        return self._name

    def list_scopes(self) -> tuple[DhcpScope, ...]:
        return tuple(_scope(s) for s in self.client.dhcp_subnets(server=self.server))

    def set_option150(self, *, scope: str, addresses: Sequence[IPv4Address]) -> SetResult:
        want = tuple(IPv4Address(a) for a in addresses)
        if len(want) > 2:
            raise PermanentError(
                f"CUCM DHCP server {self._name} ({self.server}) holds at most two TFTP addresses, "
                f"got {len(want)}",
                endpoint=self._name,
                hint="list at most two option150 addresses for scopes served by a CUCM DHCP server",
            )
        current = find_scope(self.list_scopes(), scope, server=self._name)
        if current.option150 == want:
            return SetResult(scope=current, changed=False, previous=current.option150)
        texts = [str(a) for a in want] + ["", ""]
        self.client.update_dhcp_subnet_tftp(
            server=self.server, subnet=current.name, primary=texts[0], secondary=texts[1]
        )
        after = find_scope(self.list_scopes(), current.name, server=self._name)
        return SetResult(scope=after, changed=True, previous=current.option150)

    def verify_option150(self, *, scope: str, addresses: Sequence[IPv4Address]) -> Option150Check:
        found = find_scope(self.list_scopes(), scope, server=self._name)
        return Option150Check(
            scope=found.name,
            expected=tuple(IPv4Address(a) for a in addresses),
            observed=found.option150,
            method="read-back",
        )

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
