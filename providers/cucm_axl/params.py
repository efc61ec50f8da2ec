"""``EnterpriseParameterProvider``: applies and verifies ``param.<cluster>.<name>`` steps over AXL.

``reconciler.wiring.registry.build_registry`` makes one per cluster around that cluster's ``AxlClient``.
``<name>`` is an enterprise parameter's internal name, or an alias of "Prepare Cluster for Rollback to
pre 8.0" (``rollback_to_pre8`` or the GUI label; its internal name is discovered, docs/cucm-domain.md#axl).
It takes the plan's values as they are: CUCM's text (``"True"``/``"False"``/any text; docs/plan-format.md).

- ``apply``: reads first and sends ``updateServiceParameter`` only when the value is not already
  ``reconciler.insync.in_sync`` with ``change.after`` (idempotent: a retry changes nothing; R2 for the
  rollback parameter); the answer is the value read back.
- ``verify``: read-back, compared by the same rule.

Observed values are ``{"value": <bool|str>}`` (booleans for ``T``/``F`` parameters).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from providers.cucm_axl.client import ENTERPRISE_SERVICE, ENTERPRISE_WIDE_NODE, AxlClient, is_rollback_alias
from providers.cucm_axl.models import ServiceParameterInfo
from reconciler.errors import PermanentError, RemoteFaultError
from reconciler.insync import in_sync, param_word
from reconciler.model import Action, Address, Change, FrozenMap, Value, freeze
from reconciler.provider import ApplyResult, FieldMismatch, ProviderBase, VerifyResult

__all__ = ["EnterpriseParameterProvider", "param_value"]


def param_value(info: ServiceParameterInfo) -> Value:
    """The frozen JSON value of a parameter: ``{"value": bool}`` for T/F parameters, else the text."""
    as_bool = info.as_bool
    return freeze({"value": as_bool if as_bool is not None else info.value})


def _wire(value: Value, *, address: Address) -> str:
    """The plan's text as AXL stores it: ``T``/``F`` for booleans, else the text itself."""
    if isinstance(value, FrozenMap | tuple) or value is None:
        raise PermanentError(f"{address}: expected the parameter's text, got {value!r}")
    word = param_word(value)
    return {"true": "T", "false": "F"}.get(word, str(value).strip())


def _live(info: ServiceParameterInfo | None) -> str | None:
    """The live text of a parameter (``None`` when the cluster lacks it)."""
    return None if info is None else info.value


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
        if in_sync("param", live=_live(info), want=change.after):
            return ApplyResult(change=change, changed=False, observed=param_value(info))
        self.client.update_service_parameter(
            node=ENTERPRISE_WIDE_NODE, service=ENTERPRISE_SERVICE, name=info.name, value=wanted
        )
        after = self.client.service_parameter(
            node=ENTERPRISE_WIDE_NODE, service=ENTERPRISE_SERVICE, name=info.name
        )
        return ApplyResult(change=change, changed=True, observed=param_value(after) if after else None)

    def verify(self, change: Change) -> VerifyResult:
        name = self._name(change.address)
        info = self._lookup([name])[name]
        observed = param_value(info) if info is not None else None
        if in_sync("param", live=_live(info), want=change.after):
            return VerifyResult(address=change.address, complies=True, observed=observed, detail="complies")
        return VerifyResult(
            address=change.address,
            complies=False,
            mismatched=(FieldMismatch(field="value", expected=change.after, actual=_live(info)),),
            observed=observed,
            detail=f"expected {change.after!r}, read {_live(info)!r}",
        )

    def close(self) -> None:
        self.client.close()
