"""Round-trip counting and floors for ``bench/bench_plan_apply.py`` (not product code, not a test).

``Meter.install()`` wraps — at class level, for the life of the bench process — the three places every
provider request passes through, without changing them:

- ``providers.transports.http.SafeSession.request``: every HTTP(S) request (AXL, RisPort70 and
  ControlCenterServices through zeep, certmgr REST, TFTP over HTTP); the API is told apart by the URL
  path/port;
- ``providers.cucm_cli.session.CliSession.run``: one admin-CLI command over SSH (one round trip);
- ``providers.dhcp.ios.IosDhcpBackend._call``: one IOS command (or config set) over SSH via netmiko.

Per API it records the number of requests, the summed busy time and the largest number in flight.
``floor_seconds`` is the round-trip floor of docs/performance.md#scale-targets: Σ over APIs of (round trips ÷
allowed concurrency) × the measured latency of one cheap round trip on that API; RisPort70 is also bounded by
its per-minute allowance (queries per cluster ÷ allowance).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

__all__ = ["ApiCount", "Meter", "api_of_url", "floor_terms"]

AXL, RIS, CONTROL, CERTMGR, TFTP, ADMIN_CLI, IOS = (
    "AXL",
    "RisPort70",
    "ControlCenterServices",
    "certmgr REST",
    "TFTP over HTTP",
    "admin CLI (SSH)",
    "IOS CLI (SSH)",
)
APIS = (AXL, RIS, CONTROL, CERTMGR, TFTP, ADMIN_CLI, IOS)


def api_of_url(url: str) -> str:
    parts = urlsplit(url)
    path = parts.path.lower()
    if path.startswith("/axl"):
        return AXL
    if "realtimeservice" in path:
        return RIS
    if "controlcenterservice" in path:
        return CONTROL
    if "certmgr" in path:
        return CERTMGR
    if parts.port == 6970:
        return TFTP
    return f"other HTTP ({path[:40]})"


@dataclass(slots=True)
class ApiCount:
    count: int = 0
    busy: float = 0.0
    in_flight: int = 0
    max_in_flight: int = 0
    by_cluster: dict[str, int] = field(default_factory=dict)


class Meter:
    """Thread-safe request counter; ``snapshot()``/``since(snapshot)`` give per-phase counts."""

    def __init__(self, *, cluster_of_host: Callable[[str], str] = lambda host: "?") -> None:
        self._lock = threading.Lock()
        self.apis: dict[str, ApiCount] = {}
        self._undo: list[Callable[[], None]] = []
        self.cluster_of_host = cluster_of_host

    @contextmanager
    def _timed(self, api: str, host: str) -> Iterator[None]:
        cluster = self.cluster_of_host(host)
        with self._lock:
            entry = self.apis.setdefault(api, ApiCount())
            entry.count += 1
            entry.by_cluster[cluster] = entry.by_cluster.get(cluster, 0) + 1
            entry.in_flight += 1
            entry.max_in_flight = max(entry.max_in_flight, entry.in_flight)
        began = time.perf_counter()
        try:
            yield
        finally:
            took = time.perf_counter() - began
            with self._lock:
                entry.in_flight -= 1
                entry.busy += took

    def _wrap(self, owner: Any, name: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
        original = getattr(owner, name)
        setattr(owner, name, make(original))
        self._undo.append(lambda: setattr(owner, name, original))

    def install(self) -> None:
        from providers.cucm_cli.session import CliSession
        from providers.dhcp.ios import IosDhcpBackend
        from providers.transports.http import SafeSession

        meter = self

        def http(original: Callable[..., Any]) -> Callable[..., Any]:
            def request(session: Any, method: Any, url: Any, *args: Any, **kwargs: Any) -> Any:
                text = url.decode() if isinstance(url, bytes) else str(url)
                with meter._timed(api_of_url(text), urlsplit(text).hostname or ""):
                    return original(session, method, url, *args, **kwargs)

            return request

        def cli(original: Callable[..., Any]) -> Callable[..., Any]:
            def run(session: Any, command: str, *args: Any, **kwargs: Any) -> Any:
                with meter._timed(ADMIN_CLI, session.target.host):
                    return original(session, command, *args, **kwargs)

            return run

        def ios(original: Callable[..., Any]) -> Callable[..., Any]:
            def call(backend: Any, during: str, func: Any) -> Any:
                with meter._timed(IOS, backend.target.host):
                    return original(backend, during, func)

            return call

        self._wrap(SafeSession, "request", http)
        self._wrap(CliSession, "run", cli)
        self._wrap(IosDhcpBackend, "_call", ios)

    def uninstall(self) -> None:
        while self._undo:
            self._undo.pop()()

    def snapshot(self) -> dict[str, ApiCount]:
        with self._lock:
            return {
                k: ApiCount(v.count, v.busy, 0, v.max_in_flight, dict(v.by_cluster))
                for k, v in self.apis.items()
            }

    def reset_peaks(self) -> None:
        with self._lock:
            for entry in self.apis.values():
                entry.max_in_flight = entry.in_flight

    def since(self, before: Mapping[str, ApiCount]) -> dict[str, ApiCount]:
        now = self.snapshot()
        out = {}
        for api, entry in now.items():
            old = before.get(api, ApiCount())
            if entry.count == old.count:
                continue
            clusters = {c: n - old.by_cluster.get(c, 0) for c, n in entry.by_cluster.items()}
            out[api] = ApiCount(
                entry.count - old.count,
                entry.busy - old.busy,
                0,
                entry.max_in_flight,
                {c: n for c, n in clusters.items() if n},
            )
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class FloorTerm:
    api: str
    round_trips: int
    concurrency: int
    latency: float
    allowance_seconds: float = 0.0  # RisPort70: queries per cluster ÷ allowance (the larger cluster)

    @property
    def seconds(self) -> float:
        return max(self.round_trips / self.concurrency * self.latency, self.allowance_seconds)


def floor_terms(
    counts: Mapping[str, ApiCount],
    *,
    latency: Mapping[str, float],
    concurrency: Mapping[str, int],
    ris_per_minute: int,
) -> list[FloorTerm]:
    """One term per API the phase used (see the module docstring)."""
    terms = []
    for api, entry in sorted(counts.items()):
        allowance = 0.0
        if api == RIS and entry.by_cluster:
            # a sliding minute admits ris_per_minute queries per cluster; clusters are independent
            allowance = max(entry.by_cluster.values()) / ris_per_minute * 60.0
        terms.append(
            FloorTerm(
                api=api,
                round_trips=entry.count,
                concurrency=max(1, concurrency.get(api, 1)),
                latency=latency.get(api, math.nan),
                allowance_seconds=allowance,
            )
        )
    return terms
