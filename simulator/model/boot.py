"""What a phone does on reset, for a whole batch of phones at once, with decisions memoized.

Per phone (docs/cucm-domain.md#boot-sequence):

1. option 150 from the DHCP source of its scope (asked once per scope per batch);
2. CTL, then ITL, from the first reachable TFTP address (a node whose ``Cisco Tftp`` is Started);
3. each file (and then the configuration, signed by the TFTP node's CallManager certificate) is parsed
   with the lab's own reader and judged by the lab phone (``simulator.model.phonetrust.judge``: signature
   checked against the matching record of its current CTL/ITL or the certificate a TVS returned), asking
   the TVS servers of its *current* CallManager group (reachable = TVS Started; cache = as loaded at its
   last start, ``simulator.model.tvs``);
4. accepted files are installed; a rejected one is not (the phone keeps what it had);
5. if the configuration is accepted the phone takes it from the cluster that owns the TFTP node and
   registers to that cluster's CallManager group for its device pool; otherwise it keeps its cached
   configuration and registers to its current group — "registered to the old cluster, with a reason".

Everything that does not depend on the individual phone is computed once per batch: the outcome is a
function of (phone CTL object, phone ITL object, current cluster + group, TFTP node, the TVS answers the
phone still caches), so 80,000 phones resolve to a handful of distinct computations of the same
independent code. The procedure rule in a reason is the lab's reading of what the phone saw
(``rule_for``). Called by ``simulator.model.lab.Lab.reset_phones``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from reconciler.errors import ProviderError

from ..knobs import TrustKnobs
from ..labcerts import IdentityKind
from . import services as svc
from .cluster import Cluster, Node
from .dhcp import DhcpSource, Scope
from .labtlv import LabTlvFile
from .phones import Phone, RegStatus
from .phonetrust import ACCEPTS, Failure, FileUnderTest, PhoneTrust, TvsAnswer, TvsContact, Verdict, judge
from .trustfiles import ServedFile
from .truststore import CALLMANAGER_TRUST, PHONE_SAST_TRUST
from .tvs import key_of

__all__ = [
    "BootOutcome",
    "BootStats",
    "ModelTvs",
    "apply_outcome",
    "boot_phones",
    "decide_boot",
    "file_under_test",
    "register",
    "rule_for",
    "unregister",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class BootOutcome:
    """The shared result for one input combination."""

    ctl: ServedFile | None  # what the phone holds afterwards
    itl: ServedFile | None
    config_cluster: str | None  # cluster whose configuration the phone runs afterwards (None: unchanged)
    reason: str  # "" on a clean boot
    rule: str | None = None
    learned: tuple[tuple[tuple[bytes, str], TvsAnswer], ...] = ()  # TVS answers the phone may cache


@dataclass(frozen=True, slots=True, kw_only=True)
class BootStats:
    phones: int
    distinct_decisions: int
    registered: int


class ModelTvs(TvsContact):
    """A TVS server of the model, reached without a socket (large estates; the wire path uses the face)."""

    def __init__(self, cluster: Cluster, node: Node) -> None:
        self.name = node.name
        self._node = node
        self._up = node.runs(svc.TVS) and node.tvs_cache is not None

    def presented(self) -> tuple[bytes, str] | None:
        return key_of(self._node.identities[IdentityKind.TVS].cert) if self._up else None

    def query(self, signer: tuple[bytes, str]) -> TvsAnswer | None:
        cache = self._node.tvs_cache
        return TvsAnswer(*cache.answer(signer)) if self._up and cache is not None else None


def file_under_test(kind: str, parsed: LabTlvFile) -> FileUnderTest:
    return FileUnderTest(
        kind=kind, signer=parsed.signer_key, signer_name=parsed.signer_name, verifies=parsed.signature_ok
    )


class _Batch:
    """Per-batch caches (valid only while the lab lock is held and time does not move)."""

    def __init__(
        self,
        *,
        clusters: Mapping[str, Cluster],
        sources: Mapping[str, DhcpSource],
        scopes: Mapping[str, Scope],
        now: float,
        knobs: TrustKnobs,
    ) -> None:
        self.clusters = clusters
        self.sources = sources
        self.scopes = scopes
        self.now = now
        self.knobs = knobs
        self.by_ip: dict[str, tuple[Cluster, Node]] = {
            n.ip: (c, n) for c in clusters.values() for n in c.nodes.values()
        }
        self._opt150: dict[str, tuple[tuple[str, ...], str]] = {}
        self._tftp: dict[tuple[str, ...], tuple[Cluster, Node] | None] = {}
        self._tvs: dict[tuple[str, str], tuple[TvsContact, ...]] = {}
        self._config: dict[tuple[str, str], LabTlvFile] = {}
        self.memo: dict[tuple[object, ...], BootOutcome] = {}

    def option150(self, scope_name: str) -> tuple[tuple[str, ...], str]:
        """(addresses, error text) for a scope."""
        found = self._opt150.get(scope_name)
        if found is None:
            scope = self.scopes[scope_name]
            try:
                found = (tuple(self.sources[scope.source].option150(scope)), "")
            except ProviderError as exc:
                found = ((), f"DHCP source {scope.source} did not answer: {exc}")
            self._opt150[scope_name] = found
        return found

    def tftp(self, addresses: tuple[str, ...]) -> tuple[Cluster, Node] | None:
        if addresses not in self._tftp:
            chosen = None
            for address in addresses:
                hit = self.by_ip.get(address)
                if hit is not None and hit[1].runs(svc.TFTP):
                    chosen = hit
                    break
            self._tftp[addresses] = chosen
        return self._tftp[addresses]

    def tvs_servers(self, cluster: str, group: str) -> tuple[TvsContact, ...]:
        key = (cluster, group)
        found = self._tvs.get(key)
        if found is None:
            c = self.clusters[cluster]
            found = tuple(
                ModelTvs(c, c.nodes[n]) for n in c.cm_groups.get(group, ()) if c.nodes[n].has(svc.TVS)
            )
            self._tvs[key] = found
        return found

    def config(self, cluster: Cluster, node: Node) -> LabTlvFile:
        key = (cluster.name, node.name)
        if key not in self._config:
            self._config[key] = cluster.config_file(node.name, mac="", now=self.now)
        return self._config[key]


def rule_for(
    verdict: Verdict,
    *,
    kind: str,
    held_itl: ServedFile | None,
    clusters: Mapping[str, Cluster],
    cluster: str,
    group: str,
    now: float,
) -> tuple[str, str]:
    """The procedure rule (and an explanation) behind what the phone saw — the lab's reading, for
    RisPort70's reason; the phone itself only logs ``verdict.reason``."""
    f = verdict.failure
    if f is Failure.NO_TVS_IN_ITL:
        if held_itl is not None and held_itl.label == "rollback-empty":
            return "R2", " (the ITL was blanked by 'Prepare Cluster for Rollback to pre 8.0')"
        return "R1", ""
    if f in (Failure.NO_TVS_SERVER, Failure.TVS_UNREACHABLE):
        return "R3", ""
    if f in (Failure.TVS_NOT_PINNED, Failure.BAD_SIGNATURE):
        return "R1", ""
    if f is Failure.TVS_WRONG_ROLE:
        return "R5", " (the certificate must be in both CallManager-trust and Phone-SAST-trust)"
    signer = verdict.signer
    c = clusters[cluster]
    server = verdict.tvs
    if server is not None and server in c.nodes:
        wanted = ACCEPTS[kind][2]
        if c.store_cache(server).roles_of(signer) & wanted:
            early = _restarted_before_replication(c, server, signer)
            if early is not None:
                return "R7", f" ({early})"
            return (
                "R8",
                f" (TVS {server} started before its trust stores received it: its cache is stale until "
                "the service is restarted)",
            )
    return ("R6" if "ITLRECOVERY" in verdict.signer_name.upper() else "R4"), ""


