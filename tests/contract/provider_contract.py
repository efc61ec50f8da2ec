"""The generic provider contract suite (docs/providers.md "The contract"), run against the
REAL model-backed lab: the lab model's ``operation_log`` records every mutating operation, so "read and
diff never mutate" and "apply twice is apply once" are proved by what the model saw, not by a fake.

A test module subclasses ``ProviderContract`` (no ``Test`` prefix here, so it is not collected by itself),
sets the value models and provides three fixtures:

- ``lab``: the running ``LabRuntime`` (``tests.contract.lab_fixtures.lab_runtime_fixture``);
- ``provider``: the provider under test, wired to the lab (closed by the fixture);
- ``case``: a ``ContractCase`` — a ``Desired`` value the lab does NOT hold yet (fresh per test), and
  optionally an address of the same provider that does not exist (``absent``).

``observed_model`` / ``desired_model`` are pydantic models of the provider's declared value shapes
(docs/providers.md): every ``Observed.value``, ``Change.before``, ``ApplyResult.observed`` and
``VerifyResult.observed`` must validate against ``observed_model``, every ``Change.after`` against
``desired_model``, and every value must be JSON (plans, state and journals store them as they are).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from pydantic import BaseModel

from reconciler.model import Action, Address, Change, Value, thaw
from reconciler.provider import ApplyResult, Desired, FieldMismatch, Observed, Provider, VerifyResult
from simulator.lab.runtime import LabRuntime
from tests.contract.lab_fixtures import OpLog

__all__ = ["ContractCase", "ProviderContract"]

VERBS = ("read", "diff", "apply", "verify", "close")


@dataclass(frozen=True, slots=True, kw_only=True)
class ContractCase:
    """What the suite drives: ``desired`` is not in effect yet; ``absent`` (optional) does not exist."""

    desired: Desired
    absent: Address | None = None

    @property
    def address(self) -> Address:
        return self.desired.address


class ProviderContract:
    """Tests every provider passes against the lab. Subclasses set the models and the fixtures."""

    observed_model: ClassVar[type[BaseModel]]
    desired_model: ClassVar[type[BaseModel] | None] = None  # None: same as observed_model

    # -- model checks (used by every test) --------------------------------------------------------
    def _value(self, value: Value, model: type[BaseModel], *, what: str) -> None:
        if value is None:
            return
        plain = thaw(value)
        assert json.loads(json.dumps(plain)) == plain, f"{what} is not JSON: {plain!r}"
        model.model_validate(plain)

    def _desired_model(self) -> type[BaseModel]:
        return self.desired_model or self.observed_model

    def check_observed(self, observed: Mapping[Address, Observed], addresses: list[Address]) -> None:
        assert set(observed) == set(addresses), "read must answer every address asked (absent = None)"
        for address in addresses:
            item = observed[address]
            assert isinstance(item, Observed) and item.address == address
            self._value(item.value, self.observed_model, what=f"Observed({address}).value")

    def check_change(self, change: Change, address: Address) -> None:
        assert isinstance(change, Change) and change.address == address
        assert isinstance(change.action, Action)
        assert change.reason, "a change says why"
        self._value(change.before, self.observed_model, what="Change.before")
        self._value(change.after, self._desired_model(), what="Change.after")
        assert Change.from_dict(json.loads(json.dumps(change.to_dict()))) == change, "plans store changes"

    def check_apply(self, result: ApplyResult, change: Change) -> None:
        assert isinstance(result, ApplyResult) and result.change == change
        assert isinstance(result.changed, bool)
        self._value(result.observed, self.observed_model, what="ApplyResult.observed")

    def check_verify(self, result: VerifyResult, change: Change) -> None:
        assert isinstance(result, VerifyResult) and result.address == change.address
        assert all(isinstance(m, FieldMismatch) for m in result.mismatched)
        assert result.complies == (not result.mismatched), "complies exactly when nothing mismatches"
        assert result.method and isinstance(result.detail, str)
        self._value(result.observed, self.observed_model, what="VerifyResult.observed")
        json.dumps([m.to_dict() for m in result.mismatched])

    def plan(self, provider: Provider, case: ContractCase) -> Change:
        observed = provider.read([case.address])
        self.check_observed(observed, [case.address])
        change = provider.diff(case.desired, observed[case.address])
        self.check_change(change, case.address)
        return change

    # -- the contract -----------------------------------------------------------------------------
    def test_satisfies_the_provider_protocol_with_keyword_only_options(
        self, provider: Provider, case: ContractCase
    ) -> None:
        assert isinstance(provider, Provider)
        assert isinstance(provider.kinds, frozenset) and case.address.kind in provider.kinds
        assert isinstance(provider.endpoint, str) and provider.endpoint
        for verb in VERBS:
            mine = inspect.signature(getattr(provider, verb)).parameters
            theirs = [p for p in inspect.signature(getattr(Provider, verb)).parameters if p != "self"]
            assert list(mine) == theirs, f"{verb}{tuple(mine)} differs from the contract's {tuple(theirs)}"
        init = [p for n, p in inspect.signature(type(provider).__init__).parameters.items() if n != "self"]
        positional = [p for p in init if p.kind is not inspect.Parameter.KEYWORD_ONLY]
        assert len(positional) <= 1, f"constructor options must be keyword-only: {positional}"

    def test_read_and_diff_make_zero_mutating_operations(
        self, lab: LabRuntime, provider: Provider, case: ContractCase
    ) -> None:
        """Style rule 3: reading and planning never mutate — the model's operation log proves it."""
        log = OpLog.mark_now(lab)
        addresses = [case.address] + ([case.absent] if case.absent is not None else [])
        observed = provider.read(addresses)
        self.check_observed(observed, addresses)
        if case.absent is not None:
            assert observed[case.absent].value is None, "an absent resource reads as value=None"
        change = provider.diff(case.desired, observed[case.address])
        self.check_change(change, case.address)
        assert change.action.mutates, f"the case must need a change, got {change.action}"
        assert provider.diff(case.desired, observed[case.address]) == change, "diff is pure"
        assert log.texts() == []

    def test_apply_twice_is_the_same_as_once(
        self, lab: LabRuntime, provider: Provider, case: ContractCase
    ) -> None:
        change = self.plan(provider, case)
        log = OpLog.mark_now(lab)
        first = provider.apply(change)
        self.check_apply(first, change)
        assert first.changed and log.since(), "the first apply changed the model"
        after_once = log.texts()
        second = provider.apply(change)  # the executor's retry of the same change
        self.check_apply(second, change)
        assert not second.changed
        assert log.texts() == after_once, "a retried apply makes no mutating call"
        assert self.plan(provider, case).action is Action.NOOP

    def test_verify_fails_before_apply_and_complies_after(
        self, lab: LabRuntime, provider: Provider, case: ContractCase
    ) -> None:
        change = self.plan(provider, case)
        log = OpLog.mark_now(lab)
        early = provider.verify(change)
        self.check_verify(early, change)
        assert not early.complies and early.mismatched
        assert log.texts() == [], "verify only reads"
        provider.apply(change)
        late = provider.verify(change)
        self.check_verify(late, change)
        assert late.complies, late.detail
