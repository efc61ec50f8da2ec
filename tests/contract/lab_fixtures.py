"""The REAL model-backed lab (``simulator.lab.runtime.LabRuntime``) for provider contract, fault and secret
tests.

Every helper builds the providers exactly as ``reconciler.cli`` wiring does — from a
``schemas.cluster.Cluster`` whose credentials are ``file:`` references into the lab's ``credentials/``,
whose TLS is the lab's ``ca.pem`` and whose SSH host keys are the lab's ``known_hosts`` — so a test talks
zeep/requests/paramiko/netmiko to the lab's faces, and whatever changes happens in the model, whose
``operation_log`` is the proof of what was (not) mutated.

- ``lab_runtime_fixture()``: a module-scoped pytest fixture starting one lab on an address prefix leased
  from the ``loopback`` session fixture (``tests.loopback``: each lab its own prefix, so ``pytest -n`` never
  puts two labs on one address and port) in a temporary directory, with a ``ManualClock`` so that replication
  lag and service restarts move only when a test (or a client's injected ``sleep``) advances lab time.
- ``cluster_model(rt, name, ...)``: the desired-state model of a lab cluster; ``ca_bundle``,
  ``known_hosts`` and ``password_files`` override what a fault test wants to be wrong.
- ``param_provider``, ``trust_provider``, ``tvs_provider``, ``ris_client``, ``tftp_client``,
  ``ios_backend``, ``cucm_dhcp_backend``: the providers/clients under test, wired to the lab.
- ``OpLog``: a bookmark on the model's operation log (``since()`` = what was mutated after it).
- ``lab_passwords``, ``wrong_ca``, ``changed_known_hosts``, ``wrong_password_file``, ``fresh_trust_cert``.

Used by ``tests/contract/test_lab_*.py`` and ``tests/integration/test_lab_faults_map.py`` /
``test_secrets_never_leak.py``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import paramiko
import pytest
from cryptography import x509

from providers.cucm_axl import AxlClient, EnterpriseParameterProvider
from providers.cucm_certs import TrustStoreProvider, clients_for_cluster
from providers.cucm_serviceability import ControlCenterClient, RisClient, RisPacer, TvsProvider
from providers.cucm_tftp import TftpHttpClient
from providers.dhcp.cucm import CucmDhcpBackend
from providers.dhcp.ios import IosDhcpBackend
from providers.transports.soap import CucmEndpoint, open_session
from providers.transports.ssh import SshTarget
from reconciler.cucm import certs
from reconciler.cucm.certs import IdentityKind
from reconciler.cucm.facts import CertRef
from reconciler.model import Action, Address, Change, freeze
from schemas.cluster import SERVICE_NAMES, Cluster
from schemas.document import DesiredState
from schemas.secret import SecretRef
from simulator.lab.runtime import LabRuntime
from simulator.model import ManualClock
from simulator.model.oplog import Operation
from simulator.spec import default_lab
from tests.e2e.labdoc import lab_data
from tests.loopback import Lease, Loopback

__all__ = [
    "OpLog",
    "axl_client",
    "changed_known_hosts",
    "cluster_model",
    "cucm_dhcp_backend",
    "fresh_addresses",
    "fresh_trust_cert",
    "ios_backend",
    "lab_clock",
    "lab_passwords",
    "lab_runtime_fixture",
    "param_provider",
    "ris_client",
    "start_lab",
    "tftp_client",
    "trust_provider",
    "tvs_provider",
    "wrong_ca",
    "wrong_password_file",
]

RESTART_SECONDS = 10.0  # lab time a service restart takes; clients advance the ManualClock while polling


def start_lab(directory: Path, *, lease: Lease, phones_per_scope: int = 10) -> LabRuntime:
    """A started lab on the leased prefix in ``directory`` whose model runs on a ``ManualClock``."""
    return LabRuntime(
        directory=directory,
        spec=default_lab(phones_per_scope=phones_per_scope),
        prefix=lease.prefix,
        ports=lease.ports,
        restart_duration=RESTART_SECONDS,
        clock=ManualClock(start=time.time()),
    ).start()


def lab_runtime_fixture() -> Any:
    """A module-scoped ``lab`` fixture on a leased prefix: ``lab = lab_runtime_fixture()`` (the module
    carries ``pytestmark = pytest.mark.lab``)."""

    @pytest.fixture(scope="module")
    def lab(tmp_path_factory: pytest.TempPathFactory, loopback: Loopback) -> Iterator[LabRuntime]:
        with loopback.lease() as lease:
            runtime = start_lab(tmp_path_factory.mktemp("lab"), lease=lease)
            try:
                yield runtime
            finally:
                runtime.stop()

    return lab


def lab_clock(rt: LabRuntime) -> ManualClock:
    clock = rt.lab.clock
    assert isinstance(clock, ManualClock), "lab fixtures run the model on a ManualClock"
    return clock


@dataclass(frozen=True, slots=True)
class OpLog:
    """A bookmark on the lab model's operation log: ``since()`` is every mutation recorded after it."""

    rt: LabRuntime
    mark: int

    @classmethod
    def mark_now(cls, rt: LabRuntime) -> OpLog:
        return cls(rt, len(rt.lab.operation_log))

    def since(self) -> tuple[Operation, ...]:
        return self.rt.lab.operation_log.since(self.mark)

    def texts(self) -> list[str]:
        return [str(op) for op in self.since()]


