"""``reconciler rehearse`` in pieces: the lab spec's trust seeds for nodes the snapshot could not reach
and for entries that are no cluster's identity (``labspec._trust_seeds``), the nodes' stand-in
identities (``labspec._identities``, ``_infer_unread``), failed faces (``_failed_faces``), phone groups
and option 150 of a recorded snapshot built into a lab (``lab_spec_data``), and the rehearsal run when
the plan has errors (``run.rehearse`` with the child commands replaced by a small in-process fake:
nothing is applied, the forecast is reported)."""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.cucm.certs import CertIdentity
from reconciler.cucm.facts import CertRef, ClusterFacts, NodeFacts
from reconciler.errors import PlanError
from reconciler.live.protocol import ReadFailure
from reconciler.live.snapshot import RecordingEstate, SnapshotEstate, from_document, to_document
from reconciler.plan.planner import build_plan
from reconciler.state.store import StateSnapshot
from reconciler.vocabulary import ReadFace
from reconciler.wiring.rehearse import labspec, run
from schemas.version import CucmVersion
from simulator.lab.specfile import parse_lab_file
from simulator.model import build_lab
from tests.unit.fake_estate import FakeEstate, desired, make_world, stale_itl_phone

TAKEN = datetime(2026, 1, 1, tzinfo=UTC)
NEW_CM = CertIdentity(serial=7, issuer="CN=cucm-new-pub;OU=new")


def _facts() -> dict[str, ClusterFacts]:
    store = {"Phone-SAST-trust": frozenset({NEW_CM}), "CallManager-trust": frozenset()}
    old = ClusterFacts(
        name="old",
        version=CucmVersion.parse("11.5.1"),
        nodes=(
            NodeFacts(name="old-pub", publisher=True, trust=store),
            NodeFacts(name="old-sub1", trust=store),
            NodeFacts(name="old-sub2", reachable=False),  # its stores were not read
        ),
    )
    new = ClusterFacts(
        name="new",
        version=CucmVersion.parse("14.0.1"),
        nodes=(
            NodeFacts(name="cucm-new-pub", publisher=True, callmanager=CertRef(NEW_CM, "CN=cucm-new-pub")),
        ),
    )
    return {"old": old, "new": new}


def test_a_node_whose_stores_were_not_read_is_seeded_with_the_publishers_not_left_empty() -> None:
    """R7: unknown is not empty — an empty seed would have the lab's replication check wait out its
    settle time for certificates no change brings (the rehearsal's apply then never ended)."""
    facts = _facts()
    notes: list[str] = []
    seeds = labspec._trust_seeds(facts["old"], facts, TAKEN, notes)
    assert seeds == [{"store": "Phone-SAST-trust", "cluster": "new", "identity": "callmanager",
                      "node": "cucm-new-pub"}]  # fmt: skip
    assert any("old-sub2" in n and "not read" in n for n in notes)


def test_a_node_known_to_lack_a_certificate_still_lacks_it_in_the_lab() -> None:
    facts = _facts()
    old = facts["old"]
    lacking = NodeFacts(name="old-sub1", trust={"Phone-SAST-trust": frozenset()})
    facts["old"] = ClusterFacts(name="old", version=old.version, nodes=(old.nodes[0], lacking, old.nodes[2]))
    seeds = labspec._trust_seeds(facts["old"], facts, TAKEN, [])
    assert [s.get("nodes") for s in seeds] == [["old-pub", "old-sub2"]]


