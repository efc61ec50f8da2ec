"""Showing a refresh while it reads: ``ReadProgressRenderer``, a ``reconciler.live.progress.ReadHooks``.

Used by ``reconciler plan``, ``drift``, ``apply`` (its own refresh of ``apply FILE``, the stale-plan check of
``apply PLAN``) and ``doctor`` (``reconciler.commands``) around the read;
always on stderr, so ``--json`` output on stdout stays clean, and off with ``--quiet``.

- On a terminal: a live display (rich) with one line per phase — the phones RisPort70 listed so far
  per cluster out of the total, with the time the query allowance still needs (R13); the trust stores
  read per node; the DHCP scopes read; doctor's checks per cluster and of the DHCP servers, with the
  check running now — and a status line while an endpoint is slow or unreachable.
  It disappears when the read ends.
- Otherwise (CI logs): one line per phase when its size is first known and one when it finishes, and
  one line per wait on an endpoint (its name, the attempt n of m, why, the time of the next attempt).
"""

from __future__ import annotations

import threading
import time
from types import TracebackType

from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from reconciler.live.progress import ReadHooks, ReadPhase, ReadProgress, ReadWait

__all__ = ["ReadProgressRenderer", "describe_progress", "describe_wait", "duration"]


def duration(seconds: float) -> str:
    """``42 s``, ``1 min 28 s``."""
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole} s"
    return f"{whole // 60} min {whole % 60:02d} s"


def describe_progress(p: ReadProgress) -> str:
    """One line: ``phones of old: 1,000 of 80,000 listed, about 1 min 28 s to go (RisPort70 allowance)``."""
    if p.phase is ReadPhase.PHONES:
        head = f"phones of {p.subject}: "
        if p.total is None:
            return head + "listing (RisPort70)"
        text = head + f"{p.done:,} of {p.total:,} listed"
        if p.finished:
            return text
        if p.eta is not None and p.eta >= 1:
            text += f", about {duration(p.eta)} to go (RisPort70 allowance)"
        return text
    if p.phase is ReadPhase.TRUST:
        node = "node" if p.total == 1 else "nodes"
        return f"trust stores of {p.subject}: {p.done} of {p.total} {node} read"
    if p.phase is ReadPhase.CHECKS:
        unit = ("server" if p.subject == "DHCP" else "node") + ("" if p.total == 1 else "s")
        text = f"checks of {p.subject}: {p.done} of {p.total} {unit} done"
        return text if p.finished or not p.doing else f"{text}; now {p.doing}"
    scope = "scope" if p.total == 1 else "scopes"
    return f"DHCP: {p.done} of {p.total} {scope} read"


def describe_wait(w: ReadWait) -> str:
    """``waiting for cucm-pub (10.0.0.1:8443): ...; attempt 1 of 6 failed, next at 12:00:05``."""
    if w.retry_at is None:
        attempt = f"attempt {w.attempt} of {w.attempts}"
        return f"waiting for {w.endpoint}: no answer for {duration(w.waited)} ({attempt})"
    at = time.strftime("%H:%M:%S", time.localtime(w.retry_at))
    error = w.error
    if error.startswith(w.endpoint):  # "cucm-pub (..) is unreachable: ..." → "unreachable: ..."
        error = error[len(w.endpoint) :].lstrip().removeprefix("is ").lstrip()
    return f"waiting for {w.endpoint}: {error}; attempt {w.attempt} of {w.attempts} failed, next at {at}"


class ReadProgressRenderer(ReadHooks):
    """Renders read progress on ``console`` (stderr): live on a terminal, else line by line. Use as a
    context manager around the read: it renders only inside the block (an estate that outlives the read,
    as ``apply``'s does for its gates, stays silent after it), and each block is a read of its own;
    ``enabled=False`` (``--quiet``) renders nothing."""

    def __init__(self, console: Console, *, enabled: bool = True, live: bool | None = None) -> None:
        self._console = console
        self._enabled = enabled
        self._live_wanted = console.is_terminal if live is None else live
        self._lock = threading.Lock()
        self._phases: dict[tuple[str, str], ReadProgress] = {}
        self._announced: set[tuple[str, str]] = set()
        self._closed: set[tuple[str, str]] = set()  # phases whose finishing line was printed
        self._waits: dict[str, ReadWait] = {}
        self._told: set[tuple[str, int, bool]] = set()  # (endpoint, attempt, slow) printed line by line
        self._live: Live | None = None
        self._inside = False

    def __enter__(self) -> ReadProgressRenderer:
        with self._lock:
            self._inside = True
            self._phases.clear()
            self._announced.clear()
            self._closed.clear()
            self._waits.clear()
            self._told.clear()
        if self._enabled and self._live_wanted:
            self._live = Live(
                Text(""), console=self._console, transient=True, refresh_per_second=4, auto_refresh=True
            )
            self._live.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with self._lock:
            live, self._live = self._live, None
            self._inside = False
        if live is not None:
            live.stop()

    def _line(self, text: str, style: str = "") -> None:
        self._console.print(Text(text, style=style), soft_wrap=True)

    def _refresh(self) -> None:
        assert self._live is not None
        rows = [Text(describe_progress(p)) for p in self._phases.values()]
        rows += [Text(describe_wait(w), style="yellow") for w in self._waits.values()]
        self._live.update(Group(*rows))

    def read_progress(self, progress: ReadProgress) -> None:
        if not (self._enabled and self._inside):
            return
        with self._lock:
            self._phases[progress.key] = progress
            if self._live is not None:
                self._refresh()
                return
            if progress.total is None:
                return
            if progress.key not in self._announced:
                self._announced.add(progress.key)
                self._line(describe_progress(progress))
                if progress.finished:  # known and done at once (e.g. 0 of 0): one line says it all
                    self._closed.add(progress.key)
            elif progress.finished and progress.key not in self._closed:
                self._closed.add(progress.key)
                self._line(describe_progress(progress))

    def read_waiting(self, wait: ReadWait) -> None:
        if not (self._enabled and self._inside):
            return
        with self._lock:
            self._waits[wait.endpoint] = wait
            if self._live is not None:
                self._refresh()
                return
            told = (wait.endpoint, wait.attempt, wait.retry_at is None)
            if told not in self._told:  # parallel reads of one endpoint: one line per attempt
                self._told.add(told)
                self._line(describe_wait(wait), style="yellow")

    def read_recovered(self, endpoint: str) -> None:
        if not (self._enabled and self._inside):
            return
        with self._lock:
            self._waits.pop(endpoint, None)
            if self._live is not None:
                self._refresh()