def _restarted_before_replication(cluster: Cluster, server: str, signer: tuple[bytes, str]) -> str | None:
    """R7 rather than R8: TVS restarted *after* the signer reached the publisher but *before*
    replication delivered it to its own node."""
    loaded = cluster.nodes[server].tvs_loaded_at
    at_pub = _arrival(cluster, cluster.publisher.name, signer)
    at_node = _arrival(cluster, server, signer)
    if loaded is not None and at_pub is not None and at_node is not None and at_pub <= loaded < at_node:
        return (
            f"TVS {server} restarted at {loaded:.0f}, after the upload on the publisher "
            f"({at_pub:.0f}) but before replication reached {server} ({at_node:.0f})"
        )
    return None


def _arrival(cluster: Cluster, node: str, signer: tuple[bytes, str]) -> float | None:
    """When the signer's certificate arrived in ``node``'s CallManager-trust/Phone-SAST-trust (latest)."""
    times = [
        e.added_at
        for store in (CALLMANAGER_TRUST, PHONE_SAST_TRUST)
        for e in cluster.trust.node(node).entries(store)
        if key_of(e.view.cert) == signer
    ]
    return max(times) if times else None


def decide_boot(
    *,
    phone_ctl: ServedFile | None,
    phone_itl: ServedFile | None,
    served_ctl: ServedFile | None,
    served_itl: ServedFile,
    config: LabTlvFile,
    tvs: Sequence[TvsContact],
    knobs: TrustKnobs,
    where: str,
    keep: str,
    target: str,
    annotate: Callable[[Verdict, str, ServedFile | None], tuple[str, str]],
    remembered: Mapping[tuple[bytes, str], TvsAnswer] | None = None,
) -> BootOutcome:
    """The CTL → ITL → configuration sequence of one phone (or one class of identical phones).

    When any link is missing the phone keeps its old files, ignores the new configuration and does not
    move (docs/cucm-domain.md#why-phones-get-stuck): a rejected CTL stops the sequence, a rejected ITL too
    (a CTL installed before it stays installed)."""
    ctl, itl = phone_ctl, phone_itl
    learned: dict[tuple[bytes, str], TvsAnswer] = {}
    memory = dict(remembered or {})
    steps: list[tuple[str, str, ServedFile | None, LabTlvFile]] = []
    if served_ctl is not None and served_ctl is not ctl:
        steps.append(("CTL", "CTL", served_ctl, served_ctl.parsed))
    if served_itl is not itl:
        steps.append(("ITL", "ITL", served_itl, served_itl.parsed))
    steps.append(("config", "configuration SEP<MAC>.cnf.xml.sgn", None, config))
    for kind, what, served, parsed in steps:
        verdict = judge(
            phone=PhoneTrust(ctl.parsed if ctl else None, itl.parsed if itl else None),
            new=file_under_test(kind, parsed),
            tvs=tvs,
            knobs=knobs,
            remembered=memory if knobs.tvs_answer_cache_s > 0 else None,
        )
        if verdict.learned is not None and verdict.tvs != "(cached answer)":
            learned[verdict.learned[0]] = verdict.learned[1]
            memory[verdict.learned[0]] = verdict.learned[1]
        if not verdict.accepted:
            rule, note = annotate(verdict, kind, itl)
            return BootOutcome(
                ctl=ctl,
                itl=itl,
                config_cluster=None,
                rule=rule,
                learned=tuple(learned.items()),
                reason=f"{what} from {where} rejected [{rule}]: {verdict.reason}{note}{keep}",
            )
        if kind == "CTL":
            ctl = served
        elif kind == "ITL":
            itl = served
    return BootOutcome(ctl=ctl, itl=itl, config_cluster=target, reason="", learned=tuple(learned.items()))


