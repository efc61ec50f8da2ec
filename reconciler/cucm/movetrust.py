"""The trust a move needs (R4, R5, R6; R11 in reverse) and whether the reverse trust is in place
(``rollback_readiness``, R11 with R7), as code over ``reconciler.cucm.facts``.

Called by the planner's checks (``reconciler.plan.checks``: what trust to establish), by drift
(``reconciler.plan.drift``), by ``plan --rollback`` (``reconciler.plan.rollback``) and by the scenario
tests. Pure functions; the checks that block a move are ``reconciler.cucm.rules``.

Public API (stable)::

    RequiredCert(cert, cluster, store, rule, cert_id, origin)      .address
    required_trust(*, source, target, direction=Direction.FORWARD) -> list[RequiredCert]   R4 R5 R6 / R11
    rollback_readiness(*, source, target, severity=WARNING) -> list[Diagnostic]     R11, R7 (plan --rollback)

Where the documented procedure and our trust model (``reconciler.cucm.trust``) differ, ``required_trust``
follows the model so the plan and the forecast agree: the target's ITLRecovery is required whenever the
target is 12.0+ (R6 names the <12 -> 12+ case; a 12+ -> 12+ move needs it for the same reason) — before
12.5 (``facts.ITLRECOVERY_CLUSTER_WIDE_FROM``) the publisher's and every TFTP node's own — and a pre-12
target's publisher CallManager certificate (the CTL signer) is required even if the publisher runs no TFTP.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reconciler.cucm.facts import CertRef, ClusterFacts, Direction, Service, Store
from reconciler.diagnostics import Diagnostic, Severity
from reconciler.vocabulary import PHONE_TRUST_STORES

__all__ = ["RequiredCert", "required_trust", "rollback_readiness"]


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


def _trust_in_place(holder: ClusterFacts, required: Sequence[RequiredCert]) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    publisher = holder.publisher
    for req in required:
        if publisher is None or not publisher.holds(req.store, req.cert.identity):
            out.append(
                Diagnostic(
                    severity=Severity.ERROR,
                    rule=req.rule,
                    summary=f"{req.store.value} of {holder.name} lacks {req.cert.describe()}",
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
                    Diagnostic(
                        severity=Severity.ERROR,
                        rule="R7" if req.rule != "R11" else "R11",
                        summary=(
                            f"{req.cert.describe()} has not replicated to {req.store.value} "
                            f"on {node.name} yet"
                        ),
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
