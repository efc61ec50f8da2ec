"""RisPort70: who is registered where (``RisClient``), paced under the query allowance (``RisPacer``).

Used by the reset/gate steps of a migration wave (R13: phones registered on a target node with the
expected address) through ``reconciler.wiring``. Facts (docs/cucm-domain.md#risport70):

- "Allowed Device Queries Per Minute" (default 15, max 18) is shared by every RisPort70 client of the
  cluster and counted over a sliding minute; an excess query fails with a SOAP fault, mapped to
  ``TemporaryError`` with a delay (``providers.transports.soap``).
- ``RisPacer`` is a token bucket with capacity ``burst`` refilling at ``(per_minute - burst)`` tokens per
  minute, so that any 60-second window admits at most ``burst + (per_minute - burst) = per_minute``
  queries: the client never exceeds the allowance on its own. Clock and sleep are injectable.
- A reply holds at most ``max_devices`` devices (1000; 2000 from CUCM 14 [I], ``ris_max_devices``);
  longer answers are paged by passing ``StateInfo`` back. Paging stops when the state is empty or
  unchanged, a page is empty, or every device counted in ``TotalDevicesFound`` was seen (a bounded loop).
- A device appears once per node it registered to; ``registrations`` keeps, per device name, the record
  with the most recent ``TimeStamp`` (a ``Registered`` record wins a tie).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Self

import requests

from providers.transports.soap import CucmEndpoint, SoapService, make_soap_client, open_session, soap_errors
from reconciler.errors import TemporaryError

__all__ = ["Registration", "RisClient", "RisPacer", "dedupe", "ris_max_devices"]

_MAX_PAGES = 200


def ris_max_devices(version: object) -> int:
    """Devices per RisPort70 reply for a CUCM version: 1000, 2000 from 14.0 (configurable per client)."""
    major = int(str(version).split(".", 1)[0])
    return 2000 if major >= 14 else 1000


class RisPacer:
    """Token bucket: ``burst`` tokens, refilled at ``(per_minute - burst) / 60`` per second."""

    def __init__(
        self,
        *,
        per_minute: int = 15,
        burst: int = 3,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        max_wait: float = 120.0,
    ) -> None:
        if per_minute < 2 or not 1 <= burst < per_minute:
            raise ValueError("RisPacer needs per_minute >= 2 and 1 <= burst < per_minute")
        self.per_minute, self.burst, self.max_wait = per_minute, burst, max_wait
        self.rate = (per_minute - burst) / 60.0 * 0.999  # a hair under, against float rounding
        self._clock, self._sleep = clock, sleep
        self._tokens = float(burst)
        self._stamp = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def eta(self, queries: int) -> float:
        """Seconds until ``queries`` more queries fit into the allowance (tokens now, then the refill
        rate): how long a listing that needs that many more pages will still take at least."""
        with self._lock:
            self._refill()
            short = max(0.0, queries - self._tokens)
        return short / self.rate

    def acquire(self) -> float:
        """Take one token, sleeping until one is there; returns the seconds waited. ``TemporaryError``
        if that would take longer than ``max_wait``."""
        waited = 0.0
        with self._lock:
            for _ in range(8):  # float edge cases only; one sleep normally suffices
                self._refill()
                if self._tokens >= 1.0 - 1e-9:  # the 0.999 rate margin covers this epsilon
                    self._tokens = max(0.0, self._tokens - 1.0)
                    return waited
                wait = (1.0 - self._tokens) / self.rate
                if waited + wait > self.max_wait:
                    raise TemporaryError(
                        f"RisPort70 pacing would wait {wait:.0f} s (allowance {self.per_minute}/min)",
                        delay=wait,
                    )
                self._sleep(wait)
                waited += wait
        raise TemporaryError("RisPort70 pacing could not obtain a token", delay=60.0 / self.per_minute)


@dataclass(frozen=True, slots=True, kw_only=True)
class Registration:
    """One device as RisPort70 reports it on one node. ``timestamp`` is the last status change (UTC)."""

    name: str
    node: str
    status: str  # Registered | UnRegistered | Rejected | PartiallyRegistered | Unknown
    ip: str = ""
    timestamp: dt.datetime | None = None
    reason: int = 0  # StatusReason
    protocol: str = ""
    description: str = ""
    model: int | None = None

    @property
    def registered(self) -> bool:
        return self.status == "Registered"


def dedupe(records: Iterable[Registration]) -> tuple[Registration, ...]:
    """One record per device name: the most recent ``timestamp``; on a tie a Registered one."""
    best: dict[str, Registration] = {}
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    for rec in records:
        key = rec.name.upper()
        old = best.get(key)
        if old is None or (rec.timestamp or epoch, rec.registered) > (old.timestamp or epoch, old.registered):
            best[key] = rec
    return tuple(sorted(best.values(), key=lambda r: r.name))


def _when(stamp: Any) -> dt.datetime | None:
    """A ``TimeStamp`` (seconds since the epoch) as UTC; None when absent or not a time (out of range)."""
    if not stamp:
        return None
    try:
        return dt.datetime.fromtimestamp(int(stamp), dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _device(node: str, item: Any) -> Registration:
    ips = (item["IPAddress"]["item"] if item["IPAddress"] is not None else None) or []
    ipv4 = next((a["IP"] for a in ips if str(a["IPAddrType"] or "").lower() == "ipv4"), None)
    stamp = item["TimeStamp"]
    return Registration(
        name=str(item["Name"] or ""),
        node=node,
        status=str(item["Status"] or "Unknown"),
        ip=str(ipv4 or (ips[0]["IP"] if ips else "") or ""),
        timestamp=_when(stamp),
        reason=int(item["StatusReason"] or 0),
        protocol=str(item["Protocol"] or ""),
        description=str(item["Description"] or ""),
        model=int(item["Model"]) if item["Model"] is not None else None,
    )


class RisClient:
    """RisPort70 of a cluster (any node answers for all)."""

    def __init__(
        self,
        *,
        endpoint: CucmEndpoint,
        session: requests.Session,
        pacer: RisPacer | None = None,
        max_devices: int | None = None,
        extended: bool = False,
    ) -> None:
        self.endpoint = endpoint
        self._session = session
        self.pacer = pacer or RisPacer()
        self.max_devices = max_devices or ris_max_devices(endpoint.version)
        self.operation = "selectCmDeviceExt" if extended else "selectCmDevice"
        self._service = make_soap_client(service=SoapService.RISPORT, endpoint=endpoint, session=session)
        self.queries = 0

    @classmethod
    def connect(cls, cluster: Any, *, node: Any | None = None, **kwargs: Any) -> RisClient:
        endpoint = CucmEndpoint.from_cluster(cluster, node)
        cred = cluster.credentials.axl
        session = open_session(endpoint, user=cred.username, password=cred.password)
        return cls(endpoint=endpoint, session=session, **kwargs)

    def _query(self, state: str, criteria: dict[str, Any]) -> Any:
        self.pacer.acquire()
        self.queries += 1
        with soap_errors(
            endpoint=self.endpoint,
            operation=self.operation,
            service="RisPort70",
            fault_delay=60.0 / self.pacer.per_minute,
        ):
            return getattr(self._service, self.operation)(StateInfo=state, CmSelectionCriteria=criteria)

    def raw_registrations(
        self,
        items: Sequence[str] = ("*",),
        *,
        status: str = "Any",
        select_by: str = "Name",
        node: str = "",
        device_class: str = "Phone",
        progress: Callable[[int, int, float], None] | None = None,
    ) -> tuple[Registration, ...]:
        """Every record (one per device and node), all pages, chunks of ``max_devices`` items.
        ``progress(listed, total, eta)`` is called after every page: records listed so far, the total
        RisPort70 reported, and the seconds the allowance needs for the remaining pages (``eta``)."""
        out: list[Registration] = []
        wanted = list(items) or ["*"]
        for start in range(0, len(wanted), self.max_devices):
            chunk = wanted[start : start + self.max_devices]
            criteria = {
                "MaxReturnedDevices": self.max_devices,
                "DeviceClass": device_class,
                "Model": 255,
                "Status": status,
                "NodeName": node,
                "SelectBy": select_by,
                "SelectItems": {"item": [{"Item": i} for i in chunk]},
                "Protocol": "Any",
                "DownloadStatus": "Any",
            }
            out.extend(self._pages(criteria, progress=progress, before=len(out)))
        return tuple(out)

    def sample(self, *, max_devices: int = 50) -> tuple[tuple[Registration, ...], int]:
        """One query (one unit of the allowance) for up to ``max_devices`` phones: (records, total found).
        ``reconciler doctor`` uses it to see that the allowance is not exhausted and that records decode."""
        criteria = {
            "MaxReturnedDevices": min(max_devices, self.max_devices),
            "DeviceClass": "Phone",
            "Model": 255,
            "Status": "Any",
            "NodeName": "",
            "SelectBy": "Name",
            "SelectItems": {"item": [{"Item": "*"}]},
            "Protocol": "Any",
            "DownloadStatus": "Any",
        }
        result = self._query("", criteria)["SelectCmDeviceResult"]
        found: list[Registration] = []
        nodes = (result["CmNodes"]["item"] if result["CmNodes"] is not None else None) or []
        for cm_node in nodes:
            devices = (cm_node["CmDevices"]["item"] if cm_node["CmDevices"] is not None else None) or []
            found.extend(_device(str(cm_node["Name"] or ""), d) for d in devices)
        return tuple(found), int(result["TotalDevicesFound"] or 0)

    def _pages(
        self,
        criteria: dict[str, Any],
        *,
        progress: Callable[[int, int, float], None] | None = None,
        before: int = 0,
    ) -> list[Registration]:
        found: list[Registration] = []
        state = ""
        for _ in range(_MAX_PAGES):
            answer = self._query(state, criteria)
            result = answer["SelectCmDeviceResult"]
            total = int(result["TotalDevicesFound"] or 0)
            page: list[Registration] = []
            nodes = (result["CmNodes"]["item"] if result["CmNodes"] is not None else None) or []
            for cm_node in nodes:
                devices = (cm_node["CmDevices"]["item"] if cm_node["CmDevices"] is not None else None) or []
                page.extend(_device(str(cm_node["Name"] or ""), d) for d in devices)
            found.extend(page)
            if progress is not None:
                left = max(0, total - len(found))
                progress(
                    before + len(found),
                    before + max(total, len(found)),
                    self.pacer.eta(-(-left // self.max_devices)),
                )
            following = str(answer["StateInfo"] or "")
            if not page or not following or following == state or len(found) >= total:
                return found
            state = following
        return found

    def registrations(self, items: Sequence[str] = ("*",), **kwargs: Any) -> tuple[Registration, ...]:
        """``raw_registrations`` de-duplicated: one record per device, the most recent one."""
        return dedupe(self.raw_registrations(items, **kwargs))

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
