"""The apply journal: an append-only, fsync'd JSON-lines record of one apply, for ``apply --resume``.

``JournalWriter`` is used by the executor: it creates ``.reconciler/journal/<apply-id>.jsonl`` (mode
0600, directory 0700) with a ``header`` line (plan id and fingerprint, state lineage and serial), then
writes a ``started`` line before every step and a ``finished`` line (outcome, verified, detail) after it,
and a final ``completed`` line; every line is fsync'd before the call returns. ``Journal.read`` is used
by ``apply --resume`` (and ``show``): it tolerates a torn last line — the crash happened while writing
it — ignoring it with a warning (``Journal.warnings``, for the caller to show), and rejects damage
anywhere else with ``JournalError`` naming the line. ``Journal.resume_point`` splits the plan's steps
into done (finished and verified), in doubt (started but never finished: re-verify first), unverified
(finished without a passing verify: run again) and pending.

Never holds secrets: details are short human strings that callers build from our error messages (which
never contain credentials, docs/providers.md#security-defaults); a private key or a credential-like field is
refused anyway. The line format (record kinds and types, parsing a line) is
``reconciler.state.journal_lines``; the record types are exported here too.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from reconciler.boundedio import MAX_JOURNAL_BYTES, read_bounded
from reconciler.errors import JournalError, StateError
from reconciler.model import Address, OutcomeStatus
from reconciler.state.files import fsync_dir, utc_now
from reconciler.state.journal_lines import (
    JOURNAL_FORMAT_VERSION,
    JournalHeader,
    RecordKind,
    StepRecord,
    corrupt,
    parse_header,
    parse_line,
    parse_step,
)
from reconciler.state.store import DEFAULT_STATE_DIR, ensure_plain_json

__all__ = [
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

DEFAULT_JOURNAL_DIR = DEFAULT_STATE_DIR / "journal"
_APPLY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def new_apply_id() -> str:
    """A sortable, unique apply id: ``20261127T073050Z-1a2b3c4d``."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ResumePoint:
    """Where a resumed apply stands; every tuple is in plan order."""

    done: tuple[Address, ...]  # finished and verified: skip
    in_doubt: tuple[Address, ...]  # started, never finished: re-verify before anything else
    unverified: tuple[Address, ...]  # finished but the verify did not pass: run again
    pending: tuple[Address, ...]  # never started
    attempts: Mapping[Address, int]  # highest attempt number journaled per address
    completed: bool  # the apply wrote its final record


