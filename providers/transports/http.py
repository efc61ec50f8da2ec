"""The one way providers make HTTP(S) sessions: verified TLS, fixed timeouts, mapped errors, no secrets.

Every HTTPS provider (AXL through zeep, certmgr REST, serviceability, TFTP over HTTP, Kea's control
agent) calls ``make_session``; nothing else in ``providers/`` builds a ``requests.Session``. Defaults
(docs/providers.md#security-defaults):

- TLS is verified against ``ca_bundle`` (a PEM file), or the server certificate's SHA-256 fingerprint is
  pinned (``pin_sha256``; ``PinnedAdapter`` checks the peer certificate during the handshake), or — with
  neither — against requests' default CA store (certifi). ``insecure=True`` disables verification and
  warns loudly every time a session is made (``InsecureTransportWarning`` through ``warnings`` and a
  WARNING log record).
- ``trust_env = False``: ``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``, proxies and ``.netrc`` cannot change
  what is trusted (with ``trust_env`` on, requests lets the environment override ``session.verify``).
- Every request gets a timeout (``(connect, read)``) unless the caller passes one.
- Foreign errors become ``reconciler.errors`` in one place, ``translate_request_error`` (also used by
  ``providers.transports.soap.soap_errors`` for sessions it did not make). It reads the exception chain,
  not the wrapper type: a certificate verification failure (``ssl.SSLCertVerificationError`` — CA or hostname
  mismatch — or urllib3's fingerprint mismatch) → ``TlsVerificationError`` (hint names
  ``ca_bundle``/``pin_sha256``); a connection refused, reset or closed — also during the TLS handshake
  (``ConnectionResetError``, ``SSLEOFError``, ``SSLZeroReturnError``), as a node that drops new
  connections does — → ``UnreachableError``; a timeout (also in the handshake) → ``TemporaryError``;
  any other handshake failure (no common protocol, not TLS on that port) → ``PermanentError``.
  HTTP 401 → ``AuthenticationError``; HTTP 503 → ``TemporaryError`` (``delay`` from ``Retry-After``).
  Other statuses are returned (a SOAP fault arrives as HTTP 500 and is zeep's to read); callers may use
  ``check_status`` for REST APIs.
- Secrets are never logged: ``redact_headers`` masks credentials; the debug log line per request shows
  method, URL, status and redacted headers only.
"""

from __future__ import annotations

import email.utils
import enum
import logging
import re
import ssl
import time
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import requests
import requests.auth
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InsecureRequestWarning

from providers.transports.waits import cap
from reconciler.errors import (
    AuthenticationError,
    ConfigError,
    PermanentError,
    ProviderError,
    RemoteFaultError,
    TemporaryError,
    TlsVerificationError,
    UnreachableError,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "InsecureTransportWarning",
    "PinnedAdapter",
    "RedactedBasicAuth",
    "SafeSession",
    "TransportFailure",
    "check_status",
    "classify_transport_failure",
    "make_session",
    "normalise_fingerprint",
    "redact_headers",
    "translate_request_error",
]

log = logging.getLogger(__name__)
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 30.0)
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-auth-token"})
_FPR_RE = re.compile(r"^(?:sha256:)?([0-9a-f]{2}(?::?[0-9a-f]{2}){31})$")


class InsecureTransportWarning(UserWarning):
    """TLS verification is disabled for an endpoint (``insecure: true``)."""


