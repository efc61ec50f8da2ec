"""What a refresh reports while it reads (the read-side hook protocol; the engine never prints).

``ReadHooks`` is called by ``reconciler.wiring.estate.ProviderEstate`` (and so by every refresh that
``reconciler.live.refresh``, ``reconciler.plan.drift`` and the stale-plan check run through it) and by
``reconciler.wiring.doctor`` (its checks), often
from worker threads; ``reconciler.render.progress`` implements it (a live display on a terminal, one
line per phase otherwise) and tests record the calls. Every method is a no-op here: an implementation
overrides what it needs and must be thread-safe.

- ``ReadProgress``: a phase of the read moved on — the phones RisPort70 listed of a cluster so far out
  of the total it reported, with the time the cluster's query allowance still needs for the rest (R13);
  the trust stores read per node; the DHCP scopes read; ``doctor``'s checks, per cluster (its nodes)
  and for the DHCP servers.
- ``ReadWait``: an endpoint is slow or unreachable — which one, the attempt (n of m), why, and when
  the next attempt starts (wall-clock time), or, for a read still waiting for its first answer, for
  how long it has been waiting.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["ReadHooks", "ReadPhase", "ReadProgress", "ReadWait"]


class ReadPhase(enum.StrEnum):
    """The phases a refresh reports on, by what it reads."""

    PHONES = "phones"  # RisPort70 listing of one cluster (paced, R13)
    TRUST = "trust stores"  # identities and trust stores of each node of one cluster
    DHCP = "DHCP scopes"  # option 150 of the waves' scopes
    CHECKS = "checks"  # doctor: the endpoints of one cluster, or the DHCP servers, checked


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadProgress:
    """``done`` of ``total`` (None: not known yet) items of ``phase`` for ``subject`` (a cluster, or
    "dhcp"); ``eta`` seconds still needed when that can be told; ``finished`` on the last report;
    ``doing``: what runs now, when that is worth showing (doctor: the endpoint and the check)."""

    phase: ReadPhase
    subject: str
    done: int
    total: int | None
    eta: float | None = None
    finished: bool = False
    doing: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.phase.value, self.subject)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadWait:
    """``endpoint`` did not answer: attempt ``attempt`` of ``attempts`` failed with ``error`` and the
    next starts at ``retry_at`` (seconds since the epoch). With ``retry_at`` None the attempt is still
    running and has waited ``waited`` seconds for an answer so far."""

    endpoint: str
    attempt: int
    attempts: int
    error: str
    retry_at: float | None = None
    waited: float = 0.0


class ReadHooks:
    """Progress callbacks of a refresh; no-ops here (override what you need)."""

    def read_progress(self, progress: ReadProgress) -> None:
        """A phase moved on (or started: ``done`` 0; or ended: ``finished``)."""

    def read_waiting(self, wait: ReadWait) -> None:
        """An endpoint is slow or unreachable; a retry is coming (or the read is still waiting)."""

    def read_recovered(self, endpoint: str) -> None:
        """``endpoint`` answered after ``read_waiting`` was reported for it."""
