"""The per-wave forecast: which phones will move and which will be stranded, and why.

Called by the planner with the **planned end state**: the source trust stores after the planned uploads,
and which source TVS nodes will have (re)started after them (R7, R8). Each phone of a wave boots as
docs/cucm-domain.md#boot-sequence describes — CTL, then ITL, then its configuration from the first target TFTP
node of its scope's planned option 150 — and every file goes through ``reconciler.cucm.trust.decide``. Phones
with identical inputs (trust lists, CallManager group, TFTP node) are grouped, so 80,000 phones cost one
decision chain per distinct combination. Where the procedure (R4/R5) and the model disagree, the wave's
``notes`` say so. Pure: reads a ``LiveSnapshot`` only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from reconciler.cucm.certs import CertIdentity
from reconciler.cucm.facts import ClusterFacts, Store
from reconciler.cucm.trust import FileKind, SignedFile, TrustList, TvsCache, TvsServer, decide
from reconciler.live.protocol import PhoneFacts
from reconciler.live.refresh import DecodedFile, LiveSnapshot
from reconciler.plan.document import StrandedGroup, WaveForecast
from schemas.document import DesiredState

__all__ = ["Outcome", "PlannedTrust", "TargetFiles", "forecast", "phone_trust_lists"]

_EXAMPLES = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedTrust:
    """The source side after the plan: ``stores`` node -> store -> identities; ``fresh`` the TVS nodes
    whose cache will hold exactly those stores (started after the last trust change, or restarted)."""

    stores: Mapping[str, Mapping[str, frozenset[CertIdentity]]]
    fresh: frozenset[str]


@dataclass(frozen=True, slots=True)
class Outcome:
    """One decided combination: moved, or the rule and reason of the first rejection."""

    moved: bool
    rule: str | None
    reason: str


def _tvs_servers(
    nodes: Sequence[str], source: ClusterFacts, planned: PlannedTrust, live_stores: bool
) -> tuple[TvsServer, ...]:
    out = []
    for name in nodes:
        try:
            node = source.node(name)
        except KeyError:
            continue
        if not node.runs("Cisco Trust Verification Service") or node.tvs is None:
            continue
        stores = planned.stores.get(name, {})
        now = TvsCache.from_stores(
            callmanager_trust=stores.get(Store.CALLMANAGER_TRUST.value, frozenset()),
            phone_sast_trust=stores.get(Store.PHONE_SAST_TRUST.value, frozenset()),
        )
        if name in planned.fresh:
            cache = now
        else:  # not restarted after the last change: its cache is what it loaded before (R8)
            cache = TvsCache.from_stores(
                callmanager_trust=node.store(Store.CALLMANAGER_TRUST) if live_stores else (),
                phone_sast_trust=node.store(Store.PHONE_SAST_TRUST) if live_stores else (),
            )
        out.append(
            TvsServer(
                name=name, certificate=node.tvs.identity, cache=cache, reachable=node.reachable, stores=now
            )
        )
    return tuple(out)


@dataclass(frozen=True, slots=True)
class TargetFiles:
    """What one target TFTP node serves, ready for the decision (``None`` fields: not valid)."""

    ctl: SignedFile | None
    itl: SignedFile | None
    config: SignedFile | None
    ctl_list: TrustList = field(default_factory=TrustList.empty)
    itl_list: TrustList = field(default_factory=TrustList.empty)


def _boot(*, ctl: TrustList, itl: TrustList, tvs: tuple[TvsServer, ...], files: TargetFiles) -> Outcome:
    if files.ctl is None or files.itl is None or files.config is None:
        return Outcome(False, "R1", "the target TFTP node serves no valid CTL/ITL")
    first = decide(ctl=ctl, itl=itl, tvs_servers=tvs, new_file=files.ctl)
    if not first.accepted:
        return Outcome(False, first.rule, f"CTL rejected: {first.reason}")
    second = decide(ctl=files.ctl_list, itl=itl, tvs_servers=tvs, new_file=files.itl)
    if not second.accepted:
        return Outcome(False, second.rule, f"ITL rejected: {second.reason}")
    third = decide(ctl=files.ctl_list, itl=files.itl_list, tvs_servers=tvs, new_file=files.config)
    if not third.accepted:
        return Outcome(False, third.rule, f"configuration rejected: {third.reason}")
    return Outcome(True, None, "moves")


def forecast(
    *,
    state: DesiredState,
    snap: LiveSnapshot,
    planned: PlannedTrust,
    option150: Mapping[str, tuple[str, ...]],
    procedure_gaps: Sequence[str] = (),
) -> list[WaveForecast]:
    """One ``WaveForecast`` per wave of ``state``, on the planned end state."""
    mig = state.migration
    source, target = snap.facts.get(mig.source), snap.facts.get(mig.target)
    target_decl = state.cluster(mig.target)
    if source is None or target is None or target_decl is None:
        return []
    host_to_node = {n.host: n.name for n in target_decl.nodes}
    target_files: dict[str, TargetFiles] = {}
    for tnode, (tctl, titl) in snap.files.get(mig.target, {}).items():
        cm = target.node(tnode).callmanager
        if tctl.file is None or titl.file is None or cm is None:
            target_files[tnode] = TargetFiles(None, None, None)
            continue
        target_files[tnode] = TargetFiles(
            SignedFile.from_tlv(tctl.file, kind=FileKind.CTL),
            SignedFile.from_tlv(titl.file, kind=FileKind.ITL),
            SignedFile(kind=FileKind.CONFIG, signer=cm.identity, signer_subject=cm.subject),
            TrustList.from_tlv(tctl.file),
            TrustList.from_tlv(titl.file),
        )
    src_files = snap.files.get(mig.source, {})
    first_tftp = source.tftp_nodes[0].name if source.tftp_nodes else None
    tvs_by_group: dict[str, tuple[TvsServer, ...]] = {}
    decided: dict[tuple[object, ...], Outcome] = {}
    out: list[WaveForecast] = []
    for wave in mig.waves:
        phones = [p for s in wave.scopes for p in snap.phones.get(s, ())]
        already = 0
        stranded: Counter[tuple[str | None, str]] = Counter()
        examples: dict[tuple[str | None, str], list[str]] = {}
        move = 0
        before = len(decided)
        for phone in phones:
            reg = snap.registrations.get(phone.name)
            if reg is not None and reg.registered:
                already += 1
                continue
            addresses = option150.get(phone.scope, ())
            node = host_to_node.get(addresses[0]) if addresses else None
            if node is None or node not in target_files:
                result = Outcome(False, "R12", "its scope's option 150 names no TFTP node of the target")
            else:
                ctl, itl = phone_trust_lists(phone, src_files, first_tftp)
                group = phone.cm_group
                if group not in tvs_by_group:
                    members = snap.groups.get(mig.source, {}).get(group, ())
                    tvs_by_group[group] = _tvs_servers(members, source, planned, live_stores=True)
                key = (ctl, itl, group, node)
                result = decided.get(key) or _boot(
                    ctl=ctl, itl=itl, tvs=tvs_by_group[group], files=target_files[node]
                )
                decided[key] = result
            if result.moved:
                move += 1
            else:
                k = (result.rule, result.reason)
                stranded[k] += 1
                if len(examples.setdefault(k, [])) < _EXAMPLES:
                    examples[k].append(phone.name)
        groups = tuple(
            StrandedGroup(rule=r, reason=why, phones=n, examples=tuple(examples[(r, why)]))
            for (r, why), n in sorted(stranded.items(), key=lambda kv: (-kv[1], kv[0][1]))
        )
        notes = _notes(move=move, stranded=groups, gaps=procedure_gaps)
        out.append(
            WaveForecast(
                wave=wave.name,
                scopes=tuple(wave.scopes),
                phones=len(phones),
                already=already,
                move=move,
                stranded=groups,
                decisions=len(decided) - before,
                notes=notes,
            )
        )
    return out


def phone_trust_lists(
    phone: PhoneFacts, files: Mapping[str, tuple[DecodedFile, DecodedFile]], first_tftp: str | None
) -> tuple[TrustList, TrustList]:
    if phone.ctl is not None and phone.itl is not None:
        return phone.ctl, phone.itl
    pair = files.get(phone.tftp_node or first_tftp or "")
    ctl = phone.ctl or (pair[0].trust if pair else TrustList.empty())
    itl = phone.itl or (pair[1].trust if pair else TrustList.empty())
    return ctl, itl


def _notes(*, move: int, stranded: tuple[StrandedGroup, ...], gaps: Sequence[str]) -> tuple[str, ...]:
    notes = []
    if gaps and move and not stranded:
        notes.append(
            "the procedure is not satisfied (" + "; ".join(gaps) + ") but the trust model forecasts these "
            "phones moving anyway; the plan enforces the procedure"
        )
    if not gaps and stranded:
        rules = ", ".join(sorted({g.rule or "?" for g in stranded}))
        notes.append(f"the procedure's trust is in place, yet the trust model strands phones ({rules})")
    return tuple(notes)
