"""``providers.sftp.SftpExchange`` against the lab's paramiko SFTP face (127.0.41.x): list, fetch and verify
real PKCS#12/PEM exports (including what the CUCM CLI face's ``set cert bulk export`` writes there), with
host-key checking and mapped errors; the bulk directory is never written by the provider."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, NoEncryption, pkcs12
from pydantic import SecretStr

from providers.cucm_cli.session import CliSession
from providers.sftp import SftpExchange, inspect_bundle
from providers.transports.ssh import SshTarget
from reconciler.cucm.certs import IdentityKind, generate_identity, sha256_hex, shared_lab_key
from reconciler.errors import (
    AuthenticationError,
    CertificateError,
    HostKeyError,
    RemoteFaultError,
    VerificationError,
)
from simulator.faces.cucm_cli import cucm_cli_server
from simulator.faces.fakes import FakeNode
from simulator.faces.sftp import sftp_server
from simulator.faces.ssh import SshFaceServer, generate_host_key

pytestmark = pytest.mark.lab

PASSWORD = "Sftp-Pa55-41-secret"
BUNDLE_PASSWORD = "Bundle-Pa55"


def _p12(host: str, *, password: str | None = None) -> tuple[bytes, str]:
    issued = generate_identity(kind=IdentityKind.TOMCAT, host=host, cluster="new", key=shared_lab_key())
    encryption = BestAvailableEncryption(password.encode()) if password else NoEncryption()
    data = pkcs12.serialize_key_and_certificates(host.encode(), issued.key, issued.cert, None, encryption)
    return data, sha256_hex(issued.cert)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SshFaceServer]:
    root = tmp_path / "sftp"
    (root / "bulk").mkdir(parents=True)
    started = sftp_server(
        root=root, host="127.0.41.40", port=0, host_key=generate_host_key(), user="bulk", password=PASSWORD
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
        "name": "bulk-sftp",
        "host": server.host,
        "port": server.port,
        "username": "bulk",
        "password": SecretStr(PASSWORD),
        "known_hosts": known,
        "connect_timeout": 5.0,
    }
    values.update(kw)
    return SshTarget(**values)  # type: ignore[arg-type]


def test_list_fetch_and_verify_real_bundles(server: SshFaceServer, tmp_path: Path) -> None:
    bulk = tmp_path / "sftp" / "bulk"
    plain, plain_sha = _p12("cucm-new-pub")
    locked, locked_sha = _p12("cucm-new-sub1", password=BUNDLE_PASSWORD)
    (bulk / "cucm-new-pub_tomcat.p12").write_bytes(plain)
    (bulk / "notes.txt").write_text("not a bundle")
    before = sorted(p.name for p in bulk.iterdir())
    with SftpExchange(target=_target(server, tmp_path), directory="/bulk") as sftp:
        assert [f.name for f in sftp.list()] == ["cucm-new-pub_tomcat.p12", "notes.txt"]
        assert sftp.fetch("cucm-new-pub_tomcat.p12") == plain
        reports = sftp.verify(expect_sha256=[plain_sha])
        assert [(r.name, r.kind, r.has_private_key) for r in reports] == [
            ("cucm-new-pub_tomcat.p12", "pkcs12", True)
        ]
        with pytest.raises(VerificationError, match="lack 1 expected"):
            sftp.verify(expect_sha256=[plain_sha, locked_sha])
        (bulk / "cucm-new-sub1_tomcat.p12").write_bytes(locked)
        with pytest.raises(CertificateError, match=r"cucm-new-sub1_tomcat\.p12"):
            sftp.verify()
        both = sftp.verify(expect_sha256=[plain_sha, locked_sha], password=SecretStr(BUNDLE_PASSWORD))
        assert len(both) == 2
        with pytest.raises(RemoteFaultError, match="no file"):
            sftp.fetch("missing.p12")
        with pytest.raises(RemoteFaultError):
            sftp.fetch("../escape")
    assert sorted(p.name for p in bulk.iterdir()) == sorted([*before, "cucm-new-sub1_tomcat.p12"])


def test_what_the_cluster_exported_is_checked(server: SshFaceServer, tmp_path: Path) -> None:
    """The CUCM CLI face exports through SFTP (``set cert bulk sftp`` + ``export``); our verify reads it
    back and refuses the fake export body: an unreadable bundle is a ``CertificateError``."""
    node = FakeNode(name="cucm-new-pub")
    cli_server = cucm_cli_server(
        node,
        name="cucm-new-pub",
        host="127.0.41.41",
        port=0,
        host_key=generate_host_key(),
        users={"admin": "Os-Pa55"},
    ).start()
    try:
        (tmp_path / "cli_known").write_text(cli_server.known_hosts_line() + "\n")
        cli_target = SshTarget(
            name="cucm-new-pub",
            host=cli_server.host,
            port=cli_server.port,
            username="admin",
            password=SecretStr("Os-Pa55"),
            known_hosts=tmp_path / "cli_known",
        )
        empty = SftpExchange(target=_target(server, tmp_path), directory="/bulk")
        with empty, pytest.raises(VerificationError, match="no exported bundle"):
            empty.verify()
        with CliSession(cli_target) as cli:
            cli.configure_bulk_sftp(
                host=server.host,
                port=server.port,
                user="bulk",
                password=SecretStr(PASSWORD),
                directory="/bulk",
            )
            assert "Successfully exported" in cli.bulk("export", "all")
        with SftpExchange(target=_target(server, tmp_path), directory="/bulk") as sftp:
            assert [f.name for f in sftp.list()] == ["cucm-new-pub_all.p12"]
            with pytest.raises(CertificateError, match="not a readable PKCS#12"):
                sftp.verify()
    finally:
        cli_server.stop()


def test_host_key_and_password_faults(
    server: SshFaceServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    other = generate_host_key()
    bad = tmp_path / "bad_known_hosts"
    bad.write_text(f"[{server.host}]:{server.port} {other.get_name()} {other.get_base64()}\n")
    with pytest.raises(HostKeyError, match="CHANGED"):
        SftpExchange(target=_target(server, tmp_path, known_hosts=bad)).list()
    with pytest.raises(AuthenticationError, match="bulk"):
        SftpExchange(target=_target(server, tmp_path, password=SecretStr("Wrong-Sftp-Pa55"))).list()
    assert PASSWORD not in caplog.text and "Wrong-Sftp-Pa55" not in caplog.text


def test_inspect_pem_bundle() -> None:
    issued = generate_identity(
        kind=IdentityKind.CALLMANAGER, host="cucm-new-pub", cluster="new", key=shared_lab_key()
    )
    from reconciler.cucm.certs import certificate_pem

    report = inspect_bundle("CallManager.pem", certificate_pem(issued.cert))
    assert report.kind == "pem" and not report.has_private_key and report.holds(sha256_hex(issued.cert))
