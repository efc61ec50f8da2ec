"""The generic provider contract suite (docs/providers.md "The contract"), run against the REAL
model-backed lab and against exactly the objects the executor calls: the entries of
``reconciler.wiring.registry.build_registry`` for the lab's desired state, looked up by a plan step's
``(provider, endpoint)`` as ``reconciler.apply.steps.StepRunner`` looks them up. The lab model's
``operation_log`` records every mutating operation, so "verify never mutates" and "apply twice is apply
once" are proved by what the model saw, not by a fake.

A test module subclasses ``ProviderContract`` (no ``Test`` prefix here, so it is not collected by itself),
sets the value model and provides two fixtures:

- ``lab``: the running ``LabRuntime`` (``tests.contract.lab_fixtures.lab_runtime_fixture``);
- ``case``: a ``ContractCase`` — a plan step exactly as the planner writes it (the plan's values,
  docs/plan-format.md) that the lab does NOT comply with yet (fresh per test).

``registry`` (from ``tests.contract.lab_fixtures.registry_fixture``) gives the wired entries; every
``ApplyResult.observed`` and ``VerifyResult.observed`` must validate against ``observed_model`` and be
JSON (state and journals store them as they are).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from pydantic import BaseModel

from reconciler.model import Change, Value, thaw
from reconciler.plan.document import PlanStep
from reconciler.provider import ApplyResult, FieldMismatch, Provider, VerifyResult
from simulator.lab.runtime import LabRuntime
from tests.contract.lab_fixtures import OpLog

__all__ = ["ContractCase", "ProviderContract", "entry_for"]

VERBS = ("apply", "verify", "close")


@dataclass(frozen=True, slots=True, kw_only=True)
class ContractCase:
    """A plan step the lab does not comply with yet."""

    step: PlanStep

    @property
    def change(self) -> Change:
        return self.step.change


def entry_for(registry: Mapping[object, Provider], step: PlanStep) -> Provider:
    """The registry entry the executor would call for ``step`` (``StepRunner.provider_for``)."""
    found = registry.get((step.provider, step.endpoint)) or registry.get(step.provider)
    assert found is not None, f"no registry entry for {step.provider}@{step.endpoint}"
    return found


class ProviderContract:
    """Tests every registry entry passes against the lab. Subclasses set the model and ``case``."""

    observed_model: ClassVar[type[BaseModel]]

    def _value(self, value: Value, *, what: str) -> None:
        if value is None:
            return
        plain = thaw(value)
        assert json.loads(json.dumps(plain)) == plain, f"{what} is not JSON: {plain!r}"
        self.observed_model.model_validate(plain)

    def check_apply(self, result: ApplyResult, change: Change) -> None:
        assert isinstance(result, ApplyResult) and result.change == change
        assert isinstance(result.changed, bool)
        self._value(result.observed, what="ApplyResult.observed")

    def check_verify(self, result: VerifyResult, change: Change) -> None:
        assert isinstance(result, VerifyResult) and result.address == change.address
        assert all(isinstance(m, FieldMismatch) for m in result.mismatched)
        assert result.complies == (not result.mismatched), "complies exactly when nothing mismatches"
        assert result.method and isinstance(result.detail, str)
        self._value(result.observed, what="VerifyResult.observed")
        json.dumps([m.to_dict() for m in result.mismatched])

    # -- the contract -----------------------------------------------------------------------------
    def test_the_entry_satisfies_the_applier_protocol(
        self, registry: Mapping[object, Provider], case: ContractCase
    ) -> None:
        provider = entry_for(registry, case.step)
        assert isinstance(provider, Provider)
        assert isinstance(provider.kinds, frozenset) and case.change.address.kind in provider.kinds
        assert isinstance(provider.endpoint, str) and provider.endpoint
        for verb in VERBS:
            mine = inspect.signature(getattr(provider, verb)).parameters
            theirs = [p for p in inspect.signature(getattr(Provider, verb)).parameters if p != "self"]
            assert list(mine) == theirs, f"{verb}{tuple(mine)} differs from the contract's {tuple(theirs)}"
        assert not hasattr(provider, "read") and not hasattr(provider, "diff"), "the estate reads, not us"

    def test_verify_fails_before_apply_without_mutating_and_complies_after(
        self, lab: LabRuntime, registry: Mapping[object, Provider], case: ContractCase
    ) -> None:
        provider, change = entry_for(registry, case.step), case.change
        log = OpLog.mark_now(lab)
        early = provider.verify(change)
        self.check_verify(early, change)
        assert not early.complies and early.mismatched
        assert log.texts() == [], "verify only reads"
        provider.apply(change)
        late = provider.verify(change)
        self.check_verify(late, change)
        assert late.complies, late.detail

    def test_apply_twice_is_the_same_as_once(
        self, lab: LabRuntime, registry: Mapping[object, Provider], case: ContractCase
    ) -> None:
        provider, change = entry_for(registry, case.step), case.change
        log = OpLog.mark_now(lab)
        first = provider.apply(change)
        self.check_apply(first, change)
        assert first.changed and log.since(), "the first apply changed the model"
        after_once = log.texts()
        second = provider.apply(change)  # the executor's retry of the same change
        self.check_apply(second, change)
        assert not second.changed
        assert log.texts() == after_once, "a retried apply makes no mutating call"
        assert provider.verify(change).complies
