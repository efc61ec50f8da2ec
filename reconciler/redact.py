"""Removing secrets that a user wrote where a secret does not belong, before any message shows them.

Called by ``reconciler.diagnostics.Diagnostic`` and ``reconciler.errors.ReconcilerError`` on every
message they carry, so a host written as ``https://admin:pw@10.0.0.1/`` (or ``admin:pw@10.0.0.1``) is
echoed as ``https://admin:***@10.0.0.1/`` in every diagnostic, error, log line and JSON document. The
desired state itself never holds a secret (credentials are ``env:``/``file:`` references); this is the
net for values typed into the wrong field. Imports nothing of ours, so every layer may use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["REDACTED", "redact", "scrub"]

REDACTED = "***"

# user:password@ in a URL (scheme://user:pw@host) or a bare authority (user:pw@host). The user part
# stops at whitespace, quotes, '/', ':' and '@'; the password part at whitespace, quotes and '@'.
_USERINFO = re.compile(r"(?P<user>(?:[A-Za-z][A-Za-z0-9+.-]*://)?[^\s'\"/:@]+):(?P<pw>[^\s'\"@/]+)@")


def redact(text: str) -> str:
    """``text`` with the password of every ``user:password@`` replaced by ``***``."""
    if "@" not in text:
        return text
    return _USERINFO.sub(lambda m: f"{m['user']}:{REDACTED}@", text)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` through ``redact`` and with every occurrence of each of ``secrets`` (values the caller
    resolved, e.g. the passwords a run used) replaced by ``***``; secrets shorter than 4 characters are
    skipped (they would mangle ordinary words; such a password is a finding of its own). Used for
    support bundles, which may hold text a remote system echoed."""
    out = redact(text)
    for secret in sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True):
        out = out.replace(secret, REDACTED)
    return out