def test_trust_entries_that_are_no_identity_become_stand_ins_with_their_serial_and_issuer() -> None:
    facts = _facts()
    other = CertIdentity(serial=0x1A2B, issuer="CN=Corp Root;O=Corp")
    pub = NodeFacts(name="old-pub", publisher=True, trust={"CallManager-trust": frozenset({other})})
    facts["old"] = ClusterFacts(name="old", version=facts["old"].version, nodes=(pub,))
    notes: list[str] = []
    seeds = labspec._trust_seeds(facts["old"], facts, TAKEN, notes)
    stand_in = {"subject": "CN=stand-in-1a2b", "serial": "1a2b", "issuer": "CN=Corp Root;O=Corp"}
    assert seeds == [{"store": "CallManager-trust", "cert": stand_in}]
    assert any("no subject for them" in n for n in notes)  # said, not silently invented
    # a version 3 snapshot read the entry's subject: the stand-in has it, and no note is needed
    named = replace(pub, trust_subjects={other: "CN=Corp Root;O=Corp"})
    facts["old"] = ClusterFacts(name="old", version=facts["old"].version, nodes=(named,))
    notes = []
    seeds = labspec._trust_seeds(facts["old"], facts, TAKEN, notes)
    assert seeds == [{"store": "CallManager-trust", "cert": {**stand_in, "subject": "CN=Corp Root;O=Corp"}}]
    assert not any("no subject" in n for n in notes)


def test_node_identities_stand_in_with_the_snapshots_subject_serial_and_issuer() -> None:
    cm = CertRef(CertIdentity(serial=0x019A33, issuer="CN=Corp CA;O=Corp"), "CN=cm-pub;OU=voice")
    recovery = CertRef(CertIdentity(serial=0x77, issuer="CN=ITLRECOVERY_cm-pub"), "CN=ITLRECOVERY_cm-pub")
    pub = NodeFacts(name="cm-pub", publisher=True, callmanager=cm, services=frozenset({"Cisco CallManager"}))
    down = NodeFacts(name="cm-sub", reachable=False)
    cluster = ClusterFacts(name="c", version=CucmVersion.parse("14.0.1"), nodes=(pub, down),
                           itl_recovery=recovery)  # fmt: skip
    notes: list[str] = []
    assert labspec._identities(cluster, "cm-pub", notes) == {
        "callmanager": {"subject": "CN=cm-pub;OU=voice", "serial": "019a33", "issuer": "CN=Corp CA;O=Corp"},
        "itlrecovery": {
            "subject": "CN=ITLRECOVERY_cm-pub",
            "serial": "77",
            "issuer": "CN=ITLRECOVERY_cm-pub",
        },
    }  # no TVS stand-in: the node does not run TVS
    assert labspec._identities(cluster, "cm-sub", notes) == {}
    assert any("cm-sub" in n and "mints its own" in n for n in notes)


def test_an_unread_nodes_callmanager_certificate_is_the_one_its_cluster_trusts_for_it_if_only_one() -> None:
    """CUCM keeps every node's CallManager certificate in CallManager-trust: the one entry named after an
    unread node is its certificate; two such entries leave it unknown (the lab mints its own)."""
    sub2 = CertIdentity(serial=0x5B, issuer="CN=old-sub2;OU=old;O=Example")
    pub = NodeFacts(name="old-pub", publisher=True, trust={"CallManager-trust": frozenset({sub2})})
    old = ClusterFacts(name="old", version=CucmVersion.parse("11.5.1"),
                       nodes=(pub, NodeFacts(name="old-sub2", reachable=False)))  # fmt: skip
    notes: list[str] = []
    inferred = labspec._infer_unread({"old": old}, notes)["old"].nodes[1]
    assert inferred.callmanager == CertRef(sub2, "CN=old-sub2;OU=old;O=Example") and not inferred.reachable
    assert any("old-sub2 was not read" in n for n in notes)
    other = CertIdentity(serial=0x5C, issuer="CN=old-sub2;OU=elsewhere")
    two = NodeFacts(name="old-pub", publisher=True, trust={"CallManager-trust": frozenset({sub2, other})})
    ambiguous = ClusterFacts(name="old", version=old.version, nodes=(two, old.nodes[1]))
    assert labspec._infer_unread({"old": ambiguous}, [])["old"].nodes[1].callmanager is None


def test_a_failed_face_becomes_that_lab_face_unreachable_and_a_note() -> None:
    failures = [
        ReadFailure(cluster="new", node="n2", face=ReadFace.CERTMGR, error="UnreachableError", message="x"),
        ReadFailure(cluster="old", node="o1", face=ReadFace.CLI, error="UnreachableError", message="y"),
        ReadFailure(cluster="old", node="o1", face=ReadFace.TFTP, error="RemoteFaultError", message="z"),
    ]
    notes: list[str] = []
    faces = labspec._failed_faces(SnapshotEstate({}, failures), notes)
    assert faces == {("new", "n2"): {"https"}, ("old", "o1"): {"cli", "tftp"}}
    assert any("new/n2: certmgr failed" in n and "unknown" in n for n in notes) and len(notes) == 3


