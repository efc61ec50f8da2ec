"""Services of a simulated CUCM node: exact Control Center names, status, start time, timed start/stop/
restart with a configurable duration and an injectable start failure.

A ``Service`` changes state only through events on the lab's ``Scheduler`` (see ``clock.py``), so a test
with a ``ManualClock`` sees ``Stopping`` → ``Starting`` → ``Started`` as it advances time. The node
registers an ``on_started`` hook, which the TVS uses to load its cache at the moment it reaches Started
(R8: a TVS that started before the last trust change is stale). Called by ``simulator.model.cluster``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from reconciler.errors import RemoteFaultError

from .clock import Scheduler

__all__ = [
    "CALLMANAGER",
    "CAPF",
    "CTL_PROVIDER",
    "DHCP_MONITOR",
    "KNOWN_SERVICES",
    "TFTP",
    "TOMCAT",
    "TVS",
    "Service",
    "ServiceAction",
    "ServiceSnapshot",
    "ServiceStatus",
]

# Exact Control Center / CLI names (docs/cucm-domain.md#services).
CALLMANAGER = "Cisco CallManager"
TFTP = "Cisco Tftp"
TVS = "Cisco Trust Verification Service"
CTL_PROVIDER = "Cisco CTL Provider"
CAPF = "Cisco Certificate Authority Proxy Function"
TOMCAT = "Cisco Tomcat"
DHCP_MONITOR = "Cisco DHCP Monitor Service"
KNOWN_SERVICES: tuple[str, ...] = (
    CALLMANAGER,
    TFTP,
    TVS,
    "Cisco CTIManager",
    CAPF,
    CTL_PROVIDER,
    TOMCAT,
    "Cisco HAProxy",
    "Cisco AXL Web Service",
    "Cisco RIS Data Collector",
    "Cisco SOAP - Real-Time Service APIs",
    "Cisco DRF Master",
    "Cisco DRF Local",
    "Cisco Extension Mobility",
    "Cisco IP Voice Media Streaming App",
    "Cisco SSOSP Tomcat",
    DHCP_MONITOR,
)


class ServiceStatus(enum.StrEnum):
    """ControlCenterServices ``ServiceStatus`` values (CLI prints them upper-case in brackets)."""

    STARTED = "Started"
    STOPPED = "Stopped"
    STARTING = "Starting"
    STOPPING = "Stopping"


class ServiceAction(enum.StrEnum):
    START = "Start"
    STOP = "Stop"
    RESTART = "Restart"


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceSnapshot:
    """What Control Center reports for one service on one node."""

    node: str
    name: str
    activated: bool
    status: ServiceStatus
    start_time: float | None  # epoch of the last successful start; None when never started / stopped
    reason: str  # "" or e.g. "Service Not Activated", "Commanded Out of Service", "failed to start"

    def uptime(self, now: float) -> float | None:
        if self.status is not ServiceStatus.STARTED or self.start_time is None:
            return None
        return max(0.0, now - self.start_time)


class Service:
    """One activated service on one node. Durations are seconds of (virtual) time."""

    def __init__(
        self,
        *,
        node: str,
        name: str,
        scheduler: Scheduler,
        started_at: float,
        restart_duration: float = 10.0,
        on_started: Callable[[float], None] | None = None,
    ) -> None:
        self.node = node
        self.name = name
        self._scheduler = scheduler
        self.restart_duration = restart_duration
        self._status = ServiceStatus.STARTED
        self._start_time: float | None = started_at
        self._reason = ""
        self._generation = 0  # bumps on every command so superseded events do nothing
        self._fail_starts = 0  # -1: every start fails; n > 0: the next n starts fail
        self._on_started = on_started

    # -- fault injection -----------------------------------------------------------------------------

    def inject_start_failure(self, *, times: int = -1) -> None:
        """Make the next ``times`` starts fail (``-1``: every start fails until cleared with 0)."""
        self._fail_starts = times

    def set_on_started(self, hook: Callable[[float], None] | None) -> None:
        self._on_started = hook

    # -- state ---------------------------------------------------------------------------------------

    def snapshot(self) -> ServiceSnapshot:
        return ServiceSnapshot(
            node=self.node,
            name=self.name,
            activated=True,
            status=self._status,
            start_time=self._start_time if self._status is ServiceStatus.STARTED else None,
            reason=self._reason,
        )

    @property
    def status(self) -> ServiceStatus:
        return self._status

    @property
    def running(self) -> bool:
        return self._status is ServiceStatus.STARTED

    def load_on_start(self, when: float) -> None:
        """The service (already running) started at ``when``: record it and run the on-started hook (used
        when the lab is built)."""
        self._start_time = when
        if self._on_started is not None:
            self._on_started(when)

    # -- commands ------------------------------------------------------------------------------------

    def control(self, action: ServiceAction, now: float) -> ServiceStatus:
        """Begin ``action``; returns the status right after the command (the transition is timed)."""
        if self._status in (ServiceStatus.STARTING, ServiceStatus.STOPPING):
            raise RemoteFaultError(
                f"{self.name} on {self.node} is {self._status.value.lower()}; try again when it settles",
                endpoint=self.node,
                code="ServiceBusy",
            )
        self._generation += 1
        gen = self._generation
        half = self.restart_duration / 2.0
        if action is ServiceAction.STOP:
            if self._status is ServiceStatus.STOPPED:
                return self._status
            self._status = ServiceStatus.STOPPING
            self._scheduler.at(now + half, lambda t: self._finish_stop(gen, t))
        elif action is ServiceAction.START:
            if self._status is ServiceStatus.STARTED:
                return self._status
            self._status = ServiceStatus.STARTING
            self._reason = ""
            self._scheduler.at(now + half, lambda t: self._finish_start(gen, t))
        elif self._status is ServiceStatus.STARTED:
            self._status = ServiceStatus.STOPPING
            self._scheduler.at(now + half, lambda t: self._begin_start(gen, t))
        else:
            self._status = ServiceStatus.STARTING
            self._reason = ""
            self._scheduler.at(now + self.restart_duration, lambda t: self._finish_start(gen, t))
        return self._status

    def _finish_stop(self, gen: int, when: float) -> None:
        if gen != self._generation:
            return
        self._status = ServiceStatus.STOPPED
        self._reason = "Commanded Out of Service"

    def _begin_start(self, gen: int, when: float) -> None:
        if gen != self._generation:
            return
        self._status = ServiceStatus.STARTING
        self._reason = ""
        self._scheduler.at(when + self.restart_duration / 2.0, lambda t: self._finish_start(gen, t))

    def _finish_start(self, gen: int, when: float) -> None:
        if gen != self._generation:
            return
        if self._fail_starts != 0:
            if self._fail_starts > 0:
                self._fail_starts -= 1
            self._status = ServiceStatus.STOPPED
            self._reason = "failed to start"
            return
        self._status = ServiceStatus.STARTED
        self._start_time = when
        self._reason = ""
        if self._on_started is not None:
            self._on_started(when)
