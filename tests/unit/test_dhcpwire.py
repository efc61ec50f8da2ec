"""Unit tests of reconciler.dhcpwire: packet layout, parsing, malformed replies, and query_relayed against a
small in-process relay-answering UDP server (the real-Kea exchange is in tests/integration)."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from ipaddress import IPv4Address

import pytest

from reconciler.dhcpwire import (
    DHCPOFFER,
    MAGIC_COOKIE,
    build_discover,
    build_reply,
    parse_options,
    parse_reply,
    query_relayed,
)
from reconciler.errors import PermanentError, TemporaryError, UnreachableError
from simulator.kea import free_port

MAC = "00:1b:54:aa:bb:cc"


def test_discover_is_a_relayed_bootrequest_with_the_options_a_phone_sends() -> None:
    packet = build_discover(mac=MAC, giaddr="127.0.31.7", xid=0x01020304)
    assert packet[0] == 1  # BOOTREQUEST
    assert packet[1:3] == b"\x01\x06"  # ethernet, 6-byte MAC
    assert packet[3] == 1  # hops: one relay
    assert struct.unpack("!I", packet[4:8])[0] == 0x01020304
    assert packet[24:28] == IPv4Address("127.0.31.7").packed  # giaddr
    assert packet[28:34] == bytes.fromhex("001b54aabbcc")  # chaddr
    assert packet[236:240] == MAGIC_COOKIE
    options = parse_options(packet, start=240)
    assert options[53] == b"\x01"  # DISCOVER
    assert options[55] == bytes([1, 3, 150])
    assert options[61] == b"\x01" + bytes.fromhex("001b54aabbcc")


def test_offer_round_trips_with_option150_as_a_list_of_addresses() -> None:
    data = build_reply(
        xid=77,
        mac=MAC,
        yiaddr="192.0.2.100",
        server_id="127.0.0.1",
        giaddr="127.0.31.7",
        subnet_mask="255.255.255.0",
        routers=["192.0.2.1"],
        option150=["10.10.0.11", "10.10.0.12"],
    )
    offer = parse_reply(data)
    assert offer.message_type == DHCPOFFER and offer.xid == 77
    assert offer.option150 == (IPv4Address("10.10.0.11"), IPv4Address("10.10.0.12"))
    assert offer.yiaddr == IPv4Address("192.0.2.100")
    assert offer.routers == (IPv4Address("192.0.2.1"),)
    assert offer.server_id == IPv4Address("127.0.0.1")
    assert offer.subnet_mask == IPv4Address("255.255.255.0")
    assert offer.chaddr == bytes.fromhex("001b54aabbcc")


def test_offer_without_option150_parses_to_an_empty_tuple() -> None:
    assert parse_reply(build_reply(xid=1, mac=MAC, yiaddr="192.0.2.5", server_id="127.0.0.1")).option150 == ()


def test_pad_options_and_split_options_are_handled() -> None:
    body = bytes(240 - 4) + MAGIC_COOKIE
    opts = b"\x00\x00" + bytes([150, 4, 10, 0, 0, 1]) + bytes([150, 4, 10, 0, 0, 2]) + b"\xff"
    assert parse_options(body + opts, start=240)[150] == bytes([10, 0, 0, 1, 10, 0, 0, 2])


def _good() -> bytes:
    return build_reply(xid=5, mac=MAC, yiaddr="192.0.2.5", server_id="127.0.0.1", option150=["10.0.0.1"])


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b[:100], "at least"),
        (lambda b: b"\x01" + b[1:], "not BOOTREPLY"),
        (lambda b: b[:236] + b"\x00\x00\x00\x00" + b[240:], "magic cookie"),
        (lambda b: b[:-1], "no end option"),
        (lambda b: b[:240] + bytes([53, 1, 2, 150, 9, 1, 2]), "runs past the end"),
        (lambda b: b[:240] + bytes([53, 1, 2, 150, 3, 1, 2, 3, 255]), "not 4"),
        (lambda b: b[:240] + bytes([150, 4, 1, 2, 3, 4, 255]), "option 53"),
    ],
)
def test_malformed_replies_raise_permanent_errors_that_say_why(mutate, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PermanentError, match=message):
        parse_reply(mutate(_good()))


class _RelayAnsweringServer:
    """A tiny DHCP 'server': answers each DISCOVER at giaddr:client_port, first with noise."""

    def __init__(self, *, client_port: int, option150: list[str], noise: bool = True) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(5)
        self.port = self.sock.getsockname()[1]
        self.client_port = client_port
        self.option150 = option150
        self.noise = noise
        self.requests: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        try:
            data, _ = self.sock.recvfrom(2048)
        except OSError:
            return
        self.requests.append(data)
        xid = struct.unpack("!I", data[4:8])[0]
        giaddr = str(IPv4Address(data[24:28]))
        if self.noise:  # another client's transaction on the same relay: must be ignored
            self.sock.sendto(
                build_reply(
                    xid=xid ^ 1, mac=MAC, yiaddr="192.0.2.9", server_id="127.0.0.1", option150=["9.9.9.9"]
                ),
                (giaddr, self.client_port),
            )
        reply = build_reply(xid=xid, mac=MAC, yiaddr="192.0.2.10", server_id="127.0.0.1", giaddr=giaddr,
                            option150=self.option150)  # fmt: skip
        self.sock.sendto(reply, (giaddr, self.client_port))

    def __enter__(self) -> _RelayAnsweringServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()
        self.thread.join(timeout=5)


@pytest.fixture
def client_port() -> Iterator[int]:
    yield free_port(kind="udp", host="127.0.31.20")


@pytest.mark.lab
def test_query_relayed_listens_on_giaddr_and_ignores_other_transactions(client_port: int) -> None:
    with _RelayAnsweringServer(client_port=client_port, option150=["10.1.1.1", "10.1.1.2"]) as server:
        offer = query_relayed(server=("127.0.0.1", server.port), giaddr="127.0.31.20",
                              client_port=client_port, mac=MAC, timeout=3)  # fmt: skip
    assert offer.option150 == (IPv4Address("10.1.1.1"), IPv4Address("10.1.1.2"))
    assert server.requests[0][24:28] == IPv4Address("127.0.31.20").packed


@pytest.mark.lab
def test_query_relayed_times_out_as_a_temporary_error(client_port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        with pytest.raises(TemporaryError, match="no DHCP offer") as info:
            query_relayed(server=silent.getsockname(), giaddr="127.0.31.20", client_port=client_port,
                          mac=MAC, timeout=0.3)  # fmt: skip
    assert info.value.endpoint == f"dhcp://127.0.0.1:{port}"
    assert "-P" in (info.value.hint or "")


@pytest.mark.lab
def test_query_relayed_reports_a_busy_listening_address_as_unreachable(client_port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
        squatter.bind(("127.0.31.20", client_port))
        with pytest.raises(UnreachableError, match="cannot listen"):
            query_relayed(server=("127.0.0.1", 9), giaddr="127.0.31.20", client_port=client_port,
                          mac=MAC, timeout=0.3)  # fmt: skip
