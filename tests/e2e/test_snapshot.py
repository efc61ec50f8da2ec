"""``reconciler snapshot`` against the lab: it changes nothing, holds no password and no private key,
validates against the committed schema, and replays to the plan ``reconciler plan`` makes of the lab."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from reconciler.config.loader import load
from reconciler.live.snapshot import from_document
from reconciler.live.snapshot_schema import snapshot_schema
from reconciler.plan.planner import build_plan
from reconciler.state.store import StateSnapshot
from tests.e2e.labdoc import lab_data
from tests.e2e.labrun import running_lab
from tests.loopback import Loopback

pytestmark = pytest.mark.lab


def test_snapshot_of_the_lab_is_sanitised_and_replays_to_the_live_plan(
    tmp_path: Path, loopback: Loopback
) -> None:
    with running_lab(tmp_path, loopback=loopback, spec={"base": "default", "phones_per_scope": 4}) as lab:
        lab.write(lab_data(lab_dir=lab.lab_dir, prefix=lab.prefix))
        before = lab.operations()
        result = lab.run("snapshot", "lab.yaml", "-o", "estate.json")
        assert result.returncode == 0, result.stdout + result.stderr
        assert lab.operations() == before  # only reads
        planned = lab.run("plan", "lab.yaml", "-o", "plan.json")
        assert planned.returncode == 0, planned.stdout + planned.stderr
        text = (lab.workdir / "estate.json").read_text()
        passwords = [p.read_text().strip() for p in (lab.lab_dir / "credentials").iterdir()]
        assert passwords and not any(p in text for p in passwords)
        assert "PRIVATE KEY" not in text and "BEGIN CERTIFICATE" in text  # public certificates only
        document = json.loads(text)
        jsonschema.Draft202012Validator(snapshot_schema()).validate(document)
        state = load(lab.yaml).state
        assert state is not None
        replayed = build_plan(desired=state, desired_path="lab.yaml", desired_sha256="0",
                              estate=from_document(document), state=StateSnapshot())  # fmt: skip
        live = json.loads((lab.workdir / "plan.json").read_text())
        assert [s.to_dict() for s in replayed.steps] == live["steps"]
        assert [f.to_dict() for f in replayed.forecast] == live["forecast"]


def test_a_snapshot_of_a_partly_reachable_estate_is_written_with_the_failed_reads_unknown(
    tmp_path: Path, loopback: Loopback
) -> None:
    """The new publisher's HTTPS faces (AXL, RisPort70, certmgr) and the IOS DHCP router down: exit 2,
    the document holds what was read and names what was not, stderr gives each failed read's fix,
    nothing changed, and rehearse refuses the document. (An exhausted RisPort70 allowance is waited
    out by the RisPort70 client, R13, so ``ris-exhausted`` delays a snapshot by its minute but fails
    no read; a RisPort70 that stays exhausted is the unit test's ``_DownEstate``.)"""
    with running_lab(tmp_path, loopback=loopback, spec={"base": "default", "phones_per_scope": 2}) as lab:
        lab.write(lab_data(lab_dir=lab.lab_dir, prefix=lab.prefix))
        lab.fault("unreachable", "--node", "cucm-new-pub", "--face", "https")
        lab.fault("unreachable", "--node", "ios")
        before = lab.operations()
        result = lab.run("--timeout", "2", "snapshot", "lab.yaml", "-o", "estate.json")
        assert lab.operations() == before  # only reads
        assert result.returncode == 2, result.stdout + result.stderr
        document = json.loads((lab.workdir / "estate.json").read_text())
        jsonschema.Draft202012Validator(snapshot_schema()).validate(document)
        unknown = {(u["method"], u["failure"]["face"]) for u in document["unknown_reads"]}
        assert {("clusters", "AXL"), ("phones", "RisPort70"), ("option150", "DHCP")} <= unknown, unknown
        read = {(c["method"], json.dumps(c["args"])) for c in document["calls"]}
        assert ("clusters", json.dumps([["old"]])) in read  # the reachable cluster is in it
        assert "incomplete" in result.stderr and result.stderr.count("fix:") == len(unknown)
        refused = lab.run("rehearse", "lab.yaml", "--snapshot", "estate.json")
        assert refused.returncode == 1 and "incomplete" in refused.stdout + refused.stderr
