"""The provider contract for ``param.<cluster>.<name>`` steps — the ``cucm_axl`` registry entry
(``EnterpriseParameterProvider`` over AXL, zeep over verified HTTPS) — against the real lab on both
clusters (11.5 and 14.0). R2: "Prepare Cluster for Rollback to pre 8.0" has no documented internal name;
the provider discovers it among the Enterprise Wide parameters, and the lab model rebuilds the ITL when
it changes. The step carries the plan's values: CUCM's text ``"False"`` → ``"True"``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pytest
from pydantic import BaseModel, ConfigDict

from reconciler.model import Action, Address, Change
from reconciler.plan.document import PlanStep
from reconciler.provider import Provider
from reconciler.vocabulary import ROLLBACK_PARAMETER, ProviderKind
from simulator.lab.runtime import LabRuntime
from tests.contract.lab_fixtures import OpLog, lab_runtime_fixture, registry_fixture
from tests.contract.provider_contract import ContractCase, ProviderContract, entry_for

pytestmark = pytest.mark.lab
lab = lab_runtime_fixture()
registry = registry_fixture()


class ParamValue(BaseModel):
    """docs/providers.md: observed ``{"value": bool | str}`` (booleans for T/F parameters)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    value: bool | str


@pytest.fixture(params=["old", "new"])
def cluster_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class TestRollbackParameterContract(ProviderContract):
    observed_model = ParamValue

    @pytest.fixture
    def case(self, lab: LabRuntime, cluster_name: str) -> Iterator[ContractCase]:
        assert lab.lab.enterprise_parameter(cluster_name, ROLLBACK_PARAMETER) == "False"
        change = Change(
            address=Address.of("param", cluster_name, str(ROLLBACK_PARAMETER)),
            action=Action.UPDATE,
            before="False",
            after="True",
            reason="test",
            rule="R2",
        )
        yield ContractCase(
            step=PlanStep(change=change, provider=ProviderKind.CUCM_AXL, endpoint=cluster_name)
        )
        lab.lab.set_enterprise_parameter(cluster=cluster_name, name=ROLLBACK_PARAMETER, value="False")

    def test_the_change_lands_in_the_model(
        self, lab: LabRuntime, registry: Mapping[object, Provider], case: ContractCase, cluster_name: str
    ) -> None:
        log = OpLog.mark_now(lab)
        entry_for(registry, case.step).apply(case.change)
        assert [(op.op, op.target) for op in log.since()] == [("set_enterprise_parameter", cluster_name)]
        assert lab.lab.enterprise_parameter(cluster_name, ROLLBACK_PARAMETER) == "True"

    def test_the_short_alias_names_the_same_parameter(
        self, lab: LabRuntime, registry: Mapping[object, Provider], case: ContractCase, cluster_name: str
    ) -> None:
        alias = Change(
            address=Address.of("param", cluster_name, "rollback_to_pre8"),
            action=Action.UPDATE,
            after="True",
            reason="test",
        )
        provider = entry_for(registry, case.step)
        assert not provider.verify(alias).complies
        assert provider.apply(alias).changed
        assert lab.lab.enterprise_parameter(cluster_name, ROLLBACK_PARAMETER) == "True"