def normalise_fingerprint(pin: str) -> str:
    """``sha256:AB:CD…`` / ``abcd…`` → 64 lower-case hex digits; ``ConfigError`` if malformed."""
    match = _FPR_RE.match(pin.strip().lower())
    if match is None:
        raise ConfigError(
            f"pin_sha256 {pin!r} is not a SHA-256 fingerprint",
            hint="use 64 hex digits, optionally 'sha256:' prefixed and colon-separated",
        )
    return match.group(1).replace(":", "")


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``headers`` with credential-bearing values replaced by ``<redacted>``."""
    return {k: ("<redacted>" if k.lower() in _SECRET_HEADERS else v) for k, v in headers.items()}


class PinnedAdapter(HTTPAdapter):
    """An adapter that accepts exactly one server certificate: the one whose DER SHA-256 is ``pin``.

    urllib3 compares the peer certificate with ``assert_fingerprint`` right after the handshake and
    aborts the connection on a mismatch, before any request bytes (or credentials) are sent. Chain and
    hostname checks are off because the pin is the stronger statement.
    """

    def __init__(self, pin: str, **kwargs: Any) -> None:
        self.pin = normalise_fingerprint(pin)
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["assert_fingerprint"] = self.pin
        super().init_poolmanager(*args, **kwargs)

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        kwargs["verify"] = False  # the fingerprint check replaces chain verification
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InsecureRequestWarning)
            return super().send(request, **kwargs)


class RedactedBasicAuth(requests.auth.HTTPBasicAuth):
    """HTTP basic auth whose ``repr`` never shows the password (sessions end up in tracebacks)."""

    def __repr__(self) -> str:
        return f"RedactedBasicAuth(user={self.username!r}, password=<redacted>)"


class SafeSession(requests.Session):
    """A ``requests.Session`` with a default timeout and errors mapped to ``reconciler.errors``."""

    def __init__(self, *, endpoint: str, timeout: float | tuple[float, float], tls_hint: str) -> None:
        super().__init__()
        self.endpoint = endpoint
        self.default_timeout = timeout
        self.tls_hint = tls_hint
        self.trust_env = False

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        kwargs["timeout"] = cap(kwargs["timeout"])  # the CLI's --timeout (providers.transports.waits)
        where = self.endpoint
        started = time.monotonic()
        try:
            response = super().request(method, url, *args, **kwargs)
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            raise translate_request_error(exc, endpoint=where, tls_hint=self.tls_hint) from exc
        log.debug(
            "%s %s -> %s in %.1f ms; request headers %s",
            response.request.method,
            response.request.url,
            response.status_code,
            (time.monotonic() - started) * 1000,
            redact_headers(response.request.headers),
        )
        if response.status_code == 401:
            raise AuthenticationError(
                f"{where} rejected the credentials (HTTP 401)",
                endpoint=where,
                hint="check the user and the password reference (env:/file:) for this endpoint",
            )
        if response.status_code == 503:
            raise TemporaryError(f"{where} is busy (HTTP 503)", endpoint=where, delay=_retry_after(response))
        return response


class TransportFailure(enum.Enum):
    """What really went wrong under a requests/urllib3 connection error (``classify_transport_failure``)."""

    VERIFICATION = "verification"  # the peer's certificate failed the CA/hostname/pin check
    TIMEOUT = "timeout"  # no answer in time (connect, handshake or read)
    CUT = "cut"  # refused, reset or closed by the peer (also in the middle of the TLS handshake)
    HANDSHAKE = "handshake"  # any other TLS handshake failure (no common protocol, not TLS at all)


_CUT_TYPES: tuple[type[BaseException], ...] = (
    ConnectionError,  # the builtin: refused, reset, aborted, broken pipe
    ssl.SSLEOFError,
    ssl.SSLZeroReturnError,
)
_FINGERPRINT_MISMATCH = "fingerprints did not match"  # urllib3's assert_fingerprint (it has no own type)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception it wraps: ``__cause__``/``__context__``, urllib3's ``.reason`` and
    exceptions passed as arguments (requests and urllib3 use all three). Bounded, each one once."""
    queue: list[BaseException] = [exc]
    seen: set[int] = set()
    while queue and len(seen) < 32:
        current = queue.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        links = (current.__cause__, current.__context__, getattr(current, "reason", None), *current.args)
        queue.extend(link for link in links if isinstance(link, BaseException))


def classify_transport_failure(exc: BaseException) -> TransportFailure:
    """Classify a connection-level failure by its exception chain, most specific first.

    A verification failure anywhere in the chain wins (it is never retried); then a timeout; then a
    peer that refused, reset or closed the connection — even when requests reports that as an
    ``SSLError`` because it happened during the handshake. An ``SSLError`` matching none of these is a
    ``HANDSHAKE`` failure; any other error is a ``CUT``.
    """
    chain = list(_chain(exc))
    if any(
        isinstance(e, ssl.SSLCertVerificationError) or _FINGERPRINT_MISMATCH in str(e).lower() for e in chain
    ):
        return TransportFailure.VERIFICATION
    if any(isinstance(e, TimeoutError | requests.exceptions.Timeout) for e in chain):
        return TransportFailure.TIMEOUT
    if any(isinstance(e, _CUT_TYPES) for e in chain):
        return TransportFailure.CUT
    if any(isinstance(e, ssl.SSLError | requests.exceptions.SSLError) for e in chain):
        return TransportFailure.HANDSHAKE
    return TransportFailure.CUT


