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

from providers.cucm_certs import trust_value
from providers.dhcp.provider import Option150Provider, option150_value
from reconciler.errors import ProviderError
from reconciler.model import Address, freeze
from reconciler.provider import Desired, Provider
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


def _cycle(provider: Provider, desired: Desired, seen: Transcript) -> None:
    """read → diff → verify → apply → apply → verify, keeping every result."""
    observed = provider.read([desired.address])
    change = provider.diff(desired, observed[desired.address])
    seen.see(provider, observed, change, provider.verify(change), provider.apply(change),
             provider.apply(change), provider.verify(change))  # fmt: skip


def _drive_everything(rt: LabRuntime, tmp: Path, seen: Transcript) -> None:
    old, new = cluster_model(rt, "old"), cluster_model(rt, "new")
    seen.see(old, new)
    for model in (old, new):  # trust: admin CLI on 11.5, certmgr REST on 14.0
        cert = fresh_trust_cert("leak")
        address = Address.of("trust", model.name, "Phone-SAST-trust", "leak")
        with trust_provider(model, expected={str(address): cert}) as trust:
            _cycle(trust, Desired(address=address, value=trust_value(cert)), seen)
            seen.see(trust.identities(), *(c for c in trust.clients))
        with param_provider(model) as params:
            address = Address.of("param", model.name, "rollback_to_pre8")
            _cycle(params, Desired(address=address, value=freeze({"value": True})), seen)
            _cycle(params, Desired(address=address, value=freeze({"value": False})), seen)
            seen.see(params.client, params.client._session, params.client._session.auth)
        with tvs_provider(rt, model) as tvs:
            lab_clock(rt).advance(5)
            after = dt.datetime.fromtimestamp(lab_clock(rt).now(), dt.UTC).isoformat()
            address = Address.of("tvs", model.name, model.publisher.name)
            _cycle(
                tvs,
                Desired(address=address, value=freeze({"status": "Started", "started_after": after})),
                seen,
            )
        with tftp_client(model, model.publisher.name) as tftp:
            seen.see(tftp.cluster_files())
    with ris_client(rt, old) as ris:
        seen.see(ris.registrations(["SEP*"]))
    for backend, scope in ((ios_backend(rt), "PHONES-A"), (cucm_dhcp_backend(rt, old), "198.51.100.0")):
        with Option150Provider(backend) as dhcp:
            address = Address.of("option150", dhcp.endpoint, scope)
            _cycle(dhcp, Desired(address=address, value=option150_value(fresh_addresses(2))), seen)
    # failures: wrong passwords on every protocol, a dropped session, an unreachable node
    wrong_axl, wrong_os, wrong_ios = (wrong_password_file(tmp, f"{n}.password") for n in ("axl", "os", "ios"))
    bad_old = cluster_model(rt, "old", password_files={"axl": wrong_axl, "os": wrong_os})
    bad_new = cluster_model(rt, "new", password_files={"axl": wrong_axl, "os": wrong_os})
    address = Address.of("param", "old", "rollback_to_pre8")
    with param_provider(bad_old) as params:
        seen.fails(lambda: params.read([address]))
    for model in (bad_old, bad_new):
        trust_address = Address.of("trust", model.name, "CallManager-trust", "x")
        tvs_address = Address.of("tvs", model.name, model.publisher.name)
        with trust_provider(model) as trust, tvs_provider(rt, model) as tvs:
            seen.fails(lambda: trust.read([trust_address]))  # noqa: B023 - called at once
            seen.fails(lambda: tvs.read([tvs_address]))  # noqa: B023 - called at once
    with ios_backend(rt, password_file=wrong_ios) as ios:
        seen.fails(ios.list_scopes)
    with trust_provider(old) as trust, ios_backend(rt) as ios:
        trust.read([Address.of("trust", "old", "CallManager-trust", "x")])
        ios.list_scopes()
        rt.apply_fault(Fault(kind="drop-ssh", node="cucm-old-pub", count=1))
        rt.apply_fault(Fault(kind="drop-ssh", node="ios", count=1))
        seen.fails(lambda: trust.read([Address.of("trust", "old", "CallManager-trust", "x")]))
        seen.fails(ios.list_scopes)
    rt.apply_fault(Fault(kind="unreachable", node="cucm-new-pub"))
    try:
        with param_provider(new) as params:
            seen.fails(lambda: params.read([Address.of("param", "new", "rollback_to_pre8")]))
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
