"""The ``ip helper-address`` relay in front of a Kea scope: each phone's own DHCP exchange, many at once.

A real phone behind a relay sends its own DISCOVER with its own MAC (``SEP<MAC>`` is its name); the relay
forwards it to the DHCP server with ``giaddr`` set and hands the reply back by transaction id. ``DhcpRelay``
does the same on loopback for one relay address: while any phone is waiting, one UDP socket is bound to
``relay:client_port`` (where Kea, started with ``-P client_port``, sends relay replies); every phone's
DISCOVER goes out over it with a fresh ``xid``, and whichever waiting thread is reading hands each reply to
the phone whose ``xid`` it carries. So the booting phones of a scope ask Kea concurrently (as many as the
wire booter runs at once) and Kea's log shows each phone's MAC.

The socket is closed when the last waiting phone has its answer; while it is bound the relay holds
``reconciler.dhcpwire.relay_port_lock`` so ``query_relayed`` in the same process (the Kea provider's check)
waits instead of failing to bind. Used by ``simulator.model.dhcp.KeaDhcpSource``.
"""

from __future__ import annotations

import os
import socket
import threading
import time

from reconciler.dhcpwire import DhcpOffer, build_discover, parse_reply, relay_port_lock
from reconciler.errors import PermanentError, TemporaryError, UnreachableError

__all__ = ["DhcpRelay"]

_BOOTREPLY = 2
_DHCPNAK = 6
_READ_SLICE = 0.1  # the reading thread gives others a turn this often


class DhcpRelay:
    """One relay address (``relay``) forwarding to ``server``; ``discover`` is safe from many threads."""

    def __init__(self, *, server: tuple[str, int], relay: str, client_port: int) -> None:
        self.server = server
        self.relay = relay
        self.client_port = client_port
        self.endpoint = f"dhcp://{server[0]}:{server[1]}"
        self._cond = threading.Condition()
        self._port_lock = relay_port_lock(relay, client_port)
        self._sock: socket.socket | None = None
        self._waiting: dict[int, bytes | None] = {}  # xid -> the reply, once it came
        self._reading = False
        self._refused = False

    def discover(self, *, mac: str, timeout: float = 2.0, attempts: int = 2) -> DhcpOffer:
        """This phone's relayed DISCOVER and the OFFER for it (re-sent ``attempts`` times within
        ``timeout``). Errors as ``reconciler.dhcpwire.query_relayed``: ``TemporaryError`` for no offer
        or a NAK, ``UnreachableError`` when the relay address cannot be bound or the server refuses."""
        xid = self._open()
        packet = build_discover(mac=mac, giaddr=self.relay, xid=xid)
        rounds = max(1, attempts)
        try:
            deadline = time.monotonic() + timeout
            for attempt in range(rounds):
                sock = self._sock
                assert sock is not None  # bound while this phone waits
                try:
                    sock.sendto(packet, self.server)
                except OSError as exc:
                    raise UnreachableError(f"cannot send DHCP to {self.endpoint}: {exc}",
                                           endpoint=self.endpoint) from exc  # fmt: skip
                until = deadline
                if attempt < rounds - 1:
                    until = min(deadline, time.monotonic() + timeout / rounds)
                data = self._await(xid, until)
                if data is not None:
                    return self._offer(data)
        finally:
            self._close(xid)
        raise TemporaryError(
            f"no DHCP offer from {self.endpoint} for relay {self.relay} within {timeout:g}s",
            endpoint=self.endpoint,
            hint="is the server running, does a subnet list this relay address, and was it started with "
            f"-P {self.client_port}?",
        )

    def _offer(self, data: bytes) -> DhcpOffer:
        try:
            offer = parse_reply(data)
        except PermanentError as exc:
            raise PermanentError(str(exc), endpoint=self.endpoint) from exc
        if offer.message_type == _DHCPNAK:
            raise TemporaryError(f"DHCP server {self.endpoint} sent a NAK to relay {self.relay}",
                                 endpoint=self.endpoint)  # fmt: skip
        return offer

    # -- the shared socket -------------------------------------------------------------------------

    def _open(self) -> int:
        """Register a waiting phone (binding the socket for the first one); its fresh xid."""
        with self._cond:
            if self._sock is None:
                self._port_lock.acquire()
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                try:
                    sock.bind((self.relay, self.client_port))
                except OSError as exc:
                    sock.close()
                    self._port_lock.release()
                    raise UnreachableError(
                        f"cannot listen for DHCP replies on {self.relay}:{self.client_port}: {exc.strerror}",
                        endpoint=self.endpoint,
                        hint="another process is using that relay address and client port",
                    ) from exc
                self._sock, self._refused = sock, False
            xid = int.from_bytes(os.urandom(4), "big")
            while xid in self._waiting:
                xid = int.from_bytes(os.urandom(4), "big")
            self._waiting[xid] = None
            return xid

    def _close(self, xid: int) -> None:
        with self._cond:
            self._waiting.pop(xid, None)
            if not self._waiting and self._sock is not None:
                self._sock.close()
                self._sock = None
                self._port_lock.release()

    def _await(self, xid: int, until: float) -> bytes | None:
        """The reply for ``xid`` once it came, or None at ``until``; one waiting thread reads at a time
        and hands every reply to the phone whose xid it carries."""
        while True:
            with self._cond:
                got = self._waiting.get(xid)
                if got is not None:
                    return got
                if self._refused:
                    raise UnreachableError(
                        f"DHCP server {self.endpoint} refused (nothing listens on that port)",
                        endpoint=self.endpoint,
                    )
                left = until - time.monotonic()
                if left <= 0:
                    return None
                if self._reading:
                    self._cond.wait(left)
                    continue
                self._reading = True
                sock = self._sock
            data = b""
            refused = False
            try:
                assert sock is not None
                sock.settimeout(min(left, _READ_SLICE))
                data, _peer = sock.recvfrom(4096)
            except TimeoutError:
                pass
            except ConnectionRefusedError:
                refused = True
            finally:
                with self._cond:
                    self._reading = False
                    self._refused = self._refused or refused
                    if len(data) >= 8 and data[0] == _BOOTREPLY:
                        to = int.from_bytes(data[4:8], "big")
                        if to in self._waiting and self._waiting[to] is None:
                            self._waiting[to] = data
                    self._cond.notify_all()
