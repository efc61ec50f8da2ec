"""The phone fleet: compact per-phone state (``__slots__``) and the registration records RisPort70 reports.

A phone holds references to shared, immutable ``ServedFile`` objects for its CTL and ITL, never copies of
the bytes, so 80,000 phones cost a few tens of MB. Boot logic lives in ``simulator.model.boot``; the
``Lab`` owns the fleet and its lock. Registration records are per cluster: a phone appears Registered in
the cluster it registered to, and UnRegistered in the cluster it last left (RIS keeps such entries).
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .phonetrust import TvsAnswer
from .trustfiles import ServedFile

__all__ = ["Phone", "PhoneFleet", "PhoneView", "RegStatus", "Registration", "mac_for"]


class RegStatus(enum.StrEnum):
    """RisPort70 ``CmDevRegStat`` values the model produces."""

    REGISTERED = "Registered"
    UNREGISTERED = "UnRegistered"
    REJECTED = "Rejected"


def mac_for(scope_index: int, phone_index: int) -> str:
    """A deterministic, unique MAC (Cisco OUI 00:1B:54) for phone ``phone_index`` of scope ``scope_index``."""
    value = (scope_index << 16) | phone_index
    return f"001B54{value:06X}"


class Phone:
    """Mutable state of one phone (owned by the fleet; read it through ``PhoneView``)."""

    __slots__ = (
        "cluster",
        "cm_group",
        "ctl",
        "device_pool",
        "ip",
        "itl",
        "left_at",
        "left_cluster",
        "left_node",
        "mac",
        "model",
        "name",
        "node",
        "reason",
        "rule",
        "scope",
        "status",
        "tftp",
        "timestamp",
        "tvs_answers",
    )

    def __init__(
        self,
        *,
        mac: str,
        model: str,
        scope: str,
        ip: str,
        device_pool: str,
        cluster: str,
        cm_group: str,
        ctl: ServedFile | None,
        itl: ServedFile | None,
    ) -> None:
        self.mac = mac
        self.name = f"SEP{mac}"
        self.model = model
        self.scope = scope
        self.ip = ip
        self.device_pool = device_pool
        self.cluster = cluster  # the cluster whose configuration the phone runs (and whose CM group it uses)
        self.cm_group = cm_group
        self.ctl = ctl
        self.itl = itl
        self.status = RegStatus.UNREGISTERED
        self.node: str | None = None
        self.reason = ""
        self.rule: str | None = None  # the procedure rule a failed boot points at (R1, R2, R4–R8, ...)
        self.timestamp = 0.0
        self.tftp: str | None = None
        self.left_cluster: str | None = None
        self.left_node: str | None = None
        self.left_at = 0.0
        self.tvs_answers: dict[tuple[bytes, str], tuple[TvsAnswer, float]] | None = None

    def remembered(self, now: float, ttl: float) -> dict[tuple[bytes, str], TvsAnswer]:
        """TVS answers the phone still caches (``TrustKnobs.tvs_answer_cache_s``; none when 0)."""
        if ttl <= 0 or not self.tvs_answers:
            return {}
        return {k: a for k, (a, at) in self.tvs_answers.items() if now - at < ttl}

    def learn(self, answers: Iterable[tuple[tuple[bytes, str], TvsAnswer]], now: float) -> None:
        for key, answer in answers:
            if self.tvs_answers is None:
                self.tvs_answers = {}
            self.tvs_answers[key] = (answer, now)


@dataclass(frozen=True, slots=True, kw_only=True)
class PhoneView:
    """A read-only snapshot of one phone."""

    name: str
    mac: str
    model: str
    scope: str
    ip: str
    device_pool: str
    cluster: str
    cm_group: str
    ctl: ServedFile | None
    itl: ServedFile | None
    status: RegStatus
    node: str | None
    reason: str
    rule: str | None
    timestamp: float
    tftp: str | None

    @staticmethod
    def of(phone: Phone) -> PhoneView:
        return PhoneView(
            name=phone.name,
            mac=phone.mac,
            model=phone.model,
            scope=phone.scope,
            ip=phone.ip,
            device_pool=phone.device_pool,
            cluster=phone.cluster,
            cm_group=phone.cm_group,
            ctl=phone.ctl,
            itl=phone.itl,
            status=phone.status,
            node=phone.node,
            reason=phone.reason,
            rule=phone.rule,
            timestamp=phone.timestamp,
            tftp=phone.tftp,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Registration:
    """One RisPort70 CmDevice as the model reports it (``cluster``'s view of ``device``)."""

    device: str
    cluster: str
    node: str | None
    status: RegStatus
    ip: str
    timestamp: float
    reason: str
    model: str


class PhoneFleet:
    """All phones, by name and by scope (insertion order)."""

    def __init__(self) -> None:
        self._by_name: dict[str, Phone] = {}
        self._by_scope: dict[str, list[Phone]] = {}

    def add(self, phone: Phone) -> None:
        if phone.name in self._by_name:
            raise ValueError(f"duplicate phone {phone.name}")
        self._by_name[phone.name] = phone
        self._by_scope.setdefault(phone.scope, []).append(phone)

    def get(self, name: str) -> Phone | None:
        return self._by_name.get(name.upper() if name[:3].upper() == "SEP" else name)

    def __len__(self) -> int:
        return len(self._by_name)

    def __iter__(self) -> Iterator[Phone]:
        return iter(self._by_name.values())

    def in_scope(self, scope: str) -> list[Phone]:
        return list(self._by_scope.get(scope, ()))

    def select(self, names: Iterable[str] | None = None, *, scope: str | None = None) -> list[Phone]:
        """Phones by name (unknown names raise ``KeyError``) and/or scope; all when both are None."""
        chosen: list[Phone] = list(self) if scope is None else self.in_scope(scope)
        if names is not None:
            wanted: list[Phone] = []
            for n in names:
                phone = self.get(n)
                if phone is None:
                    raise KeyError(n)
                wanted.append(phone)
            if scope is not None:
                wanted = [p for p in wanted if p.scope == scope]
            chosen = wanted
        return chosen

    def registrations(
        self, cluster: str | None = None, *, names: Iterable[str] | None = None
    ) -> list[Registration]:
        """What RisPort70 of ``cluster`` (every cluster when None) reports, one record per device and
        cluster: the current registration, and an UnRegistered record where the phone was before.
        ``names`` restricts it to those devices (unknown names are skipped), without scanning the fleet."""
        out: list[Registration] = []
        chosen: Iterable[Phone] = (
            self._by_name.values()
            if names is None
            else [self._by_name[n] for n in dict.fromkeys(names) if n in self._by_name]
        )
        for p in chosen:
            if (cluster is None or p.cluster == cluster) and p.timestamp > 0:
                out.append(
                    Registration(
                        device=p.name,
                        cluster=p.cluster,
                        node=p.node,
                        status=p.status,
                        ip=p.ip,
                        timestamp=p.timestamp,
                        reason=p.reason,
                        model=p.model,
                    )
                )
            if (
                p.left_cluster is not None
                and p.left_cluster != p.cluster
                and (cluster is None or p.left_cluster == cluster)
            ):
                out.append(
                    Registration(
                        device=p.name,
                        cluster=p.left_cluster,
                        node=p.left_node,
                        status=RegStatus.UNREGISTERED,
                        ip=p.ip,
                        timestamp=p.left_at,
                        reason=f"moved to cluster {p.cluster}",
                        model=p.model,
                    )
                )
        return out


def host_ip(subnet: str, index: int) -> str:
    """The ``index``-th host address of ``subnet`` (index 0 = first usable host + 9, leaving room for
    routers); wraps within the subnet for very large scopes."""
    net = ipaddress.IPv4Network(subnet)
    usable = max(1, net.num_addresses - 12)
    return str(net.network_address + 10 + index % usable)
