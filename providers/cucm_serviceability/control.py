"""``ControlCenterClient``: service status and restarts of ONE node through ControlCenterServices.

Used by ``providers.cucm_serviceability.tvs.TvsProvider`` (R8: restart TVS after trust changes) and by
``reconciler.wiring.estate`` (TVS start times for the plan). ``restart`` first waits out a service that is
Starting or Stopping, then sends ``soapDoControlServices`` (which returns before the service settles,
docs/cucm-domain.md#controlcenterservices) and then polls ``soapGetServiceStatus`` until the service reports
``Started`` with a start time after the request, or the timeout passes (``VerificationError``). Progress goes
to an optional callback — the engine never prints. Clock and sleep are injectable so tests never wait on wall
time.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Self

import requests

from providers.transports.soap import CucmEndpoint, SoapService, make_soap_client, open_session, soap_errors
from reconciler.errors import PermanentError, RemoteFaultError, VerificationError

__all__ = [
    "ControlCenterClient",
    "RestartProgress",
    "ServiceStatusInfo",
    "match_process_node",
    "parse_start_time",
]

_NAIVE_FORMATS = ("%a %b %d %H:%M:%S %Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")
_ZONE_WORD = re.compile(
    r"^(?P<head>.*\d{2}:\d{2}:\d{2})\s+(?P<zone>UTC|GMT|Z)(?P<offset>[+-]\d{2}:?\d{2})?\s+(?P<year>\d{4})$"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceStatusInfo:
    """One service on one node. ``status`` is ``Started|Stopped|Starting|Stopping|Unknown``;
    ``start_time`` is aware (UTC) or ``None`` when the node gives none."""

    node: str
    name: str
    status: str
    reason: str = ""
    reason_code: int | None = None
    start_time: dt.datetime | None = None
    up_time_s: int | None = None

    @property
    def started(self) -> bool:
        return self.status == "Started"


@dataclass(frozen=True, slots=True, kw_only=True)
class RestartProgress:
    """What the restart loop saw at one poll (handed to the progress callback)."""

    node: str
    service: str
    status: str
    elapsed_s: float
    poll: int


_MAX_UPTIME = 100 * 365 * 86400  # seconds; a longer UpTime is not one (and would leave datetime's range)


def parse_start_time(
    text: str | None,
    *,
    up_time_s: int | None,
    now: dt.datetime,
    tz: dt.tzinfo | None = None,
    started: bool = True,
) -> dt.datetime | None:
    """When a service started, as an aware UTC datetime, or ``None`` when that is unknown.

    ``UpTime`` (integer seconds, zone-free) is the authority: ``now - UpTime`` (a stopped service has
    no uptime, so ``started=False`` skips it). A ``StartTime`` that names its zone (ISO 8601 with an
    offset, ``... UTC 2026``, ``... GMT+01:00 2026``) is used when it agrees with it. A ``StartTime``
    without a zone is never guessed as UTC (west of UTC every restart check would fail, east a required
    restart could be skipped, R8): with ``UpTime`` its zone is derived (the difference, rounded to a
    quarter hour, must be whole within 90 s), which keeps the exact, stable second of ``StartTime``;
    without ``UpTime`` (and without a ``tz`` the caller knows) it is unknown.
    """
    approx = None
    if started and up_time_s is not None and 0 <= up_time_s <= _MAX_UPTIME:
        approx = (now - dt.timedelta(seconds=up_time_s)).astimezone(dt.UTC)
    value = (text or "").strip()
    zoned, naive = _read_start_time(value)
    if zoned is not None and (approx is None or abs((zoned - approx).total_seconds()) <= 90):
        return zoned
    if naive is not None and approx is not None:
        delta = (naive - approx.replace(tzinfo=None)).total_seconds()
        offset = round(delta / 900) * 900
        if abs(delta - offset) <= 90 and abs(offset) <= 14 * 3600:
            return (naive - dt.timedelta(seconds=offset)).replace(tzinfo=dt.UTC)
    if approx is not None:
        return approx.replace(microsecond=0)
    if naive is not None and tz is not None:
        return naive.replace(tzinfo=tz).astimezone(dt.UTC)
    return None  # no uptime and no zone in the text (or one we cannot place, e.g. "PST"): unknown


def _read_start_time(value: str) -> tuple[dt.datetime | None, dt.datetime | None]:
    """(aware UTC time when ``value`` names its zone, naive time when it has none)."""
    if not value:
        return None, None
    try:
        iso = dt.datetime.fromisoformat(value)
    except ValueError:
        iso = None
    if iso is not None:
        try:
            return (iso.astimezone(dt.UTC), None) if iso.tzinfo is not None else (None, iso)
        except OverflowError:  # year 1 or 9999 moved across midnight by its offset: not a start time
            return None, None
    zoned = _ZONE_WORD.match(value)
    if zoned is not None:
        try:
            parsed = dt.datetime.strptime(f"{zoned['head']} {zoned['year']}", "%a %b %d %H:%M:%S %Y")
        except ValueError:
            return None, None
        offset = dt.timedelta()
        if zoned["offset"]:
            digits = zoned["offset"].replace(":", "")
            sign = -1 if digits[0] == "-" else 1
            offset = sign * dt.timedelta(hours=int(digits[1:3]), minutes=int(digits[3:5]))
        return parsed.replace(tzinfo=dt.timezone(offset)).astimezone(dt.UTC), None
    for fmt in _NAIVE_FORMATS:
        try:
            return None, dt.datetime.strptime(value, fmt)
        except ValueError:
            continue
    return None, None


def match_process_node(*, name: str, host: str, process_nodes: Sequence[str]) -> str | None:
    """CUCM's own name for the node the YAML calls ``name`` at ``host``, from the cluster's process-node
    list (AXL ``listProcessNode``): the same name, else the same name in another case, else the host
    (CUCM often names a server by its address or FQDN), else a unique FQDN whose first label is the
    name or the host's first label. ``None`` when nothing matches unambiguously."""
    listed = [p for p in process_nodes if p and p != "EnterpriseWideData"]
    for wanted in (name, host):
        if wanted in listed:
            return wanted
        folded = [p for p in listed if p.casefold() == wanted.casefold()]
        if len(folded) == 1:
            return folded[0]
    labels = {name.casefold(), host.split(".", 1)[0].casefold()}
    short = [p for p in listed if p.split(".", 1)[0].casefold() in labels]
    return short[0] if len(short) == 1 else None


