"""An in-process ``LiveEstate`` for planner/drift/CLI unit tests, over the two-cluster world of
``tests/scenarios/two_clusters.py`` (real X.509 certificates, really signed ITL/CTL files).

``FakeEstate`` has read methods only — exactly the ``LiveEstate`` protocol — and records every call in
``calls``, so tests can show a plan is built from reads alone. ``World`` holds the mutable test world
(clusters, DHCP option 150, phones, registrations); ``World.apply_all`` plays what a successful apply
would do, for "second plan has no changes" tests.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import ParamSpec, TypeVar

from reconciler.config.loader import load_text
from reconciler.cucm.certs import certificate_pem
from reconciler.cucm.facts import ClusterFacts, Store
from reconciler.cucm.trust import TrustList
from reconciler.live.protocol import PhoneFacts, Registration, TftpFile
from schemas.document import DesiredState
from schemas.version import CucmVersion
from tests.scenarios.two_clusters import Cluster, Node

P = ParamSpec("P")
T = TypeVar("T")
ROLLBACK = "Prepare Cluster for Rollback to pre 8.0"
OLD_HOSTS = {"cucm-old-pub": "127.0.10.1", "cucm-old-sub1": "127.0.10.2", "cucm-old-sub2": "127.0.10.3"}
NEW_HOSTS = {"cucm-new-pub": "127.0.20.1", "cucm-new-sub1": "127.0.20.2"}
GROUP = ("cucm-old-pub", "cucm-old-sub1")

TRUST_REF = """
      - identity: callmanager
        cluster: new
        nodes: {role: tftp}
      - identity: itlrecovery
        cluster: new"""


def desired_yaml(
    *,
    stores: Sequence[str] = ("CallManager-trust", "Phone-SAST-trust"),
    refs: str = TRUST_REF,
    rollback_param: bool = False,
    allow_rollback: bool = False,
    reverse: bool = False,
) -> str:
    trust = "".join(f"\n  - cluster: old\n    store: {s}\n    certificates:{refs}" for s in stores)
    if reverse:
        back = refs.replace("cluster: new", "cluster: old")
        trust += "".join(f"\n  - cluster: new\n    store: {s}\n    certificates:{back}" for s in stores)
    return f"""\
version: 1
clusters:
  - name: old
    role: source
    version: "11.5.1.12900-21"
    credentials:
      axl: {{username: axladmin, password: "env:OLD_AXL"}}
      os: {{username: admin, password: "env:OLD_OS"}}
    nodes:
      - {{name: cucm-old-pub, host: 127.0.10.1, publisher: true, services: [callmanager, tftp, tvs]}}
      - {{name: cucm-old-sub1, host: 127.0.10.2, services: [callmanager, tftp, tvs]}}
      - {{name: cucm-old-sub2, host: 127.0.10.3, services: [callmanager, tvs]}}
  - name: new
    role: target
    version: "14.0.1.11900-132"
    credentials:
      axl: {{username: axladmin, password: "env:NEW_AXL"}}
      os: {{username: admin, password: "env:NEW_OS"}}
    nodes:
      - {{name: cucm-new-pub, host: 127.0.20.1, publisher: true, services: [callmanager, tftp, tvs]}}
      - {{name: cucm-new-sub1, host: 127.0.20.2, services: [callmanager, tftp, tvs]}}
trust:{trust}
parameters:
  old: {{prepare_cluster_for_rollback: {str(rollback_param).lower()}}}
dhcp:
  servers:
    - {{name: router, kind: ios, host: 127.0.30.254, credentials: {{username: n, password: "env:IOS"}}}}
  scopes:
    - {{name: scope-a, server: router, subnet: 192.0.2.0/24, pool: A, option150: {{tftp_nodes_of: new}}}}
    - {{name: scope-b, server: router, subnet: 198.51.100.0/24, pool: B, option150: {{tftp_nodes_of: new}}}}
migration:
  source: old
  target: new
  allow_rollback: {str(allow_rollback).lower()}
  waves:
    - {{name: wave-1, scopes: [scope-a], gate: {{min_registered_share: 0.95, deadline: 10m}}}}
    - {{name: wave-2, scopes: [scope-b], reset: false, gate: {{min_registered_share: 0.9, deadline: 30m}}}}
