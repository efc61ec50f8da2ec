"""``TrustStoreProvider`` over the real faces of a three-node cluster, once through certmgr REST (HTTPS,
CUCM 14) and once through the admin CLI (SSH, CUCM 12.5): read/diff make no write on any node, apply
twice == once, verify proves presence on every node (R7), deletes only owned certificates, identities
are read, and the faults map to the right errors (dropped SSH mid-import → TemporaryError, retry is a
no-op; wrong password; wrong CA; changed host key — nothing changed)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from providers.cucm_certs import (
    CliCertClient,
    RestCertClient,
    TrustStoreProvider,
    clients_for_cluster,
)
from providers.cucm_certs.cli import DetailCache
from providers.cucm_cli.session import CliSession
from providers.transports.http import make_session
from providers.transports.ssh import SshTarget
from reconciler.cucm.certs import IdentityKind, certificate_pem, generate_identity, shared_lab_key
from reconciler.errors import (
    AuthenticationError,
    HostKeyError,
    PermanentError,
    TemporaryError,
    TlsVerificationError,
)
from reconciler.model import Action, Address, Change, freeze
from reconciler.provider import Provider
from schemas.cluster import Cluster
from simulator.faces.backends import CertEntry
from simulator.faces.cucm_cli import cucm_cli_server
from simulator.faces.fakes import FakeNode
from simulator.faces.faults import FaceFaults
from simulator.faces.https import Credentials
from simulator.faces.node import node_https_server
from simulator.faces.ssh import generate_host_key
from simulator.faces.tls import LabCa, issue_server_cert, server_context

pytestmark = pytest.mark.lab

OS_PASSWORD = "Os-Admin-Pa55-41"
NODES = ("cucm-old-pub", "cucm-old-sub1", "cucm-old-sub2")


def _identity(kind: IdentityKind, host: str, cluster: str = "new") -> str:
    issued = generate_identity(kind=kind, host=host, cluster=cluster, key=shared_lab_key())
    return certificate_pem(issued.cert).decode()


NEW_CM = _identity(IdentityKind.CALLMANAGER, "cucm-new-tftp1")
EXISTING = LabCa.create("Cisco Root CA M2").cert_pem.decode()


@dataclass
class Lab:
    api: str
    nodes: list[FakeNode]
    clients: list[RestCertClient | CliCertClient]
    faults: list[FaceFaults]
    tmp: Path
    servers: list[object] = field(default_factory=list)

    def writes(self) -> list[tuple[str, object]]:
        return [w for n in self.nodes for w in n.writes]

    def provider(self, **kw: object) -> TrustStoreProvider:
        return TrustStoreProvider(cluster="old", clients=self.clients, **kw)  # type: ignore[arg-type]

    def replicate(self) -> None:
        """What CUCM does on its own after a while (R7): subscribers get the publisher's trust stores."""
        for sub in self.nodes[1:]:
            sub.trust = list(self.nodes[0].trust)


def _fake(name: str) -> FakeNode:
    node = FakeNode(name=name, version="14.0.1.11900-132")
    node.own = [
        CertEntry(kind.value, f"{kind.value}.pem", _identity(kind, name, "old"))
        for kind in (IdentityKind.CALLMANAGER, IdentityKind.TVS, IdentityKind.TOMCAT)
    ]
    node.trust = [CertEntry("CallManager-trust", "Cisco_Root_CA_M2_01.pem", EXISTING, "Trust Certificate")]
    return node


def _start(api: str, tmp: Path, *, password: str = OS_PASSWORD) -> Lab:
    shared: DetailCache = {}
    nodes = [_fake(n) for n in NODES]
    faults = [FaceFaults() for _ in NODES]
    lab = Lab(api=api, nodes=nodes, clients=[], faults=faults, tmp=tmp)
    ca = LabCa.create()
    (tmp / "ca.pem").write_bytes(ca.cert_pem)
    known = tmp / "known_hosts"
    lines = []
    for index, (node, fault) in enumerate(zip(nodes, faults, strict=True)):
        host = f"127.0.41.{10 + index}"
        if api == "rest":
            web = node_https_server(
                name=node.name,
                host=host,
                port=0,
                version=node.version,
                app_user=Credentials("axl", "x"),
                os_admin=Credentials("admin", OS_PASSWORD),
                tls=server_context(issue_server_cert(ca, hostname=node.name, ip=host)),
                axl=None,
                services=None,
                ris=None,
                certmgr=node,
                faults=fault,
            ).start()
            lab.servers.append(web)
            session = make_session(endpoint=node.name, ca_bundle=tmp / "ca.pem", auth=("admin", password))
            lab.clients.append(RestCertClient(node=node.name, base_url=web.base_url, session=session))
        else:
            server = cucm_cli_server(
                node,
                name=node.name,
                host=host,
                port=0,
                host_key=generate_host_key(),
                users={"admin": OS_PASSWORD},
                faults=fault,
            ).start()
            lab.servers.append(server)
            lines.append(server.known_hosts_line())
            target = SshTarget(
                name=node.name,
                host=host,
                port=server.port,
                username="admin",
                password=SecretStr(password),
                known_hosts=known,
                connect_timeout=5.0,
            )
            # one detail cache per cluster, as clients_for_cluster builds them
            lab.clients.append(CliCertClient(CliSession(target), detail_cache=shared))
    known.write_text("\n".join(lines) + "\n")
    return lab


