"""The provider contract for ``tvs.<cluster>.<node>`` steps — the ``cucm_serviceability`` registry entry
(``TvsProvider`` over ControlCenterServices) — against the real lab: R8, TVS must have (re)started after
the last trust change. The lab model runs on a ManualClock; the clients' polling ``sleep`` advances it,
so a restart takes 10 s of lab time and no wall time. The step is the plan's: ``{"restart": true}``
with the start time the plan saw as ``before``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import pytest
from pydantic import BaseModel, ConfigDict

from providers.cucm_serviceability import TVS_SERVICE
from reconciler.errors import PermanentError
from reconciler.model import Action, Address, Change, FrozenMap, freeze
from reconciler.plan.document import PlanStep
from reconciler.provider import Provider
from reconciler.vocabulary import ProviderKind
from simulator.lab.runtime import LabRuntime
from tests.contract.lab_fixtures import (
    OpLog,
    cluster_model,
    lab_clock,
    lab_runtime_fixture,
    registry_fixture,
    tvs_provider,
)
from tests.contract.provider_contract import ContractCase, ProviderContract, entry_for

pytestmark = pytest.mark.lab
lab = lab_runtime_fixture()
registry = registry_fixture()


class TvsObserved(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    status: str
    started_at: str | None


@pytest.fixture(params=[("old", "cucm-old-sub1"), ("new", "cucm-new-pub")], ids=["old-sub1", "new-pub"])
def node(request: pytest.FixtureRequest) -> tuple[str, str]:
    return request.param  # type: ignore[no-any-return]


def restart_step(lab: LabRuntime, cluster: str, node: str) -> PlanStep:
    """The step the planner writes for a stale TVS: restart, seen started at its current start time."""
    started = lab.lab.service_status(cluster, node, TVS_SERVICE).start_time
    before = (
        None if started is None else {"started_at": dt.datetime.fromtimestamp(started, dt.UTC).isoformat()}
    )
    change = Change(
        address=Address.of("tvs", cluster, node),
        action=Action.RUN,
        before=freeze(before),
        after=freeze({"restart": True}),
        reason="test",
        rule="R8",
    )
    return PlanStep(change=change, provider=ProviderKind.CUCM_SERVICEABILITY, endpoint=f"{cluster}/{node}")


class TestTvsRestartContract(ProviderContract):
    observed_model = TvsObserved

    @pytest.fixture
    def case(self, lab: LabRuntime, node: tuple[str, str]) -> ContractCase:
        step = restart_step(lab, *node)
        lab_clock(lab).advance(5)  # the plan was made, and apply starts, after TVS last started
        return ContractCase(step=step)

    def test_apply_restarts_only_that_node_and_waits_for_started(
        self, lab: LabRuntime, registry: Mapping[object, Provider], case: ContractCase, node: tuple[str, str]
    ) -> None:
        log = OpLog.mark_now(lab)
        result = entry_for(registry, case.step).apply(case.change)
        assert [(op.op, op.target, op.detail) for op in log.since()] == [
            ("control_service", f"{node[0]}/{node[1]}", f"Restart {TVS_SERVICE}")
        ]
        assert isinstance(result.observed, FrozenMap) and result.observed["status"] == "Started"
        assert lab.lab.service_status(node[0], node[1], TVS_SERVICE).status.value == "Started"


def test_unknown_node_is_permanent_and_names_it(lab: LabRuntime) -> None:
    with tvs_provider(lab, cluster_model(lab, "old")) as provider:
        change = Change(address=Address.of("tvs", "old", "cucm-old-sub9"), action=Action.RUN,
                        after=freeze({"restart": True}))  # fmt: skip
        with pytest.raises(PermanentError, match="cucm-old-sub9") as err:
            provider.verify(change)
        assert err.value.hint and "nodes" in err.value.hint