def translate_request_error(
    exc: BaseException, *, endpoint: str, tls_hint: str | None = None
) -> ProviderError:
    """The ``reconciler.errors`` exception for a requests/urllib3 connection error on ``endpoint``.

    The caller raises it ``from exc``. ``tls_hint`` is the fix shown for a verification failure
    (``make_session`` words it for ``ca_bundle`` or ``pin_sha256``).
    """
    reason = _short(exc)
    kind = classify_transport_failure(exc)
    if kind is TransportFailure.VERIFICATION:
        return TlsVerificationError(
            f"TLS verification of {endpoint} failed: {reason}",
            endpoint=endpoint,
            hint=tls_hint or f"check ca_bundle or pin_sha256 for {endpoint}",
        )
    if kind is TransportFailure.TIMEOUT:
        return TemporaryError(f"{endpoint} did not answer in time ({reason})", endpoint=endpoint)
    if kind is TransportFailure.HANDSHAKE:
        return PermanentError(
            f"TLS handshake with {endpoint} failed: {reason}",
            endpoint=endpoint,
            hint=f"check that this port of {endpoint} serves HTTPS (TLS 1.2 or later)",
        )
    in_handshake = any(isinstance(e, ssl.SSLError | requests.exceptions.SSLError) for e in _chain(exc))
    cause = next((e for e in _chain(exc) if isinstance(e, _CUT_TYPES)), None)
    how = (
        "it closed the connection during the TLS handshake"
        if in_handshake
        else f"cannot connect ({cause or reason})"
    )
    return UnreachableError(
        f"{endpoint} is unreachable: {how}",
        endpoint=endpoint,
        hint=f"check that {endpoint} is up, reachable from here and serving on this port",
    )


def _short(exc: BaseException) -> str:
    """The innermost reason of a requests/urllib3 error, without the wrapper noise."""
    text = str(exc)
    inner = re.search(r"\((?:Caused by )?\w+\((.*)\)\)\s*$", text)
    return (inner.group(1) if inner else text)[:300]


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def check_status(response: requests.Response, *, endpoint: str) -> requests.Response:
    """For REST callers: 2xx passes; 5xx → ``TemporaryError``; other codes → ``RemoteFaultError``."""
    code = response.status_code
    if 200 <= code < 300:
        return response
    body = response.text[:200].strip()
    if code >= 500:
        raise TemporaryError(f"{endpoint} failed with HTTP {code}: {body}", endpoint=endpoint)
    raise RemoteFaultError(f"{endpoint} refused the request, HTTP {code}: {body}", endpoint=endpoint,
                           code=str(code))  # fmt: skip


def make_session(
    *,
    endpoint: str,
    ca_bundle: str | Path | None = None,
    pin_sha256: str | None = None,
    insecure: bool = False,
    auth: tuple[str, str] | None = None,
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
) -> SafeSession:
    """A session for one endpoint (``endpoint`` names it in messages, e.g. ``cucm-new-pub:8443``).

    Exactly one of ``ca_bundle``/``pin_sha256``/``insecure`` may be given; with none, the default CA
    store (certifi) is used. ``auth`` is HTTP basic (user, password) and is never logged.
    """
    if sum((ca_bundle is not None, pin_sha256 is not None, insecure)) > 1:
        raise ConfigError(
            f"{endpoint}: choose one of ca_bundle, pin_sha256 or insecure",
            hint="a pin and a CA bundle are alternatives; insecure disables both",
        )
    hint = (
        f"check pin_sha256 for {endpoint} against the server certificate's SHA-256 fingerprint"
        if pin_sha256
        else f"check ca_bundle for {endpoint}: it must hold the CA that signed the server certificate "
        "(or pin the certificate with pin_sha256)"
    )
    session = SafeSession(endpoint=endpoint, timeout=timeout, tls_hint=hint)
    if pin_sha256 is not None:
        session.mount("https://", PinnedAdapter(pin_sha256))
    elif ca_bundle is not None:
        bundle = Path(ca_bundle)
        if not bundle.is_file():
            raise ConfigError(f"{endpoint}: ca_bundle {bundle} does not exist", hint="fix the path")
        session.verify = str(bundle)
    elif insecure:
        session.verify = False
        message = (
            f"TLS verification is DISABLED for {endpoint} (insecure: true): anyone on the path can "
            "impersonate it and read its credentials; set ca_bundle or pin_sha256 instead"
        )
        with warnings.catch_warnings():
            warnings.simplefilter("always", InsecureTransportWarning)  # every time, not once per place
            warnings.warn(message, InsecureTransportWarning, stacklevel=3)
        log.warning(message)
    else:
        session.verify = True
    if auth is not None:
        session.auth = RedactedBasicAuth(*auth)
    return session
