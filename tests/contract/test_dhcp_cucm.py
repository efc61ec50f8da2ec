"""The shared DHCP contract suite run against the CUCM DHCP backend (``providers.dhcp.cucm``) over the lab's
real AXL face (zeep over verified HTTPS); the operation log is the fake node's write log (only
``updateDhcpSubnet``/``updateDhcpServer`` mutate). CUCM's subnet holds two TFTP addresses at most."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from providers.cucm_axl import AxlClient
from providers.dhcp.cucm import CucmDhcpBackend
from reconciler.errors import PermanentError
from tests.contract.dhcp_contract import DhcpBackendContract, Mutations
from tests.prov_cucm_lab import CucmFaceLab

pytestmark = pytest.mark.lab


@pytest.fixture(params=["11.5.1.21900-40", "14.0.1.11900-132"])
def lab(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CucmFaceLab]:
    lab = CucmFaceLab(tmp_path, version=request.param)
    try:
        yield lab
    finally:
        lab.stop()


@pytest.fixture
def backend(lab: CucmFaceLab) -> Iterator[CucmDhcpBackend]:
    ep = lab.endpoint()
    with CucmDhcpBackend(
        AxlClient(endpoint=ep, session=lab.session(ep)), name="cucm-dhcp", server="cucm-pub"
    ) as b:
        yield b


@pytest.fixture
def mutations(lab: CucmFaceLab) -> Mutations:
    def log() -> Sequence[str]:
        return [f"{op} {args}" for op, args in lab.writes()]

    return log


@pytest.fixture(params=["198.51.100.0", "203.0.113.0/25"])
def scope_key(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def new_addresses() -> tuple[IPv4Address, ...]:
    return (IPv4Address("10.40.0.21"), IPv4Address("10.40.0.22"))


class TestCucmDhcpBackendContract(DhcpBackendContract):
    """CUCM DHCP passes the shared contract (verify is a read-back)."""

    def test_scopes_carry_the_subnet_and_both_tftp_fields(self, backend: CucmDhcpBackend) -> None:
        scopes = {s.name: s for s in backend.list_scopes()}
        assert str(scopes["198.51.100.0"].subnet) == "198.51.100.0/24"
        assert [str(a) for a in scopes["198.51.100.0"].option150] == ["10.30.0.11", "10.30.0.12"]
        assert [str(a) for a in scopes["203.0.113.0"].option150] == ["10.30.0.11"]  # empty secondary skipped

    def test_one_address_clears_the_secondary(self, backend: CucmDhcpBackend, lab: CucmFaceLab) -> None:
        result = backend.set_option150(scope="198.51.100.0", addresses=[IPv4Address("10.40.0.21")])
        assert result.changed and [str(a) for a in result.scope.option150] == ["10.40.0.21"]
        assert lab.backend.subnets[0]["secondaryTftpServerIpAddress"] == ""

    def test_more_than_two_addresses_are_refused_without_writing(
        self, backend: CucmDhcpBackend, lab: CucmFaceLab
    ) -> None:
        three = [IPv4Address(f"10.40.0.{i}") for i in (1, 2, 3)]
        with pytest.raises(PermanentError, match="at most two"):
            backend.set_option150(scope="198.51.100.0", addresses=three)
        assert lab.writes() == []
