"""DHCPv4 on the wire, standard library only: build a relayed DISCOVER, parse the OFFER (option 150 as
IPv4 addresses), and ``query_relayed`` — one real relayed exchange with a DHCP server on loopback.

It is a dependency-free leaf module (it imports only ``reconciler.errors``): both sides of the wire use
it — the Kea provider (``providers.dhcp.kea``) to prove after a change that Kea still answers with the new
option 150, and the simulator's phones to ask Kea for their TFTP servers the way a phone behind an
``ip helper-address`` relay does.

Relay mechanics (docs/providers.md, "Running a real Kea"): Kea runs on ``lo`` with ``dhcp-socket-type: udp``
and non-standard ports ``-p SERVER -P CLIENT``; a BOOTREQUEST carrying ``giaddr`` selects the subnet whose
``relay.ip-addresses`` holds that address, and Kea sends the reply to ``giaddr:CLIENT`` — so ``query_relayed``
listens on ``giaddr:client_port`` (any 127.0.0.0/8 address binds on Linux).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from reconciler.errors import PermanentError, TemporaryError, UnreachableError

__all__ = [
    "DHCPDISCOVER",
    "DHCPOFFER",
    "OPTION_TFTP_SERVERS",
    "DhcpOffer",
    "build_discover",
    "build_reply",
    "parse_options",
    "parse_reply",
    "query_relayed",
    "relay_port_lock",
]

DHCPDISCOVER = 1
DHCPOFFER = 2
DHCPNAK = 6
OPTION_TFTP_SERVERS = 150  # Cisco "TFTP server address", a list of IPv4 addresses
MAGIC_COOKIE = b"\x63\x82\x53\x63"
_BOOTREQUEST, _BOOTREPLY = 1, 2
_HEADER = struct.Struct("!BBBBIHH4s4s4s4s16s64s128s")  # 236 bytes, RFC 2131 fixed part
_MIN_LEN = _HEADER.size + len(MAGIC_COOKIE)
_port_locks: dict[tuple[str, int], threading.Lock] = {}
_port_locks_guard = threading.Lock()


@dataclass(frozen=True, slots=True, kw_only=True)
class DhcpOffer:
    """A parsed BOOTREPLY. ``option150`` is empty when the server sent no option 150."""

    xid: int
    message_type: int
    yiaddr: IPv4Address
    giaddr: IPv4Address
    chaddr: bytes
    server_id: IPv4Address | None
    subnet_mask: IPv4Address | None
    routers: tuple[IPv4Address, ...]
    option150: tuple[IPv4Address, ...]
    options: Mapping[int, bytes] = field(default_factory=dict)


def _mac_bytes(mac: str | bytes) -> bytes:
    if isinstance(mac, bytes):
        raw = mac
    else:
        raw = bytes.fromhex(mac.replace(":", "").replace("-", "").replace(".", ""))
    if len(raw) != 6:
        raise ValueError(f"a MAC address has 6 bytes, got {len(raw)}")
    return raw


def _option(code: int, payload: bytes) -> bytes:
    if len(payload) > 255:
        raise ValueError(f"option {code} payload is longer than 255 bytes")
    return bytes((code, len(payload))) + payload


def _addresses(payload: bytes, *, code: int) -> tuple[IPv4Address, ...]:
    if len(payload) % 4:
        raise PermanentError(f"malformed DHCP reply: option {code} length {len(payload)} is not 4·n")
    return tuple(IPv4Address(payload[i : i + 4]) for i in range(0, len(payload), 4))


def build_discover(
    *,
    mac: str | bytes,
    giaddr: IPv4Address | str,
    xid: int,
    request: Sequence[int] = (1, 3, OPTION_TFTP_SERVERS),
) -> bytes:
    """A relayed BOOTREQUEST/DISCOVER: hops=1, ``giaddr`` set, options 53=1, 61=(1, mac), 55=request."""
    hw = _mac_bytes(mac)
    header = _HEADER.pack(
        _BOOTREQUEST, 1, 6, 1, xid & 0xFFFFFFFF, 0, 0,
        bytes(4), bytes(4), bytes(4), IPv4Address(giaddr).packed,
        hw + bytes(10), bytes(64), bytes(128),
    )  # fmt: skip
    options = (
        _option(53, bytes((DHCPDISCOVER,)))
        + _option(61, b"\x01" + hw)
        + _option(55, bytes(request))
        + b"\xff"
    )
    return header + MAGIC_COOKIE + options


def build_reply(
    *,
    xid: int,
    mac: str | bytes,
    yiaddr: IPv4Address | str,
    server_id: IPv4Address | str,
    giaddr: IPv4Address | str = "0.0.0.0",
    message_type: int = DHCPOFFER,
    subnet_mask: IPv4Address | str | None = None,
    routers: Sequence[IPv4Address | str] = (),
    option150: Sequence[IPv4Address | str] = (),
) -> bytes:
    """A BOOTREPLY (OFFER by default) — for fake servers in tests and for ``parse_reply`` round trips."""
    hw = _mac_bytes(mac)
    header = _HEADER.pack(
        _BOOTREPLY, 1, 6, 0, xid & 0xFFFFFFFF, 0, 0,
        bytes(4), IPv4Address(yiaddr).packed, bytes(4), IPv4Address(giaddr).packed,
        hw + bytes(10), bytes(64), bytes(128),
    )  # fmt: skip
    opts = _option(53, bytes((message_type,))) + _option(54, IPv4Address(server_id).packed)
    if subnet_mask is not None:
        opts += _option(1, IPv4Address(subnet_mask).packed)
    if routers:
        opts += _option(3, b"".join(IPv4Address(r).packed for r in routers))
    if option150:
        opts += _option(OPTION_TFTP_SERVERS, b"".join(IPv4Address(a).packed for a in option150))
    return header + MAGIC_COOKIE + opts + b"\xff"


def parse_options(data: bytes, *, start: int) -> dict[int, bytes]:
    """Options from ``start`` to the end option; repeated codes are concatenated (RFC 3396)."""
    options: dict[int, bytes] = {}
    pos = start
    while pos < len(data):
        code = data[pos]
        if code == 255:
            return options
        if code == 0:
            pos += 1
            continue
        if pos + 1 >= len(data):
            raise PermanentError(f"malformed DHCP reply: option {code} at byte {pos} has no length")
        length = data[pos + 1]
        end = pos + 2 + length
        if end > len(data):
            raise PermanentError(
                f"malformed DHCP reply: option {code} at byte {pos} runs past the end ({length} bytes)"
            )
        options[code] = options.get(code, b"") + data[pos + 2 : end]
        pos = end
    raise PermanentError("malformed DHCP reply: no end option (255)")


def parse_reply(data: bytes) -> DhcpOffer:
    """Parse a BOOTREPLY; raises ``PermanentError`` (malformed DHCP reply: …) on anything invalid."""
    if len(data) < _MIN_LEN:
        raise PermanentError(f"malformed DHCP reply: {len(data)} bytes, need at least {_MIN_LEN}")
    op, _htype, hlen, _hops, xid, _secs, _flags, _ci, yi, _si, gi, chaddr, _sname, _file = (
        _HEADER.unpack_from(data)
    )
    if op != _BOOTREPLY:
        raise PermanentError(f"malformed DHCP reply: op is {op}, not BOOTREPLY (2)")
    if data[_HEADER.size : _MIN_LEN] != MAGIC_COOKIE:
        raise PermanentError("malformed DHCP reply: missing the DHCP magic cookie")
    options = parse_options(data, start=_MIN_LEN)
    kind = options.get(53, b"")
    if len(kind) != 1:
        raise PermanentError("malformed DHCP reply: option 53 (message type) missing or not 1 byte")
    sid = options.get(54)
    mask = options.get(1)
    return DhcpOffer(
        xid=xid,
        message_type=kind[0],
        yiaddr=IPv4Address(yi),
        giaddr=IPv4Address(gi),
        chaddr=chaddr[: min(hlen, 16)],
        server_id=_addresses(sid, code=54)[0] if sid and len(sid) == 4 else None,
        subnet_mask=IPv4Address(mask) if mask and len(mask) == 4 else None,
        routers=_addresses(options.get(3, b""), code=3),
        option150=_addresses(options.get(OPTION_TFTP_SERVERS, b""), code=OPTION_TFTP_SERVERS),
        options=options,
    )


def _lock_for(key: tuple[str, int]) -> threading.Lock:
    with _port_locks_guard:
        return _port_locks.setdefault(key, threading.Lock())


def relay_port_lock(relay: IPv4Address | str, client_port: int) -> threading.Lock:
    """The lock ``query_relayed`` holds while it listens on ``relay:client_port``: another listener in
    this process (the lab's relay agent, ``simulator.model.dhcprelay``) holds it while its socket is
    bound, so the two never try to bind the same address at once."""
    return _lock_for((str(ipaddress.IPv4Address(relay)), client_port))


def query_relayed(
    *,
    server: tuple[str, int],
    giaddr: IPv4Address | str,
    client_port: int,
    mac: str | bytes,
    timeout: float = 2.0,
    attempts: int = 2,
) -> DhcpOffer:
    """Send a relayed DISCOVER to ``server`` as relay ``giaddr`` and return the OFFER.

    Listens on ``giaddr:client_port`` (where Kea started with ``-P client_port`` sends relay replies).
    The DISCOVER is re-sent ``attempts`` times within ``timeout`` seconds in total. Threads of one
    process share a relay address one at a time. Raises ``TemporaryError`` when no offer arrives
    (or a NAK does), ``UnreachableError`` when the listening address cannot be bound or the server port
    refuses, ``PermanentError`` on a malformed reply with our transaction id.
    """
    relay = str(ipaddress.IPv4Address(giaddr))
    endpoint = f"dhcp://{server[0]}:{server[1]}"
    xid = int.from_bytes(os.urandom(4), "big")
    packet = build_discover(mac=mac, giaddr=relay, xid=xid)
    rounds = max(1, attempts)
    with _lock_for((relay, client_port)), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((relay, client_port))
        except OSError as exc:
            raise UnreachableError(
                f"cannot listen for DHCP replies on {relay}:{client_port}: {exc.strerror}",
                endpoint=endpoint,
                hint="another process is using that relay address and client port",
            ) from exc
        deadline = time.monotonic() + timeout
        for attempt in range(rounds):
            try:
                sock.sendto(packet, server)
            except OSError as exc:
                raise UnreachableError(f"cannot send DHCP to {endpoint}: {exc}", endpoint=endpoint) from exc
            round_end = min(deadline, time.monotonic() + timeout / rounds)
            if attempt == rounds - 1:
                round_end = deadline
            while (remaining := round_end - time.monotonic()) > 0:
                sock.settimeout(remaining)
                try:
                    data, _peer = sock.recvfrom(4096)
                except TimeoutError:
                    break
                except ConnectionRefusedError as exc:
                    raise UnreachableError(
                        f"DHCP server {endpoint} refused (nothing listens on that port)",
                        endpoint=endpoint,
                    ) from exc
                if len(data) < 8 or data[0] != _BOOTREPLY or int.from_bytes(data[4:8], "big") != xid:
                    continue  # someone else's packet on a shared relay address
                try:
                    offer = parse_reply(data)
                except PermanentError as exc:
                    raise PermanentError(str(exc), endpoint=endpoint) from exc
                if offer.message_type == DHCPNAK:
                    raise TemporaryError(f"DHCP server {endpoint} sent a NAK to relay {relay}",
                                         endpoint=endpoint)  # fmt: skip
                return offer
    raise TemporaryError(
        f"no DHCP offer from {endpoint} for relay {relay} within {timeout:g}s",
        endpoint=endpoint,
        hint="is the server running, does a subnet list this relay address, and was it started with "
        f"-P {client_port}?",
    )
