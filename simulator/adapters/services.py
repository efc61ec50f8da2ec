"""Services of one node (ControlCenterServices, ``utils service``) and RisPort70 of one cluster, on the model.

``ModelServices`` lists every known Control Center service: activated ones with the model's status,
start time and reason; the others Stopped with "Service Not Activated" (as Control Center shows them).
``control_services`` starts the model's timed transition and returns at once (Starting/Stopping), as
``soapDoControlServices`` does. ``ModelRis`` turns ``Lab.registrations(cluster)`` into RisPort70
``CmDevice`` records: a phone without a node (never reached a CallManager) is reported under the
publisher; ``StatusReason`` is 0 when registered, 10 (device unregistered) for a phone that left for the
other cluster, and 1 (unknown) otherwise — the model's reason text itself is served by ``lab phones``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from reconciler.errors import RemoteFaultError
from simulator.adapters.common import to_datetime
from simulator.faces.axl_tags import like
from simulator.faces.backends import (
    ControlAction,
    RisCriteria,
    RisDevice,
    ServiceSpec,
    ServiceState,
    ServiceStatus,
)
from simulator.model import Lab, Registration, RegStatus, ServiceSnapshot
from simulator.model.services import KNOWN_SERVICES

__all__ = ["ANSWER_TTL", "MODEL_CODES", "ModelRis", "ModelServices", "ris_device"]

ANSWER_TTL = 5.0  # seconds ModelRis reuses an unchanged answer while a client pages through it

#: RisPort70 ``Model`` codes of the phone models the lab uses (unknown models report 0).
MODEL_CODES = {"Cisco 8845": 36670, "Cisco 8865": 36677, "Cisco 8851": 36668, "Cisco 7841": 622}
_NOT_ACTIVATED = "Service Not Activated"


def _state(snap: ServiceSnapshot, now: float) -> ServiceState:
    uptime = snap.uptime(now)
    return ServiceState(
        name=snap.name,
        status=ServiceStatus(snap.status.value),
        reason_code=-1,
        reason=snap.reason,
        start_time=to_datetime(snap.start_time),
        up_time_s=int(uptime) if uptime is not None else 0,
    )


class ModelServices:
    """Control Center of node ``node`` of ``cluster``."""

    def __init__(self, lab: Lab, *, cluster: str, node: str) -> None:
        self.lab = lab
        self.cluster = cluster
        self.node = node

    def service_states(self) -> Sequence[ServiceState]:
        now = self.lab.clock.now()
        active = {s.name: _state(s, now) for s in self.lab.services(self.cluster, self.node)}
        out = list(active.values())
        out += [
            ServiceState(name=name, status=ServiceStatus.STOPPED, reason=_NOT_ACTIVATED)
            for name in KNOWN_SERVICES
            if name not in active
        ]
        return out

    def control_services(self, *, action: ControlAction, names: Sequence[str]) -> Sequence[ServiceState]:
        out = []
        activated = {s.name for s in self.lab.services(self.cluster, self.node)}
        for name in names:
            if name not in activated:
                reason = _NOT_ACTIVATED if name in KNOWN_SERVICES else "is not a valid service name"
                raise RemoteFaultError(f"Service {name}: {reason}", code="invalid-service")
            snap = self.lab.control_service(
                cluster=self.cluster, node=self.node, name=name, action=action.value
            )
            out.append(_state(snap, self.lab.clock.now()))
        return out

    def static_services(self) -> Sequence[ServiceSpec]:
        activated = [s.name for s in self.lab.services(self.cluster, self.node)]
        names = list(dict.fromkeys([*KNOWN_SERVICES, *activated]))
        return [
            ServiceSpec(
                name=n,
                service_type="Servlet" if n in ("Cisco AXL Web Service", "Cisco Tomcat") else "Service",
                group="CM Services" if n not in ("Cisco Tomcat",) else "Platform Services",
            )
            for n in names
        ]


def ris_device(reg: Registration, *, publisher: str, scope: str = "") -> RisDevice:
    if reg.status is RegStatus.REGISTERED:
        reason = 0
    elif reg.reason.startswith("moved to cluster"):
        reason = 10
    else:
        reason = 1
    return RisDevice(
        name=reg.device,
        node=reg.node or publisher,
        status=reg.status.value,
        ip_address=reg.ip,
        description=f"{scope} {reg.model} {reg.device[3:]}".strip(),  # = AXL's phone description
        model=MODEL_CODES.get(reg.model, 0),
        product=MODEL_CODES.get(reg.model, 0),
        status_reason=reason,
        protocol="SIP",
        timestamp=int(reg.timestamp),
        active_load_id="sip88xx.14-2-1-0001-60",
        download_status="Successful",
    )


class ModelRis:
    """RisPort70 of ``cluster``: every node answers for the whole cluster."""

    def __init__(self, lab: Lab, *, cluster: str) -> None:
        self.lab = lab
        self.cluster = cluster
        self._scopes: dict[str, str] | None = None  # phone -> scope (fixed for the lab's life)
        self._names: dict[str, str] | None = None  # lower-case name -> name (fixed too)
        self._last: tuple[tuple[RisCriteria, int], float, tuple[RisDevice, ...]] | None = None
        self._last_lock = threading.Lock()

    def _exact_names(self, criteria: RisCriteria, patterns: Sequence[str]) -> list[str] | None:
        """The devices a by-name query without wildcards can match (LIKE is case-insensitive), so a
        query for 1,000 phones does not scan an 80,000-phone fleet; None when a pattern has one."""
        if criteria.select_by != "Name" or any(c in p for p in patterns for c in "%_"):
            return None
        if self._names is None:
            self._names = {p.name.lower(): p.name for p in self.lab.phones()}
        return [self._names[p.lower()] for p in patterns if p.lower() in self._names]

    def select_devices(self, criteria: RisCriteria) -> Sequence[RisDevice]:
        """The devices ``criteria`` selects. A client pages through one wildcard answer with
        ``StateInfo`` (80 queries for 80,000 phones); the same criteria with no lab mutation in between
        (the operation log did not grow) and within ``ANSWER_TTL`` seconds reuse the last answer
        instead of scanning the fleet again."""
        key = (criteria, len(self.lab.operation_log))
        now = time.monotonic()
        with self._last_lock:
            last = self._last
        if last is not None and last[0] == key and now - last[1] < ANSWER_TTL:
            return list(last[2])
        found = self._select(criteria)
        with self._last_lock:
            self._last = (key, now, tuple(found))
        return found

    def _select(self, criteria: RisCriteria) -> list[RisDevice]:
        publisher = self.lab.cluster(self.cluster).publisher
        if self._scopes is None:
            self._scopes = {p.name: p.scope for p in self.lab.phones()}
        patterns = [item.replace("*", "%") for item in criteria.items]
        out = []
        for reg in self.lab.registrations(self.cluster, names=self._exact_names(criteria, patterns)):
            device = ris_device(reg, publisher=publisher, scope=self._scopes.get(reg.device, ""))
            key = {
                "Name": device.name,
                "IPV4Address": device.ip_address,
                "DirNumber": device.dir_number,
                "Description": device.description,
            }.get(criteria.select_by, device.name)
            if (
                any(like(p, key) for p in patterns)
                and criteria.status in ("Any", device.status)
                and criteria.node_name in ("", device.node)
                and criteria.model in (255, device.model)
                and criteria.device_class in ("Any", device.device_class)
                and criteria.protocol in ("Any", device.protocol)
            ):
                out.append(device)
        return out