def _decide_boot(phone: Phone, batch: _Batch, cluster: Cluster, node: Node) -> BootOutcome:
    itl_file, ctl_file = cluster.files(node.name, batch.now)

    def annotate(verdict: Verdict, kind: str, held: ServedFile | None) -> tuple[str, str]:
        return rule_for(
            verdict,
            kind=kind,
            held_itl=held,
            clusters=batch.clusters,
            cluster=phone.cluster,
            group=phone.cm_group,
            now=batch.now,
        )

    return decide_boot(
        phone_ctl=phone.ctl,
        phone_itl=phone.itl,
        served_ctl=ctl_file,
        served_itl=itl_file,
        config=batch.config(cluster, node),
        tvs=batch.tvs_servers(phone.cluster, phone.cm_group),
        knobs=batch.knobs,
        where=f"TFTP {node.name} ({cluster.name})",
        keep=f"; the phone keeps its configuration from cluster {phone.cluster}",
        target=cluster.name,
        annotate=annotate,
        remembered=phone.remembered(batch.now, batch.knobs.tvs_answer_cache_s),
    )


def boot_phones(
    phones: Sequence[Phone],
    *,
    clusters: Mapping[str, Cluster],
    sources: Mapping[str, DhcpSource],
    scopes: Mapping[str, Scope],
    now: float,
    on_moved: Callable[[Phone, str, str | None], None] | None = None,
    knobs: TrustKnobs | None = None,
) -> BootStats:
    """Reset ``phones`` now. Mutates each phone's files, cluster, group and registration fields."""
    batch = _Batch(clusters=clusters, sources=sources, scopes=scopes, now=now, knobs=knobs or TrustKnobs())
    registered = 0
    for phone in phones:
        addresses, dhcp_error = batch.option150(phone.scope)
        phone.timestamp = now
        phone.rule = None
        if dhcp_error:
            unregister(phone, dhcp_error)
            continue
        hit = batch.tftp(addresses)
        if hit is None:
            why = (
                "DHCP sent no option 150"
                if not addresses
                else f"no TFTP server reachable at {', '.join(addresses)}"
            )
            phone.tftp = None
            registered += register(phone, clusters, f"{why}; using the cached configuration")
            continue
        cluster, node = hit
        phone.tftp = node.ip
        memory = phone.remembered(now, batch.knobs.tvs_answer_cache_s)
        key = (phone.ctl, phone.itl, phone.cluster, phone.cm_group, node.name, tuple(sorted(memory.items())))
        outcome = batch.memo.get(key)
        if outcome is None:
            outcome = _decide_boot(phone, batch, cluster, node)
            batch.memo[key] = outcome
        registered += apply_outcome(phone, outcome, clusters=clusters, now=now, on_moved=on_moved)
    return BootStats(phones=len(phones), distinct_decisions=len(batch.memo), registered=registered)


