"""The lab's relay agent in front of a real kea-dhcp4 (``simulator.model.dhcprelay``): many phones ask at
once through one relay address, each with its own MAC, and each gets the offer made for it; the relay
listens only while someone waits and leaves the relay port to ``query_relayed`` otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from reconciler.dhcpwire import DhcpOffer, query_relayed, relay_port_lock
from reconciler.errors import TemporaryError
from simulator.kea import KeaInstance, KeaSubnet, free_port
from simulator.model.dhcprelay import DhcpRelay
from tests.conftest import require_tool
from tests.loopback import Loopback

pytestmark = pytest.mark.lab
TFTP = IPv4Address("192.0.2.10")


@pytest.fixture
def kea_relay(tmp_path: Path, loopback: Loopback) -> Iterator[tuple[KeaInstance, DhcpRelay]]:
    require_tool("kea-dhcp4")
    require_tool("kea-ctrl-agent")
    with loopback.lease() as lease:
        relay = lease.ip(30, 3)
        subnet = KeaSubnet(id=1, name="phones", subnet=IPv4Network("192.0.2.0/24"), relay=IPv4Address(relay),
                           option150=(TFTP,))  # fmt: skip
        with KeaInstance(workdir=tmp_path / "kea", subnets=[subnet]) as kea:
            yield kea, DhcpRelay(server=kea.server, relay=relay, client_port=kea.client_port)


def _mac(i: int) -> str:
    return f"00:1b:54:00:01:{i:02x}"


def test_phones_asking_at_once_each_get_their_own_offer(kea_relay: tuple[KeaInstance, DhcpRelay]) -> None:
    kea, relay = kea_relay
    macs = [_mac(i) for i in range(40)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        offers: list[DhcpOffer] = list(pool.map(lambda m: relay.discover(mac=m, timeout=5.0), macs))
    assert [o.chaddr[:6].hex(":") for o in offers] == macs  # each reply went to the phone it was for
    assert all(o.option150 == (TFTP,) for o in offers)
    assert len({o.yiaddr for o in offers}) == len(macs)  # Kea saw 40 clients, not one
    log = kea.log_path("kea-dhcp4").read_text(errors="replace")
    assert all(f"[hwtype=1 {m}]" in log for m in macs)
    lock = relay_port_lock(relay.relay, relay.client_port)
    assert lock.acquire(blocking=False)  # nobody waits: the socket is closed and the port free
    lock.release()
    offer = query_relayed(server=kea.server, giaddr=relay.relay, client_port=relay.client_port,
                          mac=_mac(99), timeout=2.0)  # fmt: skip
    assert offer.option150 == (TFTP,)


def test_a_silent_server_is_no_offer_and_frees_the_relay(
    kea_relay: tuple[KeaInstance, DhcpRelay],
) -> None:
    kea, live = kea_relay
    silent = (kea.server[0], free_port(kind="udp", host=kea.server[0]))  # no DHCP server on this port
    dead = DhcpRelay(server=silent, relay=live.relay, client_port=free_port(kind="udp", host=live.relay))
    with pytest.raises(TemporaryError, match="no DHCP offer"):
        dead.discover(mac=_mac(1), timeout=1.0)
    lock = relay_port_lock(dead.relay, dead.client_port)
    assert lock.acquire(blocking=False)
    lock.release()