@dataclass(frozen=True, slots=True, kw_only=True)
class Journal:
    """A journal as read from disk."""

    path: Path
    header: JournalHeader
    steps: tuple[StepRecord, ...]
    resumed: int
    completed_status: str | None
    warnings: tuple[str, ...]
    valid_length: int  # bytes up to the end of the last good line
    next_seq: int

    @classmethod
    def read(cls, path: Path) -> Journal:
        """Read and validate ``path``; a torn last line is ignored (see ``warnings``)."""
        try:
            data = read_bounded(path, limit=MAX_JOURNAL_BYTES)
        except OSError as exc:
            raise JournalError(f"{path}: cannot read journal ({exc.strerror})") from exc
        cut = data.rfind(b"\n") + 1
        warnings: list[str] = []
        if cut < len(data):
            line_no = data.count(b"\n") + 1
            warnings.append(
                f"{path} line {line_no}: incomplete last line ignored (the apply stopped while writing it)"
            )
        header: JournalHeader | None = None
        steps: list[StepRecord] = []
        open_steps: dict[str, int] = {}
        resumed, completed = 0, None
        for index, raw in enumerate(data[:cut].splitlines()):
            where = f"{path} line {index + 1}"
            rec = parse_line(raw, where=where)
            if rec.get("seq") != index:
                raise corrupt(where, f"sequence number {rec.get('seq')!r}, expected {index} (lines lost?)")
            kind = rec.get("kind")
            if (index == 0) != (kind == RecordKind.HEADER):
                raise corrupt(where, "the header must be the first line and only there")
            if completed is not None:
                raise corrupt(where, "a record after the 'completed' line")
            if kind == RecordKind.HEADER:
                header = parse_header(rec, where=where)
            elif kind in (RecordKind.STARTED, RecordKind.FINISHED):
                step = parse_step(rec, where=where)
                if step.kind is RecordKind.FINISHED and open_steps.get(step.address) != step.attempt:
                    raise corrupt(where, f"{step.address} attempt {step.attempt} finished but never started")
                if step.kind is RecordKind.STARTED:
                    open_steps[step.address] = step.attempt
                else:
                    del open_steps[step.address]
                steps.append(step)
            elif kind == RecordKind.RESUMED:
                resumed += 1
            elif kind == RecordKind.COMPLETED:
                completed = str(rec.get("status"))
            else:
                raise corrupt(where, f"unknown record kind {kind!r}")
        if header is None:
            raise JournalError(
                f"{path}: the journal has no complete header; the apply stopped before its first step",
                hint="nothing was changed by that apply: run plan and apply again without --resume",
            )
        return cls(
            path=Path(path),
            header=header,
            steps=tuple(steps),
            resumed=resumed,
            completed_status=completed,
            warnings=tuple(warnings),
            valid_length=cut,
            next_seq=len(data[:cut].splitlines()),
        )

    def check_plan(self, *, plan_id: str, plan_fingerprint: str) -> None:
        """Raise ``JournalError`` unless this journal was written for that plan."""
        h = self.header
        if (h.plan_id, h.plan_fingerprint) != (plan_id, plan_fingerprint):
            raise JournalError(
                f"{self.path} belongs to plan {h.plan_id} (fingerprint {h.plan_fingerprint}), "
                f"not to plan {plan_id} (fingerprint {plan_fingerprint})",
                hint="resume with the plan file that started this apply, or plan and apply afresh",
            )

    def resume_point(self, *, plan_id: str, plan_fingerprint: str, steps: Sequence[Address]) -> ResumePoint:
        """Classify the plan's ``steps`` (addresses in execution order) by what the journal shows."""
        self.check_plan(plan_id=plan_id, plan_fingerprint=plan_fingerprint)
        by_text = {str(s): s for s in steps}  # the journal's lines name addresses in their dotted form
        last: dict[Address, StepRecord] = {}
        for rec in self.steps:
            if rec.address not in by_text:
                raise JournalError(
                    f"{self.path}: step {rec.address} is not in the plan being resumed",
                    hint="resume with the plan file that started this apply",
                )
            last[by_text[rec.address]] = rec
        groups: dict[str, list[Address]] = {"done": [], "in_doubt": [], "unverified": [], "pending": []}
        for address in steps:
            final = last.get(address)
            if final is None:
                groups["pending"].append(address)
            elif final.kind is RecordKind.STARTED:
                groups["in_doubt"].append(address)
            else:
                groups["done" if final.verified else "unverified"].append(address)
        return ResumePoint(
            done=tuple(groups["done"]),
            in_doubt=tuple(groups["in_doubt"]),
            unverified=tuple(groups["unverified"]),
            pending=tuple(groups["pending"]),
            attempts={a: r.attempt for a, r in last.items()},
            completed=self.completed_status is not None,
        )


