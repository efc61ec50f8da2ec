"""The doctor's checks of one CUCM cluster, through the same clients ``plan`` and ``apply`` use.

Called by ``reconciler.wiring.doctor.run_doctor``. Every call is a read, except the opt-in AXL write
probe (``probe_writes``): an ``updateServiceParameter`` naming a parameter that does not exist, which a
CUCM refuses (nothing changes) unless it throttles writes (HTTP 503). Per node: TCP/TLS on HTTPS, the
SSH host key, TCP on TFTP-over-HTTP (TFTP nodes), the admin CLI (OS admin login, the prompt, the
read commands the tool uses; the screen is captured when one is not recognised), the certificate API
(certmgr REST from 14.0 or the CLI), the declared services' run state (ControlCenterServices, AXL
user), the node's trust stores against the publisher's (replication, R7) and the CTL/ITL it serves.
Per cluster (publisher): AXL login and version, process nodes, the rollback parameter (R2), the
RisPort70 allowance against the policy and one RisPort70 query whose ``StatusReason`` values decode.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import TypeVar

from providers.cucm_axl import AxlClient
from providers.cucm_axl.client import ENTERPRISE_SERVICE, ENTERPRISE_WIDE_NODE
from providers.cucm_certs import CertStoreClient, StoredCert, cli_session_for, clients_for_cluster
from providers.cucm_serviceability import ControlCenterClient, RisClient, RisPacer, match_process_node
from providers.cucm_tftp import TftpHttpClient
from providers.transports.ssh import SshTarget
from reconciler.config.secrets import resolve
from reconciler.errors import ReconcilerError, RemoteFaultError, TemporaryError
from reconciler.vocabulary import SERVICE_NAMES, Service
from reconciler.wiring.doctor.probes import ssh_host_key, tcp_reach, tls_chain
from reconciler.wiring.doctor.runner import Doctor, Verdict
from schemas.cluster import Cluster, Node
from schemas.document import DesiredState

__all__ = ["CLI_READ_COMMANDS", "STATUS_REASONS", "check_cluster"]

_T = TypeVar("_T")

#: The admin-CLI read commands the tool runs (docs/cucm-interfaces.md, the admin CLI); doctor runs each.
CLI_READ_COMMANDS: tuple[str, ...] = (
    "show version active",
    "show cert list own",
    "show cert list trust",
    "utils service list",
)
#: RisPort70 ``StatusReason`` codes this tool has seen and knows (docs/cucm-interfaces.md, RisPort70);
#: any other value is shown as a warning with the record, so that it can be learnt.
STATUS_REASONS: dict[int, str] = {0: "none (registered)", 1: "unknown", 10: "device unregistered"}
#: The parameter the AXL write probe names: it must not exist on any CUCM.
WRITE_PROBE_PARAMETER = "ReconcilerDoctorWriteProbe"
_RIS_ALLOWANCE = "AllowedDeviceQueriesPerMinute"


def _closing(client: _T) -> contextlib.AbstractContextManager[_T]:
    return contextlib.closing(client)  # type: ignore[type-var]


def check_cluster(doc: Doctor, desired: DesiredState, cluster: Cluster, *, probe_writes: bool) -> None:
    """Every check of ``cluster`` (see the module docstring)."""
    for ref in (cluster.credentials.axl.password, cluster.credentials.os.password):
        with contextlib.suppress(ReconcilerError):
            doc.secrets.append(resolve(ref).get_secret_value())
    reachable = {node.name: _node_transport(doc, desired, cluster, node) for node in cluster.nodes}
    pub = cluster.publisher
    if not reachable[pub.name]:
        doc.add(
            endpoint=f"{cluster.name}/{pub.name}",
            check="axl",
            status="skip",
            detail="the publisher's HTTPS is not reachable: AXL, RisPort70 and the trust stores "
            "were not checked",
        )
    else:
        _publisher(doc, desired, cluster, probe_writes=probe_writes)
    for node in cluster.nodes:
        _cli(doc, cluster, node)
        if reachable[node.name]:
            _services(doc, cluster, node)
    if reachable[pub.name]:
        _trust(doc, cluster, [n for n in cluster.nodes if reachable[n.name]])
    for node in cluster.nodes_running(Service.TFTP):
        if reachable[node.name]:
            _tftp(doc, cluster, node)


def _node_transport(doc: Doctor, desired: DesiredState, cluster: Cluster, node: Node) -> bool:
    ep = f"{cluster.name}/{node.name}"
    host, https = str(node.host), cluster.port(node, "https")
    reach = doc.run(
        endpoint=ep, check="tcp.https", body=lambda: tcp_reach(endpoint=ep, host=host, port=https)
    )
    if reach.status == "pass":

        def tls() -> Verdict:
            detail, expiring = tls_chain(
                endpoint=ep,
                host=host,
                port=https,
                ca_bundle=cluster.tls.ca_bundle,
                pin_sha256=cluster.tls.pin_sha256,
                insecure=bool(cluster.tls.insecure),
                expiry_warning_days=desired.policy.cert_expiry_warning_days,
            )
            if cluster.tls.insecure:
                return Verdict(status="warn", detail=detail, fix="set tls.ca_bundle or tls.pin_sha256")
            if expiring:
                return Verdict(status="warn", detail=detail, fix="renew the node's tomcat certificate")
            return Verdict(status="pass", detail=detail)

        doc.run(endpoint=ep, check="tls", body=tls)
    target = SshTarget(
        name=node.name,
        host=host,
        port=cluster.port(node, "ssh"),
        username=cluster.credentials.os.username,
        password=cluster.credentials.os.password,
        known_hosts=cluster.ssh.known_hosts,
        host_key=node.host_key,
    )
    doc.run(endpoint=ep, check="ssh.hostkey", body=lambda: ssh_host_key(verifier=target.verifier()))
    if node.runs(Service.TFTP):
        port = cluster.port(node, "tftp_http")
        doc.run(endpoint=ep, check="tcp.tftp", body=lambda: tcp_reach(endpoint=ep, host=host, port=port))
    return reach.status == "pass"


def _publisher(doc: Doctor, desired: DesiredState, cluster: Cluster, *, probe_writes: bool) -> None:
    ep = f"{cluster.name}/{cluster.publisher.name}"
    axl = AxlClient.connect(cluster)
    with _closing(axl):

        def login() -> Verdict:
            version = axl.version()
            doc.report.versions[cluster.name] = version
            declared = str(cluster.version)
            if version.split(".")[:2] != declared.split(".")[:2]:
                return Verdict(
                    status="warn",
                    detail=f"AXL answers; CUCM {version}, but the YAML says {declared}",
                    fix=f'set clusters[{cluster.name}].version: "{version}" (rules R6/R10 depend on it)',
                )
            return Verdict(status="pass", detail=f"AXL login works; CUCM {version}")

        if doc.run(endpoint=ep, check="axl", body=login, role="AXL").status == "fail":
            return

        def nodes() -> Verdict:
            listed = {p.name.lower(): p for p in axl.process_nodes()}
            missing = [
                n.name
                for n in cluster.nodes
                if match_process_node(name=n.name, host=str(n.host), process_nodes=list(listed)) is None
            ]
            detail = f"{len(listed)} process node(s): {', '.join(sorted(listed))}"
            if missing:
                return Verdict(
                    status="fail",
                    detail=f"{detail}; not found for the YAML's {', '.join(missing)}",
                    fix="name each node as CUCM does (System > Server), or by its address",
                )
            if len(listed) > len(cluster.nodes):
                return Verdict(
                    status="warn",
                    detail=f"{detail}; the YAML declares {len(cluster.nodes)}",
                    fix="declare every node that runs TFTP or TVS (R4, R8): reconciler init lists them",
                )
            return Verdict(status="pass", detail=detail)

        doc.run(endpoint=ep, check="axl.nodes", body=nodes, role="AXL")

        def rollback() -> Verdict:
            found = axl.rollback_parameter()
            if found is None:
                names = [p.name for p in axl.enterprise_parameters() if "roll" in p.name.lower()]
                doc.capture(
                    endpoint=ep, what="enterprise parameters mentioning rollback", text="\n".join(names)
                )
                return Verdict(
                    status="fail",
                    detail="the rollback parameter (R2) was not recognised among the enterprise parameters",
                    fix="attach the support bundle: the parameter's internal name on this release is unknown",
                )
            return Verdict(status="pass", detail=f"R2: {found.name} = {found.value}")

        doc.run(endpoint=ep, check="axl.rollback", body=rollback, role="AXL")

        def allowance() -> Verdict:
            found = axl.service_parameter(
                node=ENTERPRISE_WIDE_NODE, service=ENTERPRISE_SERVICE, name=_RIS_ALLOWANCE
            )
            want = desired.policy.ris_queries_per_minute
            if found is None or not found.value.strip().isdigit():
                return Verdict(
                    status="warn",
                    detail=f"{_RIS_ALLOWANCE} not readable",
                    fix=f"check that policy.ris_queries_per_minute ({want}) is within it",
                )
            have = int(found.value)
            if want > have:
                return Verdict(
                    status="fail",
                    detail=f"RisPort70 allows {have} queries per minute; "
                    f"policy.ris_queries_per_minute is {want}",
                    fix=f"lower policy.ris_queries_per_minute to {have} or raise the allowance (R13)",
                )
            return Verdict(status="pass", detail=f"RisPort70 allows {have}/min; the policy uses {want}")

        doc.run(endpoint=ep, check="ris.allowance", body=allowance, role="AXL")
        if probe_writes:
            doc.run(endpoint=ep, check="axl.write", body=lambda: _write_probe(axl), role="AXL")
    _ris(doc, cluster)


def _write_probe(axl: AxlClient) -> Verdict:
    try:
        axl.update_service_parameter(
            node=ENTERPRISE_WIDE_NODE, service=ENTERPRISE_SERVICE, name=WRITE_PROBE_PARAMETER, value=""
        )
    except RemoteFaultError as exc:
        return Verdict(
            status="pass",
            detail=f"AXL writes are accepted (the probe was refused as expected: {exc.message[:80]})",
        )
    except TemporaryError as exc:
        return Verdict(
            status="fail",
            detail=f"AXL writes are throttled: {exc.message}",
            fix="AXL throttles writes (HTTP 503): apply will back off; run it outside busy hours or lower "
            "policy.concurrency.axl",
        )
    return Verdict(
        status="warn",
        detail=f"AXL accepted an update of {WRITE_PROBE_PARAMETER}, which should not exist",
        fix="report this: the probe expects CUCM to refuse an unknown parameter",
    )


def _ris(doc: Doctor, cluster: Cluster) -> None:
    ep = f"{cluster.name}/{cluster.publisher.name}"

    def query() -> Verdict:
        with RisClient.connect(cluster, pacer=RisPacer(per_minute=60, burst=1)) as ris:
            try:
                records, total = ris.sample()
            except TemporaryError as exc:
                return Verdict(
                    status="fail",
                    detail=f"RisPort70 refused the query: {exc.message}",
                    fix="the RisPort70 allowance is exhausted: another tool is querying this cluster; "
                    "wait a minute, or lower policy.ris_queries_per_minute (R13)",
                )
        unknown = sorted({r.reason for r in records} - set(STATUS_REASONS))
        seen = ", ".join(
            f"{c} {STATUS_REASONS[c]}" for c in sorted({r.reason for r in records} & set(STATUS_REASONS))
        )
        detail = f"{len(records)} of {total} phone(s) in one query; StatusReason: {seen or 'none seen'}"
        if unknown:
            doc.capture(
                endpoint=ep,
                what="RisPort70 StatusReason codes not known",
                text="\n".join(
                    f"{r.name} {r.status} StatusReason={r.reason}" for r in records if r.reason in unknown
                ),
            )
            return Verdict(
                status="warn",
                detail=f"{detail}; unknown codes {unknown}",
                fix="attach the support bundle: these StatusReason codes are not yet known",
            )
        return Verdict(status="pass", detail=detail)

    doc.run(endpoint=ep, check="ris.query", body=query, role="AXL")


def _cli(doc: Doctor, cluster: Cluster, node: Node) -> None:
    ep = f"{cluster.name}/{node.name}"
    session = cli_session_for(cluster, node)
    session.login_timeout = 20.0
    session.command_timeout = 60.0

    def run() -> Verdict:
        try:
            session.open()
        except TemporaryError:
            if session.last_screen is not None:
                doc.capture(
                    endpoint=ep, what="admin CLI login: no prompt recognised", text=session.last_screen
                )
            raise
        refused: list[str] = []
        for command in CLI_READ_COMMANDS:
            try:
                output = session.run(command)
            except RemoteFaultError as exc:
                refused.append(command)
                doc.capture(endpoint=ep, what=f"admin CLI: {command}", text=exc.message)
                continue
            if command == "show version active":
                version = (
                    output.split("Active Master Version:")[-1].split()[0]
                    if "Active Master Version:" in output
                    else None
                )
                if version is None:
                    refused.append(command)
                    doc.capture(endpoint=ep, what=f"admin CLI: {command}", text=output)
                else:
                    doc.report.versions[ep] = version
        known = len(CLI_READ_COMMANDS) - len(refused)
        detail = (
            f"OS admin login; prompt {session.prompt!r}; {known}/{len(CLI_READ_COMMANDS)} commands recognised"
        )
        if refused:
            return Verdict(
                status="fail",
                detail=f"{detail}; not recognised: {', '.join(refused)}",
                fix="attach the support bundle (--bundle): the screens are in captures/",
            )
        return Verdict(status="pass", detail=detail)

    with _closing(session):
        doc.run(endpoint=ep, check="cli", body=run, role="OS admin")


def _services(doc: Doctor, cluster: Cluster, node: Node) -> None:
    ep = f"{cluster.name}/{node.name}"
    wanted = [SERVICE_NAMES[s] for s in node.services]
    if not wanted:
        return

    def run() -> Verdict:
        with AxlClient.connect(cluster) as axl:
            listed = [p.name for p in axl.process_nodes()]
        own = match_process_node(name=node.name, host=str(node.host), process_nodes=listed)
        with ControlCenterClient.connect(cluster, node, process_node=own) as control:
            statuses = {s.name: s for s in control.statuses([str(w) for w in wanted])}
        down = [
            f"{w} is {statuses[w].status if w in statuses else 'not listed'}"
            for w in wanted
            if w not in statuses or not statuses[w].started
        ]
        if down:
            tvs = (
                " (TVS must run for phones to trust the target's files, R8)"
                if any("Trust" in d for d in down)
                else ""
            )
            return Verdict(
                status="fail",
                detail="; ".join(down),
                fix=f"start the service(s) on {node.name} (Serviceability > Control Center){tvs}, "
                "or remove them from the node's services",
            )
        return Verdict(status="pass", detail=f"{len(wanted)} declared service(s) Started")

    doc.run(endpoint=ep, check="services", body=run, role="AXL")


def _key(cert: StoredCert) -> tuple[str, str]:
    return cert.store, cert.sha256 or f"{cert.serial}|{cert.issuer}"


def _trust(doc: Doctor, cluster: Cluster, nodes: Sequence[Node]) -> None:
    api = "certmgr REST" if str(cluster.effective_certificate_api) == "rest" else "admin CLI"
    clients: list[CertStoreClient] = clients_for_cluster(cluster)
    names = {n.name for n in nodes}
    listings: dict[str, set[tuple[str, str]]] = {}
    with contextlib.ExitStack() as stack:
        for client in clients:
            stack.callback(client.close)
        for client in clients:
            if client.node not in names:
                continue
            ep = f"{cluster.name}/{client.node}"

            def read(client: CertStoreClient = client) -> str:
                stored = client.trust()
                listings[client.node] = {_key(c) for c in stored}
                return f"{api}: {len(stored)} trust certificate(s) readable"

            doc.run(endpoint=ep, check="certapi", body=read, role="OS admin")
    pub = cluster.publisher.name
    if pub not in listings:
        return
    for node, listing in listings.items():
        if node == pub:
            continue
        ep = f"{cluster.name}/{node}"
        missing, extra = listings[pub] - listing, listing - listings[pub]
        if missing or extra:
            doc.add(
                endpoint=ep,
                check="replication",
                status="fail",
                detail=f"trust stores differ from the publisher's: {len(missing)} missing, "
                f"{len(extra)} extra",
                fix=f"replication lag or failure (R7): wait and run doctor again; if it persists, check "
                f"'utils dbreplication runtimestate' on {pub}",
            )
        else:
            doc.add(
                endpoint=ep, check="replication", status="pass", detail="trust stores as on the publisher"
            )


def _tftp(doc: Doctor, cluster: Cluster, node: Node) -> None:
    ep = f"{cluster.name}/{node.name}"

    def run() -> Verdict:
        client = TftpHttpClient.for_node(cluster, node)
        try:
            files = client.cluster_files()
        finally:
            client.close()
        if files.itl is None:
            return Verdict(
                status="fail",
                detail="no ITLFile.tlv served",
                fix="check the TFTP service on the node (a secure cluster serves an ITL)",
            )
        ctl = (
            f"CTL {len(files.ctl.records)} record(s)" if files.ctl is not None else "no CTL (not mixed mode)"
        )
        return Verdict(status="pass", detail=f"ITL {len(files.itl.records)} record(s), {ctl}")

    doc.run(endpoint=ep, check="tftp.files", body=run)
