"""The DHCP contract suite run against a real kea-dhcp4 through ``providers.dhcp.kea``; the operation log
is the control agent traffic recorded on the wire (only config-set/config-write mutate)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from providers.dhcp.kea import KeaDhcpBackend
from simulator.kea import KeaInstance
from tests.conftest import require_tool
from tests.contract.dhcp_contract import DhcpBackendContract, Mutations
from tests.kea_support import TFTP_NEW, RecordingAdapter, backend_for, running_kea

pytestmark = pytest.mark.lab


@pytest.fixture
def kea(tmp_path: Path) -> Iterator[KeaInstance]:
    require_tool("kea-dhcp4")
    require_tool("kea-ctrl-agent")
    with running_kea(tmp_path / "kea") as instance:
        yield instance


@pytest.fixture
def wired(kea: KeaInstance) -> Iterator[tuple[KeaDhcpBackend, RecordingAdapter]]:
    backend, adapter = backend_for(kea)
    with backend:
        yield backend, adapter


@pytest.fixture
def backend(wired: tuple[KeaDhcpBackend, RecordingAdapter]) -> KeaDhcpBackend:
    return wired[0]


@pytest.fixture
def mutations(wired: tuple[KeaDhcpBackend, RecordingAdapter]) -> Mutations:
    adapter = wired[1]

    def log() -> Sequence[str]:
        return adapter.mutations()

    return log


@pytest.fixture
def scope_key() -> str:
    return "scope-a"


@pytest.fixture
def new_addresses() -> tuple[IPv4Address, ...]:
    return TFTP_NEW


class TestKeaBackendContract(DhcpBackendContract):
    """Kea passes the shared DHCP contract (verify uses read-back + a real DHCP query)."""

    def test_verify_uses_a_real_dhcp_query(self, backend: KeaDhcpBackend) -> None:
        check = backend.verify_option150(scope="scope-a", addresses=TFTP_NEW)
        assert check.method == "read-back+dhcp-query"
        assert check.offered == check.observed != TFTP_NEW
