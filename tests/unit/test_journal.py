"""The apply journal: fsync'd append-only lines, torn-tail tolerance, corruption, resume points."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from reconciler.errors import JournalError
from reconciler.model import Address, OutcomeStatus
from reconciler.state.journal import Journal, JournalWriter, RecordKind, latest_incomplete

PLAN = {"plan_id": "plan-1", "plan_fingerprint": "sha256:aaaa"}
STEPS = tuple(
    Address.parse(s)
    for s in (
        "trust.old.CallManager-trust.c1",
        "tvs.old.pub",
        "tvs.old.sub1",
        "option150.dhcp.a",
        "gate.wave1",
    )
)


def _writer(tmp_path: Path, apply_id: str = "20261127T070000Z-00000001") -> JournalWriter:
    return JournalWriter.create(
        directory=tmp_path / "journal", apply_id=apply_id, lineage="lin", serial=3, **PLAN
    )


def _step(w: JournalWriter, address: str, *, verified: bool = True) -> None:
    w.started(address)
    w.finished(address, outcome=OutcomeStatus.APPLIED, verified=verified, detail="ok")


def test_full_apply_is_recorded_in_order(tmp_path: Path) -> None:
    w = _writer(tmp_path)
    for address in STEPS:
        _step(w, address)
    w.completed(status="succeeded")
    j = Journal.read(w.path)
    assert w.path == tmp_path / "journal" / "20261127T070000Z-00000001.jsonl"
    assert (j.header.plan_id, j.header.lineage, j.header.serial) == ("plan-1", "lin", 3)
    assert [(s.kind, s.address) for s in j.steps][:2] == [
        (RecordKind.STARTED, str(STEPS[0])),
        (RecordKind.FINISHED, str(STEPS[0])),
    ]
    assert j.completed_status == "succeeded"
    assert j.warnings == ()
    point = j.resume_point(steps=STEPS, **PLAN)
    assert point.done == STEPS
    assert point.completed
    lines = w.path.read_text().splitlines()
    assert len(lines) == 1 + 2 * len(STEPS) + 1
    assert [json.loads(line)["seq"] for line in lines] == list(range(len(lines)))


def test_files_are_private(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        w = _writer(tmp_path)
    finally:
        os.umask(previous)
    w.close()
    assert stat.S_IMODE(os.stat(w.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(w.path.parent).st_mode) == 0o700


def test_every_record_is_fsynced_before_returning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    w = _writer(tmp_path)
    synced: list[int] = []
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        synced.append(os.fstat(fd).st_size)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counting_fsync)
    w.started(STEPS[0])
    assert synced == [w.path.stat().st_size]
    w.finished(STEPS[0], outcome="applied", verified=True)
    assert synced[-1] == w.path.stat().st_size
    assert len(synced) == 2
    w.close()


def test_resume_point_classifies_steps(tmp_path: Path) -> None:
    w = _writer(tmp_path)
    _step(w, STEPS[0])
    _step(w, STEPS[1], verified=False)
    w.started(STEPS[2])  # the process died here
    w.close()
    point = Journal.read(w.path).resume_point(steps=STEPS, **PLAN)
    assert point.done == (STEPS[0],)
    assert point.unverified == (STEPS[1],)
    assert point.in_doubt == (STEPS[2],)
    assert point.pending == STEPS[3:]
    assert not point.completed


def test_torn_last_line_is_ignored_with_a_warning(tmp_path: Path) -> None:
    """Kill during write, simulated by cutting the last line in the middle."""
    w = _writer(tmp_path)
    _step(w, STEPS[0])
    _step(w, STEPS[1])
    w.close()
    data = w.path.read_bytes()
    w.path.write_bytes(data[:-25])
    j = Journal.read(w.path)
    assert len(j.warnings) == 1
    assert "line 5" in j.warnings[0]
    point = j.resume_point(steps=STEPS, **PLAN)
    assert point.done == (STEPS[0],)
    assert point.in_doubt == (STEPS[1],)


def test_every_cut_point_reads_consistently(tmp_path: Path) -> None:
    """A crash can stop the file at any byte: each prefix reads, and what it shows only grows."""
    w = _writer(tmp_path)
    for address in STEPS[:3]:
        _step(w, address)
    w.completed(status="succeeded")
    data = w.path.read_bytes()
    header_end = data.index(b"\n") + 1
    cut = tmp_path / "cut.jsonl"
    previous_done = -1
    for size in range(len(data) + 1):
        cut.write_bytes(data[:size])
        if size < header_end:
            with pytest.raises(JournalError, match="no complete header"):
                Journal.read(cut)
            continue
        j = Journal.read(cut)
        assert bool(j.warnings) == (not data[:size].endswith(b"\n"))
        done = len(j.resume_point(steps=STEPS, **PLAN).done)
        assert done >= previous_done
        previous_done = done
    assert previous_done == 3


@pytest.mark.parametrize(
    ("mutate", "line"),
    [
        (lambda lines: lines.__setitem__(2, b'{"seq": 2, "kind": "finished", "addr'), 3),
        (lambda lines: lines.__delitem__(2), 3),
        (
            lambda lines: lines.__setitem__(
                0, lines[0].replace(b'"format_version":1', b'"format_version":7')
            ),
            1,
        ),
        (lambda lines: lines.__setitem__(3, lines[3].replace(b'"started"', b'"exploded"')), 4),
        (lambda lines: lines.__setitem__(2, lines[2].replace(b'"verified":true', b'"verified":"yes"')), 3),
    ],
)
def test_corruption_before_the_last_line_is_an_error_naming_the_line(
    tmp_path: Path, mutate: object, line: int
) -> None:
    w = _writer(tmp_path)
    _step(w, STEPS[0])
    _step(w, STEPS[1])
    w.close()
    lines = w.path.read_bytes().splitlines()
    assert callable(mutate)
    mutate(lines)
    w.path.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(JournalError, match=f"line {line}:") as info:
        Journal.read(w.path)
    assert info.value.hint


def test_finished_without_started_is_refused(tmp_path: Path) -> None:
    w = _writer(tmp_path)
    with pytest.raises(JournalError, match="never started"):
        w.finished(STEPS[0], outcome="applied", verified=True)
    w.close()


def test_journal_of_another_plan_is_refused(tmp_path: Path) -> None:
    w = _writer(tmp_path)
    _step(w, STEPS[0])
    w.close()
    j = Journal.read(w.path)
    with pytest.raises(JournalError, match="belongs to plan plan-1"):
        j.resume_point(plan_id="plan-1", plan_fingerprint="sha256:bbbb", steps=STEPS)
    with pytest.raises(JournalError, match="not in the plan"):
        j.resume_point(steps=STEPS[1:], **PLAN)
    with pytest.raises(JournalError, match="belongs to plan"):
        JournalWriter.reopen(w.path, plan_id="plan-2", plan_fingerprint="sha256:aaaa")


def test_reopen_cuts_the_torn_line_and_continues(tmp_path: Path) -> None:
    w = _writer(tmp_path)
    _step(w, STEPS[0])
    w.started(STEPS[1])
    w.close()
    w.path.write_bytes(w.path.read_bytes() + b'{"seq":4,"kind":"fini')
    resumed, before = JournalWriter.reopen(w.path, **PLAN)
    assert before.warnings
    assert before.resume_point(steps=STEPS, **PLAN).in_doubt == (STEPS[1],)
    resumed.finished(STEPS[1], outcome=OutcomeStatus.UNCHANGED, verified=True, detail="re-verified")
    resumed.started(STEPS[2], attempt=1)
    resumed.finished(STEPS[2], outcome="failed", verified=False, detail="TVS did not start")
    resumed.started(STEPS[2], attempt=2)
    resumed.finished(STEPS[2], outcome="applied", verified=True)
    resumed.completed(status="succeeded")
    after = Journal.read(w.path)
    assert after.warnings == ()
    assert after.resumed == 1
    point = after.resume_point(steps=STEPS, **PLAN)
    assert point.done == STEPS[:3]
    assert point.attempts[STEPS[2]] == 2
    with pytest.raises(JournalError, match="already completed"):
        JournalWriter.reopen(w.path, **PLAN)


def test_secrets_are_never_written(tmp_path: Path) -> None:
    w = _writer(tmp_path)
    w.started(STEPS[0])
    size = w.path.stat().st_size
    with pytest.raises(JournalError, match="private key"):
        w.finished(STEPS[0], outcome="failed", verified=False, detail="-----BEGIN PRIVATE KEY-----\nMII")
    assert w.path.stat().st_size == size
    w.close()


def test_unknown_outcome_is_refused(tmp_path: Path) -> None:
    w = _writer(tmp_path)
    w.started(STEPS[0])
    with pytest.raises(JournalError, match="unknown outcome"):
        w.finished(STEPS[0], outcome="kinda", verified=True)
    w.close()


def test_latest_incomplete_finds_the_interrupted_apply(tmp_path: Path) -> None:
    assert latest_incomplete(tmp_path / "journal") is None
    old = _writer(tmp_path, "20261127T070000Z-00000001")
    old.close()
    done = _writer(tmp_path, "20261127T080000Z-00000002")
    done.completed(status="succeeded")
    assert latest_incomplete(tmp_path / "journal") == old.path
    with pytest.raises(JournalError, match="invalid apply id"):
        _writer(tmp_path, "../escape")
    with pytest.raises(JournalError, match="cannot create"):
        _writer(tmp_path, "20261127T070000Z-00000001")  # never overwrites an existing journal


def test_public_names_are_pinned() -> None:
    from reconciler.state import journal

    assert sorted(journal.__all__) == [
        "DEFAULT_JOURNAL_DIR",
        "JOURNAL_FORMAT_VERSION",
        "Journal",
        "JournalHeader",
        "JournalWriter",
        "RecordKind",
        "ResumePoint",
        "StepRecord",
        "latest_incomplete",
        "new_apply_id",
    ]
