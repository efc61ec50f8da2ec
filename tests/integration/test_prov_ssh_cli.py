"""``providers.cucm_cli.session.CliSession`` and ``providers.transports.ssh`` against the real admin-CLI SSH
face (paramiko
server on 127.0.41.x, backed by ``FakeNode``): commands and parsing, keyboard-interactive auth, host-key
checking (known_hosts with ``[host]:port``, pinned keys), wrong password, unreachable node, a session
dropped mid-command (TemporaryError, then a retry works), and no password in logs or messages."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from providers.cucm_cli.session import CliSession
from providers.transports.ssh import SshTarget, connect, fingerprint
from reconciler.errors import (
    AuthenticationError,
    HostKeyError,
    RemoteFaultError,
    TemporaryError,
    UnreachableError,
)
from schemas.secret import SecretRef
from simulator.faces.backends import CertEntry, ServiceState, ServiceStatus, SqlResult
from simulator.faces.cucm_cli import cucm_cli_server
from simulator.faces.fakes import FakeNode
from simulator.faces.faults import FaceFaults
from simulator.faces.ssh import SshFaceServer, generate_host_key
from simulator.faces.tls import LabCa

pytestmark = pytest.mark.lab

HOST = "127.0.41.1"
PASSWORD = "Cli-Pa55-41-secret"
PEM = LabCa.create("Imported CA").cert_pem.decode()


class Counting:
    """The server's user table, counting how often a password was checked (proof none was sent)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> dict[str, str]:
        self.calls += 1
        return {"admin": PASSWORD}


@pytest.fixture
def node() -> FakeNode:
    n = FakeNode(name="cucm-pub", version="12.5.1.11900-146")
    n.own = [CertEntry("CallManager", "CallManager.pem", PEM)]
    n.trust = [CertEntry("CallManager-trust", "old_ca.pem", PEM, "Trust Certificate")]
    n.services = {
        "Cisco Tftp": ServiceState("Cisco Tftp", ServiceStatus.STARTED),
        "Cisco CallManager": ServiceState(
            "Cisco CallManager", ServiceStatus.STOPPED, reason="Service Not Activated"
        ),
    }
    n.sql["select paramname,paramvalue from processconfig where paramname='clustersecuritymode'"] = SqlResult(
        ("paramname", "paramvalue"), (("ClusterSecurityMode", "1"),)
    )
    return n


ServerFactory = Callable[..., SshFaceServer]


@pytest.fixture
def make_server(node: FakeNode) -> Iterator[ServerFactory]:
    started: list[SshFaceServer] = []

    def make(**kw: object) -> SshFaceServer:
        kw.setdefault("users", {"admin": PASSWORD})
        server = cucm_cli_server(
            node,
            name="cucm-pub",
            host=HOST,
            port=0,
            host_key=generate_host_key(),
            **kw,  # type: ignore[arg-type]
        ).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


def _target(server: SshFaceServer, tmp: Path, **kw: object) -> SshTarget:
    known = tmp / "known_hosts"
    if not known.exists():
        known.write_text(server.known_hosts_line() + "\n")
    values: dict[str, object] = {
        "name": "cucm-pub",
        "host": server.host,
        "port": server.port,
        "username": "admin",
        "password": SecretStr(PASSWORD),
        "known_hosts": known,
        "connect_timeout": 5.0,
    }
    values.update(kw)
    return SshTarget(**values)  # type: ignore[arg-type]