def _errored_plan() -> dict[str, Any]:
    return {
        "errored": True,
        "forecast": [
            {
                "wave": "wave-1",
                "scopes": ["scope-a"],
                "phones": 4,
                "already_on_target": 0,
                "move": 4,
                "stranded": 0,
                "unknown": 0,
                "stranded_groups": [],
            },
        ],
        "diagnostics": [
            {"severity": "error", "rule": "R2", "summary": "the rollback parameter is set on new"},
            {"severity": "warning", "rule": "R3", "summary": "not an error"},
        ],
    }


def test_a_plan_with_errors_is_reported_with_its_forecast_and_never_applied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[str]] = []

    def fake_cli(args: list[str], *, cwd: Path, timeout: float = 0.0) -> subprocess.CompletedProcess[str]:
        calls.append(args)
        if args[:2] == ["lab", "up"]:
            lab = Path(args[args.index("--dir") + 1])
            lab.mkdir(parents=True)
            (lab / "inventory.yaml").write_text(yaml.safe_dump({}))
        if args[0] == "plan":
            (cwd / "plan.json").write_text(json.dumps(_errored_plan()))
            return subprocess.CompletedProcess(args, 1, "error[R2]: ...", "")
        return subprocess.CompletedProcess(args, 0, "", "")

    monkeypatch.setattr(run, "_cli", fake_cli)
    monkeypatch.setattr(run, "rehearsal_data", lambda **_: {"clusters": []})
    result = run.rehearse(spec={}, notes=["a spec note"], desired_data={}, base_dir=tmp_path, target="new",
                          directory=tmp_path / "r", prefix="N", keep=False, gate_deadline="20s",
                          restart_seconds=1.0, progress=lambda _: None)  # fmt: skip
    assert [c[0] for c in calls] == ["lab", "plan", "lab"]  # up, plan, down: no apply
    assert calls[-1][:2] == ["lab", "down"]
    doc = result.to_dict()
    assert doc["plan_exit"] == 1 and doc["applied"] is False and doc["as_forecast"] is False
    assert doc["errors"] == ["R2: the rollback parameter is set on new"]
    assert "nothing was applied" in doc["notes"][0]
    (wave,) = doc["waves"]
    assert (wave["move"], wave["on_target"], wave["stranded_phones"], wave["as_forecast"]) == (
        4,
        None,
        None,
        None,
    )


def test_an_apply_past_its_timeout_is_stopped_and_the_outcome_still_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = dict(_errored_plan(), errored=False, diagnostics=[])
    phones = [
        {"name": f"SEP{i}", "scope": "scope-a", "cluster": "old", "status": "Registered"} for i in range(4)
    ]

    def fake_cli(args: list[str], *, cwd: Path, timeout: float = 0.0) -> subprocess.CompletedProcess[str]:
        if args[:2] == ["lab", "up"]:
            lab = Path(args[args.index("--dir") + 1])
            lab.mkdir(parents=True)
            (lab / "inventory.yaml").write_text(yaml.safe_dump({}))
        if args[0] == "plan":
            (cwd / "plan.json").write_text(json.dumps(plan))
        if args[0] == "apply":
            assert timeout == 5.0
            raise subprocess.TimeoutExpired(args, timeout, output=b"run tvs.old.sub1 ...", stderr=None)
        if args[:2] == ["lab", "phones"]:
            return subprocess.CompletedProcess(args, 0, json.dumps(phones), "")
        return subprocess.CompletedProcess(args, 0, "", "")

    monkeypatch.setattr(run, "_cli", fake_cli)
    monkeypatch.setattr(run, "rehearsal_data", lambda **_: {"clusters": []})
    result = run.rehearse(spec={}, notes=[], desired_data={}, base_dir=tmp_path, target="new",
                          directory=tmp_path / "r", prefix="N", keep=False, gate_deadline="20s",
                          restart_seconds=1.0, progress=lambda _: None, apply_timeout=5.0)  # fmt: skip
    assert result.applied and not result.as_forecast
    assert "did not finish within 5 s" in result.notes[0]
    assert (tmp_path / "r" / "apply.log").read_text() == "run tvs.old.sub1 ..."
    assert result.waves[0].stranded_phones == ("SEP0", "SEP1", "SEP2", "SEP3")


