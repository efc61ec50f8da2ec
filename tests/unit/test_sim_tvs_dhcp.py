"""Unit tests of TVS caches (loaded at start only, roles per store; R7/R8) and of the DHCP sources
(IOS pools, the CUCM DHCP server's two TFTP addresses, the Kea adapter's relayed query)."""

from __future__ import annotations

import pytest

from reconciler.cucm.certs import IdentityKind
from reconciler.cucm.tlv import Role
from reconciler.errors import RemoteFaultError, TemporaryError
from simulator.model import playbook as pb
from simulator.model.build import build_lab
from simulator.model.clock import ManualClock
from simulator.model.dhcp import CucmDhcpServer, IosRouter, KeaDhcpSource, Scope
from simulator.model.lab import Lab
from simulator.model.services import TVS, ServiceAction
from simulator.model.truststore import CALLMANAGER_TRUST, PHONE_SAST_TRUST
from simulator.spec import default_lab


def make() -> Lab:
    return build_lab(default_lab(phones_per_scope=1), clock=ManualClock())


def test_tvs_answers_from_the_cache_loaded_at_its_last_start() -> None:
    lab = make()
    target = lab.identity("new", "cucm-new-pub", IdentityKind.CALLMANAGER)
    assert target is not None
    lab.upload_trust(cluster="old", node="cucm-old-pub", store=CALLMANAGER_TRUST, cert=target.cert)
    cache, loaded_at = lab.tvs_cache("old", "cucm-old-pub")
    assert cache is not None and cache.roles_for(target.cert) == frozenset()  # not until restarted (R8)
    lab.control_service(cluster="old", node="cucm-old-pub", name=TVS, action=ServiceAction.RESTART)
    pb.wait(lab, 10)
    cache, loaded_at2 = lab.tvs_cache("old", "cucm-old-pub")
    assert cache is not None and cache.roles_for(target.cert) == {Role.TFTP}
    assert loaded_at2 == lab.service_status("old", "cucm-old-pub", TVS).start_time
    assert loaded_at is not None and loaded_at2 is not None and loaded_at2 > loaded_at
    lab.upload_trust(cluster="old", node="cucm-old-pub", store=PHONE_SAST_TRUST, cert=target.cert)
    lab.control_service(cluster="old", node="cucm-old-pub", name=TVS, action=ServiceAction.RESTART)
    pb.wait(lab, 10)
    cache, _ = lab.tvs_cache("old", "cucm-old-pub")
    assert cache is not None and cache.roles_for(target.cert) == {Role.TFTP, Role.SAST}  # "rolecount : 2"


def test_equal_tvs_caches_are_one_shared_object() -> None:
    lab = make()
    a, _ = lab.tvs_cache("old", "cucm-old-sub1")
    b, _ = lab.tvs_cache("old", "cucm-old-sub2")
    assert a is b


def test_ios_router_pools_and_running_config() -> None:
    router = IosRouter(name="ios", address="127.0.30.254")
    router.put_pool(name="PHONES-A", network="192.0.2.0/24", option150=("127.0.10.1", "127.0.10.2"))
    scope = Scope(name="scope-a", subnet="192.0.2.0/24", relay="127.0.30.1", source="ios")
    assert router.option150(scope) == ("127.0.10.1", "127.0.10.2")
    router.set_option150(pool="PHONES-A", addresses=("127.0.20.1",))
    assert router.option150(scope) == ("127.0.20.1",)
    assert router.running_config() == (
        "ip dhcp pool PHONES-A\n network 192.0.2.0 255.255.255.0\n option 150 ip 127.0.20.1\n!\n"
    )
    with pytest.raises(RemoteFaultError):
        router.set_option150(pool="NOPE", addresses=())
    other = Scope(name="x", subnet="10.9.9.0/24", relay="127.0.30.9", source="ios")
    assert router.option150(other) == ()


def test_cucm_dhcp_server_holds_two_tftp_servers_at_most() -> None:
    server = CucmDhcpServer(name="old-dhcp", cluster="old")
    server.put_subnet(subnet="198.51.100.0/24", tftp=("127.0.20.1", "127.0.20.2"))
    scope = Scope(name="b", subnet="198.51.100.0/24", relay="127.0.30.2", source="old-dhcp")
    assert server.option150(scope) == ("127.0.20.1", "127.0.20.2")
    with pytest.raises(RemoteFaultError):
        server.put_subnet(subnet="198.51.100.0/24", tftp=("127.0.20.1", "127.0.20.2", "127.0.20.3"))


def test_kea_adapter_asks_with_the_scope_relay_and_a_silent_server_makes_phones_unregistered() -> None:
    asked: list[str] = []

    def fake(scope: Scope, mac: str) -> tuple[str, ...]:
        asked.append(f"{scope.relay} {mac}")
        raise TemporaryError("no DHCP offer", endpoint="dhcp://127.0.0.1:1")

    kea = KeaDhcpSource(name="kea", server=("127.0.0.1", 1), client_port=2, query=fake)
    with pytest.raises(TemporaryError):
        kea.option150(Scope(name="c", subnet="203.0.113.0/24", relay="127.0.30.3", source="kea"),
                      mac="00:1b:54:00:00:2a")  # fmt: skip
    assert asked == ["127.0.30.3 00:1b:54:00:00:2a"]  # the phone's own MAC through the scope's relay


def test_lab_routes_option150_changes_to_the_scopes_source() -> None:
    lab = make()
    assert lab.option150("scope-a") == ("127.0.10.1", "127.0.10.2")  # initial: the old TFTP nodes
    assert lab.option150("scope-b") == ("127.0.10.1", "127.0.10.2")
    lab.set_option150(scope="scope-b", addresses=("127.0.20.1", "127.0.20.2"))
    server = lab.dhcp_source("old-dhcp")
    assert isinstance(server, CucmDhcpServer)
    assert server.subnet("198.51.100.0/24") is not None
    assert lab.option150("scope-b") == ("127.0.20.1", "127.0.20.2")
    assert lab.option150("scope-a") == ("127.0.10.1", "127.0.10.2")
    assert lab.operation_log.entries()[-1].op == "set_cucm_dhcp_subnet"