def test_commands_are_run_and_parsed(make_server: ServerFactory, node: FakeNode, tmp_path: Path) -> None:
    with CliSession(_target(make_server(), tmp_path)) as cli:
        assert cli.active_version() == "12.5.1.11900-146"
        assert [(c.unit, c.filename) for c in cli.cert_list("own")] == [("CallManager", "CallManager.pem")]
        assert [(c.unit, c.filename) for c in cli.cert_list("trust")] == [("CallManager-trust", "old_ca.pem")]
        detail = cli.show_cert("trust", "CallManager-trust/old_ca.pem")
        assert detail.pem is None  # show cert trust prints the decoded certificate, no PEM block
        assert detail.subject.startswith("CN=Imported CA, ") and detail.serial is not None
        own = cli.show_cert("own", "CallManager/CallManager.pem")
        assert own.pem is not None and own.pem.strip() == PEM.strip()
        services = {s.name: s for s in cli.service_list()}
        assert services["Cisco Tftp"].status == "STARTED"
        assert services["Cisco CallManager"].reason == "Service Not Activated"
        rows = cli.run_sql(
            "select paramname,paramvalue from processconfig where paramname='ClusterSecurityMode'"
        )
        assert rows == ({"paramname": "ClusterSecurityMode", "paramvalue": "1"},)
        assert not cli.show_ctl().present
        with pytest.raises(RemoteFaultError, match="No valid command entered"):
            cli.run("show nonsense")
    assert node.writes == []  # reading made no mutating call


def test_restart_reports_progress_lines(make_server: ServerFactory, node: FakeNode, tmp_path: Path) -> None:
    seen: list[str] = []
    with CliSession(_target(make_server(), tmp_path)) as cli:
        final = cli.restart_service("Cisco Tftp", progress=seen.append)
    assert final.status == "STARTED"
    assert [line for line in seen if line.startswith("Cisco Tftp[")] == [
        "Cisco Tftp[STOPPING]",
        "Cisco Tftp[STARTING]",
        "Cisco Tftp[STARTED]",
    ]
    assert "Service Manager is running" in seen


def test_import_pastes_the_pem_and_delete_confirms(
    make_server: ServerFactory, node: FakeNode, tmp_path: Path
) -> None:
    new_pem = LabCa.create("New Cluster CA").cert_pem.decode()
    with CliSession(_target(make_server(), tmp_path)) as cli:
        cli.import_trust(unit="Phone-SAST", pem=new_pem)
        stored = [e for e in node.trust if e.pem.strip() == new_pem.strip()]
        assert [e.unit for e in stored] == ["Phone-SAST-trust"]
        cli.delete_cert(store="Phone-SAST-trust", filename=stored[0].filename)
    assert all(e.pem.strip() != new_pem.strip() for e in node.trust)
    assert [w[0] for w in node.writes] == ["upload_trust", "delete"]


@pytest.mark.parametrize("method", ["auto", "keyboard-interactive"])
def test_keyboard_interactive_only_server(make_server: ServerFactory, tmp_path: Path, method: str) -> None:
    server = make_server(auth_methods=("keyboard-interactive",))
    with CliSession(_target(server, tmp_path, auth_method=method)) as cli:
        assert cli.active_version().startswith("12.5")


