"""Drift: a refresh-only comparison of live facts with the essence last applied and the declaration.

Called by ``reconciler drift`` (``detect``) and by the planner (``changed_outside``, the plan's "changed
outside reconciler" section). Never mutates: it reads through a ``LiveEstate`` only. Findings are
``Diagnostic`` values with a rule id and a fix:

* trust certificates declared but missing on the publisher (R4/R5/R6/R11) or not replicated to a TVS
  node (R7); certificates reconciler owns, no longer declared, still present (unexpected);
* a TVS that is stale, or whose freshness is unknown, for the certificates the move needs (R8,
  ``reconciler.plan.tvsfresh``);
* enterprise parameters differing from the declaration (R2 for the rollback parameter);
* option 150 differing from what reconciler last applied (R12);
* an identity certificate regenerated since the last apply (R14: the essence recorded its serial);
* identity certificates expiring within ``policy.cert_expiry_warning_days``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from reconciler.config.desired import DesiredCert, desired_parameters, resolve_trust
from reconciler.cucm.certs import CertIdentity, expires_within, load_certificate, not_valid_after
from reconciler.cucm.facts import ROLLBACK_PARAMETER, ClusterFacts, Direction
from reconciler.cucm.movetrust import required_trust
from reconciler.diagnostics import Diagnostic, Severity
from reconciler.errors import CertificateError
from reconciler.live.protocol import LiveEstate
from reconciler.live.refresh import LiveSnapshot, refresh
from reconciler.model import Action, Address, Change, freeze
from reconciler.plan.tvsfresh import tvs_freshness
from reconciler.state.store import StateSnapshot
from reconciler.vocabulary import TrustStore
from schemas.document import DesiredState

__all__ = [
    "DriftReport",
    "changed_outside",
    "detect",
    "findings",
    "required_rules",
    "trust_findings",
    "tvs_findings",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class DriftReport:
    """The result of one drift run: findings (empty = in sync) and what changed outside reconciler."""

    checked_at: str
    findings: tuple[Diagnostic, ...]
    changed: tuple[Change, ...]

    @property
    def drifted(self) -> bool:
        return bool(self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "checked_at": self.checked_at,
            "drifted": self.drifted,
            "findings": [d.as_dict() for d in self.findings],
            "changed_outside": [c.to_dict() for c in self.changed],
        }


def _identity_from(essence: object) -> CertIdentity | None:
    if not isinstance(essence, Mapping):
        return None
    serial, issuer = essence.get("serial"), essence.get("issuer")
    if not isinstance(serial, str) or not isinstance(issuer, str):
        return None
    return CertIdentity(int(serial, 16), issuer)


def changed_outside(*, snap: LiveSnapshot, state: StateSnapshot, desired: DesiredState) -> list[Change]:
    """Addresses whose live value differs from the essence reconciler last applied (not yet applied
    things are not drift). Trust: a certificate we added that is gone. Option 150 and parameters: a
    different value."""
    out: list[Change] = []
    scopes = {s.name: s.server for s in desired.dhcp.scopes}
    for key in sorted(state.essence):
        essence = state.essence[key]
        try:
            address = Address.parse(key)
        except ValueError:
            continue
        if address.kind == "trust":
            _, cluster, store, _cert = address.parts
            facts = snap.facts.get(cluster)
            ident = _identity_from(essence)
            pub = facts.publisher if facts else None
            if ident is not None and pub is not None and not pub.holds(store, ident):
                out.append(
                    Change(
                        address=address,
                        action=Action.DELETE,
                        before=freeze(essence),
                        after=None,
                        reason=f"removed from {store} of {cluster} outside reconciler",
                    )
                )
        elif address.kind == "option150":
            _, server, scope = address.parts
            live = snap.option150.get((server, scope)) if scopes.get(scope) == server else None
            if isinstance(essence, Mapping):  # the executor records {"tftp": [...]} (apply.bookkeeping)
                essence = essence.get("tftp")
            if live is not None and list(live) != essence:
                out.append(
                    Change(
                        address=address,
                        action=Action.UPDATE,
                        before=freeze(essence),
                        after=freeze(list(live)),
                        reason=f"option 150 of {scope} changed outside reconciler",
                    )
                )
        elif address.kind == "param":
            _, cluster, name = address.parts
            now = snap.params.get(cluster, {}).get(name)
            if isinstance(essence, Mapping):  # the executor records {"value": ...} (apply.bookkeeping)
                essence = essence.get("value")
            if now is not None and isinstance(essence, str) and now.lower() != essence.lower():
                out.append(
                    Change(
                        address=address,
                        action=Action.UPDATE,
                        before=freeze(essence),
                        after=freeze(now),
                        reason=f"parameter '{name}' of {cluster} changed outside reconciler",
                    )
                )
    return out


def _finding(
    rule: str | None, summary: str, *, address: str, fix: str, severity: Severity = Severity.ERROR
) -> Diagnostic:
    return Diagnostic(severity=severity, rule=rule, summary=summary, address=address, fix=fix)


def required_rules(*, source: ClusterFacts, target: ClusterFacts) -> dict[tuple[str, str, CertIdentity], str]:
    """The rule that requires each certificate of the move in (holder cluster, store): R4, R5, R6 forward,
    R11 for the reverse trust (``reconciler.cucm.movetrust.required_trust``)."""
    both = required_trust(source=source, target=target) + required_trust(
        source=source, target=target, direction=Direction.REVERSE
    )
    return {(r.cluster, r.store.value, r.cert.identity): r.rule for r in both}


def trust_findings(
    certs: Sequence[DesiredCert],
    facts: Mapping[str, ClusterFacts],
    *,
    rule_of: Mapping[tuple[str, str, CertIdentity], str] | None = None,
) -> list[Diagnostic]:
    """Declared certificates missing on their cluster's publisher (the rule ``rule_of`` names, from
    ``required_rules``; else R5 for Phone-SAST-trust, R4 otherwise) or not replicated to a TVS node (R7)."""
    out: list[Diagnostic] = []
    for cert in certs:
        holder = facts.get(cert.cluster)
        pub = holder.publisher if holder else None
        if holder is None or pub is None:
            continue
        if not pub.holds(cert.store, cert.cert.identity):
            fallback = "R5" if cert.store == TrustStore.PHONE_SAST_TRUST else "R4"
            out.append(
                _finding(
                    (rule_of or {}).get((cert.cluster, cert.store, cert.cert.identity), fallback),
                    f"{cert.store} of {cert.cluster} lacks {cert.origin}",
                    address=cert.address,
                    fix="run `reconciler plan` and `apply` to upload it again",
                )
            )
            continue
        for node in holder.tvs_nodes:
            if not node.holds(cert.store, cert.cert.identity):
                out.append(
                    _finding(
                        "R7",
                        f"{cert.origin} has not replicated to {cert.store} on {node.name}",
                        address=cert.address,
                        fix=f"check replication to {node.name}",
                    )
                )
    return out


def _tvs_findings(*, snap: LiveSnapshot, state: StateSnapshot, desired: DesiredState) -> list[Diagnostic]:
    mig = desired.migration
    source, target = snap.facts.get(mig.source), snap.facts.get(mig.target)
    if source is None or target is None:
        return []
    return tvs_findings(source=source, target=target, state=state)


def tvs_findings(*, source: ClusterFacts, target: ClusterFacts, state: StateSnapshot) -> list[Diagnostic]:
    """R8: a TVS that is stale, or whose freshness is unknown, with respect to the certificates the
    migration needs in its node's stores (``reconciler.plan.tvsfresh``)."""
    relevant = {
        source.name: {r.cert.identity for r in required_trust(source=source, target=target)},
        target.name: {
            r.cert.identity for r in required_trust(source=source, target=target, direction=Direction.REVERSE)
        },
    }
    out = []
    for facts in (source, target):
        for node in facts.tvs_nodes:
            fresh = tvs_freshness(cluster=facts.name, node=node, state=state, relevant=relevant[facts.name])
            if fresh.fresh:
                continue
            out.append(
                _finding(
                    "R8",
                    f"TVS on {node.name} ({facts.name}) is {fresh.state.value}: {fresh.reason}",
                    address=f"tvs.{facts.name}.{node.name}",
                    fix=f"restart Cisco Trust Verification Service on {node.name} (run plan and apply: "
                    "it schedules the rolling restart)",
                )
            )
    return out


