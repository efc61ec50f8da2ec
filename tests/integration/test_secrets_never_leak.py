"""Secrets never leak (issue 6 "security defaults"): every provider is driven against the real lab — reads,
plans, applies, verifies, and the failures (wrong passwords, faults) — with every logger at DEBUG
(paramiko, netmiko, urllib3, zeep and the lab's own faces included) and stdout/stderr captured. Then all
captured text, every result's ``repr``, every provider's and session's ``repr`` and every raised error's
``str``/``repr``/hint (and the exceptions it was raised from) are scanned for each password in the lab's
``credentials/`` directory, for the wrong passwords we tried, and for their HTTP basic-auth encodings."""

from __future__ import annotations

import base64
import datetime as dt
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from providers.dhcp.provider import Option150Provider
from reconciler.errors import ProviderError
from reconciler.model import Action, Address, Change, freeze
from reconciler.provider import Provider
from simulator.lab.faults import Fault
from simulator.lab.runtime import LabRuntime
from tests.contract.lab_fixtures import (
    cluster_model,
    cucm_dhcp_backend,
    fresh_addresses,
    fresh_trust_cert,
    ios_backend,
    lab_clock,
    lab_passwords,
    lab_runtime_fixture,
    param_provider,
    plan_trust_change,
    ris_client,
    tftp_client,
    trust_provider,
    tvs_provider,
    wrong_password_file,
)

pytestmark = pytest.mark.lab
lab = lab_runtime_fixture()


