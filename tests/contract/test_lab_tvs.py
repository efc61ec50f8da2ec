"""The provider contract for ``tvs.<cluster>.<node>`` (``TvsProvider`` over ControlCenterServices) against
the real lab: R8 — TVS must have (re)started after the last trust change. The lab model runs on a
ManualClock; the clients' polling ``sleep`` advances it, so a restart takes 10 s of lab time and no wall
time. A desired ``started_after`` later than the node's TVS start makes the change a restart (RUN)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict

from providers.cucm_serviceability import TVS_SERVICE, TvsProvider
from reconciler.errors import PermanentError
from reconciler.model import Address, FrozenMap, freeze
from reconciler.provider import Desired
from simulator.lab.runtime import LabRuntime
from tests.contract.lab_fixtures import OpLog, cluster_model, lab_clock, lab_runtime_fixture, tvs_provider
from tests.contract.provider_contract import ContractCase, ProviderContract

pytestmark = pytest.mark.lab
lab = lab_runtime_fixture()


class TvsObserved(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    status: str
    started_at: str | None


class TvsDesired(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    status: Literal["Started"]
    started_after: str | None = None


@pytest.fixture(params=[("old", "cucm-old-sub1"), ("new", "cucm-new-pub")], ids=["old-sub1", "new-pub"])
def node(request: pytest.FixtureRequest) -> tuple[str, str]:
    return request.param  # type: ignore[no-any-return]


class TestTvsFreshnessContract(ProviderContract):
    observed_model = TvsObserved
    desired_model = TvsDesired

    @pytest.fixture
    def case(self, lab: LabRuntime, node: tuple[str, str]) -> ContractCase:
        clock = lab_clock(lab)
        clock.advance(5)  # the trust change happens after TVS last started
        changed_at = dt.datetime.fromtimestamp(clock.now(), dt.UTC).isoformat()
        return ContractCase(
            desired=Desired(
                address=Address.of("tvs", *node),
                value=freeze({"status": "Started", "started_after": changed_at}),
            )
        )

    @pytest.fixture
    def provider(self, lab: LabRuntime, node: tuple[str, str]) -> Iterator[TvsProvider]:
        with tvs_provider(lab, cluster_model(lab, node[0])) as made:
            yield made

    def test_apply_restarts_only_that_node_and_waits_for_started(
        self, lab: LabRuntime, provider: TvsProvider, case: ContractCase, node: tuple[str, str]
    ) -> None:
        change = self.plan(provider, case)
        assert change.rule == "R8"
        log = OpLog.mark_now(lab)
        result = provider.apply(change)
        assert [(op.op, op.target, op.detail) for op in log.since()] == [
            ("control_service", f"{node[0]}/{node[1]}", f"Restart {TVS_SERVICE}")
        ]
        assert isinstance(result.observed, FrozenMap) and result.observed["status"] == "Started"
        assert lab.lab.service_status(node[0], node[1], TVS_SERVICE).status.value == "Started"


def test_unknown_node_is_permanent_and_names_it(lab: LabRuntime) -> None:
    with tvs_provider(lab, cluster_model(lab, "old")) as provider:
        with pytest.raises(PermanentError, match="cucm-old-sub9") as err:
            provider.read([Address.of("tvs", "old", "cucm-old-sub9")])
        assert err.value.hint and "nodes" in err.value.hint
