"""The one exception tree of the project, drawn here and nowhere else.

Every module raises from this tree; foreign exceptions (zeep faults, paramiko and socket errors, HTTP
errors, YAML errors, ``cryptography`` value errors) are translated at the boundary that meets them and
re-raised ``from`` the original. Messages and hints pass through ``reconciler.redact`` (a password typed
into a URL is never echoed). This module imports nothing of ours but that, so every layer — including
``reconciler.cucm`` and the simulator — may use it (see docs/architecture.md, "the kernel").

::

    ReconcilerError                      base of everything we raise on purpose
    ├── ConfigError                      the desired-state file cannot be used
    │   ├── LoadError                    unreadable or malformed YAML; carries diagnostics
    │   ├── SchemaError                  YAML is well-formed but violates the schema/semantics
    │   └── SecretError                  an env:/file: credential reference cannot be resolved
    ├── DomainError                      CUCM domain data is invalid (reconciler.cucm)
    │   ├── CertificateError             a PEM/DER certificate cannot be read or is unusable
    │   ├── TlvError                     an ITL/CTL file is malformed (byte offset + reason)
    │   └── SignatureError               an ITL/CTL signature does not verify / signer unknown
    ├── ProviderError                    talking to a live system failed; carries the endpoint
    │   ├── TemporaryError               worth retrying: HTTP 503 throttle, timeouts, dropped SSH,
    │   │   │                            RisPort70 allowance exhausted (optional ``delay`` hint)
    │   │   └── UnreachableError         connection refused / no route (retried, then reported)
    │   └── PermanentError               retrying will not help: stop and report
    │       ├── AuthenticationError      bad credentials (HTTP 401, SSH auth failure)
    │       ├── TlsVerificationError     server certificate does not match the CA bundle / pin
    │       ├── HostKeyError             SSH host key unknown or changed
    │       ├── RemoteFaultError         the system rejected the request (AXL fault, CLI error)
    │       └── VerificationError        a step ran but its verify found the system not as desired
    ├── PlanError                        a plan cannot be built or used
    │   └── StalePlanError               live facts moved since the plan was made (R14)
    ├── StateError                       the state file is unusable
    │   └── LockError                    another process holds the state lock (names the holder)
    ├── JournalError                     the apply journal is corrupt or belongs to another plan
    └── LabError                         the built-in lab cannot start / is not running
        └── LabSpecError                 a lab spec file (lab up --spec) is invalid, FILE:LINE:COL

Retry semantics live in the type: the executor retries ``TemporaryError`` with backoff
and stops on everything else. User mistakes found while validating or planning are not exceptions but
``reconciler.diagnostics.Diagnostic`` values, so that a run reports every problem at once.
"""

from __future__ import annotations

from reconciler.redact import redact

__all__ = [
    "AuthenticationError",
    "CertificateError",
    "ConfigError",
    "DomainError",
    "HostKeyError",
    "JournalError",
    "LabError",
    "LabSpecError",
    "LoadError",
    "LockError",
    "PermanentError",
    "PlanError",
    "ProviderError",
    "ReconcilerError",
    "RemoteFaultError",
    "SchemaError",
    "SecretError",
    "SignatureError",
    "StalePlanError",
    "StateError",
    "TemporaryError",
    "TlsVerificationError",
    "TlvError",
    "UnreachableError",
    "VerificationError",
]


