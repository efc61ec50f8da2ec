"""The procedure rules that block a move (R1–R3, R9, R10; docs/cucm-domain.md#procedure-rules) as code
over ``reconciler.cucm.facts``.

Called by the planner's checks (what blocks the move), by ``validate``/``drift`` and by
the scenario tests. Pure functions; findings are ``reconciler.diagnostics.Diagnostic`` values carrying the
rule id, an address (docs/architecture.md#resources-and-addresses: ``trust.<cluster>.<store>.<cert-id>``,
``tvs.<cluster>.<node>``, ``param.<cluster>.<name>``, ``bulk.<cluster>.<step>``, ``tftp.<cluster>.<node>``),
the certificate and a fix.

Public API (stable)::

    preflight(*, source, target, method=Method.MANUAL, bulk=None) -> list[Diagnostic]      R1 R2 R3 R9 R10
    check_phone_itl(*, phone, itl, source, tvs_nodes=None) -> list[Diagnostic]             R1 (per phone)

The trust a move needs (R4–R6, R11: ``required_trust``, ``RequiredCert``) and whether the reverse trust is
in place (``rollback_readiness``) are ``reconciler.cucm.movetrust``. Whether the required trust is in
place on live facts (R7 replication, R8 TVS freshness) is the planner's (``reconciler.plan.planner``,
``reconciler.plan.tvsfresh``, ``reconciler.plan.drift``); the order, option 150 last (R12), is the plan
graph's (``reconciler.plan.graph``).
"""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.cucm.facts import (
    ROLLBACK_PARAMETER,
    BulkSetup,
    ClusterFacts,
    Method,
    Service,
)
from reconciler.cucm.tlv_format import Role
from reconciler.cucm.trust import TrustList
from reconciler.diagnostics import Diagnostic, Severity
from reconciler.vocabulary import ROLLBACK_ALIAS
from schemas.version import CucmVersion

__all__ = [
    "check_phone_itl",
    "preflight",
]

_TVS_SERVICE = Service.TVS.value
#: R10: CSCuy43181 affects bulk consolidation between 8.x/9.x and 10.5.2.13900-12 or newer.
_CSCUY43181_FIXED_LINE = CucmVersion("10.5.2.13900-12")


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