@pytest.fixture(params=["rest", "cli"])
def lab(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Lab]:
    started = _start(request.param, tmp_path)
    try:
        yield started
    finally:
        for client in started.clients:
            client.close()
        for server in started.servers:
            server.stop()  # type: ignore[attr-defined]


ADDR = Address.parse("trust.old.CallManager-trust.cucm-new-tftp1")
SAST = Address.parse("trust.old.Phone-SAST-trust.cucm-new-tftp1")


def _change(address: Address = ADDR) -> Change:
    """The plan's CREATE for NEW_CM (``reconciler.config.desired.cert_value``: no SHA-256, the PEM)."""
    from reconciler.cucm.certs import load_certificate
    from reconciler.cucm.facts import CertRef

    ref = CertRef.of(load_certificate(NEW_CM.encode()))
    after = {"cert_id": address.name, "subject": ref.subject, "serial": ref.identity.serial_hex,
             "issuer": ref.identity.issuer, "sha1": ref.sha1, "origin": "test", "pem": NEW_CM}  # fmt: skip
    return Change(address=address, action=Action.CREATE, after=freeze(after), reason="R5", rule="R5")


def test_provider_contract_and_verify_make_no_write(lab: Lab) -> None:
    provider = lab.provider()
    assert isinstance(provider, Provider)
    for address in (ADDR, SAST):
        early = provider.verify(_change(address))
        assert not early.complies and early.observed is None
    assert lab.writes() == []


def test_apply_twice_is_once_and_verify_needs_every_node(lab: Lab) -> None:
    provider = lab.provider()
    change = _change()
    first = provider.apply(change)
    writes = list(lab.writes())
    second = provider.apply(change)
    assert first.changed and not second.changed
    assert lab.writes() == writes and [w[0] for w in writes] == ["upload_trust"]
    assert lab.nodes[1].writes == [] and lab.nodes[2].writes == [], "uploads go to the publisher only"
    early = provider.verify(change)
    assert not early.complies
    assert {m.field for m in early.mismatched} == {"nodes.cucm-old-sub1", "nodes.cucm-old-sub2"}
    assert "R7" in early.detail
    lab.replicate()
    done = provider.verify(change)
    assert done.complies, done.detail
    assert dict(done.extra["nodes"]) == dict.fromkeys(NODES, True)


def test_delete_only_what_reconciler_owns(lab: Lab) -> None:
    existing = Address.parse("trust.old.CallManager-trust.Cisco_Root_CA_M2_01")
    provider = lab.provider()
    listed = next(
        e for e in provider.publisher.trust(["CallManager-trust"]) if e.filename.startswith("Cisco_Root")
    )
    before = freeze({"cert_id": existing.name, "sha256": listed.sha256})
    forced = Change(address=existing, action=Action.DELETE, before=before, after=None, reason="exact")
    with pytest.raises(PermanentError, match="did not add"):
        provider.apply(forced)
    assert lab.writes() == []
    owner = lab.provider(owned=lambda a: a == existing)
    assert owner.apply(forced).changed and not owner.apply(forced).changed
    lab.replicate()
    assert owner.verify(forced).complies
    assert [w[0] for w in lab.writes()] == ["delete"]


def test_identities_per_node(lab: Lab) -> None:
    provider = lab.provider()
    for name in (NODES[0], NODES[2]):
        found = provider.identities(name)
        assert set(found) == {"CallManager", "TVS", "tomcat"}
        assert f"CN={name}" in found["CallManager"].subject
    assert lab.writes() == []


def test_dropped_ssh_during_import_then_retry_is_a_no_op(tmp_path: Path) -> None:
    lab = _start("cli", tmp_path)
    try:
        publisher = lab.clients[0]
        assert isinstance(publisher, CliCertClient)
        upload = publisher.upload_trust

        def upload_with_drop(*, store: str, pem: str, description: str) -> None:
            lab.faults[0].drop_next_ssh_commands(1)  # the face cuts the session in the import's output
            upload(store=store, pem=pem, description=description)

        publisher.upload_trust = upload_with_drop  # type: ignore[method-assign]
        provider = lab.provider()
        change = _change()
        with pytest.raises(TemporaryError, match="dropped"):
            provider.apply(change)
        publisher.upload_trust = upload  # type: ignore[method-assign]
        retry = provider.apply(change)  # what the executor does after a TemporaryError
        assert not retry.changed, "the import had reached the node; the retry must not import it again"
        assert sum(e.pem.strip() == NEW_CM.strip() for e in lab.nodes[0].trust) == 1
    finally:
        for client in lab.clients:
            client.close()
        for server in lab.servers:
            server.stop()  # type: ignore[attr-defined]


