"""What a phone knows when it starts booting over the wire: a snapshot taken under the lab lock.

The wire path (``simulator.lab.wireboot``) reads a ``BootContext`` through ``Lab.boot_context``, talks to
the faces (DHCP source, TFTP over HTTP, TVS over TLS) with the lock released, and commits the outcome with
``Lab.boot_commit``; a phone reset again meanwhile has a newer ``generation`` and the stale boot is
dropped. Everything here is what the phone holds itself (its files, its CallManager group's members from
its configuration, the TVS answers it caches), plus the lab's map of addresses to node names, used only to
word the reason the way the model path does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..knobs import TrustKnobs
from . import services as svc
from .cluster import Cluster
from .phones import Phone
from .phonetrust import TvsAnswer
from .trustfiles import ServedFile

__all__ = ["BootContext", "boot_context"]


@dataclass(frozen=True, slots=True, kw_only=True)
class BootContext:
    name: str
    mac: str
    scope: str
    cluster: str  # whose configuration the phone runs now
    cm_group: str
    ctl: ServedFile | None
    itl: ServedFile | None
    tvs: tuple[tuple[str, str], ...]  # (node, address) of the group's members that run TVS, in order
    remembered: Mapping[tuple[bytes, str], TvsAnswer]
    knobs: TrustKnobs
    generation: int
    nodes: Mapping[str, tuple[str, str]]  # address -> (cluster, node): the lab's words for a reason


def boot_context(
    phone: Phone, *, clusters: Mapping[str, Cluster], generation: int, now: float, knobs: TrustKnobs
) -> BootContext:
    c = clusters[phone.cluster]
    members = [c.nodes[n] for n in c.cm_groups.get(phone.cm_group, ()) if n in c.nodes]
    return BootContext(
        name=phone.name,
        mac=phone.mac,
        scope=phone.scope,
        cluster=phone.cluster,
        cm_group=phone.cm_group,
        ctl=phone.ctl,
        itl=phone.itl,
        tvs=tuple((n.name, n.ip) for n in members if n.has(svc.TVS)),
        remembered=phone.remembered(now, knobs.tvs_answer_cache_s),
        knobs=knobs,
        generation=generation,
        nodes={n.ip: (cl.name, n.name) for cl in clusters.values() for n in cl.nodes.values()},
    )
