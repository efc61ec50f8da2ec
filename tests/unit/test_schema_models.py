"""The desired-state models: frozen, strict, secrets as references, paths relative to the YAML."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pydantic
import pytest

import schemas
from schemas import (
    SERVICE_NAMES,
    CertificateApi,
    Cluster,
    DesiredState,
    Gate,
    NodeSelector,
    SecretRef,
    Service,
    TlsSettings,
)
from tests.unit.desired_fixtures import VALID, load_yaml

_CLUSTER = {
    "name": "c",
    "role": "source",
    "version": "11.5.1.12900-21",
    "credentials": {
        "axl": {"username": "a", "password": "env:A"},
        "os": {"username": "o", "password": "file:pw/os.txt"},
    },
    "nodes": [{"name": "pub", "host": "10.0.0.1", "services": ["tftp"]}, {"name": "s1", "host": "10.0.0.2"}],
}


def test_models_are_frozen() -> None:
    cluster = Cluster.model_validate(_CLUSTER)
    with pytest.raises(pydantic.ValidationError):
        cluster.name = "other"  # type: ignore[misc]


def test_unknown_keys_are_rejected() -> None:
    with pytest.raises(pydantic.ValidationError, match="extra"):
        Cluster.model_validate({**_CLUSTER, "colour": "blue"})


def test_secret_reference_never_holds_or_shows_a_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("A", "s3cret-value")
    cluster = Cluster.model_validate(_CLUSTER)
    ref = cluster.credentials.axl.password
    assert isinstance(ref, SecretRef)
    assert repr(ref) == "SecretRef('env:A')"
    assert str(ref) == "env:A"
    dumped = cluster.model_dump_json()
    assert "s3cret-value" not in dumped and "s3cret-value" not in repr(cluster)
    assert '"password":"env:A"' in dumped


def test_file_secret_resolves_against_base_dir(tmp_path: Path) -> None:
    cluster = Cluster.model_validate(_CLUSTER, context={"base_dir": tmp_path})
    assert cluster.credentials.os.password.path == tmp_path / "pw" / "os.txt"


@pytest.mark.parametrize("bad", ["hunter2", "env:", "env:1BAD", "vault:x", "file:"])
def test_bad_secret_references(bad: str) -> None:
    with pytest.raises(ValueError, match=r"reference|variable"):
        SecretRef(bad)


def test_publisher_defaults_to_first_node_and_ports_fall_back() -> None:
    cluster = Cluster.model_validate({**_CLUSTER, "ports": {"ssh": 2222}})
    assert cluster.publisher.name == "pub"
    assert cluster.port(cluster.nodes[0], "ssh") == 2222
    assert cluster.port(cluster.nodes[0], "https") == 8443
    assert cluster.port(cluster.nodes[0], "tftp_http") == 6970
    assert [n.name for n in cluster.nodes_running(Service.TFTP)] == ["pub"]


def test_certificate_api_auto_follows_the_version() -> None:
    old = Cluster.model_validate(_CLUSTER)
    new = Cluster.model_validate({**_CLUSTER, "version": "14.0.1"})
    assert old.effective_certificate_api is CertificateApi.CLI
    assert new.effective_certificate_api is CertificateApi.REST


def test_every_service_word_maps_to_an_exact_cucm_name() -> None:
    assert set(SERVICE_NAMES) == set(Service)
    assert SERVICE_NAMES[Service.TVS] == "Cisco Trust Verification Service"
    assert SERVICE_NAMES[Service.TFTP] == "Cisco Tftp"


def test_tls_settings_are_mutually_exclusive() -> None:
    with pytest.raises(pydantic.ValidationError, match="either ca_bundle or pin_sha256"):
        TlsSettings.model_validate({"ca_bundle": "a.pem", "pin_sha256": "ab" * 32})
    with pytest.raises(pydantic.ValidationError, match="insecure"):
        TlsSettings.model_validate({"insecure": True, "pin_sha256": "ab" * 32})
    pin = TlsSettings.model_validate({"pin_sha256": ":".join(["AB"] * 32)}).pin_sha256
    assert pin == "sha256:" + "ab" * 32


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("15m", 900), ("1h30m", 5400), (120, 120)])
def test_durations(text: object, seconds: int) -> None:
    gate = Gate.model_validate({"min_registered_share": 0.5, "deadline": text})
    assert gate.deadline == timedelta(seconds=seconds)
    assert gate.model_dump(mode="json")["deadline"] == f"{seconds}s"


@pytest.mark.parametrize("bad", ["soon", "0s", -5, "15x"])
def test_bad_durations(bad: object) -> None:
    with pytest.raises(pydantic.ValidationError):
        Gate.model_validate({"min_registered_share": 0.5, "deadline": bad})


def test_gate_poll_interval_defaults_to_15s_is_bounded_and_sets_the_live_r3_cache() -> None:
    """R13: how often a gate spends the RisPort70 allowance; live R3 reads at most once per poll, at most
    every ten seconds (reconciler.wiring.gates)."""
    from reconciler.wiring.gates import WATCH_TTL, watch_ttl
    from schemas.policy import Policy

    assert Policy().gate_poll_interval == timedelta(seconds=15)
    assert Policy.model_validate({"gate_poll_interval": "2s"}).gate_poll_interval == timedelta(seconds=2)
    for bad in ("0s", 0.5, "11m"):
        with pytest.raises(pydantic.ValidationError):
            Policy.model_validate({"gate_poll_interval": bad})
    desired = load_yaml(VALID).state
    assert desired is not None
    assert watch_ttl(desired) == WATCH_TTL == 10.0
    policy = desired.policy.model_copy(update={"gate_poll_interval": timedelta(seconds=2)})
    assert watch_ttl(desired.model_copy(update={"policy": policy})) == 2.0


@pytest.mark.parametrize("share", [0, 1.5, -0.1])
def test_gate_share_is_a_fraction(share: float) -> None:
    with pytest.raises(pydantic.ValidationError):
        Gate.model_validate({"min_registered_share": share, "deadline": "1m"})


def test_node_selector_needs_exactly_one_way() -> None:
    with pytest.raises(pydantic.ValidationError, match="exactly one"):
        NodeSelector.model_validate({})
    with pytest.raises(pydantic.ValidationError, match="exactly one"):
        NodeSelector.model_validate({"role": "tftp", "names": ["a"]})


def test_version_must_be_1() -> None:
    result = load_yaml(VALID.replace("version: 1\n", "version: 2\n", 1))
    assert not result.ok
    assert "version" in result.diagnostics.errors[0].summary


def test_document_round_trips_through_json() -> None:
    state = load_yaml(VALID).state
    assert state is not None
    again = DesiredState.model_validate_json(state.model_dump_json())
    assert again == state


def test_public_names_are_pinned() -> None:
    assert "DesiredState" in schemas.__all__
    for name in schemas.__all__:
        assert hasattr(schemas, name), name