@pytest.mark.parametrize("api", ["rest", "cli"])
def test_wrong_password_fails_and_changes_nothing(
    api: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    lab = _start(api, tmp_path, password="Wrong-Os-Pa55")
    try:
        provider = lab.provider()
        with pytest.raises(AuthenticationError) as err:
            provider.verify(_change())
        assert err.value.endpoint is not None and "cucm-old-pub" in err.value.endpoint
        assert lab.writes() == []
        assert "Wrong-Os-Pa55" not in caplog.text + str(err.value) and OS_PASSWORD not in caplog.text
    finally:
        for server in lab.servers:
            server.stop()  # type: ignore[attr-defined]


def test_wrong_ca_and_changed_host_key_change_nothing(tmp_path: Path) -> None:
    for sub in ("rest", "cli"):
        (tmp_path / sub).mkdir()
    rest = _start("rest", tmp_path / "rest")
    cli = _start("cli", tmp_path / "cli")
    try:
        (tmp_path / "other.pem").write_bytes(LabCa.create("Someone else").cert_pem)
        session = make_session(
            endpoint="cucm-old-pub", ca_bundle=tmp_path / "other.pem", auth=("admin", OS_PASSWORD)
        )
        wrong_ca = RestCertClient(
            node="cucm-old-pub",
            base_url=rest.clients[0].base.split("/platformcom")[0],  # type: ignore[union-attr]
            session=session,
        )
        change = _change()
        with pytest.raises(TlsVerificationError) as tls:
            TrustStoreProvider(cluster="old", clients=[wrong_ca]).apply(change)
        assert tls.value.hint and "ca_bundle" in tls.value.hint
        known = tmp_path / "cli" / "known_hosts"
        known.write_text(
            "\n".join(
                line.rsplit(" ", 2)[0]
                + " "
                + generate_host_key().get_name()
                + " "
                + generate_host_key().get_base64()
                for line in known.read_text().splitlines()
            )
            + "\n"
        )
        with pytest.raises(HostKeyError, match="cucm-old-pub"):
            cli.provider().apply(change)
        assert rest.writes() == [] and cli.writes() == []
    finally:
        for started in (rest, cli):
            for server in started.servers:
                server.stop()  # type: ignore[attr-defined]


def test_certificate_api_auto_picks_rest_from_14_and_cli_before() -> None:
    def cluster(version: str, api: str = "auto") -> Cluster:
        return Cluster.model_validate(
            {
                "name": "old",
                "role": "source",
                "version": version,
                "certificate_api": api,
                "nodes": [
                    {"name": "pub", "host": "127.0.41.1", "publisher": True},
                    {"name": "sub", "host": "127.0.41.2"},
                ],
                "credentials": {
                    "axl": {"username": "axl", "password": "env:NOPE_AXL"},
                    "os": {"username": "admin", "password": "env:NOPE_OS"},
                },
            }
        )

    rest = clients_for_cluster(cluster("14.0.1.11900-132"))  # no secret is resolved yet (lazy)
    assert [type(c) for c in rest] == [RestCertClient, RestCertClient] and rest[0].node == "pub"
    assert all(isinstance(c, CliCertClient) for c in clients_for_cluster(cluster("12.5.1.11900-146")))
    assert all(isinstance(c, CliCertClient) for c in clients_for_cluster(cluster("14.0.1.11900-132", "cli")))


def test_cli_reads_each_replicated_certificate_once_but_every_node_lists_its_own(tmp_path: Path) -> None:
    """Plan cost on a pre-14 cluster: one ``show cert`` per certificate, not per node × certificate;
    what each node holds still comes from that node's own listing (R7)."""
    lab = _start("cli", tmp_path)
    try:
        calls: list[str] = []
        for client in lab.clients:
            assert isinstance(client, CliCertClient)
            real = client.session.show_cert

            def counting(kind: Any, ref: str, _real: Any = real) -> Any:
                calls.append(ref)
                return _real(kind, ref)

            client.session.show_cert = counting  # type: ignore[method-assign]
        per_node = [client.trust(["CallManager-trust"]) for client in lab.clients]
        names = {entry.filename for entries in per_node for entry in entries}
        assert len(calls) == len(names) < sum(len(entries) for entries in per_node)
        provider = lab.provider()
        provider.apply(_change())
        verdict = provider.verify(_change())
        assert not verdict.complies  # the subscribers' own listings do not show it yet (R7)
        lab.replicate()
        assert provider.verify(_change()).complies
    finally:
        for client in lab.clients:
            client.close()
        for server in lab.servers:
            server.stop()  # type: ignore[attr-defined]
