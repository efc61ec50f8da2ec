"""A snapshot (``reconciler snapshot``) and its desired state → the YAML data of a lab spec (docs/lab.md).

``lab_spec_data`` is called by ``reconciler rehearse`` and ``reconciler lab up --from-snapshot``
(``reconciler.commands.rehearse``); the result is written as a spec file and started exactly as
``lab up --spec FILE`` starts one, so the product reaches the simulator only through the lab command.
It imports nothing of the simulator: the lab spec is plain data here.

What is carried over: each cluster's version, mixed mode and nodes (names, activated services, TVS start
times relative to when the snapshot was taken), the nodes' CallManager, TVS and ITLRecovery certificates
as stand-ins (the estate's subject, serial and issuer over a key the lab mints; an issuer that is another
stand-in signs with its key, so trust relations hold), CallManager groups, the rollback parameter (R2),
the certificates of one cluster found in another's trust stores and the trust entries that are no
cluster's identity (as stand-ins; per node, with the time that node's stores last changed, so a TVS
started before does not know them, R8), every scope's phones (how many, how many already on the target,
the ITL they hold: current, stale or empty, R1, and their CallManager group on the source, as phone
groups when they differ) and option 150 today (R12): whose TFTP nodes it names, or the addresses as
they are when they are no one cluster's nodes. Node and relay addresses are the lab's own (``127.0.x.y``,
moved by ``--prefix``).

What cannot be carried over is returned as ``notes`` (one line each) rather than silently dropped: the
subjects of trust entries that are no cluster's identity where the snapshot has none (before version 3,
or a read that gave none: the lab names them ``CN=stand-in-<serial>``), certificates of nodes the
snapshot could not read (the lab mints its own), tomcat certificates (the lab's own: its HTTPS faces'
certificate; CAPF stands in from the publisher's identity PEM, each node's own ITLRecovery before 12.5
from the node's facts), phones on the target in several CallManager groups, option 150 values that
are host names, faces the snapshot recorded as failed (``read_failures``), and Kea scopes (served by
the lab's IOS router). A snapshot with ``unknown_reads`` (whole reads that failed: clusters, phones,
option 150, ...) is refused.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from ipaddress import IPv4Address
from typing import Any

from reconciler.certnames import dn_key
from reconciler.cucm.certs import CertIdentity, load_certificate, serial_hex
from reconciler.cucm.facts import CertRef, ClusterFacts, NodeFacts
from reconciler.cucm.tlv_format import Role
from reconciler.errors import CertificateError, PlanError
from reconciler.live.protocol import PhoneFacts
from reconciler.live.snapshot import SnapshotEstate
from reconciler.vocabulary import CucmService, ReadFace
from schemas.document import DesiredState

__all__ = ["LabSpecDraft", "lab_spec_data"]

#: The GUI name the lab spec's ``parameters`` take for the rollback parameter (R2).
_ROLLBACK_GUI = "Prepare Cluster for Rollback to pre 8.0"
_RIS_GUI = "Allowed Device Queries Per Minute"
_IOS_ADDRESS = "127.0.30.254"
#: The lab face (``lab fault unreachable --face``) a failed read went through.
_LAB_FACE = {ReadFace.CLI: "cli", ReadFace.TFTP: "tftp"}


@dataclass(slots=True)
class LabSpecDraft:
    """The spec data, the lab address of every desired node and scope relay, and what could not be said."""

    spec: dict[str, Any]
    relays: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _ago(taken: datetime, when: datetime | None) -> float | None:
    return None if when is None else max(0.0, (taken - when).total_seconds())


def _origins(facts: Mapping[str, ClusterFacts]) -> dict[CertIdentity, tuple[str, str | None, str]]:
    """Identity → (cluster, node or None for the cluster's, lab identity name)."""
    out: dict[CertIdentity, tuple[str, str | None, str]] = {}
    for c in facts.values():
        for n in c.nodes:
            if n.callmanager is not None:
                out[n.callmanager.identity] = (c.name, n.name, "callmanager")
            if n.tvs is not None:
                out[n.tvs.identity] = (c.name, n.name, "tvs")
            if (own := _own_recovery(c, n)) is not None:
                out[own.identity] = (c.name, n.name, "itlrecovery")  # before 12.5 (R6)
        if c.itl_recovery is not None:
            out[c.itl_recovery.identity] = (c.name, None, "itlrecovery")
    return out


def _own_recovery(cluster: ClusterFacts, node: NodeFacts) -> CertRef | None:
    """A subscriber's own ITLRecovery (each node has one before 12.5, R6): the one the snapshot read
    for it when that is not the cluster's (the publisher's); None otherwise."""
    own = node.itl_recovery
    if node.publisher or own is None:
        return None
    pub = cluster.publisher
    shared = {r.identity for r in (cluster.itl_recovery, pub.itl_recovery if pub else None) if r}
    return None if own.identity in shared else own


def _stand_in(ref: CertRef) -> dict[str, Any]:
    """A lab spec ``StandIn`` for a certificate the snapshot names (subject, serial, issuer)."""
    return {"subject": ref.subject, "serial": ref.identity.serial_hex, "issuer": ref.identity.issuer}


def _foreign(ident: CertIdentity, subject: str | None = None) -> dict[str, Any]:
    """A stand-in for a trust entry that is no cluster's identity: its subject as the snapshot read it
    (version 3), else ``CN=stand-in-<serial>`` (an older snapshot has none)."""
    return {"subject": subject or f"CN=stand-in-{serial_hex(ident.serial)}",
            "serial": serial_hex(ident.serial), "issuer": ident.issuer}  # fmt: skip


def _infer_unread(facts: Mapping[str, ClusterFacts], notes: list[str]) -> dict[str, ClusterFacts]:
    """An unread node's CallManager certificate, where its cluster's CallManager-trust (which CUCM keeps
    every node's in) holds exactly one self-signed-looking entry named after it that is no read
    identity: that one, so the rehearsal lab does not hold a certificate of its own for the node beside
    the estate's. Anything less certain stays unknown (the lab mints its own)."""
    known = set(_origins(facts))
    out = dict(facts)
    for name, c in facts.items():
        held = {i for n in c.nodes if n.reachable for i in n.trust.get("CallManager-trust", ())} - known
        nodes = []
        for n in c.nodes:
            cn = ("CN", n.name.lower())
            named = [i for i in held if any(cn in rdn for rdn in dn_key(i.issuer))]
            if n.reachable or n.callmanager is not None or len(named) != 1:
                nodes.append(n)
                continue
            ref = CertRef(identity=named[0], subject=named[0].issuer)
            notes.append(f"{name}: {n.name} was not read; its CallManager certificate is taken to be the "
                         "one its cluster's CallManager-trust holds for it (serial "
                         f"{ref.identity.serial_hex})")  # fmt: skip
            nodes.append(replace(n, callmanager=ref))
        out[name] = replace(c, nodes=tuple(nodes))
    return out


def _capf(pems: Mapping[tuple[str, str], str], node: str) -> CertRef | None:
    """The publisher's CAPF certificate, from the identity PEMs the snapshot holds (None: not read)."""
    pem = pems.get((node, "capf"))
    if pem is None:
        return None
    try:
        return CertRef.of(load_certificate(pem.encode()))
    except CertificateError:
        return None


def _identities(
    cluster: ClusterFacts,
    node_name: str,
    notes: list[str],
    *,
    pems: Mapping[tuple[str, str], str] | None = None,
) -> dict[str, Any]:
    """The stand-ins of a node's CallManager, TVS and ITLRecovery certificates (R6: from 12.5 the
    publisher's ITLRecovery is the cluster's, before each node has its own) and the publisher's CAPF."""
    n = next(x for x in cluster.nodes if x.name == node_name)
    if not n.reachable:
        notes.append(f"{cluster.name}: the TVS and ITLRecovery certificates of {n.name} were not read "
                     "(unreachable); the lab mints its own for it")  # fmt: skip
        return {"callmanager": _stand_in(n.callmanager)} if n.callmanager is not None else {}
    out: dict[str, Any] = {}
    if n.callmanager is not None:
        out["callmanager"] = _stand_in(n.callmanager)
    if n.tvs is not None and CucmService.TVS in n.services:
        out["tvs"] = _stand_in(n.tvs)
    recovery = (n.itl_recovery or cluster.itl_recovery) if n.publisher else _own_recovery(cluster, n)
    if recovery is not None:
        out["itlrecovery"] = _stand_in(recovery)
    capf = _capf(pems or {}, n.name) if n.publisher else None
    if capf is not None:
        out["capf"] = _stand_in(capf)
    return out


def _trust_seeds(
    cluster: ClusterFacts, facts: Mapping[str, ClusterFacts], taken: datetime, notes: list[str]
) -> list[dict[str, Any]]:
    """Other clusters' identities in this cluster's stores, grouped by (store, origin, upload time).

    A node the snapshot could not reach has unknown stores, not empty ones: it is given what the
    publisher holds (replication complete, R7) and a note says so. Seeding it empty would make the
    lab's replication check wait out its settle time for certificates no change will ever bring."""
    origins = _origins(facts)
    own = {i for i, (c, _, _) in origins.items() if c == cluster.name}
    grouped: dict[tuple[str, str, str | None, str, float | None], list[str]] = {}
    foreign: dict[tuple[str, CertIdentity, float | None], list[str]] = {}
    publisher = cluster.publisher
    unread = [n.name for n in cluster.nodes if not n.reachable and n is not publisher]
    if unread and publisher is not None:
        notes.append(f"{cluster.name}: the trust stores of {', '.join(unread)} were not read "
                     f"(unreachable); the lab gives them what {publisher.name} holds (replication "
                     "complete, R7)")  # fmt: skip
    for node in cluster.nodes:
        added = _ago(taken, node.trust_changed_at)
        trust = node.trust
        if node.name in unread and publisher is not None:
            trust = publisher.trust
            added = _ago(taken, publisher.trust_changed_at)
        for store, ids in sorted(trust.items()):
            for ident in ids:
                if ident in own:
                    continue
                origin = origins.get(ident)
                if origin is None:
                    foreign.setdefault((store, ident, added), []).append(node.name)
                    continue
                key = (store, origin[0], origin[1], origin[2], added)
                grouped.setdefault(key, []).append(node.name)
    subjects = {i: subj for c in facts.values() for n in c.nodes for i, subj in n.trust_subjects.items()}
    unnamed = {i for _, i, _ in foreign if i not in subjects}
    if unnamed:
        notes.append(f"{cluster.name}: {len(unnamed)} trust entries are no cluster's identity (other CAs, "
                     "phones' LSCs, ...) and the snapshot has no subject for them: the lab holds stand-ins "
                     "with their serial and issuer named CN=stand-in-<serial>")  # fmt: skip
    seeds: list[dict[str, Any]] = []
    for (store, cluster_of, node_of, identity, added), holders in sorted(grouped.items(), key=repr):
        seed: dict[str, Any] = {"store": store, "cluster": cluster_of, "identity": identity}
        if node_of is not None:
            seed["node"] = node_of
        if len(holders) < len(cluster.nodes):
            seed["nodes"] = sorted(holders)
        if added is not None:
            seed["added_ago"] = added
        seeds.append(seed)
    for (store, ident, added), holders in sorted(foreign.items(), key=repr):
        seed = {"store": store, "cert": _foreign(ident, subjects.get(ident))}
        if len(holders) < len(cluster.nodes):
            seed["nodes"] = sorted(holders)
        if added is not None:
            seed["added_ago"] = added
        seeds.append(seed)
    return seeds


def _itl_state(phone: PhoneFacts, cluster: ClusterFacts) -> str:
    """current / stale / empty: does the phone's ITL name the TVS certificates its cluster has (R1)?"""
    if phone.itl is None:
        return "current"  # the protocol's None: what its TFTP node serves
    if not phone.itl.entries:
        return "empty"
    tvs = {n.tvs.identity for n in cluster.nodes if n.tvs is not None}
    listed = {e.identity for e in phone.itl.entries if e.role is Role.TVS}
    return "current" if listed <= tvs else "stale"


def _majority(values: Sequence[str], default: str) -> tuple[str, bool]:
    if not values:
        return default, False
    counts = Counter(values).most_common()
    return counts[0][0], len(counts) > 1


def lab_spec_data(
    *, document: Mapping[str, Any], estate: SnapshotEstate, desired: DesiredState
) -> LabSpecDraft:
    """The lab spec data for the estate the snapshot recorded (see the module docstring)."""
    migration = desired.migration
    if migration is None:
        raise PlanError("rehearse needs a desired state with a migration (source, target, waves)")
    unknown = estate.unknown_reads()
    if unknown:  # a lab built around them would invent clusters, phones or scopes that were not read
        raise PlanError(
            "the snapshot is incomplete, a rehearsal of it would make up what was not read: "
            + "; ".join(u.describe() for u in unknown),
            hint="fix the failed reads (reconciler doctor FILE) and take the snapshot again",
        )
    taken = datetime.fromisoformat(str(document.get("source", {}).get("taken_at")))
    facts: dict[str, ClusterFacts] = {}
    for _, answer in estate.answers("clusters"):
        facts.update(answer)
    notes: list[str] = []
    facts = _infer_unread(facts, notes)
    missing = [c.name for c in desired.clusters if c.name not in facts]
    if missing:
        raise PlanError(
            f"the snapshot holds no facts of cluster(s) {', '.join(missing)}",
            hint="take it with this desired state: reconciler snapshot FILE -o estate.json",
        )
    groups: dict[str, dict[str, tuple[str, ...]]] = {}
    for args, answer in estate.answers("callmanager_groups"):
        groups[str(args[0])] = dict(answer)
    rollback: dict[str, Any] = {}
    draft = LabSpecDraft(spec={}, notes=notes)
    clusters: list[dict[str, Any]] = []
    faults: list[dict[str, Any]] = []
    served: dict[str, set[str]] = {}
    for args, answer in estate.answers("tftp_files"):
        ok = {node for node, files in answer.items() if all(f.error is None for f in files)}
        served.setdefault(str(args[0]), set()).update(ok)
    failed = _failed_faces(estate, notes)
    pems = {str(args[0]): answer for args, answer in estate.answers("identity_pems")}
    for ci, dc in enumerate(desired.clusters):
        cf = facts[dc.name]
        nodes = []
        for ni, n in enumerate(cf.nodes):
            ip = f"127.0.{10 * (ci + 1)}.{ni + 1}"
            node: dict[str, Any] = {"name": n.name, "ip": ip, "publisher": n.publisher,
                                    "services": sorted(n.services)}  # fmt: skip
            faces = failed.get((dc.name, n.name))
            if faces:  # as the snapshot recorded it: these faces did not answer (R3)
                faults += [{"kind": "unreachable", "node": n.name, "face": f} for f in sorted(faces)]
            elif not n.reachable:  # an older snapshot: HTTPS (or every face) did not answer
                fault = {"kind": "unreachable", "node": n.name}
                if n.name in served.get(dc.name, set()):
                    fault["face"] = "https"  # its TFTP files were read: only HTTPS was down
                faults.append(fault)
            started = _ago(taken, n.tvs_started_at)
            if started is not None and CucmService.TVS in n.services:
                node["tvs_started_ago"] = started
            identities = _identities(cf, n.name, notes, pems=pems.get(dc.name, {}))
            if identities:
                node["identities"] = identities
            nodes.append(node)
        cm_groups = groups.get(dc.name) or {}
        if not cm_groups:
            members = [n.name for n in cf.nodes if CucmService.CALLMANAGER in n.services and not n.publisher]
            cm_groups = {f"{dc.name}-cmg": tuple(members or [cf.nodes[0].name])}
            notes.append(f"{dc.name}: the snapshot holds no CallManager groups; the lab has one of "
                         f"{', '.join(cm_groups[next(iter(cm_groups))])}")  # fmt: skip
        if cf.rollback_to_pre8 is not None:
            rollback[dc.name] = cf.rollback_to_pre8
        cluster: dict[str, Any] = {
            "name": dc.name,
            "role": "source" if dc.name == migration.source else "target",
            "version": str(cf.version),
            "mixed_mode": cf.mixed_mode,
            "nodes": nodes,
            "cm_groups": {g: list(m) for g, m in cm_groups.items()},
            "trust": _trust_seeds(cf, facts, taken, notes),
        }
        parameters: dict[str, Any] = {}
        if dc.name in rollback:
            parameters[_ROLLBACK_GUI] = bool(rollback[dc.name])
        if desired.policy is not None:  # the allowance the user's policy assumes (R13), not recorded
            parameters[_RIS_GUI] = desired.policy.ris_queries_per_minute
        if parameters:
            cluster["parameters"] = parameters
        clusters.append(cluster)
    _scopes(draft, estate=estate, desired=desired, facts=facts, clusters=clusters)
    draft.spec = {"name": "rehearsal", "home": migration.source, "clusters": clusters, **draft.spec}
    if faults:
        draft.spec["faults"] = faults
    notes.append("tomcat certificates are the lab's own (its HTTPS certificate), and so is CAPF where "
                 "the snapshot holds no CAPF PEM of the publisher; CallManager, TVS, ITLRecovery (each "
                 "node's before 12.5) and CAPF stand in with the estate's subject, serial and "
                 "issuer")  # fmt: skip
    return draft


def _scopes(
    draft: LabSpecDraft,
    *,
    estate: SnapshotEstate,
    desired: DesiredState,
    facts: Mapping[str, ClusterFacts],
    clusters: list[dict[str, Any]],
) -> None:
    migration = desired.migration
    assert migration is not None
    source, target = migration.source, migration.target
    phones: dict[str, tuple[PhoneFacts, ...]] = {}
    for _, answer in estate.answers("phones"):
        phones.update(answer)
    option150: dict[str, tuple[str, ...] | None] = {}
    for _, answer in estate.answers("option150"):
        option150.update({scope: value for (_, scope), value in answer.items()})
    hosts = {c.name: {n.host for n in c.nodes} for c in desired.clusters}
    lab_ips = {n.host: _lab_ip(clusters, c.name, n.name) for c in desired.clusters for n in c.nodes}
    by_name = {c["name"]: c for c in clusters}
    pools: dict[tuple[str, str], str] = {}
    dhcp: list[dict[str, Any]] = []
    kinds = {s.name: s.kind for s in desired.dhcp.servers} if desired.dhcp else {}
    if any(k in ("ios", "kea") for k in kinds.values()):
        dhcp.append({"name": "ios", "kind": "ios", "address": _IOS_ADDRESS})
    for s in desired.dhcp.servers if desired.dhcp else ():
        if s.kind == "cucm":
            dhcp.append({"name": s.name, "kind": "cucm", "cluster": s.cluster})
        elif s.kind == "kea":
            draft.notes.append(f"DHCP server {s.name} (Kea) is rehearsed as the lab's IOS router")
    scopes = []
    for k, scope in enumerate(desired.dhcp.scopes if desired.dhcp else ()):
        mine = phones.get(scope.name, ())
        on_source = [p for p in mine if p.cluster == source]
        on_target = [p for p in mine if p.cluster == target]
        src_groups = list(by_name[source]["cm_groups"])
        tgt_groups = list(by_name[target]["cm_groups"])

        def target_of(group: str, src: list[str] = src_groups, tgt: list[str] = tgt_groups) -> str:
            return str(tgt[(src.index(group) if group in src else 0) % len(tgt)])

        shapes = [(p.cm_group if p.cm_group in src_groups else src_groups[0],
                   _itl_state(p, facts[source])) for p in on_source]  # fmt: skip
        src_group = _majority([g for g, _ in shapes], src_groups[0])[0]
        itl = _majority([s for _, s in shapes], "current")[0]
        tgt_group, mixed_t = _majority([p.cm_group for p in on_target], target_of(src_group))
        if mixed_t:
            draft.notes.append(f"scope {scope.name}: its phones on {target} are in several CallManager "
                               f"groups; the lab puts all in {tgt_group}")  # fmt: skip
        pool = pools.setdefault((src_group, tgt_group), f"DP-{len(pools) + 1}")
        groups: list[dict[str, Any]] = []
        for (group, state), count in sorted(Counter(shapes).items()):
            if (group, state) == (src_group, itl):
                continue
            entry_group: dict[str, Any] = {"phones": count}
            if group != src_group:
                key = (group, target_of(group))
                entry_group["device_pool"] = pools.setdefault(key, f"DP-{len(pools) + 1}")
            if state != itl:
                entry_group["itl"] = state
            groups.append(entry_group)
        relay = f"127.0.{30 + k // 250}.{k % 250 + 1}"
        draft.relays[scope.name] = relay
        kind = kinds.get(scope.server, "ios")
        entry: dict[str, Any] = {
            "name": scope.name,
            "subnet": str(scope.subnet),
            "relay": relay,
            "dhcp": scope.server if kind == "cucm" else "ios",
            "phones": len(mine),
            "device_pool": pool,
            "itl": itl,
            "on_target": len(on_target),
        }
        if groups:
            entry["groups"] = groups
        if kind != "cucm":
            entry["pool"] = getattr(scope, "pool", None) or f"POOL-{scope.name}"
        today = option150.get(scope.name)
        owner = next((c for c, h in hosts.items() if today and set(today) <= h), None)
        if owner is not None:
            entry["tftp_cluster"] = owner
        elif today:
            addresses = [lab_ips.get(a, a) for a in today]
            if all(_is_ipv4(a) for a in addresses):
                entry["option150"] = addresses
            else:
                draft.notes.append(f"scope {scope.name}: option 150 today ({', '.join(today)}) names "
                                   f"hosts that are no lab node; the lab's names {source}'s TFTP "
                                   "nodes")  # fmt: skip
        if on_target and mine and mine[0].cluster != target:
            draft.notes.append(f"scope {scope.name}: the lab puts its first {len(on_target)} phones on "
                               f"{target}; phone names are the lab's")  # fmt: skip
        scopes.append(entry)
    for c in clusters:
        own = c["name"] == source
        c["device_pools"] = {pool: (sg if own else tg) for (sg, tg), pool in pools.items()}
    draft.spec = {"dhcp": dhcp, "scopes": scopes}


def _failed_faces(estate: SnapshotEstate, notes: list[str]) -> dict[tuple[str, str], set[str]]:
    """(cluster, node) -> the lab faces to make unreachable, from the reads the snapshot recorded as
    failed; each failure is also a note (what that read would have said is unknown)."""
    out: dict[tuple[str, str], set[str]] = {}
    for f in estate.read_failures():
        if f.node is None:
            continue
        face = _LAB_FACE.get(f.face, "https")
        out.setdefault((f.cluster, f.node), set()).add(face)
        notes.append(f"{f.cluster}/{f.node}: {f.face} failed when the snapshot was taken ({f.error}: "
                     f"{f.message}); the rehearsal lab's {face} face of it is unreachable and what it "
                     "would have said is unknown")  # fmt: skip
    return out


def _lab_ip(clusters: Sequence[Mapping[str, Any]], cluster: str, node: str) -> str | None:
    spec = next((c for c in clusters if c["name"] == cluster), None)
    return next((n["ip"] for n in spec["nodes"] if n["name"] == node), None) if spec else None


def _is_ipv4(text: str | None) -> bool:
    try:
        IPv4Address(str(text))
    except ValueError:
        return False
    return True
