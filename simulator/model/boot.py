"""What a phone does on reset, for a whole batch of phones at once, with decisions memoized.

Per phone (docs/cucm-domain.md#boot-sequence):

1. option 150 from the DHCP source of its scope (asked once per scope per batch);
2. CTL, then ITL, from the first reachable TFTP address (a node whose ``Cisco Tftp`` is Started);
3. each file (and then the configuration, signed by the TFTP node's CallManager certificate) is judged
   by ``reconciler.cucm.trust.decide`` against the phone's current CTL/ITL, asking the TVS servers of its
   *current* CallManager group (reachable = TVS Started; cache = as loaded at its last start);
4. accepted files are installed; a rejected one is not (the phone keeps what it had);
5. if the configuration is accepted the phone takes it from the cluster that owns the TFTP node and
   registers to that cluster's CallManager group for its device pool; otherwise it keeps its cached
   configuration and registers to its current group — "registered to the old cluster, with a reason".

Everything that does not depend on the individual phone is computed once per batch: the outcome is a
function of (phone CTL object, phone ITL object, current cluster + group, TFTP node), so 80,000 phones
resolve to a handful of distinct computations. Called by ``simulator.model.lab.Lab.reset_phones``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from reconciler.cucm.certs import IdentityKind, identity_of, subject_of
from reconciler.cucm.trust import Decision, FileKind, SignedFile, TrustList, TvsCache, TvsServer, decide
from reconciler.errors import ProviderError

from . import services as svc
from .cluster import Cluster, Node
from .dhcp import DhcpSource, Scope
from .phones import Phone, RegStatus
from .trustfiles import ServedFile
from .truststore import CALLMANAGER_TRUST, PHONE_SAST_TRUST

__all__ = ["BootOutcome", "BootStats", "boot_phones"]

_EMPTY = TrustList.empty()


@dataclass(frozen=True, slots=True, kw_only=True)
class BootOutcome:
    """The shared result for one input combination."""

    ctl: ServedFile | None  # what the phone holds afterwards
    itl: ServedFile | None
    config_cluster: str | None  # cluster whose configuration the phone runs afterwards (None: unchanged)
    reason: str  # "" on a clean boot
    rule: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BootStats:
    phones: int
    distinct_decisions: int
    registered: int


def _trust(file: ServedFile | None) -> TrustList:
    return file.trust if file is not None else _EMPTY


class _Batch:
    """Per-batch caches (valid only while the lab lock is held and time does not move)."""

    def __init__(
        self,
        *,
        clusters: Mapping[str, Cluster],
        sources: Mapping[str, DhcpSource],
        scopes: Mapping[str, Scope],
        now: float,
    ) -> None:
        self.clusters = clusters
        self.sources = sources
        self.scopes = scopes
        self.now = now
        self.by_ip: dict[str, tuple[Cluster, Node]] = {
            n.ip: (c, n) for c in clusters.values() for n in c.nodes.values()
        }
        self._opt150: dict[str, tuple[tuple[str, ...], str]] = {}
        self._tftp: dict[tuple[str, ...], tuple[Cluster, Node] | None] = {}
        self._tvs: dict[tuple[str, str], tuple[TvsServer, ...]] = {}
        self._cm: dict[tuple[str, str], Node | None] = {}
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

    def tvs_servers(self, cluster: str, group: str) -> tuple[TvsServer, ...]:
        key = (cluster, group)
        found = self._tvs.get(key)
        if found is None:
            c = self.clusters[cluster]
            servers = []
            for name in c.cm_groups.get(group, ()):
                node = c.nodes[name]
                if not node.has(svc.TVS):
                    continue
                cert = node.identities[IdentityKind.TVS].cert
                loaded = node.tvs_cache
                servers.append(
                    TvsServer(
                        name=name,
                        certificate=identity_of(cert),
                        cache=loaded if loaded is not None else TvsCache(),
                        reachable=node.runs(svc.TVS) and loaded is not None,
                        stores=c.store_cache(name),
                    )
                )
            found = tuple(servers)
            self._tvs[key] = found
        return found

    def callmanager(self, cluster: str, group: str) -> Node | None:
        key = (cluster, group)
        if key not in self._cm:
            c = self.clusters[cluster]
            self._cm[key] = next(
                (c.nodes[n] for n in c.cm_groups.get(group, ()) if c.nodes[n].runs(svc.CALLMANAGER)), None
            )
        return self._cm[key]


def _step(
    *, ctl: ServedFile | None, itl: ServedFile | None, tvs: tuple[TvsServer, ...], new: SignedFile
) -> Decision:
    return decide(ctl=_trust(ctl), itl=_trust(itl), tvs_servers=tvs, new_file=new)


def _rejected(
    what: str,
    *,
    where: str,
    keep: str,
    d: Decision,
    ctl: ServedFile | None,
    itl: ServedFile | None,
    batch: _Batch,
    phone: Phone,
    signed: SignedFile,
) -> BootOutcome:
    rule, note = d.rule, ""
    if d.rule == "R8":
        early = _restarted_before_replication(batch, phone, signed)
        if early is not None:
            rule, note = "R7", f" ({early})"
    reason = f"{what} from {where} rejected [{rule}]: {d.reason}{note}{keep}"
    return BootOutcome(ctl=ctl, itl=itl, config_cluster=None, reason=reason, rule=rule)


def _restarted_before_replication(batch: _Batch, phone: Phone, signed: SignedFile) -> str | None:
    """R7 rather than R8: the first answering TVS of the group restarted *after* the signer reached the
    publisher but *before* replication delivered it to its own node."""
    cluster = batch.clusters[phone.cluster]
    for server in batch.tvs_servers(phone.cluster, phone.cm_group):
        if not server.reachable:
            continue
        loaded = cluster.nodes[server.name].tvs_loaded_at
        at_pub = _arrival(cluster, cluster.publisher.name, signed)
        at_node = _arrival(cluster, server.name, signed)
        if loaded is not None and at_pub is not None and at_node is not None and at_pub <= loaded < at_node:
            return (
                f"TVS {server.name} restarted at {loaded:.0f}, after the upload on the publisher "
                f"({at_pub:.0f}) but before replication reached {server.name} ({at_node:.0f})"
            )
        return None
    return None


def _arrival(cluster: Cluster, node: str, signed: SignedFile) -> float | None:
    """When the signer's certificate arrived in ``node``'s CallManager-trust/Phone-SAST-trust (latest)."""
    times = [
        e.added_at
        for store in (CALLMANAGER_TRUST, PHONE_SAST_TRUST)
        for e in cluster.trust.node(node).entries(store)
        if e.view.identity == signed.signer
    ]
    return max(times) if times else None


def _decide_boot(phone: Phone, batch: _Batch, cluster: Cluster, node: Node) -> BootOutcome:
    """The full CTL → ITL → configuration sequence for one input combination.

    When any link is missing the phone keeps its old files, ignores the new configuration and does not
    move (docs/cucm-domain.md#why-phones-get-stuck) — a rejected CTL stops the sequence; a rejected ITL too (a
    CTL installed before it stays installed).
    """
    itl_file, ctl_file = cluster.files(node.name, batch.now)
    tvs = batch.tvs_servers(phone.cluster, phone.cm_group)
    where = f"TFTP {node.name} ({cluster.name})"
    keep = f"; the phone keeps its configuration from cluster {phone.cluster}"
    ctl, itl = phone.ctl, phone.itl
    if ctl_file is not None and ctl_file is not ctl:
        d = _step(ctl=ctl, itl=itl, tvs=tvs, new=ctl_file.signed)
        if not d.accepted:
            return _rejected(
                "CTL",
                where=where,
                keep=keep,
                d=d,
                ctl=ctl,
                itl=itl,
                batch=batch,
                phone=phone,
                signed=ctl_file.signed,
            )
        ctl = ctl_file
    if itl_file is not itl:
        d = _step(ctl=ctl, itl=itl, tvs=tvs, new=itl_file.signed)
        if not d.accepted:
            return _rejected(
                "ITL",
                where=where,
                keep=keep,
                d=d,
                ctl=ctl,
                itl=itl,
                batch=batch,
                phone=phone,
                signed=itl_file.signed,
            )
        itl = itl_file
    cm_cert = node.identities[IdentityKind.CALLMANAGER].cert
    config = SignedFile(kind=FileKind.CONFIG, signer=identity_of(cm_cert), signer_subject=subject_of(cm_cert))
    d = _step(ctl=ctl, itl=itl, tvs=tvs, new=config)
    if not d.accepted:
        return _rejected(
            "configuration SEP<MAC>.cnf.xml.sgn",
            where=where,
            keep=keep,
            d=d,
            ctl=ctl,
            itl=itl,
            batch=batch,
            phone=phone,
            signed=config,
        )
    return BootOutcome(ctl=ctl, itl=itl, config_cluster=cluster.name, reason="")


def boot_phones(
    phones: Sequence[Phone],
    *,
    clusters: Mapping[str, Cluster],
    sources: Mapping[str, DhcpSource],
    scopes: Mapping[str, Scope],
    now: float,
    on_moved: Callable[[Phone, str, str | None], None] | None = None,
) -> BootStats:
    """Reset ``phones`` now. Mutates each phone's files, cluster, group and registration fields."""
    batch = _Batch(clusters=clusters, sources=sources, scopes=scopes, now=now)
    registered = 0
    for phone in phones:
        addresses, dhcp_error = batch.option150(phone.scope)
        phone.timestamp = now
        phone.rule = None
        if dhcp_error:
            _unregister(phone, dhcp_error)
            continue
        hit = batch.tftp(addresses)
        if hit is None:
            why = (
                "DHCP sent no option 150"
                if not addresses
                else f"no TFTP server reachable at {', '.join(addresses)}"
            )
            phone.tftp = None
            registered += _register(phone, batch, f"{why}; using the cached configuration")
            continue
        cluster, node = hit
        phone.tftp = node.ip
        key = (phone.ctl, phone.itl, phone.cluster, phone.cm_group, node.name)
        outcome = batch.memo.get(key)
        if outcome is None:
            outcome = _decide_boot(phone, batch, cluster, node)
            batch.memo[key] = outcome
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
        registered += _register(phone, batch, outcome.reason)
    return BootStats(phones=len(phones), distinct_decisions=len(batch.memo), registered=registered)


def _unregister(phone: Phone, reason: str) -> None:
    phone.status = RegStatus.UNREGISTERED
    phone.node = None
    phone.reason = reason


def _register(phone: Phone, batch: _Batch, reason: str) -> int:
    node = batch.callmanager(phone.cluster, phone.cm_group)
    if node is None:
        _unregister(
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
