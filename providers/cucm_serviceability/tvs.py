"""``TvsProvider``: applies and verifies ``tvs.<cluster>.<node>`` steps (R8: TVS restarted after the
trust stores changed, one node at a time, waiting for Started).

``reconciler.wiring.registry.build_registry`` makes one per cluster with a ``ControlCenterClient`` per
node. It takes the plan's step as it is (docs/plan-format.md): ``after`` is ``{"restart": true}`` and
``before`` is ``{"started_at": "<ISO-8601>"}`` (when the plan saw TVS start) or absent.

What "restarted" means: TVS is Started and started after the first attempt of this step in this run
(so a retry after a successful restart restarts nothing), else — a resumed apply re-verifying, nothing
attempted yet in this process — after the start time the plan saw. Compared to the second, the
resolution of ControlCenter's ``StartTime``. ``apply`` re-reads and restarts only when still needed, then
waits for Started (``ControlCenterClient.restart``, timeout → ``VerificationError``). ``verify`` reads
back. Observed values are ``{"status": "<ControlCenter status>", "started_at": "<ISO-8601 UTC>" | None}``.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Mapping
from typing import ClassVar

from providers.cucm_serviceability.control import ControlCenterClient, RestartProgress, ServiceStatusInfo
from reconciler.errors import PermanentError, VerificationError
from reconciler.model import Action, Address, Change, FrozenMap, Value, freeze
from reconciler.provider import ApplyResult, FieldMismatch, ProviderBase, VerifyResult

__all__ = ["TVS_SERVICE", "TvsProvider", "tvs_value"]

TVS_SERVICE = "Cisco Trust Verification Service"


def tvs_value(info: ServiceStatusInfo) -> Value:
    """The observed value of one node's TVS."""
    started = info.start_time.astimezone(dt.UTC).isoformat() if info.start_time else None
    return freeze({"status": info.status, "started_at": started})


def _time(text: Value, *, address: Address, what: str) -> dt.datetime | None:
    if text is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(text))
    except ValueError as exc:
        raise PermanentError(f"{address}: {what} {text!r} is not an ISO-8601 time") from exc
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def _mismatches(since: dt.datetime | None, observed: Value, *, address: Address) -> tuple[FieldMismatch, ...]:
    """What keeps ``observed`` from "Started, and started at or after ``since``" (to the second)."""
    if observed is None or not isinstance(observed, FrozenMap):
        return (FieldMismatch(field="status", expected="Started", actual=None),)
    out = []
    if observed.get("status") != "Started":
        out.append(FieldMismatch(field="status", expected="Started", actual=observed.get("status")))
    if since is not None:
        started = _time(observed.get("started_at"), address=address, what="started_at")
        if started is None or started < since.replace(microsecond=0):
            out.append(
                FieldMismatch(
                    field="started_at", expected=f">= {since.isoformat()}", actual=observed.get("started_at")
                )
            )
    return tuple(out)


class TvsProvider(ProviderBase):
    """TVS of every node of one cluster (kind ``tvs``)."""

    kinds: ClassVar[frozenset[str]] = frozenset({"tvs"})

    def __init__(
        self,
        clients: Mapping[str, ControlCenterClient],
        *,
        cluster: str,
        timeout: float = 300.0,
        poll_interval: float = 5.0,
        progress: Callable[[RestartProgress], None] | None = None,
        now: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.clients = dict(clients)
        self.cluster = cluster
        self.timeout, self.poll_interval, self.progress = timeout, poll_interval, progress
        self._now = now or (lambda: dt.datetime.now(dt.UTC))
        self._first: dict[Address, dt.datetime] = {}
        self._lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return f"{self.cluster} (ControlCenterServices)"

    def _client(self, address: Address) -> ControlCenterClient:
        if address.kind != "tvs" or address.parts[1] != self.cluster:
            raise PermanentError(f"{address} is not a tvs address of cluster {self.cluster}")
        client = self.clients.get(address.name)
        if client is None:
            known = ", ".join(sorted(self.clients)) or "none"
            raise PermanentError(
                f"{address}: unknown node {address.name!r} of {self.cluster} (known: {known})",
                hint="add the node to the cluster's nodes: in the YAML, or fix the address",
            )
        return client

    def _since(self, change: Change, *, starting: bool) -> dt.datetime | None:
        """The time TVS must have started after (see the module docstring); ``starting`` marks the
        first attempt of this step."""
        with self._lock:
            if starting and change.address not in self._first:
                self._first[change.address] = self._now().replace(microsecond=0)
            since = self._first.get(change.address)
        if since is None and isinstance(change.before, FrozenMap) and change.before.get("started_at"):
            seen = _time(change.before["started_at"], address=change.address, what="started_at")
            since = seen + dt.timedelta(seconds=1) if seen is not None else None
        return since

    def _check(self, change: Change) -> None:
        if change.action is not Action.RUN or not (
            isinstance(change.after, FrozenMap) and change.after.get("restart") is True
        ):
            raise PermanentError(
                f"{change.address}: expected a restart (run, {{'restart': true}}), got {change.after!r}"
            )

    def apply(self, change: Change) -> ApplyResult:
        client = self._client(change.address)
        self._check(change)
        since = self._since(change, starting=True)
        current = tvs_value(client.status(TVS_SERVICE))
        if not _mismatches(since, current, address=change.address):
            return ApplyResult(change=change, changed=False, observed=current)
        try:
            info = client.restart(
                TVS_SERVICE, timeout=self.timeout, poll_interval=self.poll_interval, progress=self.progress
            )
        except VerificationError as exc:  # name the rule: a TVS that did not restart is stale (R8)
            raise VerificationError(
                f"{exc.message} (R8: TVS must restart on every source node after the trust change)",
                endpoint=exc.endpoint,
                hint=exc.hint,
            ) from exc
        return ApplyResult(change=change, changed=True, observed=tvs_value(info))

    def verify(self, change: Change) -> VerifyResult:
        client = self._client(change.address)
        self._check(change)
        since = self._since(change, starting=False)
        observed = tvs_value(client.status(TVS_SERVICE))
        missing = _mismatches(since, observed, address=change.address)
        detail = "complies" if not missing else "; ".join(f"{m.field}: {m.actual}" for m in missing)
        return VerifyResult(
            address=change.address, complies=not missing, mismatched=missing, observed=observed, detail=detail
        )

    def close(self) -> None:
        for client in self.clients.values():
            client.close()
