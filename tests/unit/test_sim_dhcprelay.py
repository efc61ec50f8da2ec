"""The lab's relay agent (``simulator.model.dhcprelay``) hands each reply to the phone whose transaction id
it carries, whatever order the server answers in, with a small in-process DHCP server on a free UDP port
of 127.0.0.1 that holds every DISCOVER until all phones asked and then answers in reverse order (the real
Kea is in tests/integration/test_dhcp_relay.py)."""

from __future__ import annotations

import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from ipaddress import IPv4Address

import pytest

from reconciler.dhcpwire import DHCPOFFER, build_reply, relay_port_lock
from reconciler.errors import TemporaryError
from simulator.kea import free_port
from simulator.model.dhcprelay import DhcpRelay

HOST = "127.0.0.1"
PHONES = 6


class _ReverseServer:
    """Collects ``expect`` DISCOVERs, then answers each (yiaddr .<n>, the MAC's last byte) last first."""

    def __init__(self, *, expect: int, client_port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, 0))
        self.sock.settimeout(5.0)
        self.expect = expect
        self.client_port = client_port
        self.thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.sock.getsockname()
        return str(host), int(port)

    def _serve(self) -> None:
        held = []
        while len(held) < self.expect:
            data, _ = self.sock.recvfrom(4096)
            xid, giaddr, mac = int.from_bytes(data[4:8], "big"), IPv4Address(data[24:28]), data[28:34]
            held.append((xid, giaddr, mac))
        for xid, giaddr, mac in reversed(held):
            tftp = f"198.51.100.{mac[-1]}"
            reply = build_reply(xid=xid, mac=mac, yiaddr=f"192.0.2.{mac[-1]}", server_id=HOST,
                                giaddr=giaddr, message_type=DHCPOFFER, option150=[tftp])  # fmt: skip
            self.sock.sendto(reply, (str(giaddr), self.client_port))

    def __enter__(self) -> _ReverseServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.thread.join(5)
        self.sock.close()


def test_replies_in_any_order_reach_the_phone_that_asked() -> None:
    client_port = free_port(kind="udp", host=HOST)
    with _ReverseServer(expect=PHONES, client_port=client_port) as server:
        relay = DhcpRelay(server=server.address, relay=HOST, client_port=client_port)
        macs = [f"00:1b:54:00:00:{i:02x}" for i in range(1, PHONES + 1)]
        with ThreadPoolExecutor(max_workers=PHONES) as pool:  # all ask at once: the server waits for all
            offers = list(pool.map(lambda m: relay.discover(mac=m, timeout=5.0, attempts=1), macs))
    for mac, offer in zip(macs, offers, strict=True):
        last = int(mac[-2:], 16)
        assert offer.chaddr[:6].hex(":") == mac
        assert offer.option150 == (IPv4Address(f"198.51.100.{last}"),)
    lock = relay_port_lock(HOST, client_port)
    assert lock.acquire(blocking=False)  # the last phone answered closed the socket and freed the port
    lock.release()


def test_no_answer_is_a_temporary_error_and_frees_the_port() -> None:
    client_port = free_port(kind="udp", host=HOST)
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind((HOST, 0))
    try:
        relay = DhcpRelay(server=silent.getsockname(), relay=HOST, client_port=client_port)
        with pytest.raises(TemporaryError, match="no DHCP offer"):
            relay.discover(mac="00:1b:54:00:00:01", timeout=0.3)
    finally:
        silent.close()
    lock = relay_port_lock(HOST, client_port)
    assert lock.acquire(blocking=False)
    lock.release()