def apply_outcome(
    phone: Phone,
    outcome: BootOutcome,
    *,
    clusters: Mapping[str, Cluster],
    now: float,
    on_moved: Callable[[Phone, str, str | None], None] | None = None,
) -> int:
    """Install what the phone accepted, move it when it took another cluster's configuration, and
    register it (1) or not (0). Shared by the model path and the wire path (``simulator.lab.wireboot``)."""
    phone.learn(outcome.learned, now)
    phone.ctl = outcome.ctl
    phone.itl = outcome.itl
    if outcome.config_cluster is not None and outcome.config_cluster != phone.cluster:
        old_cluster, old_node = phone.cluster, phone.node
        phone.cluster = outcome.config_cluster
        phone.cm_group = clusters[outcome.config_cluster].group_of(phone.device_pool)
        phone.left_cluster, phone.left_node, phone.left_at = old_cluster, old_node, now
        if on_moved is not None:
            on_moved(phone, old_cluster, old_node)
    phone.rule = outcome.rule
    return register(phone, clusters, outcome.reason)


def unregister(phone: Phone, reason: str) -> None:
    phone.status = RegStatus.UNREGISTERED
    phone.node = None
    phone.reason = reason


def callmanager_of(clusters: Mapping[str, Cluster], cluster: str, group: str) -> Node | None:
    """The first node of ``group`` whose CallManager is running (where the phone registers)."""
    c = clusters[cluster]
    return next((c.nodes[n] for n in c.cm_groups.get(group, ()) if c.nodes[n].runs(svc.CALLMANAGER)), None)


def register(phone: Phone, clusters: Mapping[str, Cluster], reason: str) -> int:
    node = callmanager_of(clusters, phone.cluster, phone.cm_group)
    if node is None:
        unregister(
            phone,
            "; ".join(
                filter(
                    None, [reason, f"no CallManager of group {phone.cm_group} ({phone.cluster}) is running"]
                )
            ),
        )
        return 0
    phone.status = RegStatus.REGISTERED
    phone.node = node.name
    phone.reason = reason
    return 1
