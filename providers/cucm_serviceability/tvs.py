"""``TvsProvider``: the provider contract for ``tvs.<cluster>.<node>`` (R8: TVS restarted after the trust
stores changed, one node at a time, waiting for Started).

``reconciler.wiring`` builds one per cluster with a ``ControlCenterClient`` per node. Values:

- desired ``{"status": "Started", "started_after": "<ISO-8601 time>"}`` (``started_after`` optional: the
  time of the last trust change the TVS must have reloaded, R7/R8);
- observed ``{"status": "<ControlCenter status>", "started_at": "<ISO-8601 UTC>" | None}``.

``diff`` is pure: NOOP when the service is Started and started at or after ``started_after`` (compared to
the second, the resolution of ControlCenter's ``StartTime``), else RUN (a restart). ``apply`` re-reads and
restarts only when still needed (so a retry after success restarts nothing), then waits for Started
(``ControlCenterClient.restart``, timeout → ``VerificationError``). ``verify`` reads back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import ClassVar

from providers.cucm_serviceability.control import ControlCenterClient, RestartProgress, ServiceStatusInfo
from reconciler.errors import PermanentError, VerificationError
from reconciler.model import Action, Address, Change, FrozenMap, Value, freeze
from reconciler.provider import ApplyResult, Desired, FieldMismatch, Observed, ProviderBase, VerifyResult

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


def _mismatches(desired: Value, observed: Value, *, address: Address) -> tuple[FieldMismatch, ...]:
    if not isinstance(desired, FrozenMap):
        raise PermanentError(
            f"{address}: expected {{'status': 'Started', 'started_after': ...}}, got {desired!r}"
        )
    if observed is None or not isinstance(observed, FrozenMap):
        return (FieldMismatch(field="status", expected=desired.get("status", "Started"), actual=None),)
    out = []
    want_status = desired.get("status", "Started")
    if observed.get("status") != want_status:
        out.append(FieldMismatch(field="status", expected=want_status, actual=observed.get("status")))
    after = _time(desired.get("started_after"), address=address, what="started_after")
    if after is not None:
        started = _time(observed.get("started_at"), address=address, what="started_at")
        if started is None or started < after.replace(microsecond=0):
            out.append(
                FieldMismatch(
                    field="started_at", expected=f">= {after.isoformat()}", actual=observed.get("started_at")
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
    ) -> None:
        self.clients = dict(clients)
        self.cluster = cluster
        self.timeout, self.poll_interval, self.progress = timeout, poll_interval, progress

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

    def read(self, addresses: Sequence[Address]) -> Mapping[Address, Observed]:
        out: dict[Address, Observed] = {}
        for address in addresses:
            info = self._client(address).status(TVS_SERVICE)
            out[address] = Observed(address=address, value=tvs_value(info))
        return out

    def diff(self, desired: Desired, observed: Observed) -> Change:
        self._client(desired.address)
        if isinstance(desired.value, FrozenMap) and desired.value.get("status", "Started") != "Started":
            raise PermanentError(f"{desired.address}: only status 'Started' can be desired for TVS")
        missing = _mismatches(desired.value, observed.value, address=desired.address)
        rule = desired.rule or "R8"
        if not missing:
            return Change(
                address=desired.address,
                action=Action.NOOP,
                before=observed.value,
                after=desired.value,
                reason="TVS already started after the trust change",
                rule=rule,
            )
        reason = desired.reason or "; ".join(f"{m.field}: want {m.expected}, is {m.actual}" for m in missing)
        return Change(
            address=desired.address,
            action=Action.RUN,
            before=observed.value,
            after=desired.value,
            reason=f"restart {TVS_SERVICE} on {desired.address.name} ({reason})",
            rule=rule,
        )

    def apply(self, change: Change) -> ApplyResult:
        client = self._client(change.address)
        if change.action is Action.NOOP:
            return ApplyResult(change=change, changed=False, observed=change.before)
        current = tvs_value(client.status(TVS_SERVICE))
        if not _mismatches(change.after, current, address=change.address):
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
        observed = tvs_value(self._client(change.address).status(TVS_SERVICE))
        missing = _mismatches(change.after, observed, address=change.address)
        detail = "complies" if not missing else "; ".join(f"{m.field}: {m.actual}" for m in missing)
        return VerifyResult(
            address=change.address, complies=not missing, mismatched=missing, observed=observed, detail=detail
        )

    def close(self) -> None:
        for client in self.clients.values():
            client.close()