def _start_failed(info: ServiceStatusInfo) -> bool:
    """Stopped with a reason saying the start failed (``ReasonCodeString``): polling on cannot help (R8)."""
    return info.status == "Stopped" and "fail" in info.reason.lower()


_TRANSITIONAL = frozenset({"Starting", "Stopping"})


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None and str(value).strip() != "" else None
    except (TypeError, ValueError):
        return None


class ControlCenterClient:
    """ControlCenterServices of one node (each node is asked at its own URL)."""

    def __init__(
        self,
        *,
        endpoint: CucmEndpoint,
        session: requests.Session,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        node_tz: dt.tzinfo | None = None,
        process_node: str | None = None,
    ) -> None:
        self.endpoint = endpoint
        self._session = session
        self._clock, self._sleep, self._now, self._tz = clock, sleep, now, node_tz
        self.process_node = process_node
        self._service = make_soap_client(
            service=SoapService.CONTROL_CENTER, endpoint=endpoint, session=session
        )

    @classmethod
    def connect(cls, cluster: Any, node: Any, **kwargs: Any) -> ControlCenterClient:
        """For ``node`` of a ``schemas.cluster.Cluster`` with ``credentials.axl`` (the application user);
        pass ``process_node`` (CUCM's name of the node, ``match_process_node``) for ``NodeName``."""
        endpoint = CucmEndpoint.from_cluster(cluster, node)
        cred = cluster.credentials.axl
        session = open_session(endpoint, user=cred.username, password=cred.password)
        return cls(endpoint=endpoint, session=session, **kwargs)

    @property
    def node(self) -> str:
        return self.endpoint.node

    def _call(self, operation: str, **kwargs: Any) -> Any:
        with soap_errors(endpoint=self.endpoint, operation=operation, service="ControlCenterServices"):
            return getattr(self._service, operation)(**kwargs)

    def _infos(self, answer: Any) -> tuple[ServiceStatusInfo, ...]:
        info_list = answer["ServiceInfoList"] if answer is not None else None
        items = (info_list["item"] if info_list is not None else None) or []
        now = self._now()
        out = []
        for item in items:
            up = _int(item["UpTime"])
            status = str(item["ServiceStatus"] or "Unknown")
            out.append(
                ServiceStatusInfo(
                    node=self.node,
                    name=str(item["ServiceName"] or ""),
                    status=status,
                    reason=str(item["ReasonCodeString"] or ""),
                    reason_code=_int(item["ReasonCode"]),
                    start_time=parse_start_time(
                        item["StartTime"], up_time_s=up, now=now, tz=self._tz, started=status == "Started"
                    ),
                    up_time_s=up,
                )
            )
        return tuple(out)

    def statuses(self, names: Sequence[str] = ()) -> tuple[ServiceStatusInfo, ...]:
        """Status of ``names`` (all services of the node when empty). Never mutates."""
        return self._infos(self._call("soapGetServiceStatus", ServiceStatus=list(names) or [""]))

    def status(self, name: str) -> ServiceStatusInfo:
        """One service; ``RemoteFaultError`` when the node does not know it."""
        for info in self.statuses([name]):
            if info.name == name:
                return info
        raise RemoteFaultError(
            f"{self.endpoint.label} has no service {name!r}",
            endpoint=self.endpoint.label,
            hint="check the service name (docs/cucm-domain.md#services) and that it is activated",
        )

    def control(self, action: str, names: Sequence[str]) -> tuple[ServiceStatusInfo, ...]:
        """``Start``/``Stop``/``Restart`` (mutating); returns at once, before the services settle."""
        if action not in ("Start", "Stop", "Restart"):
            raise PermanentError(f"ControlType must be Start, Stop or Restart, not {action!r}")
        # NodeName is CUCM's own server name (its process node), not the YAML's; unknown: left out (nil),
        # which each node's own URL reads as "this node"
        request = {"NodeName": self.process_node, "ControlType": action, "ServiceList": {"item": list(names)}}
        return self._infos(self._call("soapDoControlServices", ControlServiceRequest=request))

    def restart(
        self,
        name: str,
        *,
        timeout: float = 300.0,
        poll_interval: float = 5.0,
        progress: Callable[[RestartProgress], None] | None = None,
    ) -> ServiceStatusInfo:
        """Restart ``name`` and poll until it is ``Started`` (started after the request when the node
        gives start times); ``VerificationError`` naming the last status after ``timeout`` seconds, or
        as soon as the node reports the start failed (Stopped, reason "... failed ...")."""
        began = self._clock()
        self._settle(name, began=began, timeout=timeout, poll_interval=poll_interval)
        requested_at = self._now().replace(microsecond=0)
        self.control("Restart", [name])
        polls = max(1, math.ceil(timeout / max(poll_interval, 1e-3))) + 1
        last: ServiceStatusInfo | None = None
        went_down = False  # seen Stopping/Starting/Stopped since the request: evidence of the restart
        for poll in range(1, polls + 1):
            last = self.status(name)
            went_down = went_down or not last.started
            elapsed = self._clock() - began
            if progress is not None:
                progress(
                    RestartProgress(
                        node=self.node, service=name, status=last.status, elapsed_s=elapsed, poll=poll
                    )
                )
            # unknown is not fresh: without a start time only a seen transition proves the restart (R8)
            fresh = last.start_time >= requested_at if last.start_time is not None else went_down
            if last.started and fresh:
                return last
            if _start_failed(last) or elapsed >= timeout:
                break
            self._sleep(min(poll_interval, max(0.0, timeout - elapsed)))
        state = f"{last.status}{f' ({last.reason})' if last and last.reason else ''}" if last else "unknown"
        within = (
            ": the node reports that it failed to start"
            if last is not None and _start_failed(last)
            else f" within {timeout:.0f} s"
        )
        raise VerificationError(
            f"{name} on {self.endpoint.label} did not reach Started{within} (last status {state})",
            endpoint=self.endpoint.label,
            hint=f"look at the service on {self.node} (Serviceability > Control Center, or "
            f"'utils service list'), then re-run apply",
        )

    def _settle(self, name: str, *, began: float, timeout: float, poll_interval: float) -> None:
        """Wait while ``name`` is Starting or Stopping (a restart someone else asked for, e.g. an
        interrupted ``apply``): CUCM refuses to control a service in transition, and a restart sent
        after it settles is the one whose start time counts (R8). Gives up quietly at ``timeout``;
        the restart's own answer then says what is wrong."""
        while self._clock() - began < timeout:
            if self.status(name).status not in _TRANSITIONAL:
                return
            self._sleep(poll_interval)

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
