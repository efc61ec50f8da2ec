"""Kill ``apply`` and resume it on the real lab (issue 7, Done-when 3).

For each kill point — while trust certificates are uploaded, while TVS restarts roll through the source
nodes, inside a wave — a fresh small lab (3 phones per scope, 1-second restarts) runs on a leased address
prefix (``tests.loopback``) in a temporary directory (``tests.e2e.labrun``; ``lab down`` always). ``plan -o
plan.json`` saves the plan; ``reconciler apply --auto-approve plan.json`` runs as a subprocess and is
SIGKILLed as soon as the journal under ``.reconciler/journal/`` shows the chosen record; then ``reconciler
apply --resume --auto-approve plan.json`` must converge to what an uninterrupted run gives: every phone
Registered on a target node, a second ``plan --detailed-exitcode`` exits 0, each trust certificate is in the
source's stores exactly once (``show cert list trust`` on every source node), TVS started on every source
node after the last trust change (R8; and ``drift`` agrees), and the resumed apply did not upload again what
the killed one had finished.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.labdoc import lab_data
from tests.e2e.labrun import RunningLab, raise_ris_allowance, running_lab
from tests.loopback import Loopback

pytestmark = pytest.mark.lab
TARGET_CALL_NODES = {"cucm-new-sub1", "cucm-new-sub2"}
SOURCE_NODES = ("cucm-old-pub", "cucm-old-sub1", "cucm-old-sub2")
KILL_WAIT = 90.0

Record = dict[str, Any]


@dataclass(frozen=True)
class KillPoint:
    name: str
    when: Callable[[Record], bool]


def _started(address: str) -> Callable[[Record], bool]:
    return lambda r: r.get("kind") == "started" and r.get("address") == address


KILL_POINTS = (
    # after the first upload finished, with others in flight (R4-R6)
    KillPoint("trust", lambda r: r.get("kind") == "finished" and str(r.get("address")).startswith("trust.")),
    # the second node's TVS restart was requested: the rolling restart is half done (R8)
    KillPoint("tvs", _started("tvs.old.cucm-old-sub1")),
    # wave-2's option 150 change is running, wave-1 is done (R12, R13)
    KillPoint("wave", _started("option150.old-cucm-dhcp.scope-b")),
)


@pytest.fixture
def lab(tmp_path: Path, loopback: Loopback) -> Iterator[RunningLab]:
    spec = {"base": "default", "phones_per_scope": 3}
    # restarts that take a second: the "tvs" kill point lands while the rolling restart runs
    with running_lab(tmp_path, loopback=loopback, spec=spec, restart_seconds=1.0) as running:
        running.write(
            lab_data(
                lab_dir=running.lab_dir,
                prefix=running.prefix,
                reset_every_wave=True,
                gate_deadline="30s",
                ris_queries_per_minute=60,
            )
        )
        raise_ris_allowance(running.yaml)
        yield running


def _journal_records(workdir: Path) -> tuple[Path | None, list[Record]]:
    files = sorted((workdir / ".reconciler" / "journal").glob("*.jsonl"))
    if not files:
        return None, []
    records = []
    for line in files[-1].read_text().splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:  # a line being written
            break
    return files[-1], records


def _kill_when(lab: RunningLab, point: KillPoint) -> list[Record]:
    """Start ``apply plan.json``; SIGKILL it once the journal holds a record matching ``point``."""
    proc = lab.popen("apply", "--auto-approve", "plan.json")
    try:
        deadline = time.monotonic() + KILL_WAIT
        while time.monotonic() < deadline:
            _, records = _journal_records(lab.workdir)
            if any(point.when(r) for r in records):
                proc.send_signal(signal.SIGKILL)
                break
            assert proc.poll() is None, (
                "apply ended before the kill point: " + ((lab.workdir / "popen.err").read_text()[-2000:])
            )
            time.sleep(0.01)
        else:
            pytest.fail(f"kill point {point.name} not reached within {KILL_WAIT}s")
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    _, records = _journal_records(lab.workdir)
    assert not any(r.get("kind") == "completed" for r in records), "the kill came too late"
    return records


def _source_trust(lab: RunningLab) -> dict[str, list[tuple[str, str]]]:
    """``show cert list trust`` on every source node (admin CLI over SSH): node -> [(store, subject)]."""
    from providers.cucm_certs import cli_session_for
    from reconciler.config.loader import load

    state = load(lab.yaml).state
    assert state is not None
    old = state.cluster("old")
    assert old is not None
    listed: dict[str, list[tuple[str, str]]] = {}
    for node in old.nodes:
        with cli_session_for(old, node) as cli:
            listed[node.name] = [(c.unit, c.filename.rsplit("_", 1)[0]) for c in cli.cert_list("trust")]
    return listed


def _tvs_started(lab: RunningLab) -> dict[str, dt.datetime | None]:
    from providers.cucm_serviceability import TVS_SERVICE, ControlCenterClient
    from reconciler.config.loader import load

    state = load(lab.yaml).state
    assert state is not None
    old = state.cluster("old")
    assert old is not None
    out = {}
    for node in old.nodes:
        with ControlCenterClient.connect(old, node) as control:
            out[node.name] = control.status(TVS_SERVICE).start_time
    return out


def _at(record: Record) -> dt.datetime:
    return dt.datetime.strptime(record["at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


@pytest.mark.parametrize("point", KILL_POINTS, ids=[p.name for p in KILL_POINTS])
def test_killed_apply_resumes_and_converges(lab: RunningLab, point: KillPoint) -> None:
    """SIGKILL at ``point``, then ``apply --resume``: the same end state as an uninterrupted apply."""
    plan = lab.run("plan", "lab.yaml", "--detailed-exitcode", "-o", "plan.json")
    assert plan.returncode == 2, plan.stdout + plan.stderr
    trust_before = _source_trust(lab)

    killed = _kill_when(lab, point)
    done_before_kill = {
        r["address"]
        for r in killed
        if r.get("kind") == "finished" and r.get("outcome") in ("applied", "unchanged")
    }

    resumed = lab.run("apply", "--resume", "--auto-approve", "plan.json", timeout=180)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr[-4000:]
    journal, records = _journal_records(lab.workdir)
    assert journal is not None and (records[-1]["kind"], records[-1]["status"]) == ("completed", "succeeded")
    assert any(r.get("kind") == "resumed" for r in records)
    # what the killed apply finished is not run again (a reset would be: it cannot be verified)
    again = [r["address"] for r in records[len(killed) :] if r.get("kind") == "started"]
    assert [a for a in again if a in done_before_kill] == [], again

    phones = lab.lab("phones")
    assert {(p["cluster"], p["status"]) for p in phones} == {("new", "Registered")}
    assert {p["node"] for p in phones} <= TARGET_CALL_NODES

    replan = lab.run("plan", "lab.yaml", "--detailed-exitcode")
    assert replan.returncode == 0, replan.stdout + replan.stderr

    # every trust certificate exactly once, on every source node (R5, R7)
    trust_after = _source_trust(lab)
    for node in SOURCE_NODES:
        counts = Counter(trust_after[node])
        assert [entry for entry, n in counts.items() if n > 1] == [], (node, trust_after[node])
        added = sorted(set(trust_after[node]) - set(trust_before[node]))
        assert Counter(store for store, _ in added) == {"CallManager-trust": 3, "Phone-SAST-trust": 3}, added

    # R8: TVS started on every source node after the last trust change of either run
    last_trust = max(
        _at(r) for r in records if r.get("kind") == "finished" and r["address"].startswith("trust.")
    )
    started = _tvs_started(lab)
    assert all(t is not None and t >= last_trust for t in started.values()), (started, last_trust)
    drift = lab.run("drift", "lab.yaml", "--detailed-exitcode")
    assert drift.returncode == 0, drift.stdout + drift.stderr
