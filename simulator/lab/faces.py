"""Start every network face of a lab on the model (called by ``simulator.lab.runtime.LabRuntime.start``).

Per node of each cluster: HTTPS (AXL, ControlCenterServices, RisPort70, certmgr on 14+; TLS with the
node's tomcat identity issued by the lab CA), TFTP-over-HTTP (only on nodes where Cisco Tftp is
activated: elsewhere the port refuses connections, as on CUCM) and the admin CLI over SSH; then the IOS
router (first ``ios`` DHCP source of the spec) and the SFTP server. Every server is started into the
caller's ``FaceGroup`` (so one ``stop()`` stops them all) and every face reads its own ``FaceFaults``
switchboard (``simulator.lab.faults``) and speaks the spec's ``WireDialect`` (``simulator.faces.dialect``).
A port that cannot be bound becomes a ``LabError`` with a hint.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.errors import LabError
from simulator import labcerts
from simulator.adapters import (
    ModelAxl,
    ModelCertmgr,
    ModelCli,
    ModelIos,
    ModelRis,
    ModelServices,
    ModelTftp,
    describe_trust_file,
)
from simulator.adapters.tvs import ModelTvsBackend
from simulator.faces.cucm_cli import cucm_cli_server
from simulator.faces.dialect import WireDialect
from simulator.faces.faults import FaceFaults, QueryAllowance
from simulator.faces.https import Credentials
from simulator.faces.ios_cli import ios_server
from simulator.faces.node import FaceGroup, node_https_server
from simulator.faces.sftp import sftp_server
from simulator.faces.ssh import SshFaceServer, generate_host_key
from simulator.faces.tftp_http import tftp_http_server
from simulator.faces.tls import ServerIdentity, server_context
from simulator.faces.tvs import TVS_PORT, TvsFaceServer
from simulator.lab.faults import FACES
from simulator.labcerts import IdentityKind
from simulator.model import ClusterInfo, Lab, NodeInfo
from simulator.spec import LabSpec

__all__ = ["QUERIES_PARAMETER", "USERS", "LabFaces", "Listen", "build_server", "start_faces"]

QUERIES_PARAMETER = "Allowed Device Queries Per Minute"
USERS = {"axl": "axladmin", "os": "admin", "ios": "netops", "sftp": "sftpuser", "control": "lab"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Listen:
    """Addresses and ports of the faces that are not per node."""

    https: int
    tftp_http: int
    ssh: int
    sftp_host: str
    ios_host: str
    tvs: int = TVS_PORT


@dataclass(slots=True, kw_only=True)
class LabFaces:
    node_faults: dict[tuple[str, str], dict[str, FaceFaults]] = field(default_factory=dict)
    router_faults: dict[str, FaceFaults] = field(default_factory=dict)
    allowances: dict[str, QueryAllowance] = field(default_factory=dict)
    known_hosts: list[str] = field(default_factory=list)
    ios_router: str | None = None  # name of the spec's IOS DHCP source served by the router face


def build_server(factory: Callable[..., Any], what: str, **kwargs: Any) -> Any:
    """``factory(**kwargs)`` with bind errors translated to ``LabError``."""
    try:
        return factory(**kwargs)
    except OSError as exc:
        raise LabError(
            f"cannot listen for {what}: {exc.strerror or exc}",
            hint="is another lab using these addresses? use another --prefix (e.g. 127.1)",
        ) from exc


def _tls(lab: Lab, cluster: str, node: str) -> Any:
    tomcat = lab.identity(cluster, node, IdentityKind.TOMCAT)
    if tomcat is None:
        raise LabError(f"{cluster}/{node} has no tomcat identity")
    pem, key = labcerts.pem(tomcat.cert), labcerts.key_pem(tomcat.key)
    return server_context(ServerIdentity(pem, key))


class _Starter:
    def __init__(
        self,
        *,
        lab: Lab,
        group: FaceGroup,
        listen: Listen,
        passwords: Mapping[str, str],
        dialect: WireDialect,
    ) -> None:
        self.lab = lab
        self.dialect = dialect
        self.group = group
        self.listen = listen
        self.passwords = passwords
        self.out = LabFaces()

    def start(self, server: Any) -> None:
        if isinstance(server, SshFaceServer):
            self.out.known_hosts.append(server.known_hosts_line())
        self.group.start(server)

    def cluster(self, cluster: ClusterInfo, *, cucm_dhcp: str | None) -> None:
        per_minute = int(self.lab.enterprise_parameter(cluster.name, QUERIES_PARAMETER) or 15)
        allowance = self.out.allowances[cluster.name] = QueryAllowance(per_minute)

        def resize(label: str, value: str) -> None:
            if label == QUERIES_PARAMETER:
                allowance.per_minute = int(value)

        axl = ModelAxl(self.lab, cluster=cluster.name, dhcp_source=cucm_dhcp, on_parameter=resize)
        ris = ModelRis(self.lab, cluster=cluster.name)
        for node in cluster.nodes:
            self.node(cluster, node, axl=axl, ris=ris, allowance=allowance)

    def node(
        self, cluster: ClusterInfo, node: NodeInfo, *, axl: ModelAxl, ris: ModelRis, allowance: QueryAllowance
    ) -> None:
        lab, c, n, listen = self.lab, cluster.name, node.name, self.listen
        switches = {face: FaceFaults() for face in FACES}
        self.out.node_faults[(c, n)] = switches
        app = Credentials(USERS["axl"], self.passwords[f"{c}-axl"])
        admin = Credentials(USERS["os"], self.passwords[f"{c}-os"])
        https = build_server(
            node_https_server,
            f"{n} HTTPS {node.ip}:{listen.https}",
            name=f"{n}-https",
            host=node.ip,
            port=listen.https,
            tls=_tls(lab, c, n),
            version=cluster.version,
            app_user=app,
            os_admin=admin,
            axl=axl,
            services=ModelServices(lab, cluster=c, node=n),
            ris=ris,
            certmgr=ModelCertmgr(lab, cluster=c, node=n),
            faults=switches["https"],
            ris_allowance=allowance,
            dialect=self.dialect,
            process_node=n,
        )
        self.start(https)
        if "Cisco Tftp" in node.services:
            tftp = build_server(
                tftp_http_server,
                f"{n} TFTP-HTTP {node.ip}:{listen.tftp_http}",
                backend=ModelTftp(lab, cluster=c, node=n),
                name=f"{n}-tftp",
                host=node.ip,
                port=listen.tftp_http,
                faults=switches["tftp"],
            )
            self.start(tftp)
        if "Cisco Trust Verification Service" in node.services:
            tvs = lab.identity(c, n, IdentityKind.TVS)
            if tvs is None:
                raise LabError(f"{c}/{n} runs TVS but has no TVS identity")
            tvs_tls = server_context(ServerIdentity(labcerts.pem(tvs.cert), labcerts.key_pem(tvs.key)))
            self.start(
                build_server(
                    TvsFaceServer,
                    f"{n} TVS {node.ip}:{listen.tvs}",
                    name=f"{n}-tvs",
                    host=node.ip,
                    port=listen.tvs,
                    context=tvs_tls,
                    backend=ModelTvsBackend(lab, cluster=c, node=n),
                    faults=switches["tvs"],
                )
            )
        cli = build_server(
            cucm_cli_server,
            f"{n} SSH {node.ip}:{listen.ssh}",
            backend=ModelCli(lab, cluster=c, node=n, axl=axl),
            name=f"{n}-cli",
            host=node.ip,
            port=listen.ssh,
            host_key=generate_host_key(),
            users={USERS["os"]: admin.password},
            faults=switches["cli"],
            describe_trust_file=describe_trust_file,
            dialect=self.dialect,
        )
        self.start(cli)

    def routers(self, spec: LabSpec, *, sftp_root: Path) -> None:
        listen = self.listen
        self.out.router_faults = {"ios": FaceFaults(), "sftp": FaceFaults()}
        routers = [d for d in spec.dhcp if d.kind == "ios"]
        if routers:
            self.out.ios_router = routers[0].name
            ios = build_server(
                ios_server,
                f"IOS router {listen.ios_host}:{listen.ssh}",
                backend=ModelIos(self.lab, router=routers[0].name),
                host=listen.ios_host,
                port=listen.ssh,
                host_key=generate_host_key(),
                users={USERS["ios"]: self.passwords["ios"]},
                faults=self.out.router_faults["ios"],
            )
            self.start(ios)
        sftp = build_server(
            sftp_server,
            f"SFTP {listen.sftp_host}:{listen.ssh}",
            root=sftp_root,
            host=listen.sftp_host,
            port=listen.ssh,
            host_key=generate_host_key(),
            user=USERS["sftp"],
            password=self.passwords["sftp"],
            faults=self.out.router_faults["sftp"],
        )
        self.start(sftp)


def start_faces(
    *,
    lab: Lab,
    spec: LabSpec,
    group: FaceGroup,
    listen: Listen,
    passwords: Mapping[str, str],
    sftp_root: Path,
) -> LabFaces:
    """Start every face of ``lab`` into ``group``; returns their fault switches and known_hosts lines."""
    starter = _Starter(lab=lab, group=group, listen=listen, passwords=passwords, dialect=spec.dialect)
    for cluster in lab.clusters():
        cucm = next((d.name for d in spec.dhcp if d.kind == "cucm" and d.cluster == cluster.name), None)
        starter.cluster(cluster, cucm_dhcp=cucm)
    starter.routers(spec, sftp_root=sftp_root)
    return starter.out
