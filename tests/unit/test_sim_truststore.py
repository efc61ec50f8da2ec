"""Unit tests of per-node trust stores: replication lag, local CAPF-trust, cluster-wide delete, and
CUCM's "replace only if newer" rule for same-subject uploads (R5, R7)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from reconciler.cucm import certs
from simulator.model.clock import ManualClock, Scheduler
from simulator.model.truststore import (
    CALLMANAGER_TRUST,
    CAPF_TRUST,
    PHONE_SAST_TRUST,
    ClusterTrust,
    UploadResult,
)

NODES = ("pub", "sub1", "sub2")
Env = tuple[ManualClock, Scheduler, ClusterTrust]


def cert(host: str, when: float) -> certs.IssuedCert:
    return certs.generate_identity(
        kind="CallManager",
        host=host,
        cluster="new",
        key=certs.shared_lab_key("ec-p256", slot=7),
        now=datetime.fromtimestamp(when, UTC),
    )


@pytest.fixture
def env() -> Env:
    clock = ManualClock(start=10_000.0)
    sched = Scheduler()
    return clock, sched, ClusterTrust(nodes=NODES, scheduler=sched, replication_lag=30.0)


def settle(clock: ManualClock, sched: Scheduler, seconds: float) -> None:
    clock.advance(seconds)
    sched.settle(clock.now())


def test_upload_lands_on_the_publisher_at_once_and_on_subscribers_after_the_lag(env: Env) -> None:
    clock, sched, trust = env
    c = cert("cucm-new-pub", clock.now()).cert
    assert trust.upload(node="pub", store=CALLMANAGER_TRUST, cert=c, now=clock.now()) is UploadResult.ADDED
    assert trust.node("pub").has(CALLMANAGER_TRUST, c)
    assert not trust.node("sub1").has(CALLMANAGER_TRUST, c)
    settle(clock, sched, 29.9)
    assert not trust.node("sub2").has(CALLMANAGER_TRUST, c)
    settle(clock, sched, 0.1)
    assert all(trust.node(n).has(CALLMANAGER_TRUST, c) for n in NODES)
    assert trust.node("sub1").changed_at(CALLMANAGER_TRUST) == clock.now()
    assert not trust.node("sub1").has(PHONE_SAST_TRUST, c)  # stores are separate (R5)


def test_per_node_lag_override(env: Env) -> None:
    clock, sched, trust = env
    trust.node_lag["sub2"] = 300.0
    c = cert("x", clock.now()).cert
    trust.upload(node="pub", store=PHONE_SAST_TRUST, cert=c, now=clock.now())
    settle(clock, sched, 31)
    assert trust.node("sub1").has(PHONE_SAST_TRUST, c) and not trust.node("sub2").has(PHONE_SAST_TRUST, c)


def test_capf_trust_stays_local(env: Env) -> None:
    clock, sched, trust = env
    c = cert("capf", clock.now()).cert
    trust.upload(node="sub1", store=CAPF_TRUST, cert=c, now=clock.now())
    settle(clock, sched, 1000)
    assert trust.node("sub1").has(CAPF_TRUST, c)
    assert not trust.node("pub").has(CAPF_TRUST, c) and not trust.node("sub2").has(CAPF_TRUST, c)


def test_delete_is_cluster_wide_and_ordered_after_the_upload(env: Env) -> None:
    clock, sched, trust = env
    c = cert("gone", clock.now()).cert
    trust.upload(node="pub", store=CALLMANAGER_TRUST, cert=c, now=clock.now())
    settle(clock, sched, 5)
    subject = certs.subject_of(c)
    assert trust.delete(node="pub", store=CALLMANAGER_TRUST, subject=subject, now=clock.now())
    settle(clock, sched, 100)
    assert not any(trust.node(n).has(CALLMANAGER_TRUST, c) for n in NODES)
    assert not trust.delete(node="pub", store=CALLMANAGER_TRUST, subject=subject, now=clock.now())


def test_same_subject_replaced_only_by_a_newer_certificate(env: Env) -> None:
    clock, _, trust = env
    older = cert("cucm-new-pub", clock.now() - 86_400 * 10).cert
    newer = cert("cucm-new-pub", clock.now()).cert
    now = clock.now()
    assert trust.upload(node="pub", store=CALLMANAGER_TRUST, cert=newer, now=now) is UploadResult.ADDED
    assert trust.upload(node="pub", store=CALLMANAGER_TRUST, cert=older, now=now) is UploadResult.KEPT_NEWER
    assert trust.upload(node="pub", store=CALLMANAGER_TRUST, cert=newer, now=now) is UploadResult.UNCHANGED
    assert [e.view.fingerprint for e in trust.node("pub").entries(CALLMANAGER_TRUST)] == [
        certs.sha256_hex(newer)
    ]
    newest = cert("cucm-new-pub", clock.now() + 3600).cert
    assert trust.upload(node="pub", store=CALLMANAGER_TRUST, cert=newest, now=now) is UploadResult.REPLACED
    assert trust.node("pub").has(CALLMANAGER_TRUST, newest) and not trust.node("pub").has(
        CALLMANAGER_TRUST, newer
    )


def test_unknown_store_name_is_refused(env: Env) -> None:
    clock, _, trust = env
    with pytest.raises(ValueError, match="unknown trust store"):
        trust.upload(node="pub", store="Bogus-trust", cert=cert("x", clock.now()).cert, now=clock.now())
    assert trust.node("pub").entries("callmanager-TRUST") == ()  # names are case-insensitive


def test_file_name_lookup_for_deletes(env: Env) -> None:
    clock, _, trust = env
    c = cert("cucm-new-sub1", clock.now()).cert
    trust.upload(node="pub", store=PHONE_SAST_TRUST, cert=c, now=clock.now())
    for name in certs.trust_file_names(c):
        assert trust.node("pub").subject_for_file(PHONE_SAST_TRUST, name) == certs.subject_of(c)
    assert trust.node("pub").subject_for_file(CALLMANAGER_TRUST, certs.trust_file_name(c)) is None
