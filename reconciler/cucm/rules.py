"""Procedure rules R1–R14 (docs/cucm-domain.md#procedure-rules) as code over ``reconciler.cucm.facts``.

Called by the planner (what trust to establish, what blocks the move), by ``validate``/``drift`` and by
the scenario tests. Pure functions; findings are ``reconciler.diagnostics.Diagnostic`` values carrying the
rule id, an address (docs/architecture.md#resources-and-addresses: ``trust.<cluster>.<store>.<cert-id>``,
``tvs.<cluster>.<node>``, ``param.<cluster>.<name>``, ``bulk.<cluster>.<step>``, ``tftp.<cluster>.<node>``),
the certificate and a fix.

Public API (stable)::

    RequiredCert(cert, cluster, store, rule, cert_id, origin)      .address
    required_trust(*, source, target, direction=Direction.FORWARD) -> list[RequiredCert]   R4 R5 R6 / R11
    preflight(*, source, target, method=Method.MANUAL, bulk=None) -> list[Diagnostic]      R1 R2 R3 R9 R10
    check_phone_itl(*, phone, itl, source, tvs_nodes=None) -> list[Diagnostic]             R1 (per phone)
    rollback_readiness(*, source, target, severity=WARNING) -> list[Diagnostic]     R11, R7 (plan --rollback)

Whether the required trust is in place on live facts (R7 replication, R8 TVS freshness) is the planner's
(``reconciler.plan.planner``, ``reconciler.plan.tvsfresh``, ``reconciler.plan.drift``); the order, option
150 last (R12), is the plan graph's (``reconciler.plan.graph``).

Where the documented procedure and our trust model (``reconciler.cucm.trust``) differ, ``required_trust``
follows the model so the plan and the forecast agree: the target's ITLRecovery is required whenever the
target is 12.0+ (R6 names the <12 -> 12+ case; a 12+ -> 12+ move needs it for the same reason) — before
12.5 (``facts.ITLRECOVERY_CLUSTER_WIDE_FROM``) the publisher's and every TFTP node's own — and a pre-12
target's publisher CallManager certificate (the CTL signer) is required even if the publisher runs no TFTP.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from reconciler.cucm.facts import (
    ROLLBACK_PARAMETER,
    BulkSetup,
    CertRef,
    ClusterFacts,
    Direction,
    Method,
    Service,
    Store,
)
from reconciler.cucm.tlv_format import Role
from reconciler.cucm.trust import TrustList
from reconciler.diagnostics import Diagnostic, Severity
from reconciler.vocabulary import PHONE_TRUST_STORES, ROLLBACK_ALIAS
from schemas.version import CucmVersion

__all__ = [
    "RequiredCert",
    "check_phone_itl",
    "preflight",
    "required_trust",
    "rollback_readiness",
]

_TVS_SERVICE = Service.TVS.value
#: R10: CSCuy43181 affects bulk consolidation between 8.x/9.x and 10.5.2.13900-12 or newer.
_CSCUY43181_FIXED_LINE = CucmVersion("10.5.2.13900-12")


@dataclass(frozen=True, slots=True, kw_only=True)
class RequiredCert:
    """A certificate that must be in ``store`` of ``cluster`` (uploaded on its publisher)."""

    cert: CertRef
    cluster: str
    store: Store
    rule: str
    cert_id: str
    origin: str

    @property
    def address(self) -> str:
        return f"trust.{self.cluster}.{self.store.value}.{self.cert_id}"


def required_trust(
    *, source: ClusterFacts, target: ClusterFacts, direction: Direction = Direction.FORWARD
) -> list[RequiredCert]:
    """The trust a move needs. FORWARD: the target's signers into the source stores (R4, R5, R6).
    REVERSE (rollback, R11): the source's signers into the target stores. Certificates the facts do not
    carry are skipped here and reported by ``preflight``."""
    issuer, holder = (target, source) if direction is Direction.FORWARD else (source, target)
    reverse = direction is Direction.REVERSE
    wanted: list[tuple[CertRef, str, str, str]] = []  # cert, cert_id, origin, rule for CallManager-trust
    for node in issuer.tftp_nodes:
        if node.callmanager is not None:
            wanted.append(
                (node.callmanager, node.name, f"CallManager of {node.name} (runs Cisco Tftp)", "R4")
            )
    publisher = issuer.publisher
    if not issuer.version.at_least(12) and publisher is not None and publisher.callmanager is not None:
        wanted.append(
            (publisher.callmanager, publisher.name, f"CallManager of {publisher.name} (signs the CTL)", "R4")
        )
    wanted.extend(_itl_recovery_signers(issuer))
    out: list[RequiredCert] = []
    seen: set[tuple[object, Store]] = set()
    for cert, cert_id, origin, rule in wanted:
        for store in PHONE_TRUST_STORES:
            if (cert.identity, store) in seen:
                continue
            seen.add((cert.identity, store))
            store_rule = rule if rule != "R4" or store is Store.CALLMANAGER_TRUST else "R5"
            out.append(
                RequiredCert(
                    cert=cert,
                    cluster=holder.name,
                    store=store,
                    rule="R11" if reverse else store_rule,
                    cert_id=cert_id,
                    origin=f"{origin} on cluster {issuer.name}",
                )
            )
    return out


def _itl_recovery_signers(issuer: ClusterFacts) -> list[tuple[CertRef, str, str, str]]:
    """R6: the ITLRecovery certificates that sign ``issuer``'s CTL and ITLs (12.0+). With one per cluster
    (12.5+), the cluster's; with one per node (before 12.5), the publisher's (it signs the CTL) and that
    of every TFTP node (each signs the ITL its node serves). Unreadable ones are left to ``preflight``."""
    if not issuer.version.at_least(12):
        return []
    if not issuer.itl_recovery_per_node:
        if issuer.itl_recovery is None:
            return []
        return [(issuer.itl_recovery, f"ITLRecovery-{issuer.name}", f"ITLRecovery of {issuer.name}", "R6")]
    publisher = issuer.publisher
    signers = [publisher] if publisher is not None else []
    signers += [n for n in issuer.tftp_nodes if n is not publisher]
    out: list[tuple[CertRef, str, str, str]] = []
    for node in signers:
        cert = issuer.itl_recovery_of(node.name)
        if cert is None:
            continue
        what = ", ".join(
            w for w, yes in (("the CTL", node is publisher), ("its ITL", node.runs(Service.TFTP))) if yes
        )
        out.append(
            (
                cert,
                issuer.itl_recovery_id(node.name),
                f"ITLRecovery of {node.name} (signs {what}; one per node before "
                f"{'.'.join(map(str, issuer.itl_recovery_cluster_wide_from))})",
                "R6",
            )
        )
    return out


def _diag(
    severity: Severity,
    rule: str,
    summary: str,
    *,
    address: str | None,
    fix: str | None,
    detail: str | None = None,
) -> Diagnostic:
    return Diagnostic(severity=severity, rule=rule, summary=summary, address=address, fix=fix, detail=detail)


def _is_8_or_9(version: CucmVersion) -> bool:
    return version.major in (8, 9)


def preflight(
    *,
    source: ClusterFacts,
    target: ClusterFacts,
    method: Method = Method.MANUAL,
    bulk: BulkSetup | None = None,
) -> list[Diagnostic]:
    """Conditions checked before anything changes: R1 (target serves valid CTL/ITL; identity facts
    readable), R2 (rollback parameter), R3 (reachability), R9 (bulk setup), R10 (CSCuy43181)."""
    out: list[Diagnostic] = []
    if source.rollback_to_pre8 is True:
        out.append(
            _diag(
                Severity.ERROR,
                "R2",
                f"'{ROLLBACK_PARAMETER}' is True on the secure source cluster {source.name}",
                address=f"param.{source.name}.{ROLLBACK_ALIAS}",
                detail="It blanks the phones' ITL but not their CTL: phones can no longer authenticate the "
                "source TVS, so they reject the target's CTL and stay behind.",
                fix=f"set '{ROLLBACK_PARAMETER}' to False on {source.name} and let phones reload their ITL",
            )
        )
    elif source.rollback_to_pre8 is None:
        out.append(
            _diag(
                Severity.WARNING,
                "R2",
                f"could not read '{ROLLBACK_PARAMETER}' on {source.name}",
                address=f"param.{source.name}.{ROLLBACK_ALIAS}",
                fix="check the enterprise parameter by hand",
            )
        )
    if not target.mixed_mode:
        out.append(
            _diag(
                Severity.ERROR,
                "R1",
                f"target cluster {target.name} is not in mixed mode, so it serves no CTL",
                address=f"cluster.{target.name}",
                fix=f"run 'utils ctl set-cluster mixed-mode' on {target.name}",
            )
        )
    if not target.tftp_nodes:
        out.append(
            _diag(
                Severity.ERROR,
                "R1",
                f"no node of target cluster {target.name} runs Cisco Tftp",
                address=f"cluster.{target.name}",
                fix="activate Cisco Tftp on the target's TFTP nodes",
            )
        )
    for node in target.tftp_nodes:
        for what, valid in (("CTL", node.ctl_valid), ("ITL", node.itl_valid)):
            if valid is False:
                out.append(
                    _diag(
                        Severity.ERROR,
                        "R1",
                        f"TFTP node {node.name} of {target.name} serves no valid {what}",
                        address=f"tftp.{target.name}.{node.name}",
                        fix=f"fix the {what} on {node.name} (utils ctl update CTLFile; restart Cisco Tftp)",
                    )
                )
        if node.callmanager is None:
            out.append(
                _diag(
                    Severity.ERROR,
                    "R4",
                    f"the CallManager certificate of TFTP node {node.name} ({target.name}) could not be read",
                    address=f"node.{target.name}.{node.name}",
                    fix=f"make {node.name} reachable for certificate reads (certmgr REST or CLI)",
                )
            )
    if target.version.at_least(12) and target.itl_recovery is None:
        out.append(
            _diag(
                Severity.ERROR,
                "R6",
                f"the ITLRecovery certificate of {target.name} ({target.version}) could "
                "not be read; it signs the target's CTL and ITL",
                address=f"cluster.{target.name}",
                fix=f"read ITLRecovery from the publisher of {target.name}",
            )
        )
    if target.itl_recovery_per_node:
        pub = target.publisher
        for node in target.tftp_nodes:
            if node is not pub and target.itl_recovery_of(node.name) is None:
                out.append(
                    _diag(
                        Severity.ERROR,
                        "R6",
                        f"the ITLRecovery certificate of TFTP node {node.name} ({target.name}, "
                        f"{target.version}: one per node) could not be read; it signs {node.name}'s ITL",
                        address=f"node.{target.name}.{node.name}",
                        fix=f"make {node.name} reachable for certificate reads (certmgr REST or CLI)",
                    )
                )
    out.extend(_reachability(source, target))
    if method is Method.BULK:
        out.extend(_bulk_checks(source, target, bulk))
    return out


def _reachability(source: ClusterFacts, target: ClusterFacts) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    tvs = source.tvs_nodes
    down = [n.name for n in tvs if not n.reachable]
    if not tvs:
        out.append(
            _diag(
                Severity.ERROR,
                "R3",
                f"no node of source cluster {source.name} runs {_TVS_SERVICE}",
                address=f"cluster.{source.name}",
                fix=f"activate {_TVS_SERVICE} on the source nodes",
            )
        )
    elif len(down) == len(tvs):
        out.append(
            _diag(
                Severity.ERROR,
                "R3",
                f"no TVS node of {source.name} is reachable ({', '.join(down)})",
                address=f"cluster.{source.name}",
                fix="restore reachability: phones need the source TVS to move",
            )
        )
    elif down:
        out.append(
            _diag(
                Severity.WARNING,
                "R3",
                f"TVS nodes of {source.name} unreachable: {', '.join(down)}",
                address=f"cluster.{source.name}",
                fix="phones asking these TVS servers first may fail to move",
            )
        )
    for node in target.tftp_nodes:
        if not node.reachable:
            out.append(
                _diag(
                    Severity.ERROR,
                    "R3",
                    f"TFTP node {node.name} of target {target.name} is unreachable",
                    address=f"tftp.{target.name}.{node.name}",
                    fix="restore reachability before switching option 150",
                )
            )
    return out


def _bulk_checks(source: ClusterFacts, target: ClusterFacts, bulk: BulkSetup | None) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    setup = bulk or BulkSetup()
    for cluster, location in ((source, setup.source), (target, setup.target)):
        if location is None:
            out.append(
                _diag(
                    Severity.ERROR,
                    "R9",
                    f"no bulk SFTP location configured for {cluster.name}",
                    address=f"bulk.{cluster.name}.sftp",
                    fix="configure 'set cert bulk sftp' on its publisher",
                )
            )
    if setup.source is not None and setup.target is not None and setup.source != setup.target:
        out.append(
            _diag(
                Severity.ERROR,
                "R9",
                "both clusters must export to the same SFTP server and directory",
                address=f"bulk.{source.name}.sftp",
                detail=f"{source.name}: {setup.source.host}:{setup.source.directory}; "
                f"{target.name}: {setup.target.host}:{setup.target.directory}",
                fix="use one SFTP server and one directory for both exports",
            )
        )
    if len(setup.consolidate_on) != 1 or setup.consolidate_on[0] not in (source.name, target.name):
        out.append(
            _diag(
                Severity.ERROR,
                "R9",
                "consolidation must run on exactly one of the two clusters "
                f"(configured: {', '.join(setup.consolidate_on) or 'none'})",
                address=f"bulk.{source.name}.consolidate",
                fix=f"consolidate on {target.name} or {source.name}, once",
            )
        )
    versions = (source.version, target.version)
    if any(_is_8_or_9(v) for v in versions) and any(v >= _CSCUY43181_FIXED_LINE for v in versions):
        out.append(
            _diag(
                Severity.WARNING,
                "R10",
                f"bulk certificate management between {source.version} and "
                f"{target.version} is affected by Cisco bug CSCuy43181",
                address=f"bulk.{source.name}.consolidate",
                fix="use method 2 (manual upload of each target CallManager/ITLRecovery certificate)",
            )
        )
    return out


def check_phone_itl(
    *, phone: str, itl: TrustList, source: ClusterFacts, tvs_nodes: Iterable[str] | None = None
) -> list[Diagnostic]:
    """R1 for one phone: its ITL must hold the certificates of the source TVS servers it will ask."""
    names = set(tvs_nodes) if tvs_nodes is not None else {n.name for n in source.tvs_nodes}
    nodes = [n for n in source.tvs_nodes if n.name in names]
    known = itl.identities_with(Role.TVS)
    missing = [n for n in nodes if n.tvs is None or n.tvs.identity not in known]
    if not missing:
        return []
    severity = Severity.ERROR if len(missing) == len(nodes) else Severity.WARNING
    names_missing = ", ".join(n.name for n in missing)
    return [
        _diag(
            severity,
            "R1",
            f"phone {phone}: ITL lacks the TVS certificate of {names_missing}",
            address=f"phone.{phone}",
            detail="the phone pins TVS servers against the TVS records of its ITL",
            fix="reset the phone on the source so that it downloads the current ITL before the move",
        )
    ]


def _trust_in_place(holder: ClusterFacts, required: Sequence[RequiredCert]) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    publisher = holder.publisher
    for req in required:
        if publisher is None or not publisher.holds(req.store, req.cert.identity):
            out.append(
                _diag(
                    Severity.ERROR,
                    req.rule,
                    f"{req.store.value} of {holder.name} lacks {req.cert.describe()}",
                    address=req.address,
                    detail=req.origin,
                    fix=f"upload it to {req.store.value} on the publisher "
                    f"{publisher.name if publisher else '?'} of {holder.name}",
                )
            )
            continue
        for node in holder.tvs_nodes:
            if node is not publisher and not node.holds(req.store, req.cert.identity):
                out.append(
                    _diag(
                        Severity.ERROR,
                        "R7" if req.rule != "R11" else "R11",
                        f"{req.cert.describe()} has not replicated to {req.store.value} on {node.name} yet",
                        address=req.address,
                        detail=req.origin,
                        fix=f"wait for replication to {node.name} before restarting its TVS",
                    )
                )
    return out


def rollback_readiness(
    *, source: ClusterFacts, target: ClusterFacts, severity: Severity = Severity.WARNING
) -> list[Diagnostic]:
    """R11: is the reverse trust in place? Empty when the source's certificates R11 requires are in the
    target's phone trust stores on its publisher and replicated to every TVS node (R7); otherwise
    findings (rule R11) saying plainly what is missing. Whether the target's TVS loaded them (R8) is
    not decided here from timestamps: ``reconciler.plan.rollback`` asks ``reconciler.plan.tvsfresh``,
    as the forward plan does (unknown is not fresh)."""
    found = _trust_in_place(target, required_trust(source=source, target=target, direction=Direction.REVERSE))
    return [
        Diagnostic(
            severity=severity,
            rule="R11",
            summary=f"rollback to {source.name} is not possible: {d.summary}",
            address=d.address,
            detail=d.detail,
            fix=d.fix,
        )
        for d in found
    ]
