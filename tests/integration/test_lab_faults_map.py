"""Every fault of the real lab, seen through our providers: each maps to the right ``reconciler.errors``
class with a message naming the node (lab.md "Faults"; docs/providers.md "Errors: temporary or
permanent"). Temporary faults (latency beyond the client timeout, AXL throttle, a dropped SSH session,
the RisPort70 allowance, an unreachable node) are ``TemporaryError``/``UnreachableError`` and the retry
works once the fault is gone; a TVS that fails to start is a ``VerificationError`` (R8); replication lag
is a ``verify`` that names the lagging nodes until the lag has passed (R7).

Then the three ways to talk to the wrong thing or as the wrong user — a CA that did not sign the lab's
certificates, a changed SSH host key (the lab's known_hosts entry rewritten in a copy), a wrong password —
each fail permanently with an error naming the node and the fix, and leave the model's operation log
exactly as it was (nothing changed). The lab runs on a ManualClock; polling clients advance it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from providers.cucm_certs import cli_session_for
from providers.dhcp.provider import Option150Provider
from reconciler.errors import (
    AuthenticationError,
    HostKeyError,
    ProviderError,
    TemporaryError,
    TlsVerificationError,
    UnreachableError,
    VerificationError,
)
from reconciler.model import Action, Address, Change, freeze
from simulator.lab.faults import Fault
from simulator.lab.runtime import LabRuntime
from tests.contract.lab_fixtures import (
    OpLog,
    axl_client,
    changed_known_hosts,
    cluster_model,
    cucm_dhcp_backend,
    fresh_addresses,
    fresh_trust_cert,
    ios_backend,
    lab_clock,
    lab_runtime_fixture,
    param_provider,
    plan_trust_change,
    ris_client,
    tftp_client,
    trust_provider,
    tvs_provider,
    wrong_ca,
    wrong_password_file,
)

pytestmark = pytest.mark.lab
lab = lab_runtime_fixture()
E = TypeVar("E", bound=ProviderError)
ROLLBACK = "rollback_to_pre8"


@contextmanager
def fault(rt: LabRuntime, **kw: Any) -> Iterator[OpLog]:
    """Apply a fault, yield an operation-log bookmark taken after it (injecting tvs-fail/replication-lag
    is itself a model call), clear the fault on the way out."""
    rt.apply_fault(Fault(**kw))
    try:
        yield OpLog.mark_now(rt)
    finally:
        rt.apply_fault(Fault(**kw, off=True))


def expect(kind: type[E], call: Callable[[], object], *, node: str, exact: bool = True) -> E:
    """``call`` raises ``kind`` (exactly, unless ``exact=False``) whose message and endpoint name ``node``."""
    with pytest.raises(kind) as caught:
        call()
    err = caught.value
    if exact:
        assert type(err) is kind, f"{type(err).__name__} is not {kind.__name__}: {err}"
    assert node in str(err), f"{node} not named in {err}"
    assert err.endpoint is not None and node in err.endpoint
    return err


def rollback_change(cluster: str, value: bool = True) -> Change:
    return Change(
        address=Address.of("param", cluster, ROLLBACK),
        action=Action.UPDATE,
        before=str(not value),
        after=str(value),
        reason="contract test",
        rule="R2",
    )


def option150_change(server: str, scope: str) -> Change:
    return Change(
        address=Address.of("option150", server, scope),
        action=Action.UPDATE,
        before=(),
        after=freeze([str(a) for a in fresh_addresses(2)]),
        reason="contract test",
        rule="R12",
    )


def trust_change(cluster: str) -> Change:
    return plan_trust_change(cluster, fresh_trust_cert("fault"), "fault-cert")


# -- the lab's injected faults ------------------------------------------------------------------------


def test_latency_beyond_the_client_timeout_is_temporary(lab: LabRuntime) -> None:
    old = cluster_model(lab, "old")
    with fault(lab, kind="latency", node="cucm-old-pub", face="https", seconds=1.0) as log:
        client = axl_client(old, timeout=(2.0, 0.3))
        err = expect(TemporaryError, client.version, node="cucm-old-pub")
        assert "in time" in str(err)
        client.close()
    with fault(lab, kind="latency", node="cucm-old-sub1", face="cli", seconds=1.0):
        session = cli_session_for(old, old.nodes[1])
        session.command_timeout = 0.3
        try:
            expect(TemporaryError, lambda: session.cert_list("trust"), node="cucm-old-sub1")
        finally:
            session.close()
    assert log.texts() == []
    assert axl_client(old).version().startswith("11.5")  # the retry works once the node is fast again


def test_axl_throttle_is_temporary_for_writes_while_reads_work(lab: LabRuntime) -> None:
    old = cluster_model(lab, "old")
    with param_provider(old) as params, cucm_dhcp_backend(lab, old) as dhcp:
        change = rollback_change("old", True)
        with fault(lab, kind="axl-throttle", cluster="old") as log:
            assert params.verify(change).observed == {"value": False}  # reads still work
            err = expect(TemporaryError, lambda: params.apply(change), node="cucm-old-pub")
            assert "503" in str(err)
            expect(
                TemporaryError,
                lambda: dhcp.set_option150(scope="198.51.100.0", addresses=fresh_addresses(2)),
                node="cucm-old-pub",
            )
            assert log.texts() == []
        assert params.apply(change).changed  # the executor's retry
        assert params.apply(rollback_change("old", False)).changed  # put it back


def test_dropped_ssh_is_temporary_and_the_next_command_reconnects(lab: LabRuntime) -> None:
    old = cluster_model(lab, "old")
    probe = trust_change("old")
    with trust_provider(old) as trust, ios_backend(lab) as ios:
        assert trust.verify(probe).detail  # session open
        assert ios.list_scopes()
        with fault(lab, kind="drop-ssh", node="cucm-old-pub", count=1) as log:
            expect(TemporaryError, lambda: trust.verify(probe), node="cucm-old-pub")
            assert trust.verify(probe).detail
        with fault(lab, kind="drop-ssh", node="ios", count=1):
            expect(TemporaryError, ios.list_scopes, node="ios")
            assert {s.name for s in ios.list_scopes()} == {"PHONES-A", "PHONES-C"}
        assert log.texts() == []


def test_tvs_failing_to_start_is_a_verification_error_naming_the_node(lab: LabRuntime) -> None:
    """R8: the restart was sent, TVS stays down: the step fails, it does not pass on a stale Started."""
    new = cluster_model(lab, "new")
    address = Address.of("tvs", "new", "cucm-new-sub2")
    with tvs_provider(lab, new, timeout=30.0, poll_interval=5.0) as tvs:
        seen = _lab_iso(lab)
        lab_clock(lab).advance(5)
        change = Change(address=address, action=Action.RUN, before=freeze({"started_at": seen}),
                        after=freeze({"restart": True}), reason="R8", rule="R8")  # fmt: skip
        with fault(lab, kind="tvs-fail", node="cucm-new-sub2") as log:
            err = expect(VerificationError, lambda: tvs.apply(change), node="cucm-new-sub2")
            assert "did not reach Started" in str(err) and err.hint and "cucm-new-sub2" in err.hint
            assert [op.op for op in log.since()] == ["control_service"]  # one restart, no retry storm
        assert tvs.apply(change).changed and tvs.verify(change).complies  # fixed: the re-run works


def test_replication_lag_is_a_verify_naming_the_lagging_nodes(lab: LabRuntime) -> None:
    new = cluster_model(lab, "new")
    change = trust_change("new")
    with (
        trust_provider(new) as trust,
        fault(lab, kind="replication-lag", cluster="new", seconds=20),
    ):
        assert trust.apply(change).changed
        lagging = trust.verify(change)
        assert not lagging.complies
        assert {m.field for m in lagging.mismatched} == {"nodes.cucm-new-sub1", "nodes.cucm-new-sub2"}
        assert re.search(r"cucm-new-sub1, cucm-new-sub2 \(R7", lagging.detail)
        lab_clock(lab).advance(21)
        assert trust.verify(change).complies


def test_ris_allowance_exhausted_is_temporary_with_a_delay(lab: LabRuntime) -> None:
    with ris_client(lab, cluster_model(lab, "old")) as ris:
        with fault(lab, kind="ris-exhausted", cluster="old"):
            err = expect(TemporaryError, lambda: ris.registrations(["SEP*"]), node="cucm-old-pub")
            assert "allowance" in str(err) and err.delay == pytest.approx(60 / 15)
        assert ris.registrations(["SEP*"])  # a new minute: answers again


def test_unreachable_node_is_unreachable_for_https_tftp_ssh_and_ios(lab: LabRuntime) -> None:
    new, old = cluster_model(lab, "new"), cluster_model(lab, "old")
    address = Address.of("tvs", "new", "cucm-new-sub1")
    with fault(lab, kind="unreachable", node="cucm-new-sub1") as log:
        with tvs_provider(lab, new) as tvs:
            restart = Change(address=address, action=Action.RUN, after=freeze({"restart": True}))
            expect(UnreachableError, lambda: tvs.verify(restart), node="cucm-new-sub1")
        with tftp_client(new, "cucm-new-sub1") as tftp:
            err = expect(UnreachableError, tftp.cluster_files, node="cucm-new-sub1")
            assert err.hint and "Cisco Tftp" in err.hint
        change = trust_change("new")
        with trust_provider(new) as trust:  # R7: verify reads every node
            expect(UnreachableError, lambda: trust.verify(change), node="cucm-new-sub1")
    with fault(lab, kind="unreachable", node="cucm-old-sub1"):
        session = cli_session_for(old, old.nodes[1])
        try:
            expect(UnreachableError, lambda: session.cert_list("trust"), node="cucm-old-sub1")
        finally:
            session.close()
    with fault(lab, kind="unreachable", node="ios"), ios_backend(lab) as ios:
        expect(UnreachableError, ios.list_scopes, node="ios")
    assert log.texts() == []


# -- talking to the wrong thing, or as the wrong user: clear error, nothing changed -------------------


def test_wrong_ca_names_the_node_and_ca_bundle_and_changes_nothing(lab: LabRuntime, tmp_path: Path) -> None:
    bad = wrong_ca(tmp_path)
    log = OpLog.mark_now(lab)
    old, new = cluster_model(lab, "old", ca_bundle=bad), cluster_model(lab, "new", ca_bundle=bad)
    with param_provider(old) as params:
        err = expect(TlsVerificationError, lambda: params.apply(rollback_change("old")), node="cucm-old-pub")
        assert err.hint and "ca_bundle" in err.hint
    change = trust_change("new")
    with trust_provider(new) as trust:
        err = expect(TlsVerificationError, lambda: trust.apply(change), node="cucm-new-pub")
        assert err.hint and "ca_bundle" in err.hint
    with Option150Provider(cucm_dhcp_backend(lab, old)) as dhcp:
        expect(TlsVerificationError, lambda: dhcp.apply(option150_change("old-dhcp", "198.51.100.0")),
               node="cucm-old-pub")  # fmt: skip
    assert log.texts() == []


def test_changed_host_key_names_the_node_and_the_fix_and_changes_nothing(
    lab: LabRuntime, tmp_path: Path
) -> None:
    inv = lab.inventory
    pub = inv["clusters"]["old"]["nodes"]["cucm-old-pub"]["ssh"]
    ios_entry = next(s for s in inv["dhcp"]["servers"] if s["kind"] == "ios")
    log = OpLog.mark_now(lab)
    changed = changed_known_hosts(lab, tmp_path, host=pub["host"], port=pub["port"])
    change = trust_change("old")
    with trust_provider(cluster_model(lab, "old", known_hosts=changed)) as trust:
        err = expect(HostKeyError, lambda: trust.apply(change), node="cucm-old-pub")
        assert "CHANGED" in str(err) and err.hint and "ssh-keygen -R" in err.hint
    changed = changed_known_hosts(lab, tmp_path, host=ios_entry["host"], port=ios_entry["port"])
    with Option150Provider(ios_backend(lab, known_hosts=changed)) as ios:
        err = expect(HostKeyError, lambda: ios.apply(option150_change("ios", "PHONES-A")), node="ios")
        assert "CHANGED" in str(err) and err.hint and "ssh-keygen -R" in err.hint
    assert log.texts() == []


def test_wrong_password_names_the_node_and_the_fix_and_changes_nothing(
    lab: LabRuntime, tmp_path: Path
) -> None:
    wrong = wrong_password_file(tmp_path)
    log = OpLog.mark_now(lab)
    with param_provider(cluster_model(lab, "old", password_files={"axl": wrong})) as params:
        err = expect(AuthenticationError, lambda: params.apply(rollback_change("old")), node="cucm-old-pub")
        assert err.hint and "credentials.axl" in err.hint
    for cluster, node in (("old", "cucm-old-pub"), ("new", "cucm-new-pub")):  # admin CLI, certmgr REST
        change = trust_change(cluster)
        model = cluster_model(lab, cluster, password_files={"os": wrong})
        with trust_provider(model) as trust:
            err = expect(AuthenticationError, lambda: trust.apply(change), node=node)  # noqa: B023 - called at once
            assert err.hint and "password" in err.hint
    with Option150Provider(ios_backend(lab, password_file=wrong)) as ios:
        err = expect(AuthenticationError, lambda: ios.apply(option150_change("ios", "PHONES-A")), node="ios")
        assert err.hint and "password" in err.hint
    assert log.texts() == []


def _lab_iso(rt: LabRuntime) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(lab_clock(rt).now(), dt.UTC).isoformat()