class ReconcilerError(Exception):
    """Base of every error the project raises on purpose.

    ``hint`` is a one-line fix shown to the user under the message; keep it actionable.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        message = redact(message)
        super().__init__(message)
        self.message = message
        self.hint = redact(hint) if hint else hint

    def __str__(self) -> str:
        return self.message


# --- configuration -------------------------------------------------------------------------------


class ConfigError(ReconcilerError):
    """The desired-state file cannot be used."""


class LoadError(ConfigError):
    """Unreadable or malformed YAML. ``diagnostics`` holds every problem found (typed loosely to keep
    this module free of imports; the loader stores ``reconciler.diagnostics.Diagnostic`` values)."""

    def __init__(self, message: str, *, diagnostics: tuple[object, ...] = (), hint: str | None = None):
        super().__init__(message, hint=hint)
        self.diagnostics = diagnostics


class SchemaError(LoadError):
    """Well-formed YAML that violates the schema or the semantic checks."""


class SecretError(ConfigError):
    """A credential reference (``env:NAME`` / ``file:PATH``) cannot be resolved. Never holds the value."""


# --- CUCM domain data ----------------------------------------------------------------------------


class DomainError(ReconcilerError, ValueError):
    """CUCM domain data (certificates, ITL/CTL files) is invalid."""


class CertificateError(DomainError):
    """A certificate cannot be read (bad PEM/DER) or is unusable for the purpose."""


class TlvError(DomainError):
    """An ITL/CTL file is malformed. ``offset`` is the byte offset where parsing stopped."""

    def __init__(self, reason: str, *, offset: int, hint: str | None = None) -> None:
        super().__init__(f"malformed TLV at byte {offset}: {reason}", hint=hint)
        self.reason = reason
        self.offset = offset


class SignatureError(DomainError):
    """An ITL/CTL signature does not verify, or its signer cannot be found in the file."""


# --- talking to live systems ----------------------------------------------------------------------


class ProviderError(ReconcilerError):
    """Talking to a live system failed. ``endpoint`` names the node/server (never a credential)."""

    def __init__(self, message: str, *, endpoint: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.endpoint = endpoint


class TemporaryError(ProviderError):
    """Worth retrying after ``delay`` seconds (a hint; ``None`` lets the executor's backoff decide)."""

    def __init__(
        self,
        message: str,
        *,
        endpoint: str | None = None,
        hint: str | None = None,
        delay: float | None = None,
    ) -> None:
        super().__init__(message, endpoint=endpoint, hint=hint)
        self.delay = delay


class UnreachableError(TemporaryError):
    """Connection refused, reset or timed out before any answer."""


class PermanentError(ProviderError):
    """Retrying will not help; the executor stops and reports."""


class AuthenticationError(PermanentError):
    """The system rejected the credentials (HTTP 401, SSH authentication failure)."""


class TlsVerificationError(PermanentError):
    """The server's TLS certificate does not chain to the configured CA bundle or match the pin."""


class HostKeyError(PermanentError):
    """The SSH host key is not in known_hosts, or differs from the pinned/known key."""


class RemoteFaultError(PermanentError):
    """The system understood and rejected the request (AXL fault, CLI error text, REST 4xx)."""

    def __init__(
        self,
        message: str,
        *,
        endpoint: str | None = None,
        hint: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message, endpoint=endpoint, hint=hint)
        self.code = code


class VerificationError(PermanentError):
    """A step ran, but reading the system back shows it is not as desired."""


# --- plans, state, journal, lab --------------------------------------------------------------------


class PlanError(ReconcilerError):
    """A plan cannot be built, read or applied."""


class StalePlanError(PlanError):
    """Live facts changed since the plan was made (R14); ``changes`` lists what moved."""

    def __init__(self, message: str, *, changes: tuple[str, ...] = (), hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.changes = changes


class StateError(ReconcilerError):
    """The state file is unreadable, or belongs to another lineage."""


class LockError(StateError):
    """Another process holds the state lock; the message names the holder."""


class JournalError(ReconcilerError):
    """The apply journal is corrupt or belongs to another plan."""


class LabError(ReconcilerError):
    """The built-in lab cannot start, or is not running."""


class LabSpecError(LabError):
    """A lab spec file (``lab up --spec FILE``) is invalid: ``diagnostics`` name every problem with its
    ``FILE:LINE:COL``; the message lists them."""

    def __init__(self, message: str, *, diagnostics: tuple[object, ...] = (), hint: str | None = None):
        super().__init__(message, hint=hint)
        self.diagnostics = diagnostics