def findings(
    *, snap: LiveSnapshot, state: StateSnapshot, desired: DesiredState, now: datetime | None = None
) -> list[Diagnostic]:
    """Every drift finding (see the module docstring)."""
    certs, problems = resolve_trust(desired, snap.facts, snap.pems)
    mig = desired.migration
    source, target = snap.facts.get(mig.source), snap.facts.get(mig.target)
    rule_of = required_rules(source=source, target=target) if source and target else None
    out = list(problems) + trust_findings(certs, snap.facts, rule_of=rule_of)
    declared = {c.address for c in certs}
    for owned in state.owned:
        facts = snap.facts.get(owned.cluster)
        ident = _identity_from(state.essence_of(owned.address))
        pub = facts.publisher if facts else None
        if owned.address not in declared and ident and pub and pub.holds(owned.store, ident):
            out.append(
                _finding(
                    None,
                    f"{owned.address} is owned by reconciler but no longer declared",
                    address=owned.address,
                    severity=Severity.WARNING,
                    fix="declare it again, or use mode: exact to have apply remove it",
                )
            )
    out.extend(_tvs_findings(snap=snap, state=state, desired=desired))
    for cluster, values in desired_parameters(desired).items():
        for name, value in values.items():
            now_value = snap.params.get(cluster, {}).get(name)
            if now_value is not None and now_value.lower() != value.lower():
                out.append(
                    _finding(
                        "R2" if name == ROLLBACK_PARAMETER else None,
                        f"parameter '{name}' of {cluster} is {now_value}, declared {value}",
                        address=f"param.{cluster}.{name}",
                        fix="run plan and apply",
                    )
                )
    for change in changed_outside(snap=snap, state=state, desired=desired):
        if change.address.kind == "option150":
            out.append(
                _finding(
                    "R12",
                    change.reason,
                    address=str(change.address),
                    fix="run plan and apply to restore it, or find who changed it",
                )
            )
    by_address = {c.address: c for c in certs}
    for key, essence in state.essence.items():
        if not key.startswith("trust.") or key not in by_address:
            continue
        was = _identity_from(essence)
        if was is not None and was != by_address[key].cert.identity:
            out.append(
                _finding(
                    "R14",
                    f"{by_address[key].origin} was regenerated since the last apply",
                    address=key,
                    fix="re-plan: the trust stores need the new certificate",
                )
            )
    out.extend(_expiry(snap, desired, now=now))
    return out