# -- the desired-state model of a lab cluster ---------------------------------------------------------


def cluster_model(
    rt: LabRuntime,
    name: str,
    *,
    ca_bundle: Path | None = None,
    known_hosts: Path | None = None,
    password_files: Mapping[str, Path] | None = None,
) -> Cluster:
    """Cluster ``name`` of the lab as the YAML would declare it (credentials as ``file:`` references).

    ``password_files`` maps ``axl``/``os`` to another password file (a wrong-password test)."""
    inv = rt.inventory
    entry = inv["clusters"][name]
    by_cucm_name = {cucm: word for word, cucm in SERVICE_NAMES.items()}
    files = dict(password_files or {})
    credentials = {
        kind: {"username": cred["username"], "password": f"file:{files.get(kind, cred['password_file'])}"}
        for kind, cred in entry["credentials"].items()
    }
    nodes = [
        {
            "name": node,
            "host": info["host"],
            "publisher": info["publisher"],
            "services": [str(by_cucm_name[s]) for s in info["services"] if s in by_cucm_name],
        }
        for node, info in entry["nodes"].items()
    ]
    return Cluster.model_validate(
        {
            "name": name,
            "role": entry["role"],
            "version": entry["version"],
            "ports": inv["ports"],
            "credentials": credentials,
            "tls": {"ca_bundle": str(ca_bundle or inv["ca_bundle"])},
            "ssh": {"known_hosts": str(known_hosts or inv["known_hosts"])},
            "nodes": nodes,
        }
    )


def plan_trust_change(
    cluster: str, cert: x509.Certificate, cert_id: str, *, store: str = "CallManager-trust"
) -> Change:
    """A trust CREATE as the planner writes it (``reconciler.config.desired.cert_value``)."""
    ref = CertRef.of(cert)
    after = {
        "cert_id": cert_id,
        "subject": ref.subject,
        "serial": ref.identity.serial_hex,
        "issuer": ref.identity.issuer,
        "sha1": ref.sha1,
        "origin": "a test certificate",
        "pem": certs.certificate_pem(cert).decode(),
    }
    return Change(address=Address.of("trust", cluster, store, cert_id), action=Action.CREATE,
                  after=freeze(after), reason="test", rule="R4")  # fmt: skip


