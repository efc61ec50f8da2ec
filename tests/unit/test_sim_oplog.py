"""The model records every mutating operation and no read (style rule 3: ``plan`` must be provably
side-effect free against the lab)."""

from __future__ import annotations

from collections.abc import Callable

from reconciler.cucm.certs import IdentityKind
from simulator.model.build import build_lab
from simulator.model.clock import ManualClock
from simulator.model.cluster import ROLLBACK_PARAMETER
from simulator.model.lab import Lab
from simulator.model.services import TVS
from simulator.model.truststore import CALLMANAGER_TRUST
from simulator.spec import default_lab

OLD_PUB = ("old", "cucm-old-pub")


def reads(lab: Lab) -> list[Callable[[], object]]:
    phone = lab.phones()[0].name
    return [
        lambda: lab.cluster("old"),
        lab.clusters,
        lambda: lab.node_at("127.0.10.2"),
        lambda: lab.identity(*OLD_PUB, IdentityKind.CALLMANAGER),
        lambda: lab.trust_store(*OLD_PUB, CALLMANAGER_TRUST),
        lambda: lab.trust_store_changed_at(*OLD_PUB),
        lambda: lab.service_status(*OLD_PUB, TVS),
        lambda: lab.services(*OLD_PUB),
        lambda: lab.tvs_cache(*OLD_PUB),
        lambda: lab.enterprise_parameter("old", ROLLBACK_PARAMETER),
        lambda: lab.enterprise_parameters("old"),
        lambda: lab.tftp_file(*OLD_PUB, "ITLFile.tlv"),
        lambda: lab.tftp_file(*OLD_PUB, "CTLSEP001B54000000.tlv"),
        lab.scopes,
        lambda: lab.dhcp_source("ios"),
        lambda: lab.option150("scope-a"),
        lambda: lab.phones(scope="scope-a"),
        lambda: lab.phone(phone),
        lab.phone_count,
        lambda: lab.registrations("old"),
        lab.registrations,
        lab.settle,
        lab.describe,
    ]


def test_reads_record_nothing_and_change_nothing() -> None:
    lab = build_lab(default_lab(phones_per_scope=2), clock=ManualClock())
    before = (
        lab.registrations(),
        lab.tftp_file(*OLD_PUB, "ITLFile.tlv"),
        lab.trust_store(*OLD_PUB, CALLMANAGER_TRUST),
    )
    for read in reads(lab):
        read()
    assert len(lab.operation_log) == 0
    after = (
        lab.registrations(),
        lab.tftp_file(*OLD_PUB, "ITLFile.tlv"),
        lab.trust_store(*OLD_PUB, CALLMANAGER_TRUST),
    )
    assert after == before


def test_every_mutating_operation_is_recorded_once_in_order() -> None:
    lab = build_lab(default_lab(phones_per_scope=2), clock=ManualClock())
    new_cm = lab.identity("new", "cucm-new-pub", IdentityKind.CALLMANAGER)
    assert new_cm is not None
    subject = "CN=cucm-new-pub;OU=new;O=Reconciler Lab;C=US"
    mutations: list[tuple[str, Callable[[], object]]] = [
        ("upload_trust", lambda: lab.upload_trust(cluster="old", node="cucm-old-pub", store=CALLMANAGER_TRUST,
                                                  cert=new_cm.cert)),
        ("delete_trust", lambda: lab.delete_trust(cluster="old", node="cucm-old-pub", store=CALLMANAGER_TRUST,
                                                  subject=subject)),
        ("delete_trust", lambda: lab.delete_trust(cluster="old", node="cucm-old-pub", store=CALLMANAGER_TRUST,
                                                  file_name="no-such.pem")),
        ("set_replication_lag", lambda: lab.set_replication_lag(cluster="old", seconds=5)),
        ("control_service", lambda: lab.control_service(cluster="old", node="cucm-old-sub1", name=TVS,
                                                        action="restart")),
        ("inject_service_failure", lambda: lab.inject_service_failure(cluster="old", node="cucm-old-sub2",
                                                                      name=TVS, times=0)),
        ("set_enterprise_parameter", lambda: lab.set_enterprise_parameter(
            cluster="old", name=ROLLBACK_PARAMETER, value="False")),
        ("regenerate_identity", lambda: lab.regenerate_identity(cluster="new", node="cucm-new-sub2",
                                                                kind=IdentityKind.TVS)),
        ("set_mixed_mode", lambda: lab.set_mixed_mode(cluster="new", enabled=True)),
        ("set_ios_pool_option150", lambda: lab.set_option150(scope="scope-a", addresses=("127.0.20.1",))),
        ("set_cucm_dhcp_subnet", lambda: lab.set_option150(scope="scope-b", addresses=("127.0.20.1",))),
        ("set_ios_pool_option150", lambda: lab.set_ios_pool_option150(router="ios", pool="PHONES-C",
                                                                      addresses=("127.0.20.2",))),
        ("reset_phones", lambda: lab.reset_phones(scope="scope-a")),
    ]  # fmt: skip
    for op, call in mutations:
        mark = len(lab.operation_log)
        call()
        new = lab.operation_log.since(mark)
        assert [e.op for e in new] == [op]
        assert new[0].seq == mark + 1 and new[0].at == lab.clock.now()
    assert lab.operation_log.ops() == tuple(op for op, _ in mutations)


def test_concurrent_callers_are_serialized_by_the_lab_lock() -> None:
    import threading

    lab = build_lab(default_lab(phones_per_scope=5), clock=ManualClock())
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            for _ in range(20):
                lab.reset_phones(scope=f"scope-{'abc'[i % 3]}")
                lab.registrations()
                lab.control_service(cluster="old", node="cucm-old-pub", name="Cisco Tftp", action="start")
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert lab.operation_log.ops().count("reset_phones") == 80
    assert [e.seq for e in lab.operation_log] == list(range(1, len(lab.operation_log) + 1))
