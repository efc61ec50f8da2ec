"""The shared DHCP contract suite against ``providers.dhcp.ios`` (netmiko ``cisco_ios``) talking SSH to the
lab's IOS router face (``ios_server`` on 127.0.41.x, backed by ``FakeRouter``); the operation log is what
the router recorded (configuration lines and ``write memory``). Plus the SSH faults: a changed or unknown
host key is refused by netmiko's connection before authentication, a wrong password is an
``AuthenticationError``, and none of it changes the router or leaks the password into logs (R12)."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from pydantic import SecretStr

from providers.dhcp.ios import IosDhcpBackend
from providers.transports.ssh import SshTarget, fingerprint
from reconciler.errors import AuthenticationError, HostKeyError
from simulator.faces.fakes import FakeRouter
from simulator.faces.ios_cli import ios_server
from simulator.faces.ssh import SshFaceServer, generate_host_key
from tests.contract.dhcp_contract import DhcpBackendContract, Mutations

pytestmark = pytest.mark.lab

PASSWORD = "Ios-Pa55-41-secret"
NEW = (IPv4Address("127.0.41.101"), IPv4Address("127.0.41.102"))


@dataclass
class RecordingRouter(FakeRouter):
    """``FakeRouter`` that also logs every mutating call (the lab's operation log for this test)."""

    log: list[str] = field(default_factory=list)

    def set_option150(self, *, pool: str, addresses: Sequence[str]) -> None:
        self.log.append(f"set_option150 {pool} {' '.join(addresses)}")
        super().set_option150(pool=pool, addresses=addresses)

    def write_memory(self) -> None:
        self.log.append("write memory")
        super().write_memory()


@pytest.fixture
def router() -> RecordingRouter:
    return RecordingRouter(
        {
            "PHONES-A": ("10.41.1.0 255.255.255.0", ("127.0.41.1", "127.0.41.2")),
            "PHONES-B": ("10.41.2.0 255.255.255.0", ()),
        }
    )


@pytest.fixture
def server(router: RecordingRouter) -> Iterator[SshFaceServer]:
    started = ios_server(
        router, host="127.0.41.30", port=0, host_key=generate_host_key(), users={"netops": PASSWORD}
    ).start()
    try:
        yield started
    finally:
        started.stop()


def _target(server: SshFaceServer, tmp: Path, **kw: object) -> SshTarget:
    known = tmp / "known_hosts"
    if not known.exists():
        known.write_text(server.known_hosts_line() + "\n")
    values: dict[str, object] = {
        "name": "lab-ios",
        "host": server.host,
        "port": server.port,
        "username": "netops",
        "password": SecretStr(PASSWORD),
        "known_hosts": known,
        "connect_timeout": 5.0,
    }
    values.update(kw)
    return SshTarget(**values)  # type: ignore[arg-type]


@pytest.fixture
def backend(server: SshFaceServer, tmp_path: Path) -> Iterator[IosDhcpBackend]:
    with IosDhcpBackend(name="lab-ios", target=_target(server, tmp_path)) as made:
        yield made


@pytest.fixture
def mutations(router: RecordingRouter) -> Mutations:
    return lambda: list(router.log)


@pytest.fixture
def scope_key() -> str:
    return "PHONES-A"


@pytest.fixture
def new_addresses() -> tuple[IPv4Address, ...]:
    return NEW


class TestIosBackendContract(DhcpBackendContract):
    """IOS passes the shared DHCP contract (verify is a read-back)."""

    def test_scopes_are_found_by_subnet_and_saved(
        self, backend: IosDhcpBackend, router: RecordingRouter
    ) -> None:
        result = backend.set_option150(scope="10.41.2.0/24", addresses=NEW)
        assert result.changed and result.previous == () and result.scope.name == "PHONES-B"
        assert router.log == ["set_option150 PHONES-B 127.0.41.101 127.0.41.102", "write memory"]
        cleared = backend.set_option150(scope="PHONES-B", addresses=())
        assert cleared.changed and router.pool_table["PHONES-B"][1] == ()


def test_changed_host_key_is_refused_and_nothing_changes(
    server: SshFaceServer, router: RecordingRouter, tmp_path: Path
) -> None:
    other = generate_host_key()
    (tmp_path / "known_hosts").write_text(
        f"[{server.host}]:{server.port} {other.get_name()} {other.get_base64()}\n"
    )
    with (
        IosDhcpBackend(name="lab-ios", target=_target(server, tmp_path)) as backend,
        pytest.raises(HostKeyError, match="CHANGED") as err,
    ):
        backend.set_option150(scope="PHONES-A", addresses=NEW)
    assert fingerprint(server.host_key) in str(err.value) and err.value.endpoint == "lab-ios"
    assert router.log == [] and router.pool_table["PHONES-A"][1] == ("127.0.41.1", "127.0.41.2")


def test_unknown_host_and_pinned_key(server: SshFaceServer, router: RecordingRouter, tmp_path: Path) -> None:
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    unknown = IosDhcpBackend(name="lab-ios", target=_target(server, tmp_path, known_hosts=empty))
    with unknown, pytest.raises(HostKeyError, match="UNKNOWN"):
        unknown.list_scopes()
    assert empty.read_text() == "", "netmiko must not add the key"
    pinned = f"{server.host_key.get_name()} {server.host_key.get_base64()}"
    with IosDhcpBackend(
        name="lab-ios", target=_target(server, tmp_path, known_hosts=empty, host_key=pinned)
    ) as ok:
        assert {s.name for s in ok.list_scopes()} == {"PHONES-A", "PHONES-B"}
    assert router.log == []


def test_wrong_password_and_no_secret_in_logs(
    server: SshFaceServer, router: RecordingRouter, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = _target(server, tmp_path, password=SecretStr("Wrong-Ios-Pa55"))
    with IosDhcpBackend(name="lab-ios", target=wrong) as backend, pytest.raises(AuthenticationError) as err:
        backend.set_option150(scope="PHONES-A", addresses=NEW)
    assert err.value.endpoint == "lab-ios"
    with IosDhcpBackend(name="lab-ios", target=_target(server, tmp_path)) as backend:
        backend.set_option150(scope="PHONES-A", addresses=NEW)
    assert "netmiko" in caplog.text  # netmiko's debug log was captured
    for secret in (PASSWORD, "Wrong-Ios-Pa55"):
        assert secret not in caplog.text + str(err.value) + str(err.value.hint)
    assert router.log == ["set_option150 PHONES-A 127.0.41.101 127.0.41.102", "write memory"]


def test_dropped_session_is_temporary_then_the_retry_works(router: RecordingRouter, tmp_path: Path) -> None:
    from reconciler.errors import TemporaryError
    from simulator.faces.faults import FaceFaults

    faults = FaceFaults()
    checked: list[int] = []

    def users() -> dict[str, str]:
        checked.append(1)
        return {"netops": PASSWORD}

    server = ios_server(
        router, host="127.0.41.31", port=0, host_key=generate_host_key(), users=users, faults=faults
    ).start()
    try:
        with IosDhcpBackend(name="lab-ios", target=_target(server, tmp_path)) as backend:
            assert backend.list_scopes()
            faults.drop_next_ssh_commands(1)
            with pytest.raises(TemporaryError) as err:
                backend.list_scopes()
            assert err.value.endpoint == "lab-ios"
            assert {s.name for s in backend.list_scopes()} == {"PHONES-A", "PHONES-B"}  # reconnected
        assert router.log == []
        bad = tmp_path / "bad_known_hosts"
        other = generate_host_key()
        bad.write_text(f"[{server.host}]:{server.port} {other.get_name()} {other.get_base64()}\n")
        before = len(checked)
        changed = IosDhcpBackend(name="lab-ios", target=_target(server, tmp_path, known_hosts=bad))
        with changed, pytest.raises(HostKeyError):
            changed.list_scopes()
        assert len(checked) == before, "no password reaches a router whose host key changed"
    finally:
        server.stop()


class _CountingBackend(IosDhcpBackend):
    """Records what each read asked the router (the ``during`` text of every call)."""

    asked: list[str]

    def _call(self, during: str, func):  # type: ignore[no-untyped-def]
        self.asked = [*getattr(self, "asked", []), during]
        return super()._call(during, func)


def test_a_change_reads_only_its_own_pool(
    server: SshFaceServer, router: RecordingRouter, tmp_path: Path
) -> None:
    """1,000 pools on one router: a change must not list all of them three times (issue 7 bench)."""
    router.pool_table["PHONES-AB"] = ("10.41.3.0 255.255.255.0", ("127.0.41.9",))
    with _CountingBackend(name="lab-ios", target=_target(server, tmp_path)) as backend:
        result = backend.set_option150(scope="PHONES-A", addresses=NEW)
        check = backend.verify_option150(scope="PHONES-A", addresses=NEW)
    assert result.changed and result.previous == (IPv4Address("127.0.41.1"), IPv4Address("127.0.41.2"))
    assert check.observed == NEW
    reads = [a for a in backend.asked if a.startswith("show")]
    assert reads == ["show running-config | section ^ip dhcp pool PHONES-A$"] * 3
    assert router.pool_table["PHONES-AB"][1] == ("127.0.41.9",), "the prefix-named pool is untouched"


@dataclass
class ForgetfulRouter(RecordingRouter):
    """A router that silently keeps one pool's old option 150 the first time it is changed (what a read-back
    exists to catch)."""

    forget: str = ""

    def set_option150(self, *, pool: str, addresses: Sequence[str]) -> None:
        if pool == self.forget:
            self.forget = ""
            self.log.append(f"ignored {pool}")
            return
        super().set_option150(pool=pool, addresses=addresses)


def _three_pools(router: RecordingRouter) -> None:
    router.pool_table["PHONES-C"] = ("10.41.3.0 255.255.255.0", ("127.0.41.3",))


def test_a_batch_is_one_session_one_write_memory_and_one_read_back(
    server: SshFaceServer, router: RecordingRouter, tmp_path: Path
) -> None:
    """R12 at scale: a wave's pools cost one configuration session and one ``write memory``, and the
    reads ask for exactly those pools."""
    _three_pools(router)
    wants = [("PHONES-A", NEW), ("PHONES-B", NEW), ("PHONES-C", NEW)]
    with _CountingBackend(name="lab-ios", target=_target(server, tmp_path)) as backend:
        results = backend.set_option150_batch(wants=wants)
        checks = backend.verify_option150_batch(wants=wants)
    assert [r.changed for r in results] == [True, True, True]
    assert results[2].previous == (IPv4Address("127.0.41.3"),)
    assert [c.observed for c in checks] == [NEW] * 3
    assert router.log == [f"set_option150 PHONES-{p} 127.0.41.101 127.0.41.102" for p in "ABC"] + [
        "write memory"
    ]
    assert [a for a in backend.asked if a.startswith("show")] == [
        "show running-config | section ^ip dhcp pool (PHONES-A|PHONES-B|PHONES-C)$"
    ] * 3
    assert [a for a in backend.asked if not a.startswith("show")] == [
        "configuring option 150",
        "write memory",
    ]


def test_a_batch_whose_read_back_differs_restores_every_pool_of_it(tmp_path: Path) -> None:
    from reconciler.errors import VerificationError

    router = ForgetfulRouter(
        {
            "PHONES-A": ("10.41.1.0 255.255.255.0", ("127.0.41.1", "127.0.41.2")),
            "PHONES-B": ("10.41.2.0 255.255.255.0", ()),
            "PHONES-C": ("10.41.3.0 255.255.255.0", ("127.0.41.3",)),
        },
        forget="PHONES-B",
    )
    before = dict(router.pool_table)
    server = ios_server(
        router, host="127.0.41.32", port=0, host_key=generate_host_key(), users={"netops": PASSWORD}
    ).start()
    try:
        backend = IosDhcpBackend(name="lab-ios", target=_target(server, tmp_path))
        with backend, pytest.raises(VerificationError) as err:
            backend.set_option150_batch(wants=[(p, NEW) for p in ("PHONES-A", "PHONES-B", "PHONES-C")])
    finally:
        server.stop()
    assert "PHONES-B announces nothing" in str(err.value)
    assert "previous option 150 of 3 scope(s) was restored" in str(err.value)
    assert router.pool_table == before, "every pool of the failed batch announces what it did before"
    assert router.log[:5] == [
        "set_option150 PHONES-A 127.0.41.101 127.0.41.102",
        "ignored PHONES-B",
        "set_option150 PHONES-C 127.0.41.101 127.0.41.102",
        "write memory",
        "set_option150 PHONES-A 127.0.41.1 127.0.41.2",
    ]
    assert router.log[-1] == "write memory", "the restored values are saved too"


def test_a_wave_sized_batch_is_one_block_and_leaves_the_session_in_exec_mode(
    server: SshFaceServer, router: RecordingRouter, tmp_path: Path
) -> None:
    """63 pools (a wave of the 20,000-phone bench): every line reaches the router in one configuration
    block, one ``write memory`` follows, the read-back sees all of them, and the same session answers
    exec commands afterwards (the block ended with ``end``, not in configuration mode)."""
    names = [f"PHONES-W{i:02d}" for i in range(63)]
    for i, name in enumerate(names):
        router.pool_table[name] = (f"10.42.{i}.0 255.255.255.0", ("127.0.41.7",))
    wants = [(name, NEW) for name in names]
    with _CountingBackend(name="lab-ios", target=_target(server, tmp_path)) as backend:
        results = backend.set_option150_batch(wants=wants)
        assert backend.privilege()[1] == 15, "back at the exec prompt after the block"
        checks = backend.verify_option150_batch(wants=wants)
    assert all(r.changed for r in results) and [c.observed for c in checks] == [NEW] * 63
    assert router.log == [f"set_option150 {n} 127.0.41.101 127.0.41.102" for n in names] + ["write memory"]
    assert [a for a in backend.asked if not a.startswith("show")] == [
        "configuring option 150",
        "write memory",
        "finding the prompt",
    ]
    assert router.pool_table["PHONES-A"][1] == ("127.0.41.1", "127.0.41.2"), "pools outside the batch kept"
