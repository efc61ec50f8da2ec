"""``reconciler rehearse`` on a snapshot of a half-done migration (docs/lab.md's example, 4 phones per
scope): the rehearsal lab — built from the snapshot alone, on a second leased prefix — gets the same
forecast per wave and strands the same phones as applying the same declarations to the real lab; and
``lab up --from-snapshot`` starts that lab for exploration."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.cucm.certs import load_certificate
from reconciler.cucm.facts import CertRef
from tests.e2e.labdoc import lab_data
from tests.e2e.labrun import RunningLab, raise_ris_allowance, running_lab
from tests.loopback import Loopback

pytestmark = pytest.mark.lab

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "lab.md"


def _half_done(phones: int) -> dict[str, Any]:
    """docs/lab.md's half-done migration example, with ``phones`` phones per scope."""
    text = EXAMPLES.read_text()
    block = text.split("# lab spec: half-done migration", 1)[1].split("```", 1)[0]
    spec = yaml.safe_load(block)
    spec["phones_per_scope"] = phones
    for scope in spec["scopes"]:
        scope["phones"] = phones
        if scope.get("on_target"):
            scope["on_target"] = phones if scope["on_target"] == 100 else phones // 2
    return dict(spec)


#: A wave that strands phones waits its gate out: long enough for the lab's phones to register (within
#: a second of a reset; the gates poll every second, ``tests.e2e.labdoc``), short for the failing waves.
GATE_DEADLINE = "8s"


def _relaxed(doc: dict[str, Any]) -> dict[str, Any]:
    for wave in doc["migration"]["waves"]:
        wave.update(reset=True, on_failure="continue", max_stranded_share=1.0)
        wave["gate"]["deadline"] = GATE_DEADLINE
    return doc


def _off_target(lab: RunningLab) -> dict[str, list[str]]:
    by_scope: dict[str, list[str]] = {}
    for p in lab.lab("phones"):
        if (p["cluster"], p["status"]) != ("new", "Registered"):
            by_scope.setdefault(p["scope"], []).append(p["name"])
    return {k: sorted(v) for k, v in by_scope.items()}


