"""The estate snapshot: recorded through the planner's own reads, it replays to the same plan, validates
against the committed JSON Schema (which must be current), holds no private key, records the reads that
failed by node and face (redacted), and refuses an unknown version. Runs on the in-process
``FakeEstate`` world (real certificates, really signed ITL/CTL)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from reconciler.cucm.facts import ClusterFacts
from reconciler.errors import PlanError, TemporaryError, UnreachableError
from reconciler.live.protocol import PhoneFacts, ReadFailure
from reconciler.live.refresh import refresh
from reconciler.live.snapshot import SNAPSHOT_VERSION, RecordingEstate, from_document, to_document
from reconciler.live.snapshot_schema import snapshot_schema
from reconciler.live.unknown import fix_for
from reconciler.plan.planner import build_plan
from reconciler.state.store import StateSnapshot
from reconciler.vocabulary import ReadFace
from reconciler.wiring.readfailures import ReadFailureLog
from tests.unit.fake_estate import FakeEstate, desired, make_world

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "snapshot.schema.json"


def _steps(plan: Any) -> list[dict[str, Any]]:
    return [s.to_dict() for s in plan.steps]


def _record() -> tuple[Any, dict[str, Any]]:
    recording = RecordingEstate(FakeEstate(make_world(rollback=True)))
    plan = build_plan(desired=desired(), desired_path="t", desired_sha256="0", estate=recording,
                      state=StateSnapshot())  # fmt: skip
    document = json.loads(json.dumps(to_document(recording, source={"desired": {"path": "t"}})))
    return plan, document


def test_the_committed_schema_is_current() -> None:
    assert json.loads(SCHEMA_FILE.read_text()) == snapshot_schema(), (
        "regenerate it: reconciler snapshot --schema > docs/snapshot.schema.json"
    )


def test_a_recorded_snapshot_validates_and_replays_to_the_same_plan() -> None:
    live_plan, document = _record()
    assert document["snapshot_version"] == SNAPSHOT_VERSION
    jsonschema.Draft202012Validator(snapshot_schema()).validate(document)
    methods = {c["method"] for c in document["calls"]}
    assert {"clusters", "identity_pems", "option150", "phones", "tftp_files"} <= methods
    replayed = build_plan(desired=desired(), desired_path="t", desired_sha256="0",
                          estate=from_document(document), state=StateSnapshot())  # fmt: skip
    assert live_plan.steps and _steps(replayed) == _steps(live_plan)
    assert [f.to_dict() for f in replayed.forecast] == [f.to_dict() for f in live_plan.forecast]
    assert replayed.fingerprint == live_plan.fingerprint


def test_a_changed_snapshot_fails_the_schema_and_a_private_key_is_refused() -> None:
    _, document = _record()
    broken = json.loads(json.dumps(document))
    broken["calls"][0]["answer"] = "not an answer"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(snapshot_schema()).validate(broken)
    recording = RecordingEstate(FakeEstate(make_world()))
    recording.calls.append({"method": "identity_pems", "args": ["old"],
                            "answer": [[["n", "callmanager"], "-----BEGIN PRIVATE KEY-----"]]})  # fmt: skip
    with pytest.raises(PlanError, match="private key"):
        to_document(recording, source={})


def test_another_version_or_an_unrecorded_read_is_an_error() -> None:
    _, document = _record()
    with pytest.raises(PlanError, match="version"):
        from_document({**document, "snapshot_version": 99})
    with pytest.raises(PlanError, match="no answer"):
        from_document(document).parameters("old", ["SomethingElse"])


class _FailingEstate(FakeEstate):
    """The fake world, plus one read the estate answered around (as ``ProviderEstate`` reports it)."""

    def read_failures(self) -> tuple[ReadFailure, ...]:
        log = ReadFailureLog()
        error = UnreachableError("https://axl:s3cret@10.0.0.3:8443 did not answer")
        log.record(cluster="old", node="old-sub2", face=ReadFace.CONTROL_CENTER, error=error)
        log.record(cluster="old", node="old-sub2", face=ReadFace.CONTROL_CENTER, error=error)  # kept once
        return log.all()


def test_the_snapshot_records_which_face_of_which_node_failed_redacted() -> None:
    recording = RecordingEstate(_FailingEstate(make_world()))
    build_plan(desired=desired(), desired_path="t", desired_sha256="0", estate=recording,
               state=StateSnapshot())  # fmt: skip
    document = json.loads(json.dumps(to_document(recording, source={})))
    jsonschema.Draft202012Validator(snapshot_schema()).validate(document)
    [failure] = document["read_failures"]
    assert failure == {"cluster": "old", "node": "old-sub2", "face": "ControlCenterServices",
                       "error": "UnreachableError", "message": failure["message"]}  # fmt: skip
    assert "s3cret" not in json.dumps(document) and "10.0.0.3" in failure["message"]
    assert from_document(document).read_failures() == recording.read_failures()


def test_a_version_1_snapshot_is_still_read_with_no_failures_known() -> None:
    _, document = _record()
    old = {k: v for k, v in document.items() if k != "read_failures"} | {"snapshot_version": 1}
    assert from_document(old).read_failures() == ()


class _DownEstate(FakeEstate):
    """The fake world with whole reads failing: the new cluster's publisher AXL, RisPort70 (phones)
    and the DHCP servers (option 150)."""

    def clusters(self, names: Sequence[str]) -> Mapping[str, ClusterFacts]:
        if "new" in names:
            raise UnreachableError("https://axl:s3cret@10.0.0.9:8443/axl/ did not answer")
        return super().clusters(names)

    def phones(self, scopes: Sequence[str]) -> Mapping[str, tuple[PhoneFacts, ...]]:
        raise TemporaryError("RisPort70 allowance exhausted", delay=60.0)

    def option150(
        self, scopes: Sequence[tuple[str, str]]
    ) -> Mapping[tuple[str, str], tuple[str, ...] | None]:
        raise UnreachableError("DHCP server refused the connection")


def _incomplete() -> tuple[RecordingEstate, dict[str, Any]]:
    recording = RecordingEstate(_DownEstate(make_world()), tolerant=True)
    refresh(desired(), recording)
    return recording, json.loads(json.dumps(to_document(recording, source={})))


def test_a_tolerant_recording_keeps_failed_reads_as_unknown_never_as_empty_answers() -> None:
    _, document = _incomplete()
    jsonschema.Draft202012Validator(snapshot_schema()).validate(document)
    failed = {(u["method"], u["failure"]["face"], u["failure"]["error"]) for u in document["unknown_reads"]}
    assert failed == {("clusters", "AXL", "UnreachableError"), ("phones", "RisPort70", "TemporaryError"),
                      ("option150", "DHCP", "UnreachableError")}  # fmt: skip
    assert "s3cret" not in json.dumps(document)
    recorded = {(c["method"], json.dumps(c["args"])) for c in document["calls"]}
    assert ("clusters", json.dumps([["old"]])) in recorded  # the reachable cluster was still read
    assert not any(m in ("phones", "option150") or a == json.dumps([["new"]]) for m, a in recorded)
    replay = from_document(document)
    assert {u.method for u in replay.unknown_reads()} == {"clusters", "phones", "option150"}
    strict = r"unknown: the snapshot's read \w+ \((AXL|RisPort70|DHCP) of"  # plan from it stays strict
    with pytest.raises(PlanError, match=strict):
        build_plan(desired=desired(), desired_path="t", desired_sha256="0", estate=replay,
                   state=StateSnapshot())  # fmt: skip


def test_a_recording_that_is_not_tolerant_lets_a_failed_read_end_the_plan() -> None:
    with pytest.raises(UnreachableError):
        build_plan(desired=desired(), desired_path="t", desired_sha256="0",
                   estate=RecordingEstate(_DownEstate(make_world())), state=StateSnapshot())  # fmt: skip


def test_every_unknown_read_has_a_fix_naming_what_to_check() -> None:
    recording, _ = _incomplete()
    fixes = {u.failure.face: fix_for(u) for u in recording.unknown}
    assert "AXL" in fixes[ReadFace.AXL] and "RisPort70" in fixes[ReadFace.RISPORT]
    assert "DHCP" in fixes[ReadFace.DHCP]


def test_a_version_2_snapshot_is_still_read_with_no_unknown_reads() -> None:
    _, document = _record()
    old = {k: v for k, v in document.items() if k != "unknown_reads"} | {"snapshot_version": 2}
    assert from_document(old).unknown_reads() == ()
