"""The per-wave forecast: which phones will move and which will be stranded, and why.

Called by the planner with the **planned end state**: the source trust stores after the planned uploads,
and which source TVS nodes will have (re)started after them (R7, R8). Each phone of a wave boots as
docs/cucm-domain.md#boot-sequence describes — CTL, then ITL, then its configuration from the first target TFTP
node of its scope's planned option 150 — through the one boot sequence, ``reconciler.cucm.boot.boot``. Phones
with identical inputs (trust lists, CallManager group, TFTP node) are grouped, so 80,000 phones cost one
decision chain per distinct combination. Where the procedure (R4/R5) and the model disagree, the wave's
``notes`` say so. Pure: reads a ``LiveSnapshot`` only.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from reconciler.cucm.boot import ServedFiles, boot
from reconciler.cucm.certs import CertIdentity
from reconciler.cucm.facts import ClusterFacts, Store
from reconciler.cucm.tlv_format import Role
from reconciler.cucm.trust import FileKind, TrustList, TvsCache, TvsServer
from reconciler.live.protocol import PhoneFacts
from reconciler.live.refresh import DecodedFile, LiveSnapshot
from reconciler.plan.document import StrandedGroup, UnknownGroup, WaveForecast
from schemas.document import DesiredState

__all__ = [
    "ASSUMED",
    "BLANKED_ITL",
    "Outcome",
    "PlannedTrust",
    "forecast",
    "phone_trust_lists",
]

_EXAMPLES = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedTrust:
    """The source side after the plan: ``stores`` node -> store -> identities; ``fresh`` the TVS nodes
    whose cache will hold exactly those stores (known to have started after the last trust change, or
    restarted by the plan); ``loaded`` the TVS nodes not restarted whose cache is known to hold what
    their stores hold now; ``stale`` the TVS nodes known to have started before the last change. A TVS
    node in none of these has an unknown freshness (R8): its cache may or may not hold the
    ``uncertain`` identities its stores hold, and the forecast decides both ways — when they disagree,
    the phones are unknown."""

    stores: Mapping[str, Mapping[str, frozenset[CertIdentity]]]
    fresh: frozenset[str]
    loaded: frozenset[str] = frozenset()
    stale: frozenset[str] = frozenset()
    uncertain: frozenset[CertIdentity] = frozenset()


@dataclass(frozen=True, slots=True)
class Outcome:
    """One decided combination: moved; stranded (``rule`` and ``reason`` of the first rejection); or
    unknown (``unknown`` True, ``reason`` says what is missing)."""

    moved: bool
    rule: str | None
    reason: str
    unknown: bool = False


@dataclass(frozen=True, slots=True)
class _Servers:
    """A CallManager group's TVS servers as the phone will find them: ``low`` (non-fresh caches without
    the uncertain identities) and ``high`` (with them); equal unless a TVS freshness is unknown, named in
    ``unknown``."""

    low: tuple[TvsServer, ...]
    high: tuple[TvsServer, ...]
    unknown: tuple[str, ...]


def _tvs_servers(nodes: Sequence[str], source: ClusterFacts, planned: PlannedTrust) -> _Servers:
    low: list[TvsServer] = []
    high: list[TvsServer] = []
    unknown: list[str] = []
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
        live_cm, live_sast = node.store(Store.CALLMANAGER_TRUST), node.store(Store.PHONE_SAST_TRUST)
        loaded = TvsCache.from_stores(callmanager_trust=live_cm, phone_sast_trust=live_sast)
        without = TvsCache.from_stores(
            callmanager_trust=live_cm - planned.uncertain, phone_sast_trust=live_sast - planned.uncertain
        )
        if name in planned.fresh:
            pair = (now, now)
        elif name in planned.loaded:
            pair = (loaded, loaded)
        elif name in planned.stale:  # started before the last change: its cache lacks what came since (R8)
            pair = (without, without)
        else:  # unknown freshness: it may or may not have loaded what its stores hold now (R8)
            pair = (without, loaded)
            if planned.uncertain & (live_cm | live_sast):
                unknown.append(name)
        for out, cache in ((low, pair[0]), (high, pair[1])):
            out.append(
                TvsServer(
                    name=name,
                    certificate=node.tvs.identity,
                    cache=cache,
                    reachable=node.reachable,
                    stores=now,
                )
            )
    return _Servers(tuple(low), tuple(high), tuple(unknown))


_REJECTED = {FileKind.CTL: "CTL", FileKind.ITL: "ITL", FileKind.CONFIG: "configuration"}


def _boot(*, ctl: TrustList, itl: TrustList, tvs: tuple[TvsServer, ...], files: ServedFiles) -> Outcome:
    result = boot(ctl=ctl, itl=itl, tvs_servers=tvs, served=files)
    if result.missing:
        return Outcome(False, "R1", "the target TFTP node serves no valid CTL/ITL")
    if result.moved:
        return Outcome(True, None, "moves")
    last = result.decisions[-1]
    kind = (FileKind.CTL, FileKind.ITL, FileKind.CONFIG)[len(result.decisions) - 1]
    return Outcome(False, last.rule, f"{_REJECTED[kind]} rejected: {last.reason}")


def _decide(*, ctl: TrustList, itl: TrustList, servers: _Servers, files: ServedFiles, group: str) -> Outcome:
    low = _boot(ctl=ctl, itl=itl, tvs=servers.low, files=files)
    if servers.high != servers.low:
        high = _boot(ctl=ctl, itl=itl, tvs=servers.high, files=files)
        if high.moved != low.moved:
            names = ", ".join(servers.unknown)
            return Outcome(
                False,
                None,
                f"whether TVS {names} (CallManager group {group}) loaded the certificates now in its trust "
                "stores is not known: it is not known to have started after they arrived (R8)",
                unknown=True,
            )
    if not low.moved and low.rule in ("R3", "R8") and group not in low.reason:
        return Outcome(False, low.rule, f"{low.reason} (CallManager group {group})")
    return low


def forecast(
    *,
    state: DesiredState,
    snap: LiveSnapshot,
    planned: PlannedTrust,
    option150: Mapping[str, tuple[str, ...]],
    procedure_gaps: Sequence[str] = (),
    blanked_since: dt.datetime | None = None,
) -> list[WaveForecast]:
    """One ``WaveForecast`` per wave of ``state``, on the planned end state."""
    mig = state.migration
    source, target = snap.facts.get(mig.source), snap.facts.get(mig.target)
    target_decl = state.cluster(mig.target)
    if source is None or target is None or target_decl is None:
        return []
    host_to_node = {n.host: n.name for n in target_decl.nodes}
    target_files = {
        tnode: ServedFiles.of(ctl=tctl.file, itl=titl.file, callmanager=target.node(tnode).callmanager)
        for tnode, (tctl, titl) in snap.files.get(mig.target, {}).items()
    }
    src_files = snap.files.get(mig.source, {})
    first_tftp = source.tftp_nodes[0].name if source.tftp_nodes else None
    blanked = source.rollback_to_pre8 is True
    tvs_by_group: dict[str, _Servers] = {}
    decided: dict[tuple[object, ...], Outcome] = {}
    out: list[WaveForecast] = []
    for wave in mig.wave_list:
        phones = [p for s in wave.scopes for p in snap.phones.get(s, ())]
        already = 0
        stranded: Counter[tuple[str | None, str]] = Counter()
        unknown: Counter[str] = Counter()
        examples: dict[tuple[str | None, str], list[str]] = {}
        move = 0
        assumed = False
        before = len(decided)
        for phone in phones:
            reg = snap.registrations.get(phone.name)
            if reg is not None and reg.registered:
                already += 1
                continue
            addresses = option150.get(phone.scope, ())
            node = host_to_node.get(addresses[0]) if addresses else None
            lists: tuple[TrustList, TrustList] | str | Outcome = phone_trust_lists(
                phone, src_files, first_tftp, rollback_blanked=blanked
            )
            assumed = assumed or phone.ctl is None or phone.itl is None
            if lists == BLANKED_ITL:
                lists = _blanked(phone, src_files, first_tftp, snap, blanked_since)
            if isinstance(lists, Outcome):
                result = lists
            elif node is None or node not in target_files:
                result = Outcome(False, "R12", "its scope's option 150 names no TFTP node of the target")
            elif isinstance(lists, str):
                result = Outcome(False, None, lists, unknown=True)
            else:
                ctl, itl = lists
                group = phone.cm_group
                if group not in tvs_by_group:
                    members = snap.groups.get(mig.source, {}).get(group, ())
                    tvs_by_group[group] = _tvs_servers(members, source, planned)
                key = (ctl, itl, group, node)
                result = decided.get(key) or _decide(
                    ctl=ctl, itl=itl, servers=tvs_by_group[group], files=target_files[node], group=group
                )
                decided[key] = result
            if result.moved:
                move += 1
                continue
            k = (None if result.unknown else result.rule, result.reason)
            if result.unknown:
                unknown[result.reason] += 1
            else:
                stranded[k] += 1
            if len(examples.setdefault(k, [])) < _EXAMPLES:
                examples[k].append(phone.name)
        groups = tuple(
            StrandedGroup(rule=r, reason=why, phones=n, examples=tuple(examples[(r, why)]))
            for (r, why), n in sorted(stranded.items(), key=lambda kv: (-kv[1], kv[0][1]))
        )
        unknowns = tuple(
            UnknownGroup(missing=why, phones=n, examples=tuple(examples[(None, why)]))
            for why, n in sorted(unknown.items(), key=lambda kv: (-kv[1], kv[0]))
        )
        notes = _notes(move=move, stranded=groups, gaps=procedure_gaps, assumed=assumed)
        out.append(
            WaveForecast(
                wave=wave.name,
                scopes=tuple(wave.scopes),
                phones=len(phones),
                already=already,
                move=move,
                stranded=groups,
                unknown=unknowns,
                decisions=len(decided) - before,
                notes=notes,
            )
        )
    return out


BLANKED_ITL = (
    "whether these phones fetched the blanked ITL that the source serves while 'Prepare Cluster for "
    "Rollback to pre 8.0' is True cannot be known (a phone reloads its ITL only when it restarts on the "
    "source, and no CUCM interface shows which ITL a phone holds) (R2)"
)


KEPT_FULL_ITL = (
    "these phones last registered before 'Prepare Cluster for Rollback to pre 8.0' became True, so they "
    "kept their full ITL, but the source now serves the blanked one and the full ITL's content cannot be "
    "read (R2)"
)
BLANKED_AFTER = (
    "these phones registered on the source after 'Prepare Cluster for Rollback to pre 8.0' became True, "
    "so they fetched the blanked ITL and cannot authenticate the target's files (R2)"
)


def _blanked(
    phone: PhoneFacts,
    files: Mapping[str, tuple[DecodedFile, DecodedFile]],
    first_tftp: str | None,
    snap: LiveSnapshot,
    since: dt.datetime | None,
) -> tuple[TrustList, TrustList] | str | Outcome:
    """R2 with the rollback parameter True (docs/cucm-domain.md#the-rollback-parameter): a phone reloads
    its ITL only when it registers. Its last registration on the source (RisPort70 ``TimeStamp``) before
    the moment the parameter became True (known only from the state) → it kept its full ITL: forecast as
    usual; after → it holds the blanked ITL: stranded (R2). Either time unknown → unknown, never stranded."""
    reg = snap.source_registrations.get(phone.name)
    at = reg.timestamp if reg is not None and reg.registered else None
    if since is None or at is None:
        return BLANKED_ITL
    if at >= since:
        return Outcome(False, "R2", BLANKED_AFTER)
    lists = phone_trust_lists(phone, files, first_tftp, rollback_blanked=False)
    if isinstance(lists, tuple) and not lists[1].identities_with(Role.TFTP, Role.CCM_TFTP):
        return KEPT_FULL_ITL  # the full ITL is no longer served: its content cannot be read
    return lists


def phone_trust_lists(
    phone: PhoneFacts,
    files: Mapping[str, tuple[DecodedFile, DecodedFile]],
    first_tftp: str | None,
    *,
    rollback_blanked: bool = False,
) -> tuple[TrustList, TrustList] | str:
    """The phone's CTL and ITL: its own when known, else what its source TFTP node serves (the
    assumption R1 states). A string says what is missing when that cannot be known: the TFTP file is
    unreadable, or the source blanks its ITL (rollback parameter True) and the phone may not have
    fetched it yet. Unknown is never an empty list (an empty pair would mean "first use")."""
    if phone.ctl is not None and phone.itl is not None:
        return phone.ctl, phone.itl
    node = phone.tftp_node or first_tftp
    pair = files.get(node or "")
    if pair is None:
        return (
            f"the CTL/ITL of source TFTP node {node or '?'} could not be read, so these phones' trust "
            "lists are unknown (R1)"
        )
    if phone.itl is None and rollback_blanked:
        return BLANKED_ITL
    for held, decoded, what in ((phone.ctl, pair[0], "CTL"), (phone.itl, pair[1], "ITL")):
        if held is None and decoded.file is None:
            return (
                f"the {what} served by source TFTP node {node} could not be read ({decoded.problem}), "
                "so these phones' trust lists are unknown (R1)"
            )
    return phone.ctl or pair[0].trust, phone.itl or pair[1].trust


ASSUMED = (
    "R1: a phone's own CTL/ITL cannot be read through CUCM's interfaces; the forecast assumes each phone "
    "holds what its source TFTP node serves"
)


def _notes(
    *, move: int, stranded: tuple[StrandedGroup, ...], gaps: Sequence[str], assumed: bool
) -> tuple[str, ...]:
    notes = [ASSUMED] if assumed else []
    if gaps and move and not stranded:
        notes.append(
            "the procedure is not satisfied (" + "; ".join(gaps) + ") but the trust model forecasts these "
            "phones moving anyway; the plan enforces the procedure"
        )
    if not gaps and stranded:
        rules = ", ".join(sorted({g.rule or "?" for g in stranded}))
        notes.append(f"the procedure's trust is in place, yet the trust model strands phones ({rules})")
    return tuple(notes)
