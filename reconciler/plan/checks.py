"""The planner's rule checks: declared trust against what the procedure requires, and preflight.

Called by ``reconciler.plan.planner``. ``coverage`` derives the required trust from live identities with
``reconciler.cucm.rules.required_trust`` (R4–R6; R11 in reverse when ``allow_rollback``) and reports
every required certificate the declaration misses as an ERROR naming the rule, the certificate and —
after the forecast, through ``with_stranded`` — how many phones would be stranded. ``preflight_all``
runs ``rules.preflight`` (R1–R3, R9, R10) with R2 refined by the declared value, checks that the source
TFTP nodes serve valid CTL/ITL files (R1) and the phones' ITLs against their TVS servers (R1, grouped).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from reconciler.config.desired import DesiredCert
from reconciler.cucm import rules
from reconciler.cucm.certs import CertIdentity
from reconciler.cucm.facts import ROLLBACK_PARAMETER, BulkSetup, ClusterFacts, Direction, SftpLocation
from reconciler.cucm.facts import Method as FactsMethod
from reconciler.cucm.rules import RequiredCert
from reconciler.diagnostics import Diagnostic, Severity
from reconciler.live.refresh import LiveSnapshot
from reconciler.plan.document import WaveForecast
from reconciler.plan.forecast import phone_trust_lists
from schemas.document import DesiredState
from schemas.migration import Method

__all__ = ["Coverage", "coverage", "gap_summary", "preflight_all", "with_stranded"]

_COVERAGE = "declared trust misses"


@dataclass(frozen=True, slots=True, kw_only=True)
class Coverage:
    """What ``coverage`` found: diagnostics, the rule per required (cluster, store, identity), required
    identities per holder cluster, whether rollback is possible, whether bulk steps are needed, and
    the missing requirements (for the stranded count)."""

    diagnostics: tuple[Diagnostic, ...]
    rules: Mapping[tuple[str, str, CertIdentity], str]
    required: Mapping[str, frozenset[CertIdentity]]
    rollback_possible: bool
    bulk_needed: bool
    missing: tuple[RequiredCert, ...] = field(default=())
    bulk_imports: Mapping[str, tuple[tuple[str, CertIdentity], ...]] = field(default_factory=dict)


def coverage(
    *, desired: DesiredState, source: ClusterFacts, target: ClusterFacts, certs: Sequence[DesiredCert]
) -> Coverage:
    """Check the declaration against R4–R6 (and R11 when ``allow_rollback``)."""
    mig = desired.migration
    forward = rules.required_trust(source=source, target=target)
    reverse = rules.required_trust(source=source, target=target, direction=Direction.REVERSE)
    declared = {(c.cluster, c.store, c.cert.identity) for c in certs}
    wanted = forward + (reverse if mig.allow_rollback or mig.method is Method.BULK else [])
    rule_of = {(r.cluster, r.store.value, r.cert.identity): r.rule for r in wanted}
    required: dict[str, set[CertIdentity]] = {}
    for r in wanted:
        required.setdefault(r.cluster, set()).add(r.cert.identity)
    diags: list[Diagnostic] = []
    missing: list[RequiredCert] = []
    if mig.method is Method.BULK:
        bulk_needed = any(
            (pub := (source if r.cluster == source.name else target).publisher) is None
            or not pub.holds(r.store, r.cert.identity)
            for r in wanted
        )
        return Coverage(
            diagnostics=(),
            rules=rule_of,
            required={k: frozenset(v) for k, v in required.items()},
            rollback_possible=True,
            bulk_needed=bulk_needed,
            bulk_imports={
                c: tuple((r.store.value, r.cert.identity) for r in wanted if r.cluster == c)
                for c in (source.name, target.name)
            },
        )
    for r in wanted:
        if (r.cluster, r.store.value, r.cert.identity) in declared:
            continue
        missing.append(r)
        diags.append(
            Diagnostic(
                severity=Severity.ERROR,
                rule=r.rule,
                summary=f"{_COVERAGE} {r.origin} in {r.store.value} of {r.cluster}",
                address=r.address,
                detail=f"required certificate: {r.cert.describe()}",
                fix=f"declare it under trust: for cluster {r.cluster}, store {r.store.value}"
                + (" (every TFTP node: nodes: {role: tftp})" if r.rule in ("R4", "R5", "R11") else ""),
            )
        )
    reverse_missing = [r for r in reverse if (r.cluster, r.store.value, r.cert.identity) not in declared]
    possible = not reverse_missing
    if not mig.allow_rollback:
        diags.append(
            Diagnostic(
                severity=Severity.INFO,
                rule="R11",
                summary=f"rollback to {source.name} is {'possible' if possible else 'not possible'}: "
                + (
                    "reverse trust is declared"
                    if possible
                    else f"{len(reverse_missing)} reverse certificates are not declared in {target.name}"
                ),
                fix="set migration.allow_rollback: true to have the plan require and establish it",
            )
        )
    return Coverage(
        diagnostics=tuple(diags),
        rules=rule_of,
        required={k: frozenset(v) for k, v in required.items()},
        rollback_possible=possible,
        bulk_needed=False,
        missing=tuple(missing),
    )


def gap_summary(diagnostics: Sequence[Diagnostic]) -> tuple[str, ...]:
    """Short descriptions of the coverage errors (for the forecast's procedure-vs-model notes)."""
    return tuple(
        f"{d.rule}: {d.summary.removeprefix(_COVERAGE + ' ')}"
        for d in diagnostics
        if d.severity is Severity.ERROR and d.summary.startswith(_COVERAGE)
    )


def with_stranded(
    diags: list[Diagnostic],
    cover: Coverage,
    *,
    forecasts: Sequence[WaveForecast],
    snap: LiveSnapshot,
    option150: Mapping[str, tuple[str, ...]],
    desired: DesiredState,
) -> list[Diagnostic]:
    """Add to each coverage error how many phones it would strand: per the procedure, the phones still
    to move whose scope's option 150 names that TFTP node (every such phone for ITLRecovery or a CTL
    signer); and what the trust model forecasts."""
    target = desired.cluster(desired.migration.target)
    hosts = {n.name: n.host for n in target.nodes} if target else {}
    pending: Counter[str] = Counter()
    for scope, phones in snap.phones.items():
        pending[scope] = sum(
            1 for p in phones if not ((r := snap.registrations.get(p.name)) and r.registered)
        )
    wave_scopes = {s for w in desired.migration.waves for s in w.scopes}
    model = sum(f.stranded_count for f in forecasts)
    by_address = {r.address: r for r in cover.missing}
    out = []
    for d in diags:
        req = by_address.get(d.address or "") if d.summary.startswith(_COVERAGE) else None
        if req is None:
            out.append(d)
            continue
        host = hosts.get(req.cert_id)
        at_risk = sum(pending[s] for s in wave_scopes if host is None or host in option150.get(s, ()))
        out.append(
            replace(
                d,
                summary=f"{d.summary}: {at_risk} phones would be stranded",
                detail=f"{d.detail}; procedure {req.rule}: {at_risk} phones still to move depend on it; "
                f"trust model forecast: {model} stranded in total",
            )
        )
    return out


def preflight_all(
    *, desired: DesiredState, snap: LiveSnapshot, source: ClusterFacts, target: ClusterFacts
) -> list[Diagnostic]:
    mig = desired.migration
    bulk = None
    if mig.method is Method.BULK and mig.sftp is not None:
        where = SftpLocation(mig.sftp.host, mig.sftp.directory)
        bulk = BulkSetup(source=where, target=where, consolidate_on=(mig.consolidate_on or target.name,))
    method = FactsMethod.BULK if mig.method is Method.BULK else FactsMethod.MANUAL
    declared = desired.parameters.get(source.name)
    declared_rollback = declared.rollback_value() if declared else None
    out: list[Diagnostic] = []
    for found in rules.preflight(source=source, target=target, method=method, bulk=bulk):
        d = found
        if d.rule == "R2" and d.severity is Severity.ERROR and declared_rollback is False:
            d = replace(
                found,
                severity=Severity.WARNING,
                fix="the plan sets it to False first; phones reload their ITL only when reset on "
                f"{source.name}: the forecast shows who is stranded until then",
            )
        out.append(d)
    if declared_rollback is True:
        out.append(
            Diagnostic(
                severity=Severity.ERROR,
                rule="R2",
                summary=f"the declaration sets '{ROLLBACK_PARAMETER}' True on the secure source "
                f"{source.name}",
                detail="it blanks the phones' ITL but not their CTL: they can no longer reach the source TVS",
                address=f"param.{source.name}.{ROLLBACK_PARAMETER}",
                fix=f"declare parameters.{source.name}.prepare_cluster_for_rollback: false",
            )
        )
    for node, (ctl, itl) in snap.files.get(source.name, {}).items():
        for what, decoded in (("CTL", ctl), ("ITL", itl)):
            if decoded.file is None:
                out.append(
                    Diagnostic(
                        severity=Severity.ERROR,
                        rule="R1",
                        summary=f"source TFTP node {node} serves no valid {what}: {decoded.problem}",
                        address=f"tftp.{source.name}.{node}",
                        fix=f"fix the {what} on {node} before moving phones",
                    )
                )
    out.extend(_phone_itls(desired=desired, snap=snap, source=source))
    return out


def _phone_itls(*, desired: DesiredState, snap: LiveSnapshot, source: ClusterFacts) -> list[Diagnostic]:
    """R1 per phone, decided once per distinct (ITL, CallManager group) and reported per wave."""
    files = snap.files.get(source.name, {})
    first = source.tftp_nodes[0].name if source.tftp_nodes else None
    groups = snap.groups.get(source.name, {})
    seen: dict[tuple[object, str], list[Diagnostic]] = {}
    out: list[Diagnostic] = []
    for wave in desired.migration.waves:
        counts: Counter[str] = Counter()
        sample: dict[str, tuple[Diagnostic, str]] = {}
        for scope in wave.scopes:
            for phone in snap.phones.get(scope, ()):
                reg = snap.registrations.get(phone.name)
                if reg is not None and reg.registered:
                    continue
                _, itl = phone_trust_lists(phone, files, first)
                key = (itl, phone.cm_group)
                if key not in seen:
                    members = groups.get(phone.cm_group)
                    seen[key] = rules.check_phone_itl(phone="?", itl=itl, source=source, tvs_nodes=members)
                for d in seen[key]:
                    text = d.summary.split(": ", 1)[-1]
                    counts[text] += 1
                    sample.setdefault(text, (d, phone.name))
        for text, n in counts.items():
            d, example = sample[text]
            out.append(
                replace(
                    d,
                    severity=Severity.WARNING,
                    summary=f"{n} phones of wave {wave.name} (e.g. {example}): {text}",
                    address=f"phones.{wave.name}",
                )
            )
    return out
