"""The provider contract for ``trust.<cluster>.<store>.<cert-id>`` steps — the ``cucm_certs`` registry
entry of each publisher (``TrustStoreProvider``) — against the real lab: through the admin CLI over SSH
on the 11.5 cluster ``old`` and through certmgr REST on the 14.0 cluster ``new``
(``certificate_api: auto``). The step carries the plan's value (the declared certificate with its PEM).
Plus R7: with replication lag, verifying on every node names the nodes that do not hold the certificate
yet and complies once the lag has passed (lab time, a ManualClock)."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from pydantic import BaseModel, ConfigDict, Field

from providers.cucm_certs import CliCertClient, RestCertClient
from reconciler.errors import PermanentError
from reconciler.model import Action, Change, freeze
from reconciler.plan.document import PlanStep
from reconciler.provider import Provider
from reconciler.vocabulary import ProviderKind, TrustStore
from simulator.lab.faults import Fault
from simulator.lab.runtime import LabRuntime
from tests.contract.lab_fixtures import (
    OpLog,
    cluster_model,
    fresh_trust_cert,
    lab_clock,
    lab_runtime_fixture,
    plan_trust_change,
    registry_fixture,
    trust_provider,
)
from tests.contract.provider_contract import ContractCase, ProviderContract, entry_for

pytestmark = pytest.mark.lab
lab = lab_runtime_fixture()
registry = registry_fixture()
STORE = str(TrustStore.CALLMANAGER_TRUST)
PUBLISHERS = {"old": "cucm-old-pub", "new": "cucm-new-pub"}


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


upload_change = plan_trust_change


class TrustContract(ProviderContract):
    observed_model = TrustValue
    cluster_name: str

    @pytest.fixture
    def case(self) -> ContractCase:
        cert = fresh_trust_cert()
        change = upload_change(self.cluster_name, cert, f"ext-{cert.serial_number % 10**8}")
        endpoint = f"{self.cluster_name}/{PUBLISHERS[self.cluster_name]}"
        return ContractCase(step=PlanStep(change=change, provider=ProviderKind.CUCM_CERTS, endpoint=endpoint))


class TestTrustStoreOverCliOn115(TrustContract):
    """11.5 has no certmgr REST: ``auto`` picks the admin CLI (paramiko shell, pasted PEM)."""

    cluster_name = "old"

    def test_auto_picks_the_cli(self, lab: LabRuntime) -> None:
        with trust_provider(cluster_model(lab, "old")) as provider:
            assert all(isinstance(c, CliCertClient) for c in provider.clients)


class TestTrustStoreOverRestOn140(TrustContract):
    """14.0: ``auto`` picks certmgr REST (verified HTTPS with the lab CA)."""

    cluster_name = "new"

    def test_auto_picks_rest(self, lab: LabRuntime) -> None:
        with trust_provider(cluster_model(lab, "new")) as provider:
            assert all(isinstance(c, RestCertClient) for c in provider.clients)

    def test_a_delete_of_what_reconciler_does_not_own_is_refused(
        self, registry: Mapping[object, Provider], case: ContractCase
    ) -> None:
        provider = entry_for(registry, case.step)
        provider.apply(case.change)
        delete = Change(address=case.change.address, action=Action.DELETE,
                        before=freeze({"cert_id": case.change.address.name}), reason="test")  # fmt: skip
        with pytest.raises(PermanentError, match="did not add"):  # the fixture's owned() is False
            provider.apply(delete)


@pytest.mark.parametrize("cluster", ["old", "new"])
def test_r7_verify_names_the_nodes_replication_has_not_reached(lab: LabRuntime, cluster: str) -> None:
    """R7: the upload lands on the publisher; until the lag has passed, verify lists the other nodes."""
    cert = fresh_trust_cert("r7")
    change = upload_change(cluster, cert, "r7-cert")
    lab.apply_fault(Fault(kind="replication-lag", cluster=cluster, seconds=30))
    try:
        with trust_provider(cluster_model(lab, cluster)) as provider:
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
