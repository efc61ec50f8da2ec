"""Fault injection of the running lab: what ``lab fault ...`` and a spec's ``faults:`` ask.

``Fault`` is one request (kind, target, amount, or ``off``); ``FaultBoard.apply`` turns it into a switch
on the faces (``simulator.faces.faults.FaceFaults`` per node and face, the RisPort70 ``QueryAllowance``
per cluster) or a call on the model (TVS failing to start, replication lag). Kinds:

* ``latency`` — node (+ ``face`` https|tftp|cli|tvs), ios or sftp: each request/command waits ``seconds``;
* ``axl-throttle`` — cluster or node: AXL writes answer HTTP 503;
* ``axl-queue`` — cluster: AXL writes answer HTTP 503 while the change-notification queue holds
  ``count`` (default 20) or more, drained at one notification per ``seconds`` (default 0.05), as CUCM;
* ``drop-ssh`` — node or ios: the next ``count`` CLI commands lose their session mid-output;
* ``tvs-fail`` — node: the next ``count`` TVS starts fail (default -1: all; shows after a restart);
* ``replication-lag`` — cluster (+ node): trust changes reach other nodes ``seconds`` later (R7);
* ``ris-exhausted`` — cluster: RisPort70 answers the allowance SOAP fault for this minute;
* ``unreachable`` — node, ios or sftp: new connections are closed at once (open HTTPS ones drop requests).

``off: true`` clears the fault. Called by ``simulator.lab.runtime.LabRuntime`` and its control endpoint.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal, cast, get_args

from reconciler.errors import LabError
from simulator.faces.faults import ChangeQueue, FaceFaults, QueryAllowance
from simulator.model import Lab
from simulator.model.services import TVS

__all__ = ["FACES", "FAULT_KINDS", "Fault", "FaultBoard", "FaultKind"]

FaultKind = Literal[
    "latency",
    "axl-throttle",
    "axl-queue",
    "drop-ssh",
    "tvs-fail",
    "replication-lag",
    "ris-exhausted",
    "unreachable",
]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
Face = Literal["https", "tftp", "cli", "tvs"]
FACES: tuple[str, ...] = get_args(Face)  # per CUCM node; the IOS router and SFTP server have one face each
ROUTERS = ("ios", "sftp")


@dataclass(frozen=True, slots=True, kw_only=True)
class Fault:
    """One fault request (a ``faults:`` entry of a lab spec, or ``lab fault KIND``)."""

    kind: FaultKind
    cluster: str | None = None
    """The cluster it applies to (axl-throttle, replication-lag, ris-exhausted)."""
    node: str | None = None
    """A node (name or IP), or ``ios`` / ``sftp``."""
    face: Face | None = None
    """latency, unreachable: only this face of the node (default: every face)."""
    seconds: float | None = None
    count: int | None = None
    off: bool = False

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Fault:
        unknown = set(data) - {"kind", "cluster", "node", "face", "seconds", "count", "off"}
        if unknown:
            raise LabError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
        kind = str(data.get("kind", ""))
        if kind not in FAULT_KINDS:
            raise LabError(f"unknown fault kind {kind!r}", hint=f"one of: {', '.join(FAULT_KINDS)}")
        seconds = data.get("seconds")
        count = data.get("count")
        return cls(
            kind=cast(FaultKind, kind),
            cluster=None if data.get("cluster") is None else str(data["cluster"]),
            node=None if data.get("node") is None else str(data["node"]),
            face=None if data.get("face") is None else cast(Face, str(data["face"])),
            seconds=None if seconds is None else float(seconds),
            count=None if count is None else int(count),
            off=bool(data.get("off", False)),
        )

    def to_mapping(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None and v is not False}


class FaultBoard:
    """The lab's fault switches: per node and face, per router, per cluster (RIS allowance)."""

    def __init__(
        self,
        *,
        lab: Lab,
        node_faults: Mapping[tuple[str, str], Mapping[str, FaceFaults]],  # (cluster, node) -> face -> faults
        router_faults: Mapping[str, FaceFaults],  # "ios" | "sftp"
        allowances: Mapping[str, QueryAllowance],  # cluster -> allowance
    ) -> None:
        self.lab = lab
        self.node_faults = node_faults
        self.router_faults = router_faults
        self.allowances = allowances
        self._lock = threading.Lock()
        self.active: list[Fault] = []

    # -- targets ------------------------------------------------------------------------------------
    def _node(self, fault: Fault) -> tuple[str, str]:
        if fault.node is None:
            raise LabError(f"fault {fault.kind} needs --node")
        for cluster, node in self.node_faults:
            if fault.cluster not in (None, cluster):
                continue
            if fault.node == node or self.lab.cluster(cluster).node(node).ip == fault.node:
                return cluster, node
        raise LabError(f"no node {fault.node!r}" + (f" in cluster {fault.cluster}" if fault.cluster else ""))

    def _cluster(self, fault: Fault) -> str:
        if fault.cluster is None and fault.node is not None:
            return self._node(fault)[0]
        if fault.cluster is None or fault.cluster not in self.allowances:
            raise LabError(f"fault {fault.kind} needs --cluster (one of: {', '.join(self.allowances)})")
        return str(fault.cluster)

    def _switches(self, fault: Fault, faces: tuple[str, ...] = FACES) -> list[FaceFaults]:
        if fault.node in ROUTERS:
            return [self.router_faults[str(fault.node)]]
        if fault.node is None and fault.cluster is not None:  # every node of the cluster
            return [
                f[face] for (c, _n), f in self.node_faults.items() if c == fault.cluster for face in faces
            ]
        cluster, node = self._node(fault)
        return [self.node_faults[(cluster, node)][face] for face in faces]

    # -- apply --------------------------------------------------------------------------------------
    def apply(self, fault: Fault) -> str:
        """Apply (or clear, with ``off``) one fault; returns a one-line description."""
        text = self._apply(fault)
        with self._lock:
            self.active = [f for f in self.active if not _same_target(f, fault)]
            if not fault.off:
                self.active.append(fault)
        return text

    def _apply(self, fault: Fault) -> str:
        kind, off = fault.kind, fault.off
        if kind == "latency":
            faces = FACES if fault.face in (None, "all") else (str(fault.face),)
            if fault.face not in (None, "all", *FACES, *ROUTERS):
                raise LabError(f"unknown face {fault.face!r}", hint=f"one of: {', '.join(FACES)}")
            seconds = 0.0 if off else float(fault.seconds if fault.seconds is not None else 1.0)
            for switch in self._switches(fault, faces):
                switch.latency_s = seconds
            return f"latency {seconds:g}s on {fault.node or fault.cluster} ({'/'.join(faces)})"
        if kind == "axl-throttle":
            for switch in self._switches(fault, ("https",)):
                switch.axl_write_throttle = not off
            return f"AXL write throttle {'off' if off else 'on (HTTP 503)'} on {fault.node or fault.cluster}"
        if kind == "axl-queue":
            cluster = self._cluster(fault)
            limit, each = fault.count or 20, fault.seconds or 0.05
            queue = None if off else ChangeQueue(limit=limit, per_second=1.0 / each)
            for switch in self._switches(Fault(kind=kind, cluster=cluster), ("https",)):
                switch.change_queue = queue
            if off:
                return f"AXL change-notification queue of {cluster} off"
            return f"AXL writes on {cluster}: 503 while {limit}+ notifications wait ({1.0 / each:g}/s)"
        if kind == "drop-ssh":
            count = 0 if off else (fault.count or 1)
            for switch in self._switches(fault, ("cli",)):
                switch.drop_next_ssh_commands(count)
            return f"the next {count} SSH command(s) on {fault.node} drop the session"
        if kind == "unreachable":
            for switch in self._switches(fault, (fault.face,) if fault.face else FACES):
                switch.unreachable = not off
            return f"{fault.node or fault.cluster} {'reachable again' if off else 'unreachable'}"
        if kind == "tvs-fail":
            cluster, node = self._node(fault)
            times = 0 if off else (fault.count if fault.count is not None else -1)
            self.lab.inject_service_failure(cluster=cluster, node=node, name=TVS, times=times)
            return f"TVS on {node}: " + ("starts normally" if off else f"next start(s) fail ({times})")
        if kind == "replication-lag":
            cluster = self._cluster(fault)
            seconds = 0.0 if off else float(fault.seconds or 0.0)
            only = self._node(fault)[1] if fault.node else None
            self.lab.set_replication_lag(cluster=cluster, seconds=seconds, node=only)
            return f"replication lag {seconds:g}s on {cluster}" + (f"/{only}" if only else "")
        if kind == "ris-exhausted":
            cluster = self._cluster(fault)
            allowance = self.allowances[cluster]
            if off:
                allowance.reset()
            else:
                allowance.exhaust()
            return f"RisPort70 allowance of {cluster} {'reset' if off else 'exhausted for this minute'}"
        raise LabError(f"unknown fault kind {kind!r}", hint=f"one of: {', '.join(FAULT_KINDS)}")

    def state(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.to_mapping() for f in self.active]


def _same_target(a: Fault, b: Fault) -> bool:
    return (a.kind, a.cluster, a.node, a.face) == (b.kind, b.cluster, b.node, b.face)