def _expiry(snap: LiveSnapshot, desired: DesiredState, *, now: datetime | None) -> list[Diagnostic]:
    days = desired.policy.cert_expiry_warning_days
    out = []
    for cluster, pems in snap.pems.items():
        for (node, kind), pem in sorted(pems.items()):
            try:
                cert = load_certificate(pem.encode())
            except CertificateError:
                continue
            if expires_within(cert, days=days, now=now):
                out.append(
                    _finding(
                        "R14",
                        f"{kind} certificate of {node} ({cluster}) expires "
                        f"{not_valid_after(cert):%Y-%m-%d}, within {days} days",
                        address=f"identity.{cluster}.{node}",
                        severity=Severity.WARNING,
                        fix="plan its renewal outside a migration window (R14)",
                    )
                )
    return out


def detect(
    *,
    desired: DesiredState,
    estate: LiveEstate,
    state: StateSnapshot,
    parallelism: int = 4,
    now: datetime | None = None,
) -> DriftReport:
    """Refresh only, then compare."""
    snap = refresh(desired, estate, parallelism=parallelism)
    when = now or datetime.now(UTC)
    return DriftReport(
        checked_at=when.replace(microsecond=0).isoformat(),
        findings=tuple(findings(snap=snap, state=state, desired=desired, now=when)),
        changed=tuple(changed_outside(snap=snap, state=state, desired=desired)),
    )
