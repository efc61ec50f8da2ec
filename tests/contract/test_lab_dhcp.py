"""Option 150 (R12) against the real lab's DHCP sources: the IOS router (netmiko ``cisco_ios`` over SSH,
host key from the lab's known_hosts) and the CUCM DHCP server of cluster ``old`` (AXL). Both pass the
shared DHCP backend suite (``tests/contract/dhcp_contract.py``) and, as the ``dhcp_<kind>`` entries of
the executor's registry, the generic provider contract; the lab model's operation log is the record of
every mutation, and what a backend sets is what the model hands the scope's phones."""

from __future__ import annotations

from collections.abc import Iterator
from ipaddress import IPv4Address

import pytest
from pydantic import BaseModel, ConfigDict

from providers.dhcp.cucm import CucmDhcpBackend
from providers.dhcp.ios import IosDhcpBackend
from reconciler.model import Action, Address, Change, freeze
from reconciler.plan.document import PlanStep
from reconciler.vocabulary import ProviderKind
from simulator.lab.runtime import LabRuntime
from tests.contract.dhcp_contract import DhcpBackendContract, Mutations
from tests.contract.lab_fixtures import (
    OpLog,
    cucm_dhcp_backend,
    fresh_addresses,
    ios_backend,
    lab_runtime_fixture,
    registry_fixture,
)
from tests.contract.provider_contract import ContractCase, ProviderContract

pytestmark = pytest.mark.lab
lab = lab_runtime_fixture()
registry = registry_fixture()


class Option150Value(BaseModel):
    """docs/providers.md: ``{"option150": [addresses in preference order]}``."""

    model_config = ConfigDict(extra="forbid")
    option150: list[IPv4Address]


@pytest.fixture
def restore_scopes(lab: LabRuntime) -> Iterator[None]:
    """Each test starts from the lab's option 150 values and leaves them as it found them."""
    before = {s.name: lab.lab.option150(s.name) for s in lab.lab.scopes()}
    yield
    for scope, addresses in before.items():
        if lab.lab.option150(scope) != addresses:
            lab.lab.set_option150(scope=scope, addresses=addresses)


def _oplog(lab: LabRuntime) -> Mutations:
    log = OpLog.mark_now(lab)
    return log.texts


@pytest.mark.usefixtures("restore_scopes")
class TestLabIosBackend(DhcpBackendContract):
    """IOS pool PHONES-A (scope-a) through netmiko; verify is a read-back of the running config."""

    @pytest.fixture
    def backend(self, lab: LabRuntime) -> Iterator[IosDhcpBackend]:
        with ios_backend(lab) as made:
            yield made

    @pytest.fixture
    def mutations(self, lab: LabRuntime) -> Mutations:
        return _oplog(lab)

    @pytest.fixture
    def scope_key(self) -> str:
        return "PHONES-A"

    @pytest.fixture
    def new_addresses(self) -> tuple[IPv4Address, ...]:
        return fresh_addresses(3)

    def test_what_netmiko_sets_is_what_the_phones_get(self, lab: LabRuntime, backend: IosDhcpBackend) -> None:
        want = fresh_addresses(2)
        log = OpLog.mark_now(lab)
        backend.set_option150(scope="192.0.2.0/24", addresses=want)
        assert lab.lab.option150("scope-a") == tuple(map(str, want))
        assert [op.op for op in log.since()] == ["set_ios_pool_option150"]


@pytest.mark.usefixtures("restore_scopes")
class TestLabCucmDhcpBackend(DhcpBackendContract):
    """The CUCM DHCP subnet 198.51.100.0 (scope-b) of cluster old through AXL (two TFTP addresses at most)."""

    @pytest.fixture
    def backend(self, lab: LabRuntime) -> Iterator[CucmDhcpBackend]:
        with cucm_dhcp_backend(lab) as made:
            yield made

    @pytest.fixture
    def mutations(self, lab: LabRuntime) -> Mutations:
        return _oplog(lab)

    @pytest.fixture(params=["198.51.100.0", "198.51.100.0/24"])
    def scope_key(self, request: pytest.FixtureRequest) -> str:
        return str(request.param)

    @pytest.fixture
    def new_addresses(self) -> tuple[IPv4Address, ...]:
        return fresh_addresses(2)

    def test_what_axl_sets_is_what_the_phones_get(self, lab: LabRuntime, backend: CucmDhcpBackend) -> None:
        want = fresh_addresses(2)
        log = OpLog.mark_now(lab)
        backend.set_option150(scope="198.51.100.0", addresses=want)
        assert lab.lab.option150("scope-b") == tuple(map(str, want))
        assert [op.op for op in log.since()] == ["set_cucm_dhcp_subnet"]


class Option150Contract(ProviderContract):
    """The ``dhcp_<kind>`` registry entry of a server, given the plan's step for a YAML scope."""

    observed_model = Option150Value
    server: str
    kind: ProviderKind
    scope: str

    @pytest.fixture
    def case(self, lab: LabRuntime, restore_scopes: None) -> ContractCase:
        change = Change(
            address=Address.of("option150", self.server, self.scope),
            action=Action.UPDATE,
            before=freeze(list(lab.lab.option150(self.scope))),
            after=freeze([str(a) for a in fresh_addresses(2)]),
            reason="test",
            rule="R12",
        )
        return ContractCase(step=PlanStep(change=change, provider=self.kind, endpoint=self.server))


class TestIosOption150Entry(Option150Contract):
    """scope-c (pool PHONES-C on the IOS router): the YAML's scope name, found by its subnet."""

    server, kind, scope = "lab-router", ProviderKind.DHCP_IOS, "scope-c"


class TestCucmDhcpOption150Entry(Option150Contract):
    """scope-b (the CUCM DHCP subnet 198.51.100.0 of cluster old), found by its subnet."""

    server, kind, scope = "old-cucm-dhcp", ProviderKind.DHCP_CUCM, "scope-b"