"""


def desired(*, semantic: bool = True, **kwargs: object) -> DesiredState:
    from pathlib import Path

    text = desired_yaml(**kwargs)  # type: ignore[arg-type]
    result = load_text(text, file="test.yaml", base_dir=Path("."), semantic=semantic)
    assert result.state is not None and (result.ok or not semantic), [
        d.headline() for d in result.diagnostics
    ]
    return result.state


@dataclass
class World:
    source: Cluster
    target: Cluster
    option150: dict[tuple[str, str], tuple[str, ...] | None]
    phones: dict[str, list[PhoneFacts]]
    registered_on_target: set[str] = field(default_factory=set)
    params: dict[str, dict[str, str]] = field(default_factory=dict)

    def cluster(self, name: str) -> Cluster:
        return self.source if name == self.source.name else self.target

    def apply_all(self) -> None:
        """What a successful apply does: trust (R4-R6) uploaded, replicated, TVS restarted, option 150
        set, every phone registered on the target."""
        t = self.target
        for store in (Store.CALLMANAGER_TRUST.value, Store.PHONE_SAST_TRUST.value):
            for node in ("cucm-new-pub", "cucm-new-sub1"):
                self.source.upload(t.cm(node), store)
            self.source.upload(t.itl_recovery, store)
        self.source.replicate()
        self.source.restart_tvs()
        for key in self.option150:
            self.option150[key] = tuple(NEW_HOSTS.values())
        self.registered_on_target = {p.name for ps in self.phones.values() for p in ps}
        self.params["old"] = {ROLLBACK: "False"}


def make_world(*, phones_a: int = 8, phones_b: int = 4, rollback: bool = False) -> World:
    source = Cluster(
        name="old",
        version=CucmVersion("11.5.1.12900-21"),
        nodes=[
            Node("cucm-old-pub", publisher=True),
            Node("cucm-old-sub1"),
            Node("cucm-old-sub2", tftp=False),
        ],
        rollback_to_pre8=rollback,
    )
    target = Cluster(
        name="new",
        version=CucmVersion("14.0.1.11900-132"),
        nodes=[Node("cucm-new-pub", publisher=True), Node("cucm-new-sub1")],
    )
    source.restart_tvs()
    target.restart_tvs()
    phones = {
        scope: [
            PhoneFacts(name=f"SEP00AA{i:02d}{n:04X}", scope=scope, cluster="old", cm_group="G1")
            for n in range(count)
        ]
        for i, (scope, count) in enumerate((("scope-a", phones_a), ("scope-b", phones_b)))
    }
    old = tuple(OLD_HOSTS[n] for n in ("cucm-old-pub", "cucm-old-sub1"))
    return World(
        source=source,
        target=target,
        option150={("router", "scope-a"): old, ("router", "scope-b"): old},
        phones=phones,
        params={"old": {ROLLBACK: "True" if rollback else "False"}, "new": {ROLLBACK: "False"}},
    )


def _serialized(method: Callable[P, T]) -> Callable[P, T]:
    """The planner reads in parallel; the session-cached test certificates (functools.cache) are not
    thread-safe to mint, so the fake answers one call at a time."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        with _LOCK:
            return method(*args, **kwargs)

    return wrapper


_LOCK = threading.Lock()


class FakeEstate:
    """Read-only ``LiveEstate`` over a ``World``; ``calls`` records (method, args) of every read."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.calls: list[tuple[str, object]] = []

    @_serialized
    def clusters(self, names: Sequence[str]) -> Mapping[str, ClusterFacts]:
        self.calls.append(("clusters", tuple(names)))
        return {n: self.world.cluster(n).facts() for n in names if n in ("old", "new")}

    @_serialized
    def identity_pems(self, cluster: str) -> Mapping[tuple[str, str], str]:
        self.calls.append(("identity_pems", cluster))
        c = self.world.cluster(cluster)
        out = {}
        for node in c.nodes:
            out[(node.name, "callmanager")] = certificate_pem(c.cm(node.name).cert).decode()
            out[(node.name, "tvs")] = certificate_pem(c.tvs_cert(node.name).cert).decode()
        out[(c.publisher.name, "itlrecovery")] = certificate_pem(c.itl_recovery.cert).decode()
        return out

    @_serialized
    def parameters(self, cluster: str, names: Sequence[str]) -> Mapping[str, str | None]:
        self.calls.append(("parameters", (cluster, tuple(names))))
        values = self.world.params.get(cluster, {})
        return {n: values.get(n) for n in names}

    @_serialized
    def callmanager_groups(self, cluster: str) -> Mapping[str, tuple[str, ...]]:
        self.calls.append(("callmanager_groups", cluster))
        return {"G1": GROUP}

    @_serialized
    def option150(
        self, scopes: Sequence[tuple[str, str]]
    ) -> Mapping[tuple[str, str], tuple[str, ...] | None]:
        self.calls.append(("option150", tuple(scopes)))
        return {k: self.world.option150.get(k) for k in scopes}

    @_serialized
    def phones(self, scopes: Sequence[str]) -> Mapping[str, tuple[PhoneFacts, ...]]:
        self.calls.append(("phones", tuple(scopes)))
        return {s: tuple(self.world.phones.get(s, ())) for s in scopes}

    @_serialized
    def tftp_files(self, cluster: str, nodes: Sequence[str]) -> Mapping[str, tuple[TftpFile, TftpFile]]:
        self.calls.append(("tftp_files", (cluster, tuple(nodes))))
        c = self.world.cluster(cluster)
        return {
            n: (
                TftpFile(cluster=cluster, node=n, name="CTLFile.tlv", data=c.ctl()),
                TftpFile(cluster=cluster, node=n, name="ITLFile.tlv", data=c.itl(n)),
            )
            for n in nodes
        }

    @_serialized
    def registrations(self, cluster: str, names: Sequence[str]) -> Mapping[str, Registration]:
        self.calls.append(("registrations", (cluster, len(names))))
        done = self.world.registered_on_target
        return {
            n: Registration(name=n, cluster=cluster, node="cucm-new-pub", status="Registered")
            for n in names
            if n in done
        }


def stale_itl_phone(world: World, name: str, scope: str) -> PhoneFacts:
    """A phone holding an ITL without any source TVS record (R1), e.g. after a TVS regeneration."""
    ctl_file, itl = world.source.ctl(), TrustList.empty()
    from reconciler.cucm import tlv

    ctl = TrustList.from_tlv(tlv.parse(ctl_file))
    return PhoneFacts(name=name, scope=scope, cluster="old", cm_group="G1", ctl=ctl, itl=itl)
