"""DHCP servers and scopes: where the phones' option 150 (TFTP servers) is set.

Servers are one of ``kea`` (Kea control agent REST), ``ios`` (an IOS router over SSH, ``ip dhcp pool``)
or ``cucm`` (the CUCM DHCP server of a cluster node, via that cluster's AXL). A scope's ``option150`` is
a list of IPv4 addresses or a reference ``{tftp_nodes_of: <cluster>}`` ("every TFTP node of the
target", R4/R12). Changing it is what moves a scope's phones (R12), wave by wave.
"""

from __future__ import annotations

import enum
from ipaddress import IPv4Address, IPv4Network
from typing import Annotated, Literal

from pydantic import AnyHttpUrl, Discriminator, Field, Tag

from schemas.common import FilePath, Host, Name, Port, StrictModel, TlsSettings
from schemas.secret import Credential

__all__ = [
    "CucmDhcpServer",
    "DhcpConfig",
    "DhcpKind",
    "DhcpScope",
    "DhcpServer",
    "IosDhcpServer",
    "KeaDhcpServer",
    "Option150",
    "TftpNodesOf",
]


class DhcpKind(enum.StrEnum):
    KEA = "kea"
    IOS = "ios"
    CUCM = "cucm"


class KeaDhcpServer(StrictModel):
    """ISC Kea, driven through its control agent (``config-get``/``config-set``)."""

    name: Name
    kind: Literal["kea"]
    url: AnyHttpUrl = Field(description="Control agent URL, e.g. http://127.0.0.1:8000/")
    credentials: Credential | None = Field(default=None, description="HTTP basic auth, if configured.")
    tls: TlsSettings = TlsSettings()


class IosDhcpServer(StrictModel):
    """A Cisco IOS router serving ``ip dhcp pool`` scopes, driven over SSH."""

    name: Name
    kind: Literal["ios"]
    host: Host
    port: Port = 22
    credentials: Credential
    enable_password: Credential | None = None
    known_hosts: FilePath | None = None
    host_key: str | None = None


class CucmDhcpServer(StrictModel):
    """The CUCM DHCP server (Cisco DHCP Monitor Service) on ``node`` of ``cluster``, via that cluster's
    AXL (``updateDhcpSubnet``); it holds at most two TFTP addresses (primary, secondary)."""

    name: Name
    kind: Literal["cucm"]
    cluster: Name
    node: Name


DhcpServer = Annotated[KeaDhcpServer | IosDhcpServer | CucmDhcpServer, Discriminator("kind")]


class TftpNodesOf(StrictModel):
    """Option 150 = the addresses of every node running TFTP on ``tftp_nodes_of`` (declaration order)."""

    tftp_nodes_of: Name


def _option150_kind(value: object) -> str:
    return "reference" if isinstance(value, dict | TftpNodesOf) else "addresses"


Option150 = Annotated[
    Annotated[tuple[IPv4Address, ...], Tag("addresses")] | Annotated[TftpNodesOf, Tag("reference")],
    Discriminator(_option150_kind),
]


class DhcpScope(StrictModel):
    """A DHCP scope whose phones move together."""

    name: Name
    server: Name
    subnet: IPv4Network
    relay: IPv4Address | None = Field(default=None, description="Relay (ip helper) address of the scope.")
    pool: str | None = Field(default=None, description="IOS 'ip dhcp pool' name (required for ios).")
    subnet_id: int | None = Field(default=None, ge=1, description="Kea subnet id (default: by subnet).")
    option150: Option150


class DhcpConfig(StrictModel):
    servers: tuple[DhcpServer, ...] = ()
    scopes: tuple[DhcpScope, ...] = ()