class _TwoGroups(FakeEstate):
    def callmanager_groups(self, cluster: str) -> Mapping[str, tuple[str, ...]]:
        groups = dict(super().callmanager_groups(cluster))
        return {**groups, "G2": ("cucm-old-sub1",)} if cluster == "old" else groups


def test_a_snapshots_phone_groups_and_foreign_option150_reach_a_spec_the_lab_builds() -> None:
    """Phones of a scope in another CallManager group or with an empty ITL become phone groups, and an
    option 150 naming an address no cluster has is kept as it is: no note, and the lab built from the
    spec has them."""
    world = make_world(phones_a=6, phones_b=2)
    phones = world.phones["scope-a"]
    phones[1] = replace(phones[1], cm_group="G2")
    phones[2] = replace(phones[2], cm_group="G2")
    phones[3] = stale_itl_phone(world, phones[3].name, "scope-a")
    world.option150[("router", "scope-b")] = ("127.0.10.2", "10.9.9.9")
    recording = RecordingEstate(_TwoGroups(world))
    build_plan(desired=desired(), desired_path="t", desired_sha256="0", estate=recording,
               state=StateSnapshot())  # fmt: skip
    doc = json.loads(json.dumps(to_document(recording, source={"taken_at": TAKEN.isoformat()})))
    draft = labspec.lab_spec_data(document=doc, estate=from_document(doc), desired=desired())
    scopes = {s["name"]: s for s in draft.spec["scopes"]}
    groups = scopes["scope-a"]["groups"]
    assert sorted((g["phones"], "device_pool" in g, g.get("itl")) for g in groups) == [
        (1, False, "empty"), (2, True, None)]  # fmt: skip
    assert scopes["scope-b"]["option150"] == ["127.0.10.2", "10.9.9.9"]
    assert not any("option 150" in n or "different ITLs" in n for n in draft.notes)
    lab = build_lab(parse_lab_file(draft.spec).spec)
    by_group = Counter((p.cm_group, p.itl is None) for p in lab.phones(scope="scope-a"))
    assert by_group == Counter({("G1", False): 3, ("G2", False): 2, ("G1", True): 1})  # True: no ITL
    assert lab.option150("scope-b") == ("127.0.10.2", "10.9.9.9")


def test_a_snapshot_with_unknown_reads_is_refused_rather_than_rehearsed_with_made_up_phones() -> None:
    recording = RecordingEstate(FakeEstate(make_world()))
    build_plan(desired=desired(), desired_path="t", desired_sha256="0", estate=recording,
               state=StateSnapshot())  # fmt: skip
    doc = json.loads(json.dumps(to_document(recording, source={"taken_at": TAKEN.isoformat()})))
    doc["calls"] = [c for c in doc["calls"] if c["method"] != "phones"]
    doc["unknown_reads"] = [{"method": "phones", "args": [["scope-a", "scope-b"]], "failure": {
        "cluster": "scopes scope-a, scope-b", "node": None, "face": "RisPort70",
        "error": "TemporaryError", "message": "RisPort70 allowance exhausted"}}]  # fmt: skip
    with pytest.raises(PlanError, match=r"incomplete.*RisPort70 allowance exhausted"):
        labspec.lab_spec_data(document=doc, estate=from_document(doc), desired=desired())


