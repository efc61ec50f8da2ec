"""The provider contract for ``trust.<cluster>.<store>.<cert-id>`` (``TrustStoreProvider``) against the real
lab: through the admin CLI over SSH on the 11.5 cluster ``old`` and through certmgr REST on the 14.0
cluster ``new`` (``certificate_api: auto``). Plus R7: with replication lag, ``verify`` names the nodes
that do not hold the certificate yet and complies once the lag has passed (lab time, a ManualClock)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography import x509
from pydantic import BaseModel, ConfigDict, Field

from providers.cucm_certs import CliCertClient, RestCertClient, TrustStoreProvider, trust_value
from reconciler.model import Address
from reconciler.provider import Desired
from simulator.lab import LabRuntime
from simulator.labfaults import Fault
from tests.contract.lab_fixtures import (
    OpLog,
    cluster_model,
    fresh_trust_cert,
    lab_clock,
    lab_runtime_fixture,
    trust_provider,
)
from tests.contract.provider_contract import ContractCase, ProviderContract

lab = lab_runtime_fixture("127.61")
STORE = "CallManager-trust"


class TrustValue(BaseModel):
    """docs/providers.md: ``trust_value`` (sha256, subject, issuer, serial, not_after, pem) + filename; over
    the CLI, where ``show cert trust`` prints no PEM, only the identity facts (sha256 unknown, names as
    printed, ``serial_print`` when the print form is ambiguous)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    sha256: str | None = Field(pattern=r"^[0-9a-f]{64}$")
    subject: str
    issuer: str
    serial: str
    not_after: str | None = None
    pem: str | None = Field(default=None, pattern=r"^-----BEGIN CERTIFICATE-----")
    filename: str | None = None
    serial_print: str | None = None


class TrustContract(ProviderContract):
    observed_model = TrustValue
    cluster_name: str

    @pytest.fixture
    def cert(self) -> x509.Certificate:
        return fresh_trust_cert()

    @pytest.fixture
    def case(self, cert: x509.Certificate) -> ContractCase:
        address = Address.of("trust", self.cluster_name, STORE, f"ext-{cert.serial_number % 10**8}")
        return ContractCase(
            desired=Desired(address=address, value=trust_value(cert), rule="R4"),
            absent=Address.of("trust", self.cluster_name, STORE, "no-such-certificate"),
        )

    @pytest.fixture
    def provider(
        self, lab: LabRuntime, case: ContractCase, cert: x509.Certificate
    ) -> Iterator[TrustStoreProvider]:
        made = trust_provider(cluster_model(lab, self.cluster_name), expected={str(case.address): cert})
        with made:
            yield made


class TestTrustStoreOverCliOn115(TrustContract):
    """11.5 has no certmgr REST: ``auto`` picks the admin CLI (paramiko shell, pasted PEM)."""

    cluster_name = "old"

    def test_auto_picks_the_cli(self, provider: TrustStoreProvider) -> None:
        assert all(isinstance(c, CliCertClient) for c in provider.clients)


class TestTrustStoreOverRestOn140(TrustContract):
    """14.0: ``auto`` picks certmgr REST (verified HTTPS with the lab CA)."""

    cluster_name = "new"

    def test_auto_picks_rest(self, provider: TrustStoreProvider) -> None:
        assert all(isinstance(c, RestCertClient) for c in provider.clients)


@pytest.mark.parametrize("cluster", ["old", "new"])
def test_r7_verify_names_the_nodes_replication_has_not_reached(lab: LabRuntime, cluster: str) -> None:
    """R7: the upload lands on the publisher; until the lag has passed, verify lists the other nodes."""
    cert = fresh_trust_cert("r7")
    address = Address.of("trust", cluster, STORE, "r7-cert")
    lab.apply_fault(Fault(kind="replication-lag", cluster=cluster, seconds=30))
    try:
        with trust_provider(cluster_model(lab, cluster), expected={str(address): cert}) as provider:
            change = provider.diff(Desired(address=address, value=trust_value(cert)),
                                   provider.read([address])[address])  # fmt: skip
            log = OpLog.mark_now(lab)
            assert provider.apply(change).changed
            assert [op.op for op in log.since()] == ["upload_trust"]
            lagging = provider.verify(change)
            subs = sorted(n.name for n in lab.lab.cluster(cluster).nodes if not n.publisher)
            assert not lagging.complies
            assert sorted(m.field for m in lagging.mismatched) == [f"nodes.{n}" for n in subs]
            assert all(n in lagging.detail for n in subs) and "R7" in lagging.detail
            lab_clock(lab).advance(31)
            assert provider.verify(change).complies
    finally:
        lab.apply_fault(Fault(kind="replication-lag", cluster=cluster, off=True))
