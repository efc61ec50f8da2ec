"""The apply journal's line format: the record kinds, the header and step records, and parsing one line.

Each line is one JSON object with a ``seq`` number and a ``kind`` (``RecordKind``). Called by
``reconciler.state.journal`` (``Journal.read`` parses with these; ``JournalWriter`` writes these kinds);
``reconciler.state.journal`` also exports the record types for the executor and ``apply --resume``.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any

from reconciler.errors import JournalError
from reconciler.model import OutcomeStatus

__all__ = [
    "JOURNAL_FORMAT_VERSION",
    "JournalHeader",
    "RecordKind",
    "StepRecord",
    "corrupt",
    "parse_header",
    "parse_line",
    "parse_step",
]

JOURNAL_FORMAT_VERSION = 1


class RecordKind(enum.StrEnum):
    """The ``kind`` of a journal line."""

    HEADER = "header"
    STARTED = "started"
    FINISHED = "finished"
    RESUMED = "resumed"  # an ``apply --resume`` took over this journal
    COMPLETED = "completed"


@dataclass(frozen=True, slots=True, kw_only=True)
class JournalHeader:
    """The first line: which plan this apply executes, against which state."""

    apply_id: str
    plan_id: str
    plan_fingerprint: str
    lineage: str | None
    serial: int
    started_at: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StepRecord:
    """A ``started`` or ``finished`` line (``outcome``/``verified``/``detail`` only on ``finished``)."""

    kind: RecordKind
    seq: int
    address: str
    attempt: int
    at: str
    outcome: OutcomeStatus | None = None
    verified: bool | None = None
    detail: str | None = None


def parse_line(raw: bytes, *, where: str) -> dict[str, Any]:
    """One line as a JSON object; anything else is damage at ``where``."""
    try:
        rec = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: [[[[... nested
        raise corrupt(where, f"not valid JSON ({exc})") from exc
    if not isinstance(rec, dict):
        raise corrupt(where, "not a JSON object")
    return rec


def parse_header(rec: dict[str, Any], *, where: str) -> JournalHeader:
    """The ``header`` line, of this format version only."""
    if rec.get("format_version") != JOURNAL_FORMAT_VERSION:
        raise corrupt(
            where, f"journal format {rec.get('format_version')!r}, expected {JOURNAL_FORMAT_VERSION}"
        )
    try:
        return JournalHeader(**{k: rec[k] for k in JournalHeader.__dataclass_fields__})
    except KeyError as exc:
        raise corrupt(where, f"header lacks {exc}") from exc


def parse_step(rec: dict[str, Any], *, where: str) -> StepRecord:
    """A ``started`` or ``finished`` line, every field of the right type."""
    try:
        kind = RecordKind(rec["kind"])
        address, attempt, at = rec["address"], rec["attempt"], rec["at"]
        if not isinstance(address, str) or not isinstance(attempt, int) or not isinstance(at, str):
            raise TypeError("address/attempt/at have the wrong type")
        if kind is RecordKind.STARTED:
            return StepRecord(kind=kind, seq=rec["seq"], address=address, attempt=attempt, at=at)
        if not isinstance(rec["verified"], bool):
            raise TypeError("verified must be true or false")
        return StepRecord(
            kind=kind,
            seq=rec["seq"],
            address=address,
            attempt=attempt,
            at=at,
            outcome=OutcomeStatus(rec["outcome"]),
            verified=rec["verified"],
            detail=str(rec.get("detail", "")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise corrupt(where, f"malformed {rec.get('kind')} record ({exc})") from exc


def corrupt(where: str, problem: str) -> JournalError:
    """The error for a journal damaged at ``where`` (anywhere but a torn last line)."""
    return JournalError(
        f"{where}: journal is damaged: {problem}",
        hint="only a torn last line is tolerated; inspect the file, then plan and apply afresh "
        "(apply re-reads and verifies the live systems)",
    )