def lab_desired(rt: LabRuntime, **changes: Any) -> DesiredState:
    """examples/lab.yaml for this lab (its prefix, directory and ports), validated."""
    inv = rt.inventory
    doc = lab_data(lab_dir=Path(inv["directory"]), prefix=rt.prefix, **changes)
    for cluster in doc["clusters"]:
        cluster["ports"] = dict(inv["ports"])
    for server in doc["dhcp"]["servers"]:
        if server["kind"] == "ios":
            server["port"] = int(_ios_entry(rt)["port"])
    return DesiredState.model_validate(doc)


def registry_fixture() -> Any:
    """A ``registry`` fixture: ``build_registry`` for ``lab_desired(lab)`` — the entries the executor
    calls — over connections whose ControlCenterServices clients and TVS providers run on lab time."""

    @pytest.fixture
    def registry(lab: LabRuntime) -> Iterator[Mapping[object, Any]]:
        from reconciler.wiring.connections import Connections
        from reconciler.wiring.estate import ProviderEstate
        from reconciler.wiring.registry import build_registry

        desired = lab_desired(lab)
        clock, sleep, now = _lab_time(lab)
        conns = Connections(desired, service_timing={"clock": clock, "sleep": sleep, "now": now})
        try:
            yield build_registry(
                desired,
                conns=conns,
                estate=ProviderEstate(conns),
                owned=lambda _address: False,
                tvs_timeout=60.0,
                tvs_poll_interval=5.0,
                now=now,
            )
        finally:
            conns.close()

    return registry


# -- providers and clients wired to the lab -----------------------------------------------------------


def axl_client(cluster: Cluster, *, timeout: tuple[float, float] | None = None) -> AxlClient:
    """The publisher's AXL; ``timeout`` = (connect, read) for a latency test, else the default."""
    if timeout is None:
        return AxlClient.connect(cluster)
    endpoint = CucmEndpoint.from_cluster(cluster)
    cred = cluster.credentials.axl
    session = open_session(endpoint, user=cred.username, password=cred.password, timeout=timeout)
    return AxlClient(endpoint=endpoint, session=session)


def param_provider(cluster: Cluster) -> EnterpriseParameterProvider:
    return EnterpriseParameterProvider(axl_client(cluster), cluster=cluster.name)


def trust_provider(cluster: Cluster) -> TrustStoreProvider:
    """REST on 14.0 (``new``), the admin CLI on 11.5 (``old``): ``certificate_api: auto``."""
    return TrustStoreProvider(cluster=cluster.name, clients=clients_for_cluster(cluster))


def _lab_time(
    rt: LabRuntime,
) -> tuple[Callable[[], float], Callable[[float], None], Callable[[], dt.datetime]]:
    clock = lab_clock(rt)

    def sleep(seconds: float) -> None:
        clock.advance(seconds)

    def now() -> dt.datetime:
        return dt.datetime.fromtimestamp(clock.now(), dt.UTC)

    return clock.now, sleep, now


def tvs_provider(
    rt: LabRuntime, cluster: Cluster, *, timeout: float = 60.0, poll_interval: float = 5.0
) -> TvsProvider:
    """One ControlCenterServices client per node; polling sleeps advance the lab's ManualClock."""
    clock, sleep, now = _lab_time(rt)
    clients = {
        node.name: ControlCenterClient.connect(cluster, node, clock=clock, sleep=sleep, now=now)
        for node in cluster.nodes
    }
    return TvsProvider(clients, cluster=cluster.name, timeout=timeout, poll_interval=poll_interval)


def ris_client(rt: LabRuntime, cluster: Cluster) -> RisClient:
    clock, sleep, _now = _lab_time(rt)
    return RisClient.connect(cluster, pacer=RisPacer(clock=clock, sleep=sleep))


def tftp_client(cluster: Cluster, node: str) -> TftpHttpClient:
    found = cluster.node(node)
    assert found is not None
    return TftpHttpClient.for_node(cluster, found)


def _ios_entry(rt: LabRuntime) -> dict[str, Any]:
    entry: dict[str, Any] = next(s for s in rt.inventory["dhcp"]["servers"] if s["kind"] == "ios")
    return entry