class Transcript:
    """Everything that could carry a secret: reprs of results/objects and raised errors."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.errors: list[BaseException] = []

    def see(self, *objects: object) -> None:
        self.texts.extend(f"{o!s}\n{o!r}" for o in objects)

    def fails(self, call: Callable[[], object]) -> None:
        """``call`` must raise a mapped error; keep it (and its chain) for the scan."""
        with pytest.raises(ProviderError) as caught:
            call()
        self.errors.append(caught.value)

    def error_texts(self) -> Iterator[str]:
        for err in self.errors:
            cursor: BaseException | None = err
            for _ in range(12):
                if cursor is None:
                    break
                yield f"{cursor!s}\n{cursor!r}\n{getattr(cursor, 'hint', '')}\n{cursor.args!r}"
                cursor = cursor.__cause__ or cursor.__context__


def _cycle(provider: Provider, change: Change, seen: Transcript) -> None:
    """verify → apply → apply → verify of a plan step, keeping every result."""
    seen.see(provider, change, provider.verify(change), provider.apply(change), provider.apply(change),
             provider.verify(change))  # fmt: skip


def _param(cluster: str, value: str) -> Change:
    address = Address.of("param", cluster, "rollback_to_pre8")
    return Change(address=address, action=Action.UPDATE, after=value, reason="R2", rule="R2")


def _restart(cluster: str, node: str, seen_at: str | None = None) -> Change:
    before = freeze({"started_at": seen_at}) if seen_at else None
    return Change(address=Address.of("tvs", cluster, node), action=Action.RUN, before=before,
                  after=freeze({"restart": True}), reason="R8", rule="R8")  # fmt: skip


def _drive_everything(rt: LabRuntime, tmp: Path, seen: Transcript) -> None:
    old, new = cluster_model(rt, "old"), cluster_model(rt, "new")
    seen.see(old, new)
    for model in (old, new):  # trust: admin CLI on 11.5, certmgr REST on 14.0
        cert = fresh_trust_cert("leak")
        with trust_provider(model) as trust:
            _cycle(trust, plan_trust_change(model.name, cert, "leak", store="Phone-SAST-trust"), seen)
            seen.see(trust.identities(), *(c for c in trust.clients))
        with param_provider(model) as params:
            _cycle(params, _param(model.name, "True"), seen)
            _cycle(params, _param(model.name, "False"), seen)
            seen.see(params.client, params.client._session, params.client._session.auth)
        with tvs_provider(rt, model) as tvs:
            started = dt.datetime.fromtimestamp(lab_clock(rt).now(), dt.UTC).isoformat()
            lab_clock(rt).advance(5)
            _cycle(tvs, _restart(model.name, model.publisher.name, started), seen)
        with tftp_client(model, model.publisher.name) as tftp:
            seen.see(tftp.cluster_files())
    with ris_client(rt, old) as ris:
        seen.see(ris.registrations(["SEP*"]))
    for backend, scope in ((ios_backend(rt), "PHONES-A"), (cucm_dhcp_backend(rt, old), "198.51.100.0")):
        with Option150Provider(backend) as dhcp:
            address = Address.of("option150", dhcp.endpoint, scope)
            after = freeze([str(a) for a in fresh_addresses(2)])
            _cycle(dhcp, Change(address=address, action=Action.UPDATE, after=after, reason="R12"), seen)
    # failures: wrong passwords on every protocol, a dropped session, an unreachable node
    wrong_axl, wrong_os, wrong_ios = (wrong_password_file(tmp, f"{n}.password") for n in ("axl", "os", "ios"))
    bad_old = cluster_model(rt, "old", password_files={"axl": wrong_axl, "os": wrong_os})
    bad_new = cluster_model(rt, "new", password_files={"axl": wrong_axl, "os": wrong_os})
    with param_provider(bad_old) as params:
        seen.fails(lambda: params.verify(_param("old", "True")))
    for model in (bad_old, bad_new):
        trust_change = plan_trust_change(model.name, fresh_trust_cert("x"), "x")
        with trust_provider(model) as trust, tvs_provider(rt, model) as tvs:
            seen.fails(lambda: trust.verify(trust_change))  # noqa: B023 - called at once
            seen.fails(lambda: tvs.verify(_restart(model.name, model.publisher.name)))  # noqa: B023
    with ios_backend(rt, password_file=wrong_ios) as ios:
        seen.fails(ios.list_scopes)
    probe = plan_trust_change("old", fresh_trust_cert("x"), "x")
    with trust_provider(old) as trust, ios_backend(rt) as ios:
        trust.verify(probe)
        ios.list_scopes()
        rt.apply_fault(Fault(kind="drop-ssh", node="cucm-old-pub", count=1))
        rt.apply_fault(Fault(kind="drop-ssh", node="ios", count=1))
        seen.fails(lambda: trust.verify(probe))
        seen.fails(ios.list_scopes)
    rt.apply_fault(Fault(kind="unreachable", node="cucm-new-pub"))
    try:
        with param_provider(new) as params:
            seen.fails(lambda: params.verify(_param("new", "True")))
    finally:
        rt.apply_fault(Fault(kind="unreachable", node="cucm-new-pub", off=True))


def test_no_password_reaches_logs_output_results_or_errors(
    lab: LabRuntime, tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)  # the root logger: every library's debug lines are captured
    for name in ("paramiko", "netmiko", "urllib3", "zeep", "providers", "simulator"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    seen = Transcript()
    _drive_everything(lab, tmp_path, seen)
    captured = capsys.readouterr()

    secrets = dict(lab_passwords(lab))
    for path in tmp_path.glob("*.password"):
        secrets[f"tried {path.name}"] = path.read_text().strip()
    users = {"axl": "axladmin", "os": "admin"}
    for cluster in ("old", "new"):
        for kind, user in users.items():
            token = base64.b64encode(f"{user}:{secrets[f'{cluster}-{kind}.password']}".encode()).decode()
            secrets[f"basic auth {cluster}-{kind}"] = token

    assert len(secrets) == 7 + 3 + 4  # the lab's seven, the three wrong ones we tried, four auth headers
    # six wrong passwords (AXL, CLI, REST, ControlCenter twice, IOS), two dropped sessions, one node down
    assert len(seen.errors) == 9
    assert "netmiko" in caplog.text and "paramiko" in caplog.text and "zeep" in caplog.text.lower()
    haystacks = {
        "logs": caplog.text,
        "log records": "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records),
        "stdout": captured.out,
        "stderr": captured.err,
        "results": "\n".join(seen.texts),
        "errors": "\n".join(seen.error_texts()),
    }
    assert all(len(text) > 0 for name, text in haystacks.items() if name not in ("stdout", "stderr"))
    leaks = [(what, where) for what, secret in secrets.items() for where, text in haystacks.items()
             if secret in text]  # fmt: skip
    assert leaks == [], f"secrets leaked: {leaks}"
