"""The planner's rule checks: declared trust against what the procedure requires, and preflight.

Called by ``reconciler.plan.planner``. ``coverage`` derives the required trust from live identities with
``reconciler.cucm.movetrust.required_trust`` (R4–R6; R11 in reverse when ``allow_rollback``) and reports
every required certificate the declaration misses as an ERROR naming the rule, the certificate and —
after the forecast, through ``with_stranded`` — how many phones would be stranded. ``preflight_all``
runs ``rules.preflight`` (R1–R3, R9, R10) with R2 refined by the declared value, checks that the source
TFTP nodes serve valid CTL/ITL files (R1) and the phones' ITLs against their TVS servers (R1, grouped).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace

from reconciler.config.desired import DesiredCert
from reconciler.cucm import rules
from reconciler.cucm.certs import CertIdentity
from reconciler.cucm.facts import ROLLBACK_PARAMETER, BulkSetup, ClusterFacts, Direction, SftpLocation
from reconciler.cucm.facts import Method as FactsMethod
from reconciler.cucm.movetrust import RequiredCert, required_trust
from reconciler.diagnostics import Diagnostic, Severity
from reconciler.live.refresh import LiveSnapshot
from reconciler.plan.document import WaveForecast
from reconciler.plan.forecast import ASSUMED, phone_trust_lists
from schemas.document import DesiredState
from schemas.migration import Method

__all__ = [
    "Coverage",
    "coverage",
    "forecast_verdict",
    "gap_summary",
    "preflight_all",
    "r1_honesty",
    "with_stranded",
]

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
    forward = required_trust(source=source, target=target)
    reverse = required_trust(source=source, target=target, direction=Direction.REVERSE)
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
            # R11 from live facts: the reverse trust is in the target's stores, or the bulk import puts
            # it there (and the plan restarts every target TVS not known fresh, tvsfresh)
            rollback_possible=bulk_needed
            or all(
                target.publisher is not None and target.publisher.holds(r.store, r.cert.identity)
                for r in reverse
            ),
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
) -> list[Diagnostic]:
    """Add to each forward coverage error how many phones the forecast strands on that certificate (the
    stranded groups whose reason names its serial): the same count the forecast shows. Reverse trust
    (R11) blocks only a rollback and never strands a phone; its errors say so."""
    by_address = {r.address: r for r in cover.missing}
    out = []
    for d in diags:
        req = by_address.get(d.address or "") if d.summary.startswith(_COVERAGE) else None
        if req is None:
            out.append(d)
            continue
        if req.rule == "R11":
            out.append(
                replace(
                    d,
                    summary=f"{d.summary}: rollback would not be possible (no phone is stranded by it)",
                    detail=f"{d.detail}; R11 concerns moving phones back only",
                )
            )
            continue
        serial = req.cert.identity.serial_hex
        hit = sum(g.phones for f in forecasts for g in f.stranded if serial in g.reason)
        out.append(
            replace(
                d,
                summary=f"{d.summary}: the forecast strands {hit} phones on it",
                detail=f"{d.detail}; the procedure ({req.rule}) requires it whatever the forecast says: "
                "a phone asks TVS about every signer it does not already trust",
            )
        )
    return out


_FIX = {
    "R1": "reset the phones on the source so that they load its current CTL/ITL, or fix the source TFTP "
    "files, before their wave",
    "R2": "set 'Prepare Cluster for Rollback to pre 8.0' False on the source and reset the phones there",
    "R3": "give the phones' CallManager group a reachable node running TVS (in their ITL) before the move",
    "R4": "declare the target certificate the reason names under trust (every TFTP node)",
    "R5": "declare the certificate in both CallManager-trust and Phone-SAST-trust",
    "R6": "declare the target's ITLRecovery (every TFTP node's before 12.5) in both stores",
    "R8": "let the plan restart TVS on that node (do not exclude tvs.* steps)",
    "R12": "point the scope's option 150 at a TFTP node of the target",
}


def forecast_verdict(
    diags: Sequence[Diagnostic],
    *,
    desired: DesiredState,
    forecasts: Sequence[WaveForecast],
    moving: Collection[str] | None = None,
) -> list[Diagnostic]:
    """The verdict follows the forecast: per wave, each group of stranded phones is an ERROR naming the
    rule, the cause, the count and the fix, unless the wave's ``max_stranded_share`` accepts the wave's
    stranded share (then a WARNING, and so are that wave's per-phone R1/R3 findings, which name the same
    phones). Phones the forecast cannot decide are a WARNING saying what is missing. Counts are the
    forecast's. Only waves in ``moving`` (default: all) are judged: a plan restricted by ``--target``/
    ``--exclude`` that leaves a wave's option 150, reset and gate out moves none of its phones.
    Returns ``diags`` with the verdict appended."""
    shares = {w.name: w.max_stranded_share for w in desired.migration.wave_list}
    accepted_waves = {
        f.wave
        for f in forecasts
        if f.stranded_count and f.stranded_count / (f.pending or 1) <= shares.get(f.wave, 0.0)
    }
    out: list[Diagnostic] = [
        replace(d, severity=Severity.WARNING)
        if d.severity is Severity.ERROR
        and (d.address or "").removeprefix("phones.") in accepted_waves
        and (d.address or "").startswith("phones.")
        else d
        for d in diags
    ]
    for f in forecasts:
        if moving is not None and f.wave not in moving:
            continue
        pending = f.pending
        accepted = f.wave in accepted_waves
        for g in f.stranded:
            out.append(
                Diagnostic(
                    severity=Severity.WARNING if accepted else Severity.ERROR,
                    rule=g.rule,
                    summary=f"wave {f.wave}: {g.phones} of {pending} phones still to move would be stranded "
                    f"({g.rule or '?'}): {g.reason}",
                    detail=f"e.g. {', '.join(g.examples)}; {f.stranded_count} stranded in this wave in total"
                    + (
                        f", within its max_stranded_share {shares.get(f.wave, 0.0):g}"
                        if accepted
                        else f", more than its max_stranded_share {shares.get(f.wave, 0.0):g}"
                    ),
                    address=f"wave.{f.wave}",
                    fix=_FIX.get(g.rule or "", "see the reason")
                    + ("" if accepted else "; or raise the wave's max_stranded_share to accept them"),
                )
            )
        for u in f.unknown:
            out.append(
                Diagnostic(
                    severity=Severity.WARNING,
                    rule=m.group(1) if (m := _RULE_AT_END.search(u.missing)) else "R1",
                    summary=f"wave {f.wave}: the outcome of {u.phones} of {pending} phones still to move is "
                    f"unknown: {u.missing}",
                    detail=f"e.g. {', '.join(u.examples)}; counted neither as moving nor as stranded",
                    address=f"wave.{f.wave}",
                    fix="make the missing input known (see above), or move these phones in a small pilot "
                    "wave first",
                )
            )
    return out


_PILOT = 50
_RULE_AT_END = re.compile(r"\((R\d+)\)$")


def r1_honesty(*, forecasts: Sequence[WaveForecast]) -> list[Diagnostic]:
    """R1: what the plan could not verify, and a pilot wave when the first wave is large."""
    out: list[Diagnostic] = []
    if any(ASSUMED in f.notes for f in forecasts):
        out.append(
            Diagnostic(
                severity=Severity.INFO,
                rule="R1",
                summary="not verified: which CTL/ITL each phone holds",
                detail="no CUCM interface shows a phone's own trust lists; the forecast assumes each phone "
                "holds what its source TFTP node serves (a phone that missed an ITL update, or was "
                "reset elsewhere, may hold another)",
                fix="start with a small pilot wave; the wave gate (R13) stops the migration if phones stay",
            )
        )
    first = forecasts[0] if forecasts else None
    if first is not None and first.pending > _PILOT:
        out.append(
            Diagnostic(
                severity=Severity.INFO,
                rule="R1",
                summary=f"the first wave {first.wave} moves {first.pending} phones at once",
                fix=f"consider a pilot wave of a few phones (at most {_PILOT}) before it: its gate shows "
                "whether the assumptions above hold at little cost",
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
                f"{source.name}: the forecast counts the phones that may hold the blanked ITL as unknown",
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
    """R1 per phone, decided once per distinct (ITL, CallManager group) and reported per wave: an error
    when no TVS of the phone's group is pinned by its ITL, a warning when only some are. R3 per group:
    phones whose CallManager group has no reachable TVS node cannot ask anyone (an error naming the
    group and the phone count). Phones whose trust lists are unknown are the forecast's "unknown"."""
    files = snap.files.get(source.name, {})
    first = source.tftp_nodes[0].name if source.tftp_nodes else None
    groups = snap.groups.get(source.name, {})
    seen: dict[tuple[object, str], list[Diagnostic]] = {}
    out: list[Diagnostic] = []
    for wave in desired.migration.wave_list:
        counts: Counter[str] = Counter()
        sample: dict[str, tuple[Diagnostic, str]] = {}
        no_tvs: Counter[str] = Counter()
        for scope in wave.scopes:
            for phone in snap.phones.get(scope, ()):
                reg = snap.registrations.get(phone.name)
                if reg is not None and reg.registered:
                    continue
                members = groups.get(phone.cm_group, ())
                tvs = [n for n in source.tvs_nodes if n.name in members and n.reachable and n.tvs]
                if not tvs:
                    no_tvs[phone.cm_group] += 1
                    continue
                lists = phone_trust_lists(
                    phone, files, first, rollback_blanked=source.rollback_to_pre8 is True
                )
                if isinstance(lists, str):
                    continue
                key = (lists[1], phone.cm_group)
                if key not in seen:
                    seen[key] = rules.check_phone_itl(
                        phone="?", itl=lists[1], source=source, tvs_nodes=members
                    )
                for d in seen[key]:
                    text = d.summary.split(": ", 1)[-1]
                    counts[text] += 1
                    sample.setdefault(text, (d, phone.name))
        for group, n in sorted(no_tvs.items()):
            out.append(
                Diagnostic(
                    severity=Severity.ERROR,
                    rule="R3",
                    summary=f"{n} phones of wave {wave.name} are in CallManager group {group} of "
                    f"{source.name}, which has no reachable node running TVS: no TVS can vouch for the "
                    "target's files, so they would be stranded",
                    address=f"phones.{wave.name}",
                    fix=f"add a node running Cisco Trust Verification Service to {group} (and let the "
                    "phones load the new ITL by a reset on the source), or move these phones to a "
                    "group with a TVS first",
                )
            )
        for text, n in counts.items():
            d, example = sample[text]
            out.append(
                replace(
                    d,
                    summary=f"{n} phones of wave {wave.name} (e.g. {example}): {text}",
                    address=f"phones.{wave.name}",
                )
            )
    return out