def ios_backend(
    rt: LabRuntime, *, known_hosts: Path | None = None, password_file: Path | None = None
) -> IosDhcpBackend:
    """The lab's IOS router through netmiko (host key from the lab's known_hosts unless overridden)."""
    entry = _ios_entry(rt)
    target = SshTarget(
        name=entry["name"],
        host=entry["host"],
        port=int(entry["port"]),
        username=entry["username"],
        password=SecretRef(f"file:{password_file or entry['password_file']}"),
        known_hosts=Path(known_hosts or rt.inventory["known_hosts"]),
        connect_timeout=15.0,
        auth_timeout=15.0,
    )
    # The product's default read timeout: the lab runs in this same process, and on a loaded 2-core
    # machine a shorter one turned scheduling delays into TemporaryError (seen once under load).
    return IosDhcpBackend(name=entry["name"], target=target)


def cucm_dhcp_backend(rt: LabRuntime, cluster: Cluster | None = None) -> CucmDhcpBackend:
    """The lab's CUCM DHCP server (``kind: cucm`` in the inventory) through its cluster's AXL."""
    entry = next(s for s in rt.inventory["dhcp"]["servers"] if s["kind"] == "cucm")
    model = cluster or cluster_model(rt, entry["cluster"])
    return CucmDhcpBackend(AxlClient.connect(model), name=entry["name"], server=entry["node"])


# -- things made wrong on purpose, and fresh values ---------------------------------------------------


def lab_passwords(rt: LabRuntime) -> dict[str, str]:
    """Every password in the lab's ``credentials/`` directory, by file name."""
    found = {p.name: p.read_text().strip() for p in sorted(rt.paths.credentials.glob("*.password"))}
    assert found and all(found.values()), "the lab wrote no credentials"
    return found


def wrong_ca(directory: Path) -> Path:
    """A CA bundle holding a CA that did not sign the lab's certificates."""
    path = directory / "not-the-lab-ca.pem"
    path.write_bytes(
        certs.certificate_pem(certs.generate_ca(common_name="Not the lab CA", key_type="ec-p256").cert)
    )
    return path


def changed_known_hosts(rt: LabRuntime, directory: Path, *, host: str, port: int) -> Path:
    """A copy of the lab's known_hosts where the entry of ``[host]:port`` holds a different key."""
    name = f"[{host}]:{port}"
    other = paramiko.ECDSAKey.generate()
    lines = Path(rt.inventory["known_hosts"]).read_text().splitlines()
    assert any(line.split(" ", 1)[0] == name for line in lines), f"no known_hosts entry for {name}"
    rewritten = [
        f"{name} {other.get_name()} {other.get_base64()}" if line.split(" ", 1)[0] == name else line
        for line in lines
    ]
    path = directory / "known_hosts.changed"
    path.write_text("\n".join(rewritten) + "\n")
    return path


def wrong_password_file(directory: Path, name: str = "wrong.password") -> Path:
    """A credential file holding a password the lab never issued."""
    path = directory / name
    path.write_text(f"Wrong-{uuid.uuid4().hex[:12]}\n")
    path.chmod(0o600)
    return path


def fresh_trust_cert(tag: str = "ext") -> x509.Certificate:
    """A CallManager identity nobody uploaded yet (unique CN, so no same-subject conflict, §1.3)."""
    host = f"{tag}-{uuid.uuid4().hex[:10]}"
    return certs.generate_identity(
        kind=IdentityKind.CALLMANAGER, host=host, cluster=tag, key=certs.shared_lab_key("ec-p256")
    ).cert


_NETS = itertools.count(1)


def fresh_addresses(count: int = 2) -> tuple[IPv4Address, ...]:
    """Option 150 addresses no scope announces yet (a new 10.61.<n>.0 block per call)."""
    block = next(_NETS) % 250 + 1
    return tuple(IPv4Address(f"10.61.{block}.{i}") for i in range(1, count + 1))
