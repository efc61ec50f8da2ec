"""The operation log: one entry per mutating call on the lab model, none for reads.

Tests use it to prove that ``plan`` (which may only read) changed nothing, and to check the order of an
``apply`` (e.g. R7/R8: uploads, then TVS restarts one node at a time, then option 150). Written by
``simulator.model.lab``; read by tests and by the faces (for debugging output).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Operation", "OperationLog"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Operation:
    """One mutating call: ``op`` names the API method, ``target`` the object it changed (cluster/node/
    store/scope/phones), ``detail`` a short human summary of the arguments (never a secret)."""

    seq: int
    at: float
    op: str
    target: str
    detail: str = ""

    def __str__(self) -> str:
        suffix = f" {self.detail}" if self.detail else ""
        return f"#{self.seq} {self.op} {self.target}{suffix}"


class OperationLog:
    """Append-only, thread-safe list of ``Operation`` values."""

    def __init__(self) -> None:
        self._entries: list[Operation] = []
        self._lock = threading.Lock()

    def record(self, *, at: float, op: str, target: str, detail: str = "") -> Operation:
        with self._lock:
            entry = Operation(seq=len(self._entries) + 1, at=at, op=op, target=target, detail=detail)
            self._entries.append(entry)
            return entry

    def entries(self) -> tuple[Operation, ...]:
        with self._lock:
            return tuple(self._entries)

    def since(self, seq: int) -> tuple[Operation, ...]:
        """Entries with a sequence number greater than ``seq`` (use ``len(log)`` as a bookmark)."""
        with self._lock:
            return tuple(self._entries[seq:])

    def ops(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(e.op for e in self._entries)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __iter__(self) -> Iterator[Operation]:
        return iter(self.entries())
