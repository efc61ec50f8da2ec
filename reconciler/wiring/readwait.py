"""``ReadWaiter``: how a read of the live estate waits on a slow or unreachable endpoint, visibly.

Used by ``reconciler.wiring.estate.ProviderEstate`` around every read of a cluster, a DHCP server or
RisPort70. A ``TemporaryError`` (unreachable, timed out, busy, the RisPort70 allowance used up) is
retried with the policy's backoff (``reconciler.apply.retry.backoff_delay``; a server's delay hint wins)
— at most ``attempts`` times, or ``HINTED_ATTEMPTS`` when the server said when to come back — and never
past ``timeout`` seconds after the read began (the CLI's ``--timeout``): a retry starts only when,
after its pause, it could take as long as the attempt that failed and still end in time (an endpoint
that accepts and stays silent fails each attempt at the transports' wait limit). Before each retry the hooks
hear which endpoint, the attempt (n of m), why, and when the next attempt starts
(``reconciler.live.progress.ReadWait``); a read still waiting for its first answer after ``SLOW_AFTER``
seconds is reported too. ``stop()`` (the estate is closing: another read failed) ends every wait at
once, so one failure does not leave the command waiting out the others' retries.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from providers.transports.waits import set_wait_limit
from reconciler.apply.retry import RetryPolicy, backoff_delay
from reconciler.errors import TemporaryError
from reconciler.live.progress import ReadHooks, ReadWait

__all__ = ["DEFAULT_TIMEOUT", "HINTED_ATTEMPTS", "SLOW_AFTER", "ReadWaiter", "limit_waits"]

_T = TypeVar("_T")
DEFAULT_TIMEOUT = 90.0  # seconds one read may take with its retries (the CLI's --timeout default)
HINTED_ATTEMPTS = 20  # a server that says when to come back (RisPort70 allowance) is asked this often
SLOW_AFTER = 3.0  # seconds without an answer before the read is reported as waiting
_MIN_PAUSE, _MAX_PAUSE = 0.5, 30.0


def limit_waits(timeout: float | None) -> None:
    """Cap every connect/read timeout of the transports at ``timeout`` seconds (``--timeout``)."""
    set_wait_limit(timeout)


class ReadWaiter:
    """Retries reads within a time budget and tells ``hooks`` while it waits (module docstring)."""

    def __init__(
        self,
        *,
        hooks: ReadHooks | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
        slow_after: float = SLOW_AFTER,
    ) -> None:
        self.hooks = hooks or ReadHooks()
        self.timeout = timeout
        self.policy = policy or RetryPolicy()
        self._sleep = sleep  # tests: a fake sleep; default: wait on the stop event
        self._slow_after = slow_after
        self._stopped = threading.Event()

    def stop(self) -> None:
        """End every wait now (the next retry is not made; the last error is raised)."""
        self._stopped.set()

    def _pause(self, seconds: float) -> bool:
        """Wait ``seconds``; True when stopped meanwhile."""
        if self._sleep is not None:
            self._sleep(seconds)
            return self._stopped.is_set()
        return self._stopped.wait(seconds)

    def _watch(self, endpoint: str, attempt: int, attempts: int, seen: list[bool]) -> threading.Timer:
        def slow() -> None:
            seen.append(True)
            self.hooks.read_waiting(
                ReadWait(
                    endpoint=endpoint,
                    attempt=attempt,
                    attempts=attempts,
                    error="no answer yet",
                    waited=self._slow_after,
                )
            )

        timer = threading.Timer(self._slow_after, slow)
        timer.daemon = True
        timer.start()
        return timer

    def read(self, endpoint: str, fn: Callable[[], _T]) -> _T:
        """``fn()``, retried on ``TemporaryError`` as the module docstring says; ``endpoint`` names
        what is read in the reports when the error does not name it itself."""
        deadline = time.monotonic() + self.timeout
        attempts = self.policy.attempts + 1
        attempt, seen = 1, [False]
        while True:
            timer = self._watch(endpoint, attempt, attempts, seen)
            began = time.monotonic()
            try:
                value = fn()
            except TemporaryError as exc:
                limit = HINTED_ATTEMPTS if exc.delay is not None else attempts
                delay = backoff_delay(self.policy, retry=attempt, error=exc)
                delay = min(max(delay, _MIN_PAUSE), _MAX_PAUSE)
                took = time.monotonic() - began  # a retry may wait as long (a silent endpoint: its timeout)
                if attempt >= limit or time.monotonic() + delay + took > deadline or self._stopped.is_set():
                    raise
                self.hooks.read_waiting(
                    ReadWait(
                        endpoint=exc.endpoint or endpoint,
                        attempt=attempt,
                        attempts=limit,
                        error=exc.message,
                        retry_at=time.time() + delay,
                    )
                )
                seen.append(True)
                if self._pause(delay):
                    raise
                attempt += 1
                continue
            finally:
                timer.cancel()
            if len(seen) > 1:  # something was reported as waiting: say that it answered
                self.hooks.read_recovered(endpoint)
            return value