def _self_signed(cn: str, serial: int) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(serial).not_valid_before(TAKEN).not_valid_after(TAKEN.replace(year=2030))
            .sign(key, hashes.SHA256()))  # fmt: skip
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def test_each_nodes_own_itlrecovery_before_12_5_stands_in_and_is_a_trust_origin() -> None:
    """R6: before 12.5 each node has an ITLRecovery; the lab keeps each one's subject, serial and
    issuer, and another cluster's store holding a subscriber's is seeded with that node's identity."""
    mine = CertRef(CertIdentity(serial=0x31, issuer="CN=ITLRECOVERY_c-sub"), "CN=ITLRECOVERY_c-sub")
    sub = NodeFacts(name="c-sub", itl_recovery=mine, services=frozenset({"Cisco CallManager"}))
    pub = NodeFacts(name="c-pub", publisher=True)
    older = ClusterFacts(name="c", version=CucmVersion.parse("12.0.1"), nodes=(pub, sub))
    assert labspec._identities(older, "c-sub", [])["itlrecovery"] == {
        "subject": "CN=ITLRECOVERY_c-sub", "serial": "31", "issuer": "CN=ITLRECOVERY_c-sub"}  # fmt: skip
    # from 12.5 a subscriber shows the cluster's (the publisher's): no stand-in of its own
    shared = replace(sub, itl_recovery=mine)
    newer = ClusterFacts(name="c", version=CucmVersion.parse("12.5.1"), itl_recovery=mine,
                         nodes=(replace(pub, itl_recovery=mine), shared))  # fmt: skip
    assert "itlrecovery" not in labspec._identities(newer, "c-sub", [])
    assert labspec._identities(newer, "c-pub", [])["itlrecovery"]["serial"] == "31"
    other = NodeFacts(name="o-pub", publisher=True, trust={"Phone-SAST-trust": frozenset({mine.identity})})
    facts = {"c": older, "o": ClusterFacts(name="o", version=older.version, nodes=(other,))}
    seed = {"store": "Phone-SAST-trust", "cluster": "c", "identity": "itlrecovery", "node": "c-sub"}
    assert labspec._trust_seeds(facts["o"], facts, TAKEN, []) == [seed]


def test_the_publishers_capf_stands_in_from_the_snapshots_identity_pem() -> None:
    pem = _self_signed("CAPF-c-pub", 0x4242)
    pub = NodeFacts(name="c-pub", publisher=True)
    sub = NodeFacts(name="c-sub")
    cluster = ClusterFacts(name="c", version=CucmVersion.parse("14.0.1"), nodes=(pub, sub))
    pems = {("c-pub", "capf"): pem, ("c-sub", "capf"): pem}
    capf = labspec._identities(cluster, "c-pub", [], pems=pems)["capf"]
    assert capf["subject"] == "CN=CAPF-c-pub" and capf["serial"] == "4242"
    assert capf["issuer"] == "CN=CAPF-c-pub"
    assert "capf" not in labspec._identities(cluster, "c-sub", [], pems=pems)  # a publisher's only
    assert "capf" not in labspec._identities(cluster, "c-pub", [], pems={("c-pub", "capf"): "garbage"})


def test_a_snapshot_keeps_each_nodes_itlrecovery_and_trust_subjects_and_a_version_2_node_has_none() -> None:
    from reconciler.live import snapshot

    mine = CertRef(CertIdentity(serial=0x31, issuer="CN=ITLRECOVERY_c-sub"), "CN=ITLRECOVERY_c-sub")
    node = NodeFacts(name="c-sub", itl_recovery=mine)
    encoded = json.loads(json.dumps(snapshot._node(node)))
    assert snapshot._node_of(encoded).itl_recovery == mine
    del encoded["itl_recovery"]
    assert snapshot._node_of(encoded).itl_recovery is None
    other = CertIdentity(serial=0x1A2B, issuer="CN=Corp Root;O=Corp")
    named = NodeFacts(name="c-sub", trust={"CallManager-trust": frozenset({other})},
                      trust_subjects={other: "CN=Corp Issuing;O=Corp"})  # fmt: skip
    encoded = json.loads(json.dumps(snapshot._node(named)))
    assert snapshot._node_of(encoded).trust_subjects == {other: "CN=Corp Issuing;O=Corp"}
    del encoded["trust_subjects"]
    assert snapshot._node_of(encoded).trust_subjects == {}
