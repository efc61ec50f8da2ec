"""Option 150 in a Kea ``Dhcp4`` configuration document: reading every subnet as a scope and editing one
subnet's entry. Pure functions over the JSON ``config-get`` returns; ``providers.dhcp.kea``
(``KeaDhcpBackend``) sends and checks what they produce.

- Option 150 is matched by **code 150** in space ``dhcp4``: an entry with ``"code": 150``, or one whose
  ``name`` an ``option-def`` maps to code 150. ``data`` in CSV (``"10.0.0.1, 10.0.0.2"``) or raw hex
  (``"csv-format": false``) form is read, and a rewritten entry keeps its form.
- A subnet's effective value is its own entry, else its shared network's, else the global one; an edit
  writes the subnet's own entry and leaves the rest of the document as it was.
- Subnets sit in ``subnet4`` and in ``shared-networks[].subnet4``; a subnet's ``user-context.name``,
  when present, is the scope's name; its relay is ``relay.ip-addresses`` (or the older ``ip-address``),
  its own or its shared network's.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from providers.dhcp.base import DhcpScope
from reconciler.errors import RemoteFaultError

__all__ = ["OPTION_CODE", "edit", "scopes"]

OPTION_CODE = 150

Subnet = tuple[dict[str, Any], dict[str, Any] | None]  # a subnet and its shared network (None: top level)


def _decode(entry: dict[str, Any]) -> tuple[IPv4Address, ...]:
    data = str(entry.get("data", "")).strip()
    if not data:
        return ()
    try:
        if entry.get("csv-format", True):
            return tuple(IPv4Address(p.strip()) for p in data.split(",") if p.strip())
        raw = bytes.fromhex(data.lower().removeprefix("0x").replace(":", "").replace(" ", ""))
    except ValueError as exc:
        raise RemoteFaultError(f"Kea option 150 data {data!r} is not a list of IPv4 addresses") from exc
    if len(raw) % 4:
        raise RemoteFaultError(f"Kea option 150 raw data {data!r} is not a multiple of 4 bytes")
    return tuple(IPv4Address(raw[i : i + 4]) for i in range(0, len(raw), 4))


def _encode(template: dict[str, Any] | None, addresses: Sequence[IPv4Address],
            names: frozenset[str]) -> dict[str, Any]:  # fmt: skip
    if template is None:
        if names:
            template = {"name": sorted(names)[0], "code": OPTION_CODE, "space": "dhcp4"}
        else:
            template = {"code": OPTION_CODE, "space": "dhcp4", "csv-format": False}
    entry = dict(template)
    if entry.get("csv-format", True):
        entry["data"] = ", ".join(str(a) for a in addresses)
    else:
        entry["data"] = b"".join(a.packed for a in addresses).hex().upper()
    return entry


def _option_names(dhcp4: dict[str, Any]) -> frozenset[str]:
    return frozenset(
        d["name"]
        for d in dhcp4.get("option-def", [])
        if d.get("code") == OPTION_CODE and d.get("space", "dhcp4") == "dhcp4" and "name" in d
    )


def _find_entry(option_data: list[dict[str, Any]], names: frozenset[str]) -> int | None:
    for i, entry in enumerate(option_data):
        if entry.get("space", "dhcp4") != "dhcp4":
            continue
        if entry.get("code") == OPTION_CODE or (entry.get("code") is None and entry.get("name") in names):
            return i
    return None


def _subnets(dhcp4: dict[str, Any]) -> Iterator[Subnet]:
    for subnet in dhcp4.get("subnet4", []):
        yield subnet, None
    for network in dhcp4.get("shared-networks", []):
        for subnet in network.get("subnet4", []):
            yield subnet, network


def _scope(dhcp4: dict[str, Any], subnet: dict[str, Any], network: dict[str, Any] | None) -> DhcpScope:
    names = _option_names(dhcp4)
    value: tuple[IPv4Address, ...] = ()
    for level in (subnet, network or {}, dhcp4):
        options = level.get("option-data", [])
        index = _find_entry(options, names)
        if index is not None:
            value = _decode(options[index])
            break
    relays: list[str] = []
    for level in (subnet, network or {}):
        relay = level.get("relay") or {}
        relays = relay.get("ip-addresses") or ([relay["ip-address"]] if relay.get("ip-address") else [])
        if relays:
            break
    context = subnet.get("user-context") or {}
    name = context.get("name") if isinstance(context, dict) else None
    return DhcpScope(
        name=str(name or subnet["subnet"]),
        subnet=IPv4Network(subnet["subnet"], strict=False),
        option150=value,
        relay=IPv4Address(relays[0]) if relays else None,
    )


def scopes(dhcp4: dict[str, Any]) -> tuple[DhcpScope, ...]:
    """Every subnet of ``dhcp4`` (top level, then in shared networks) with its effective option 150."""
    return tuple(_scope(dhcp4, s, n) for s, n in _subnets(dhcp4))


def edit(
    config: dict[str, Any], *, scope: str, addresses: Sequence[IPv4Address], server: str
) -> dict[str, Any]:
    """A copy of ``config`` (``{"Dhcp4": ...}``) where only the option 150 entry of ``scope`` differs;
    ``RemoteFaultError`` naming ``server`` when it has no such scope."""
    new = copy.deepcopy(config)
    dhcp4 = new["Dhcp4"]
    names = _option_names(dhcp4)
    for subnet, network in _subnets(dhcp4):
        if not _scope(dhcp4, subnet, network).matches(scope):
            continue
        options: list[dict[str, Any]] = subnet.setdefault("option-data", [])
        index = _find_entry(options, names)
        if not addresses:
            if index is not None:
                del options[index]
            return new
        if index is None:
            options.append(_encode(None, addresses, names))
        else:
            options[index] = _encode(options[index], addresses, names)
        return new
    raise RemoteFaultError(f"Kea {server} has no scope {scope!r}", endpoint=server)
