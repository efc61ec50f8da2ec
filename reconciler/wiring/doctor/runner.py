"""The doctor's bookkeeping: run one check, time it, turn its outcome or error into a ``Finding``.

``Doctor`` is handed to every check module (``reconciler.wiring.doctor.cucm``, ``.dhcp``); a check is a
callable returning a ``Verdict`` (or a plain detail string for a pass). An error from the one tree
(``reconciler.errors``) becomes a ``fail`` whose fix is the error's hint, or, when it has none, the fix
for its class (unreachable, TLS, host key, credentials, throttled, session dropped). A check that passed
but took longer than ``slow_s`` becomes a ``fail`` that names the latency: every plan and apply step
would pay it. ``run_doctor`` in ``reconciler.wiring.doctor`` drives it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from reconciler.errors import (
    AuthenticationError,
    HostKeyError,
    ReconcilerError,
    RemoteFaultError,
    TemporaryError,
    TlsVerificationError,
    UnreachableError,
)
from reconciler.live.progress import ReadHooks, ReadPhase, ReadProgress
from reconciler.wiring.doctor.report import Capture, DoctorReport, Finding, Status

__all__ = ["Check", "Doctor", "Verdict", "fix_for"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    status: Status
    detail: str
    fix: str | None = None


Check = Callable[[], "Verdict | str"]


def fix_for(exc: ReconcilerError, *, role: str | None = None) -> str:
    """The fix to show for ``exc`` (its hint when it has one; else one per error class)."""
    if isinstance(exc, AuthenticationError):
        what = f"the {role} credentials" if role else "the credentials"
        base = f"check {what} (user name and the password the reference points to)"
        if role == "AXL":
            base += "; the application user needs the 'Standard AXL API Access' role"
        elif role == "OS admin":
            base += "; it must be the platform (OS) administrator that logs in to the admin CLI"
        return base
    own = _class_fix(exc)
    if own and exc.hint:
        return f"{own}; {exc.hint}"
    return own or exc.hint or "see the detail"


def _class_fix(exc: ReconcilerError) -> str | None:
    if isinstance(exc, UnreachableError):
        return None if exc.hint else "unreachable: check the address, the port and firewalls on the path"
    if isinstance(exc, TlsVerificationError):
        return None if exc.hint else "check tls.ca_bundle (or pin_sha256)"
    if isinstance(exc, HostKeyError):
        return None if exc.hint else "verify the host key out of band and add it to known_hosts"
    if isinstance(exc, TemporaryError):
        if "503" in exc.message or "busy" in exc.message:
            return "the endpoint throttles (HTTP 503): wait, or lower policy.concurrency for it"
        if "dropped" in exc.message:
            return "the SSH session dropped: check idle timeouts, session limits and the path"
        return "a temporary failure: run doctor again; if it persists, check the endpoint's load"
    if isinstance(exc, RemoteFaultError):
        return "the system refused the request: see the detail (and the support bundle's captures)"
    return None


class Doctor:
    """Collects findings for one run. ``slow_s``: a single check slower than this fails (latency).
    ``hooks`` hear the run's progress (``progress`` per cluster and for the DHCP servers, and each check
    as it starts), as a refresh's read progress (``reconciler.live.progress``)."""

    def __init__(self, *, slow_s: float = 5.0, hooks: ReadHooks | None = None) -> None:
        self.report = DoctorReport()
        self.slow_s = slow_s
        self.secrets: list[str] = []  # values resolved during the run, scrubbed from the bundle
        self._hooks = hooks or ReadHooks()
        self._progress: ReadProgress | None = None

    def progress(self, *, subject: str, done: int, total: int) -> None:
        """``done`` of the ``total`` nodes of cluster ``subject`` (or DHCP servers) are checked."""
        self._progress = ReadProgress(
            phase=ReadPhase.CHECKS, subject=subject, done=done, total=total, finished=done >= total
        )
        self._hooks.read_progress(self._progress)

    def capture(self, *, endpoint: str, what: str, text: str) -> None:
        self.report.captures.append(Capture(endpoint=endpoint, what=what, text=text))

    def add(self, *, endpoint: str, check: str, status: Status, detail: str, fix: str | None = None) -> None:
        self.report.findings.append(
            Finding(endpoint=endpoint, check=check, status=status, detail=detail, fix=fix)
        )

    def run(self, *, endpoint: str, check: str, body: Check, role: str | None = None) -> Verdict:
        """Run ``body`` as the check ``check`` of ``endpoint``; record and return its verdict."""
        if self._progress is not None and not self._progress.finished:
            self._hooks.read_progress(replace(self._progress, doing=f"{endpoint} {check}"))
        started = time.monotonic()
        try:
            outcome = body()
            verdict = outcome if isinstance(outcome, Verdict) else Verdict(status="pass", detail=outcome)
        except ReconcilerError as exc:
            verdict = Verdict(status="fail", detail=exc.message, fix=fix_for(exc, role=role))
        except (OSError, ValueError, KeyError, TypeError) as exc:  # an answer we did not expect
            verdict = Verdict(
                status="fail",
                detail=f"unexpected answer: {type(exc).__name__}: {exc}",
                fix="an answer this tool does not recognise: attach the support bundle (--bundle)",
            )
            self.capture(endpoint=endpoint, what=check, text=f"{type(exc).__name__}: {exc}")
        seconds = time.monotonic() - started
        if verdict.status == "pass" and seconds > self.slow_s:
            verdict = Verdict(
                status="fail",
                detail=f"{verdict.detail} — but it took {seconds:.1f} s",
                fix=f"slow: {endpoint} answered in {seconds:.1f} s (limit --slow {self.slow_s:g} s): "
                "network latency or an overloaded node; every plan and apply step pays it",
            )
        self.report.findings.append(
            Finding(
                endpoint=endpoint,
                check=check,
                status=verdict.status,
                detail=verdict.detail,
                fix=verdict.fix,
                seconds=seconds,
            )
        )
        return verdict