def test_password_from_a_secret_reference(
    make_server: ServerFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAB_OS_PASSWORD", PASSWORD)
    server = make_server(auth_methods=("password",))
    target = _target(server, tmp_path, password=SecretRef("env:LAB_OS_PASSWORD"))
    assert PASSWORD not in repr(target)
    with CliSession(target) as cli:
        assert cli.active_version()


def test_wrong_password_is_an_authentication_error(
    make_server: ServerFactory, node: FakeNode, tmp_path: Path
) -> None:
    target = _target(make_server(), tmp_path, password=SecretStr("not-the-password"))
    with pytest.raises(AuthenticationError) as err:
        CliSession(target).open()
    assert err.value.endpoint == "cucm-pub" and "admin" in str(err.value)
    assert "not-the-password" not in str(err.value) + str(err.value.hint)
    assert node.writes == []


def test_changed_host_key_is_refused_before_any_credential(
    make_server: ServerFactory, node: FakeNode, tmp_path: Path
) -> None:
    users = Counting()
    server = make_server(users=users)
    old = generate_host_key()
    (tmp_path / "known_hosts").write_text(
        f"[{server.host}]:{server.port} {old.get_name()} {old.get_base64()}\n"
    )
    with pytest.raises(HostKeyError) as err:
        CliSession(_target(server, tmp_path)).run("show version active")
    message = str(err.value)
    assert "CHANGED" in message and "cucm-pub" in message
    assert fingerprint(server.host_key) in message and fingerprint(old) in message
    assert err.value.hint and "ssh-keygen -R" in err.value.hint
    assert users.calls == 0, "the password must not reach a server with the wrong key"
    assert node.writes == []


def test_unknown_host_is_refused_and_nothing_is_added(make_server: ServerFactory, tmp_path: Path) -> None:
    server = make_server()
    known = tmp_path / "known_hosts"
    # An entry for the same address on port 22 does not vouch for another port ([host]:port entries).
    known.write_text(f"{server.host} {server.host_key.get_name()} {server.host_key.get_base64()}\n")
    with pytest.raises(HostKeyError, match="UNKNOWN") as err:
        connect(_target(server, tmp_path))
    assert (
        err.value.hint and "ssh-keyscan" in err.value.hint and fingerprint(server.host_key) in str(err.value)
    )
    assert known.read_text().count("\n") == 1, "known_hosts is never written"
    with pytest.raises(HostKeyError, match="UNKNOWN"):
        connect(_target(server, tmp_path, known_hosts=tmp_path / "missing_known_hosts"))


def test_pinned_host_key(make_server: ServerFactory, tmp_path: Path) -> None:
    server = make_server()
    pinned = f"{server.host_key.get_name()} {server.host_key.get_base64()}"
    empty = tmp_path / "empty"
    empty.write_text("")
    with connect(_target(server, tmp_path, host_key=pinned, known_hosts=empty)) as conn:
        assert conn.active
    other = generate_host_key()
    with pytest.raises(HostKeyError, match="pinned"):
        connect(_target(server, tmp_path, host_key=f"{other.get_name()} {other.get_base64()}"))


def test_unreachable_and_refused(make_server: ServerFactory, tmp_path: Path) -> None:
    faults = FaceFaults()
    server = make_server(faults=faults)
    faults.unreachable = True
    with pytest.raises(UnreachableError, match="cucm-pub"):
        connect(_target(server, tmp_path))
    free = socket.socket()
    free.bind((HOST, 0))
    port = free.getsockname()[1]
    free.close()
    with pytest.raises(UnreachableError):
        connect(_target(server, tmp_path, port=port))


def test_dropped_session_is_temporary_and_the_retry_works(make_server: ServerFactory, tmp_path: Path) -> None:
    faults = FaceFaults()
    server = make_server(faults=faults)
    with CliSession(_target(server, tmp_path)) as cli:
        assert cli.service_list()
        faults.drop_next_ssh_commands(1)
        with pytest.raises(TemporaryError, match="dropped"):
            cli.service_list()
        assert {s.name for s in cli.service_list()} == {"Cisco Tftp", "Cisco CallManager"}  # reconnected


def test_passwords_never_reach_logs_or_messages(
    make_server: ServerFactory,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("paramiko").setLevel(logging.DEBUG)
    server = make_server(auth_methods=("keyboard-interactive",))
    texts = []
    with CliSession(_target(server, tmp_path)) as cli:
        cli.import_trust(unit="CallManager", pem=LabCa.create("Another CA").cert_pem.decode())
        texts.append(repr(cli.target))
    for bad in (SecretStr("Wrong-Pa55-xyz"),):
        with pytest.raises(AuthenticationError) as err:
            connect(_target(server, tmp_path, password=bad))
        texts += [str(err.value), repr(err.value), str(err.value.hint)]
    captured = capsys.readouterr()
    everything = caplog.text + captured.out + captured.err + "".join(texts)
    assert "paramiko" in caplog.text or "ssh" in caplog.text  # the debug logs really were captured
    for secret in (PASSWORD, "Wrong-Pa55-xyz"):
        assert secret not in everything
