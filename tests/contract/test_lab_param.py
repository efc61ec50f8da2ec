"""The provider contract for ``param.<cluster>.rollback_to_pre8`` (``EnterpriseParameterProvider`` over AXL,
zeep over verified HTTPS) against the real lab on both clusters (11.5 and 14.0). R2: "Prepare Cluster for
Rollback to pre 8.0" has no documented internal name; the provider discovers it among the Enterprise Wide
parameters, and the lab model rebuilds the ITL when it changes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import BaseModel, ConfigDict

from providers.cucm_axl import EnterpriseParameterProvider
from reconciler.model import Address, freeze
from reconciler.provider import Desired
from simulator.lab.runtime import LabRuntime
from simulator.model.cluster import ROLLBACK_PARAMETER
from tests.contract.lab_fixtures import OpLog, cluster_model, lab_runtime_fixture, param_provider
from tests.contract.provider_contract import ContractCase, ProviderContract

pytestmark = pytest.mark.lab
lab = lab_runtime_fixture()


class ParamValue(BaseModel):
    """docs/providers.md: ``{"value": bool | str}`` (booleans for T/F parameters)."""

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
        yield ContractCase(
            desired=Desired(
                address=Address.of("param", cluster_name, "rollback_to_pre8"), value=freeze({"value": True})
            ),
            absent=Address.of("param", cluster_name, "NoSuchEnterpriseParameter"),
        )
        lab.lab.set_enterprise_parameter(cluster=cluster_name, name=ROLLBACK_PARAMETER, value="False")

    @pytest.fixture
    def provider(self, lab: LabRuntime, cluster_name: str) -> Iterator[EnterpriseParameterProvider]:
        with param_provider(cluster_model(lab, cluster_name)) as made:
            yield made

    def test_the_change_cites_r2_and_lands_in_the_model(
        self, lab: LabRuntime, provider: EnterpriseParameterProvider, case: ContractCase, cluster_name: str
    ) -> None:
        change = self.plan(provider, case)
        assert change.rule == "R2"
        log = OpLog.mark_now(lab)
        provider.apply(change)
        assert [(op.op, op.target) for op in log.since()] == [("set_enterprise_parameter", cluster_name)]
        assert lab.lab.enterprise_parameter(cluster_name, ROLLBACK_PARAMETER) == "True"
