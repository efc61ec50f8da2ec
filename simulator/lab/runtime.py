"""``LabRuntime``: the built-in lab as real network servers — the model (``simulator.model``) behind every
face (``simulator.faces``) of every node, on its own loopback addresses (docs/lab.md).

``start()``: relocates the spec to the address prefix (``127.0`` -> 127.0.10.x source, 127.0.20.x
target, 127.0.30.x DHCP relays, IOS router .30.254, SFTP .30.253, control .30.252), optionally starts a
real Kea for the Kea scopes (``with_kea``), builds the model, writes the lab directory
(``simulator.inventory``: ca.pem, known_hosts, credentials/ with random passwords, inventory.yaml) and
starts per node HTTPS 8443 (AXL, ControlCenterServices, RisPort70, certmgr on 14+; TLS = the node's tomcat
identity from the lab CA), TFTP-over-HTTP 6970 (nodes with Cisco Tftp activated) and the admin CLI on SSH
2222, plus the IOS router, the SFTP server and the control endpoint (``simulator.lab.control``).
``stop()`` stops every server (joining its threads) and Kea; nothing is left running.

Used by ``reconciler lab up`` (``reconciler.commands.lab``), integration tests and ``bench/``::

    with LabRuntime(directory=tmp / "lab", prefix="127.3", restart_duration=1.0) as rt:
        rt.inventory["clusters"]["old"]["nodes"]["cucm-old-pub"]["urls"]["axl"]
        rt.lab.registrations("old"); rt.apply_fault(Fault(kind="axl-throttle", cluster="old"))
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Self

from reconciler.errors import LabError
from simulator import labcerts
from simulator.faces.https import Credentials, HttpFaceServer, Route
from simulator.faces.node import FaceGroup
from simulator.inventory import (
    LabPaths,
    Ports,
    build_inventory,
    node_entry,
    write_inventory,
    write_private,
    write_public,
)
from simulator.lab.control import ControlHandler
from simulator.lab.faces import USERS, Listen, build_server, start_faces
from simulator.lab.faults import Fault, FaultBoard
from simulator.lab.wireboot import WireBooter
from simulator.model import Clock, Lab, RegStatus, build_lab
from simulator.spec import WIRE_BOOT_MAX_PHONES, BootPath, DhcpSpec, LabSpec, default_lab

__all__ = ["LabPorts", "LabRuntime", "relocate", "serve_scopes_from_kea"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LabPorts:
    https: int = 8443
    tftp_http: int = 6970
    ssh: int = 2222  # CUCM uses 22; unprivileged default (lab.md)


def _check_prefix(prefix: str) -> str:
    parts = prefix.split(".")
    if len(parts) != 2 or parts[0] != "127" or not parts[1].isdigit() or int(parts[1]) > 255:
        raise LabError(
            f"address prefix {prefix!r} is not '127.N' (0 <= N <= 255)", hint="e.g. --prefix 127.1"
        )
    return prefix


def _move(ip: str, prefix: str) -> str:
    addr = ipaddress.IPv4Address(ip)
    if addr not in ipaddress.IPv4Network("127.0.0.0/8"):
        return ip
    return f"{prefix}.{ip.split('.', 2)[2]}"


def relocate(spec: LabSpec, prefix: str) -> LabSpec:
    """The spec with every loopback address moved from 127.0.x.y to ``<prefix>.x.y`` (nodes, IOS router,
    relays, loopback addresses in option 150), so two labs with different prefixes listen side by side."""
    _check_prefix(prefix)
    if prefix == "127.0":
        return spec
    clusters = tuple(
        replace(c, nodes=tuple(replace(n, ip=_move(n.ip, prefix)) for n in c.nodes)) for c in spec.clusters
    )
    dhcp = tuple(replace(d, address=_move(d.address, prefix)) if d.address else d for d in spec.dhcp)
    scopes = tuple(
        replace(
            s,
            relay=_move(s.relay, prefix),
            option150=None if s.option150 is None else tuple(_move(a, prefix) for a in s.option150),
        )
        for s in spec.scopes
    )
    return replace(spec, clusters=clusters, dhcp=dhcp, scopes=scopes)


def serve_scopes_from_kea(
    spec: LabSpec, *, scopes: Iterable[str], server: tuple[str, int], client_port: int, name: str = "kea"
) -> LabSpec:
    """The spec with ``scopes`` served by a Kea DHCP source (instead of their IOS pool / CUCM server)."""
    wanted = set(scopes)
    changed = tuple(replace(s, dhcp=name, pool=None) if s.name in wanted else s for s in spec.scopes)
    kea = DhcpSpec(name=name, kind="kea", server=server, client_port=client_port)
    return replace(spec, dhcp=(*spec.dhcp, kea), scopes=changed)


class LabRuntime:
    """The running lab: model + faces + lab directory. ``start()``/``stop()`` or a ``with`` block."""

    def __init__(
        self,
        *,
        directory: str | os.PathLike[str] = ".reconciler/lab",
        spec: LabSpec | None = None,
        prefix: str = "127.0",
        ports: LabPorts | None = None,
        with_kea: bool = False,
        kea_scopes: Sequence[str] = ("scope-c",),
        restart_duration: float | None = None,
        faults: Sequence[Fault] = (),
        clock: Clock | None = None,
        boot: BootPath | None = None,
    ) -> None:
        self.paths = LabPaths.at(directory)
        self.prefix = _check_prefix(prefix)
        self.ports = ports or LabPorts()
        self.with_kea = with_kea
        self.kea_scopes = tuple(kea_scopes)
        self.spec = relocate(spec or default_lab(), prefix)
        if restart_duration is not None:
            clusters = tuple(replace(c, restart_duration=restart_duration) for c in self.spec.clusters)
            self.spec = replace(self.spec, clusters=clusters)
        self.initial_faults = tuple(faults)
        self.boot: BootPath = boot or self.spec.boot
        self.booter: WireBooter | None = None  # the wire path of phone resets (simulator.lab.wireboot)
        self._clock = clock
        self._group = FaceGroup()
        self._kea: Any = None  # simulator.kea.KeaInstance when with_kea
        self._lab: Lab | None = None
        self._board: FaultBoard | None = None
        self.passwords: dict[str, str] = {}
        self.known_hosts: list[str] = []
        self.inventory: dict[str, Any] = {}
        self.startup_seconds = 0.0
        self._started_at = 0.0

    # -- public -------------------------------------------------------------------------------------
    @property
    def lab(self) -> Lab:
        if self._lab is None:
            raise LabError("the lab is not started")
        return self._lab

    @property
    def faults(self) -> FaultBoard:
        if self._board is None:
            raise LabError("the lab is not started")
        return self._board

    def start(self) -> Self:
        began = time.perf_counter()
        self.paths.prepare()
        try:
            self._start_kea()
            self._lab = build_lab(self.spec, clock=self._clock)
            self._write_secrets()
            self._start_faces()
            self._start_booter()
            for fault in self.initial_faults:
                self.faults.apply(fault)
            self._write_inventory()
        except BaseException:
            self.stop()
            raise
        self._started_at = time.time()
        self.startup_seconds = time.perf_counter() - began
        return self

    def mark_ready(self, *, pid: int | None = None) -> None:
        """Write the ``ready`` file (``reconciler lab up`` does, once the summary is printed)."""
        write_public(self.paths.ready, f"pid={pid or os.getpid()} startup_s={self.startup_seconds:.3f}\n")

    def stop(self) -> None:
        """Stop the boot workers, every server and Kea (idempotent); remove the ``ready`` file."""
        try:
            if self.booter is not None:
                if self._lab is not None:
                    self._lab.attach_booter(None)
                self.booter.stop()
                self.booter = None
            self._group.stop()
        finally:
            if self._kea is not None:
                self._kea.stop()
                self._kea = None
            if self.paths.ready.exists():
                self.paths.ready.unlink()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_booted(self, timeout: float = 60.0) -> bool:
        """Wait until every phone reset over the wire has booted (True at once on the model path)."""
        return self.booter.wait(timeout) if self.booter is not None else True

    def apply_fault(self, fault: Fault) -> str:
        return self.faults.apply(fault)

    def phones(self) -> list[dict[str, Any]]:
        """Every phone: name, scope, cluster, node, status, reason, rule, ip, tftp (``lab phones``)."""
        return [
            {
                "name": p.name,
                "scope": p.scope,
                "cluster": p.cluster,
                "node": p.node,
                "status": p.status.value,
                "reason": p.reason,
                "rule": p.rule,
                "ip": p.ip,
                "tftp": p.tftp,
            }
            for p in self.lab.phones()
        ]

    def operations(self) -> list[dict[str, Any]]:
        """The model's operation log, oldest first (mutating calls only; never a secret)."""
        return [
            {"seq": e.seq, "at": e.at, "op": e.op, "target": e.target, "detail": e.detail}
            for e in self.lab.operation_log
        ]

    def boots(self) -> list[dict[str, Any]]:
        """The wire boots, oldest first: per phone boot its DHCP, TFTP and TVS requests (empty on the
        model path)."""
        entries = self.booter.log if self.booter is not None else ()
        return [
            {"seq": e.seq, "at": e.at, "op": e.op, "target": e.target, "detail": e.detail} for e in entries
        ]

    def status(self) -> dict[str, Any]:
        counts: dict[str, dict[str, int]] = {}
        for p in self.lab.phones():
            per = counts.setdefault(p.cluster, {})
            per[p.status.value] = per.get(p.status.value, 0) + 1
        return {
            "lab": self.spec.name,
            "pid": os.getpid(),
            "directory": str(self.paths.root),
            "prefix": self.prefix,
            "uptime_s": round(time.time() - self._started_at, 1),
            "startup_s": round(self.startup_seconds, 3),
            "clusters": {c.name: {"role": c.role, "version": c.version} for c in self.lab.clusters()},
            "phones": self.lab.phone_count(),
            "phones_by_cluster": counts,
            "registered": sum(v.get(RegStatus.REGISTERED.value, 0) for v in counts.values()),
            "faults": self.faults.state(),
            "operations": len(self.lab.operation_log),
            "kea": self._kea is not None,
            "boot": "wire" if self.booter is not None else "model",
            "booting": self.lab.boots_pending(),
        }

    # -- building blocks ----------------------------------------------------------------------------
    def _ip(self, third: int, fourth: int) -> str:
        return f"{self.prefix}.{third}.{fourth}"

    def _kea_wanted(self) -> dict[str, str]:
        """Scope -> name of the Kea source that must serve it: scopes of the spec's Kea sources without a
        ``server`` (the lab starts Kea for them), plus ``kea_scopes`` with ``--with-kea``."""
        unstarted = {d.name for d in self.spec.dhcp if d.kind == "kea" and d.server is None}
        wanted = {s.name: s.dhcp for s in self.spec.scopes if s.dhcp in unstarted}
        if self.with_kea:
            present = {s.name for s in self.spec.scopes}
            wanted.update({n: "kea" for n in self.kea_scopes if n in present and n not in wanted})
        return wanted

    def _start_kea(self) -> None:
        from simulator.kea import KeaInstance, KeaSubnet  # noqa: PLC0415 - only Kea scopes need it

        wanted = self._kea_wanted()
        if not wanted:
            if self.with_kea:
                raise LabError(f"--with-kea: none of the scopes {', '.join(self.kea_scopes)} is in the spec")
            return
        subnets = [
            KeaSubnet(
                id=i,
                subnet=ipaddress.IPv4Network(s.subnet),
                relay=ipaddress.IPv4Address(s.relay),
                option150=tuple(
                    ipaddress.IPv4Address(ip)
                    for ip in self.spec.cluster(s.tftp_cluster or self.spec.home).tftp_ips()
                ),
                name=s.name,
            )
            for i, s in enumerate(self.spec.scopes, start=1)
            if s.name in wanted
        ]
        self._kea = KeaInstance(workdir=self.paths.kea, subnets=subnets, host="127.0.0.1").start()
        server, port = self._kea.server, self._kea.client_port
        names = set(wanted.values())
        dhcp = [replace(d, server=server, client_port=port) if d.name in names else d for d in self.spec.dhcp]
        dhcp += [DhcpSpec(name=n, kind="kea", server=server, client_port=port)
                 for n in sorted(names - {d.name for d in self.spec.dhcp})]  # fmt: skip
        scopes = tuple(
            replace(s, dhcp=wanted[s.name], pool=None) if s.name in wanted else s for s in self.spec.scopes
        )
        self.spec = replace(self.spec, dhcp=tuple(dhcp), scopes=scopes)
        self.passwords["kea"] = self._kea.password

    def _write_secrets(self) -> None:
        names = [f"{c.name}-{kind}" for c in self.spec.clusters for kind in ("axl", "os")]
        for name in [*names, "ios", "sftp", "control"]:
            self.passwords.setdefault(name, secrets.token_urlsafe(18))
        for name, password in self.passwords.items():
            write_private(self.paths.credential(name), password + "\n")
        write_public(self.paths.ca, labcerts.pem(self.lab.ca.cert).decode())

    def _start_faces(self) -> None:
        ios = next((d.address for d in self.spec.dhcp if d.kind == "ios" and d.address), None)
        self.listen = Listen(
            https=self.ports.https,
            tftp_http=self.ports.tftp_http,
            ssh=self.ports.ssh,
            sftp_host=self._ip(30, 253),
            ios_host=ios or self._ip(30, 254),
        )
        faces = start_faces(
            lab=self.lab,
            spec=self.spec,
            group=self._group,
            listen=self.listen,
            passwords=self.passwords,
            sftp_root=self.paths.sftp_root,
        )
        write_public(self.paths.known_hosts, "\n".join(faces.known_hosts) + "\n")
        self._board = FaultBoard(
            lab=self.lab,
            node_faults=faces.node_faults,
            router_faults=faces.router_faults,
            allowances=faces.allowances,
        )
        handler = ControlHandler(
            status=self.status,
            phones=self.phones,
            faults=self.faults.state,
            operations=self.operations,
            boots=self.boots,
            apply_fault=lambda body: self.faults.apply(Fault.from_mapping(body)),
        )
        control = build_server(
            HttpFaceServer,
            "the control endpoint",
            name="lab-control",
            host=self._ip(30, 252),
            port=0,
            routes=[
                Route("/", handler, Credentials(USERS["control"], self.passwords["control"]), realm="lab")
            ],
        )
        self._group.start(control)
        self.control_url = control.base_url + "/"

    def _start_booter(self) -> None:
        """``boot: wire`` (``auto`` up to ``WIRE_BOOT_MAX_PHONES``): resets boot over the faces."""
        wire = self.boot == "wire" or (self.boot == "auto" and self.lab.phone_count() <= WIRE_BOOT_MAX_PHONES)
        if wire:
            self.booter = WireBooter(self.lab, tftp_port=self.listen.tftp_http, tvs_port=self.listen.tvs)
            self.lab.attach_booter(self.booter)

    def _write_inventory(self) -> None:
        ports = Ports(https=self.ports.https, tftp_http=self.ports.tftp_http, ssh=self.ports.ssh)
        clusters = []
        for c in self.lab.clusters():
            nodes = {
                n.name: node_entry(
                    host=n.ip,
                    publisher=n.publisher,
                    services=list(n.services),
                    version=c.version,
                    ports=ports,
                )
                for n in c.nodes
            }
            clusters.append(
                {
                    "name": c.name,
                    "role": c.role,
                    "version": c.version,
                    "mixed_mode": c.mixed_mode,
                    "publisher": c.publisher,
                    "cm_groups": {g: list(m) for g, m in c.cm_groups.items()},
                    "nodes": nodes,
                }
            )
        servers: list[dict[str, Any]] = []
        for d in self.spec.dhcp:
            if d.kind == "ios":
                servers.append({"name": d.name, "kind": "ios", "host": d.address, "port": self.ports.ssh})
            elif d.kind == "cucm":
                cluster = d.cluster or self.spec.home
                node = self.lab.cluster(cluster).publisher
                servers.append({"name": d.name, "kind": "cucm", "cluster": cluster, "node": node})
            elif d.kind == "kea" and self._kea is not None:
                servers.append(
                    {
                        "name": d.name,
                        "kind": "kea",
                        "server": {"host": self._kea.host, "port": self._kea.dhcp_port},
                        "client_port": self._kea.client_port,
                        "control_agent": {"url": self._kea.url},
                    }
                )
        scopes = [
            {"name": s.name, "subnet": s.subnet, "relay": s.relay, "server": s.dhcp, "pool": s.pool,
             "phones": s.phones}
            for s in self.spec.scopes
        ]  # fmt: skip
        self.inventory = build_inventory(
            paths=self.paths,
            lab_name=self.spec.name,
            prefix=self.prefix,
            ports=ports,
            clusters=clusters,
            dhcp_servers=servers,
            scopes=scopes,
            sftp_host=self.listen.sftp_host,
            control_url=self.control_url,
            phones=self.lab.phone_count(),
            users=USERS,
        )
        write_inventory(self.paths, self.inventory)