class JournalWriter:
    """Appends fsync'd records to one journal file. Use ``create`` or ``reopen``, then ``close``."""

    def __init__(self, path: Path, fd: int, *, next_seq: int) -> None:
        self.path = path
        self._fd: int | None = fd
        self._seq = next_seq
        self._open: dict[str, int] = {}

    @classmethod
    def create(
        cls,
        *,
        plan_id: str,
        plan_fingerprint: str,
        lineage: str | None,
        serial: int,
        directory: Path = DEFAULT_JOURNAL_DIR,
        apply_id: str | None = None,
    ) -> JournalWriter:
        """Start the journal of a new apply (the file must not exist yet)."""
        apply_id = apply_id or new_apply_id()
        if not _APPLY_ID.match(apply_id):
            raise JournalError(f"invalid apply id {apply_id!r} (letters, digits, '-' and '_' only)")
        directory = Path(directory)
        path = directory / f"{apply_id}.jsonl"
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise JournalError(f"{path}: cannot create journal ({exc.strerror})") from exc
        writer = cls(path, fd, next_seq=0)
        writer._append(
            RecordKind.HEADER,
            format_version=JOURNAL_FORMAT_VERSION,
            apply_id=apply_id,
            plan_id=plan_id,
            plan_fingerprint=plan_fingerprint,
            lineage=lineage,
            serial=serial,
            started_at=utc_now(),
        )
        fsync_dir(directory)
        return writer

    @classmethod
    def reopen(cls, path: Path, *, plan_id: str, plan_fingerprint: str) -> tuple[JournalWriter, Journal]:
        """Continue an interrupted apply's journal: validate it, cut a torn last line, log ``resumed``."""
        journal = Journal.read(path)
        journal.check_plan(plan_id=plan_id, plan_fingerprint=plan_fingerprint)
        if journal.completed_status is not None:
            raise JournalError(f"{path}: that apply already completed ({journal.completed_status})")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
            os.ftruncate(fd, journal.valid_length)
            os.fsync(fd)
        except OSError as exc:
            raise JournalError(f"{path}: cannot reopen journal ({exc.strerror})") from exc
        writer = cls(Path(path), fd, next_seq=journal.next_seq)
        for rec in journal.steps:
            if rec.kind is RecordKind.STARTED:
                writer._open[rec.address] = rec.attempt
            else:
                writer._open.pop(rec.address, None)
        writer._append(RecordKind.RESUMED, at=utc_now())
        return writer, journal

    def started(self, address: Address | str, *, attempt: int = 1) -> None:
        """Record that a step is about to run (before any mutation)."""
        self._open[str(address)] = attempt
        self._append(RecordKind.STARTED, address=str(address), attempt=attempt, at=utc_now())

    def finished(
        self,
        address: Address | str,
        *,
        outcome: OutcomeStatus | str,
        verified: bool,
        detail: str = "",
    ) -> None:
        """Record how a step ended; ``verified`` is True only when its verify passed."""
        key = str(address)
        if key not in self._open:
            raise JournalError(f"{self.path}: {key} finished but was never started")
        try:
            status = OutcomeStatus(outcome)
        except ValueError as exc:
            raise JournalError(f"unknown outcome {outcome!r} for {key}") from exc
        attempt = self._open.pop(key)
        self._append(
            RecordKind.FINISHED,
            address=key,
            attempt=attempt,
            at=utc_now(),
            outcome=status.value,
            verified=bool(verified),
            detail=detail,
        )

    def completed(self, *, status: str) -> None:
        """The final record (``succeeded``, ``failed``, ``stopped``, ...); the journal is then closed."""
        self._append(RecordKind.COMPLETED, status=status, at=utc_now())
        self.close()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _append(self, kind: RecordKind, **fields: object) -> None:
        if self._fd is None:
            raise JournalError(f"{self.path}: journal is closed")
        try:
            record = ensure_plain_json({"seq": self._seq, "kind": kind.value, **fields}, where="journal")
        except StateError as exc:
            raise JournalError(f"{self.path}: {exc.message}", hint=exc.hint) from exc
        line = (json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n").encode()
        try:
            view = memoryview(line)
            while view:  # bounded: each write makes progress or raises
                view = view[os.write(self._fd, view) :]
            os.fsync(self._fd)
        except OSError as exc:
            raise JournalError(f"{self.path}: cannot append to journal ({exc.strerror})") from exc
        self._seq += 1


def latest_incomplete(directory: Path = DEFAULT_JOURNAL_DIR) -> Path | None:
    """The newest journal without a ``completed`` line (what ``apply --resume`` continues), or None."""
    with contextlib.suppress(FileNotFoundError):
        for path in sorted(Path(directory).glob("*.jsonl"), reverse=True):
            if Journal.read(path).completed_status is None:
                return path
    return None