def test_rehearsing_a_half_done_migration_strands_the_phones_the_real_run_strands(
    tmp_path: Path, loopback: Loopback
) -> None:
    with running_lab(tmp_path, loopback=loopback, spec=_half_done(4)) as lab:
        doc = _relaxed(lab_data(lab_dir=lab.lab_dir, prefix=lab.prefix, ris_queries_per_minute=60))
        lab.write(doc)
        raise_ris_allowance(lab.yaml)
        for node in ("cucm-old-sub1", "cucm-old-sub2"):  # old-cmg without a reachable TVS (R3)
            lab.fault("unreachable", "--node", node, "--face", "https")
        taken = lab.run("snapshot", "lab.yaml", "-o", "estate.json")
        assert taken.returncode == 0, taken.stdout + taken.stderr
        planned = lab.run("plan", "lab.yaml", "-o", "plan.json")
        assert planned.returncode == 0, planned.stdout + planned.stderr
        real_plan = json.loads((lab.workdir / "plan.json").read_text())
        assert sum(f["stranded"] for f in real_plan["forecast"]) > 0  # the example strands phones
        applied = lab.run("apply", "plan.json", "--auto-approve", "--approve-one-way", timeout=300)
        real = _off_target(lab)
        assert applied.returncode != 0 and real  # stranded phones made a gate fail

        with loopback.lease() as lease:
            args = ["--prefix", lease.prefix, "--dir", "rehearsal", "--gate-deadline", GATE_DEADLINE,
                    "--apply-timeout", "200", "--restart-seconds", "0", "--json"]  # fmt: skip
            result = lab.run("rehearse", "lab.yaml", "--snapshot", "estate.json", *args, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        report = json.loads(result.stdout)
        assert report["applied"] and report["as_forecast"] and not report["lab_kept"]
        assert not any("did not finish" in n for n in report["notes"])  # it ended on its own
        forecast = {f["wave"]: (f["already_on_target"], f["move"], f["stranded"], f["unknown"])
                    for f in real_plan["forecast"]}  # fmt: skip
        rehearsed = {w["wave"]: (w["already_on_target"], w["move"], w["stranded"], w["unknown"])
                     for w in report["waves"]}  # fmt: skip
        assert rehearsed == forecast
        scopes = {f["wave"]: f["scopes"] for f in real_plan["forecast"]}
        for w in report["waves"]:
            expected = sorted(n for s in scopes[w["wave"]] for n in real.get(s, []))
            assert w["stranded_phones"] == expected, w["wave"]
        assert not (lab.workdir / "rehearsal" / "lab" / "lab.pid").exists()


def _certificates(snapshot: dict[str, Any]) -> dict[str, Any]:
    """Per cluster and node, the certificates a snapshot read: identities by subject, serial and issuer
    (not fingerprint: a stand-in has the lab's key), and the trust stores' identities."""

    def ref(r: dict[str, Any] | None) -> tuple[str, str, str] | None:
        return None if r is None else (r["subject"], r["identity"]["serial"], r["identity"]["issuer"])

    out: dict[str, Any] = {}
    for call in snapshot["calls"]:
        if call["method"] == "identity_pems":  # CAPF: only its PEM is read (the publisher's)
            for (node, unit), pem in call["answer"]:
                if unit == "capf":
                    got = CertRef.of(load_certificate(pem.encode()))
                    out[(call["args"][0], node, unit)] = (
                        got.subject,
                        got.identity.serial,
                        got.identity.issuer,
                    )
        if call["method"] != "clusters":
            continue
        for name, c in call["answer"].items():
            nodes = {n["name"]: (ref(n["callmanager"]), ref(n["tvs"]), ref(n.get("itl_recovery")), n["trust"],
                                 n.get("trust_subjects")) for n in c["nodes"]}  # fmt: skip
            out[name] = (ref(c["itl_recovery"]), nodes)
    return out


def _failures(snapshot: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    return {(f["cluster"], f["node"], f["face"], f["error"]) for f in snapshot["read_failures"]}


def test_lab_up_from_snapshot_starts_the_estate_for_exploration(tmp_path: Path, loopback: Loopback) -> None:
    """... with the estate's certificates: read back through the product (``reconciler snapshot`` of the
    copy), every node's CallManager, TVS and ITLRecovery certificate has the subject, serial and issuer
    the original snapshot recorded, and every trust store the same identities (issue 17's stand-ins).
    A node whose certmgr face did not answer is recorded as such (node, face, error class), and the
    copy makes that face unreachable, so its snapshot records the same failure. The publishers' CAPF
    certificates, each old node's own ITLRecovery and a trust entry that is no cluster's identity (with
    its subject) stand in too."""
    spec = _half_done(2)
    corp = {"subject": "CN=Corp Issuing CA;O=Corp", "serial": "1a2b", "issuer": "CN=Corp Root;O=Corp"}
    old = next(c for c in spec["clusters"] if c["name"] == "old")  # an entry that is no cluster's identity
    old["trust"] = [*old.get("trust", []), {"store": "CallManager-trust", "cert": corp}]
    with running_lab(tmp_path, loopback=loopback, spec=spec) as lab:
        lab.write(lab_data(lab_dir=lab.lab_dir, prefix=lab.prefix))
        lab.fault("unreachable", "--node", "cucm-new-sub2", "--face", "https")
        taken = lab.run("snapshot", "lab.yaml", "-o", "estate.json")
        assert taken.returncode == 0, taken.stdout + taken.stderr
        failed = _failures(json.loads((lab.workdir / "estate.json").read_text()))
        assert failed == {("new", "cucm-new-sub2", "certmgr", "UnreachableError")}
        real = sorted((p["scope"], p["cluster"], p["status"]) for p in lab.lab("phones"))
        with loopback.lease() as lease:
            copy = RunningLab(workdir=lab.workdir, lab_dir=lab.workdir / "copy", prefix=lease.prefix)
            up = lab.run("lab", "up", "--detach", "--from-snapshot", "estate.json", "--dir", "copy",
                         "--prefix", lease.prefix, timeout=150)  # fmt: skip
            try:
                assert up.returncode == 0, up.stdout + up.stderr
                assert (lab.workdir / "copy" / "lab-spec.yaml").exists()
                mirrored = sorted((p["scope"], p["cluster"], p["status"]) for p in copy.lab("phones"))
                assert mirrored == real
                (lab.workdir / "copy.yaml").write_text(
                    yaml.safe_dump(lab_data(lab_dir=copy.lab_dir, prefix=lease.prefix))
                )
                again = lab.run("snapshot", "copy.yaml", "-o", "copy.json")
                assert again.returncode == 0, again.stdout + again.stderr
                original = _certificates(json.loads((lab.workdir / "estate.json").read_text()))
                assert original and original["old"][1]["cucm-old-pub"][0] is not None
                assert ("old", "cucm-old-pub", "capf") in original
                subjects = {e["subject"] for e in original["old"][1]["cucm-old-pub"][4]}
                assert any("Corp Issuing CA" in subject for subject in subjects), subjects
                mirrored_doc = json.loads((lab.workdir / "copy.json").read_text())
                assert _certificates(mirrored_doc) == original
                assert _failures(mirrored_doc) == failed
            finally:
                lab.run("lab", "down", "--dir", "copy", timeout=60)
