"""``EnterpriseParameterProvider``: the provider contract for ``param.<cluster>.<name>`` over AXL.

``reconciler.wiring`` builds one per cluster around that cluster's ``AxlClient``. ``<name>`` is an
enterprise parameter's internal name, or an alias of "Prepare Cluster for Rollback to pre 8.0"
(``rollback_to_pre8`` or the GUI label; its internal name is discovered, docs/cucm-domain.md#axl). The
value is ``{"value": <bool|str>}``: booleans for ``T``/``F`` parameters, the raw text otherwise.

- ``read``: one ``listServiceParameter`` of Enterprise Wide per call (plus discovery), never mutates;
  a parameter the cluster lacks reads as ``value=None``.
- ``diff``: pure; NOOP when equal (booleans compare as booleans), UPDATE otherwise; rule ``R2`` for the
  rollback parameter (it must stay False on a secure source) unless the desired state names one.
- ``apply``: re-reads first and sends ``updateServiceParameter`` only when the value differs
  (idempotent); the answer is the value read back.
- ``verify``: read-back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import ClassVar

from providers.cucm_axl.client import ENTERPRISE_SERVICE, ENTERPRISE_WIDE_NODE, AxlClient, is_rollback_alias
from providers.cucm_axl.models import ServiceParameterInfo
from reconciler.errors import PermanentError, RemoteFaultError
from reconciler.model import Action, Address, Change, FrozenMap, Value, freeze
from reconciler.provider import ApplyResult, Desired, Observed, ProviderBase, VerifyResult, compare_values

__all__ = ["EnterpriseParameterProvider", "param_value"]


def param_value(info: ServiceParameterInfo) -> Value:
    """The frozen JSON value of a parameter: ``{"value": bool}`` for T/F parameters, else the text."""
    as_bool = info.as_bool
    return freeze({"value": as_bool if as_bool is not None else info.value})


def _wire(value: Value, *, address: Address) -> str:
    if not isinstance(value, FrozenMap) or "value" not in value:
        raise PermanentError(f"{address}: expected {{'value': ...}}, got {value!r}")
    inner = value["value"]
    if isinstance(inner, bool):
        return "T" if inner else "F"
    if isinstance(inner, str | int | float):
        return str(inner)
    raise PermanentError(f"{address}: a parameter value must be a boolean, number or text, got {inner!r}")


def _same(a: Value, b: Value) -> bool:
    if not isinstance(a, FrozenMap) or not isinstance(b, FrozenMap):
        return a == b
    return str(a.get("value")).lower() == str(b.get("value")).lower()


class EnterpriseParameterProvider(ProviderBase):
    """Enterprise parameters of one cluster (kind ``param``)."""

    kinds: ClassVar[frozenset[str]] = frozenset({"param"})

    def __init__(self, client: AxlClient, *, cluster: str) -> None:
        self.client = client
        self.cluster = cluster

    @property
    def endpoint(self) -> str:
        return self.client.name

    def _name(self, address: Address) -> str:
        if address.kind != "param" or address.parts[1] != self.cluster:
            raise PermanentError(
                f"{address} is not a param address of cluster {self.cluster}", endpoint=self.endpoint
            )
        return address.name

    def _lookup(self, names: Sequence[str]) -> dict[str, ServiceParameterInfo | None]:
        params = self.client.enterprise_parameters()
        by_name = {p.name.lower(): p for p in params}
        out: dict[str, ServiceParameterInfo | None] = {}
        for name in names:
            if is_rollback_alias(name):
                out[name] = self.client.rollback_parameter()
            else:
                out[name] = by_name.get(name.lower())
        return out

    def read(self, addresses: Sequence[Address]) -> Mapping[Address, Observed]:
        names = {a: self._name(a) for a in addresses}
        found = self._lookup(sorted(set(names.values())))
        out: dict[Address, Observed] = {}
        for address, name in names.items():
            info = found[name]
            if info is None:
                out[address] = Observed(address=address, value=None)
                continue
            digest = hashlib.sha256(f"{info.name}={info.value}".encode()).hexdigest()[:16]
            out[address] = Observed(address=address, value=param_value(info), fingerprint=digest)
        return out

    def diff(self, desired: Desired, observed: Observed) -> Change:
        name = self._name(desired.address)
        _wire(desired.value, address=desired.address)  # validates the shape
        rule = desired.rule or ("R2" if is_rollback_alias(name) else None)
        if observed.value is None:
            return Change(
                address=desired.address,
                action=Action.CREATE,
                before=None,
                after=desired.value,
                reason=f"enterprise parameter {name!r} not found on {self.cluster}",
                rule=rule,
            )
        if _same(desired.value, observed.value):
            return Change(
                address=desired.address,
                action=Action.NOOP,
                before=observed.value,
                after=desired.value,
                reason="already as desired",
                rule=rule,
            )
        before = observed.value["value"] if isinstance(observed.value, FrozenMap) else observed.value
        after = desired.value["value"] if isinstance(desired.value, FrozenMap) else desired.value
        return Change(
            address=desired.address,
            action=Action.UPDATE,
            before=observed.value,
            after=desired.value,
            reason=desired.reason or f"{name}: {before} → {after}",
            rule=rule,
        )

    def apply(self, change: Change) -> ApplyResult:
        name = self._name(change.address)
        if change.action is Action.NOOP:
            return ApplyResult(change=change, changed=False, observed=change.before)
        if change.action not in (Action.UPDATE, Action.CREATE):
            raise PermanentError(f"{change.address}: an enterprise parameter cannot be {change.action.verb}d")
        wanted = _wire(change.after, address=change.address)
        info = self._lookup([name])[name]
        if info is None:
            raise RemoteFaultError(
                f"cluster {self.cluster} has no enterprise parameter {name!r}",
                endpoint=self.endpoint,
                hint="enterprise parameters cannot be created; check the name (param.<cluster>.<name>)",
            )
        if _same(param_value(info), change.after):
            return ApplyResult(change=change, changed=False, observed=param_value(info))
        self.client.update_service_parameter(
            node=ENTERPRISE_WIDE_NODE, service=ENTERPRISE_SERVICE, name=info.name, value=wanted
        )
        after = self.client.service_parameter(
            node=ENTERPRISE_WIDE_NODE, service=ENTERPRISE_SERVICE, name=info.name
        )
        return ApplyResult(change=change, changed=True, observed=param_value(after) if after else None)

    def verify(self, change: Change) -> VerifyResult:
        observed = self.read([change.address])[change.address].value
        if _same(change.after, observed):
            return VerifyResult(address=change.address, complies=True, observed=observed, detail="complies")
        mismatched = compare_values(change.after, observed)
        return VerifyResult(
            address=change.address,
            complies=False,
            mismatched=mismatched,
            observed=observed,
            detail=f"expected {change.after!r}, read {observed!r}",
        )

    def close(self) -> None:
        self.client.close()
