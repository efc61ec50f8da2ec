""" "Already in sync": the one rule per resource kind that the planner and the providers both apply.

The planner (``reconciler.plan.steps``, ``reconciler.plan.planner``) leaves a step out when the live value
is ``in_sync`` with the desired one; a provider's ``apply`` (``providers/``) makes no mutating call when
what it reads back is ``in_sync`` with ``change.after`` (the idempotent retry). Both speak the plan's
values (docs/plan-format.md), so both ask this module, and a value the planner calls in sync is never
one a provider would change, nor the reverse.

- ``param``: CUCM's text, compared case-insensitively with ``T``/``F`` read as ``True``/``False``
  (R2: the rollback parameter is shown as ``True``/``False`` but stored as ``T``/``F`` on some releases).
- ``option150``: the ordered list of addresses (the order is the phones' TFTP preference, R12),
  compared as IPv4 addresses.
- ``trust``: the same certificate: by SHA-256 where both sides know it (a provider's listing with PEM),
  else by the TVS identity, serial + issuer (what TVS and the trust stores key on; the cluster facts the
  planner reads carry only that, so it asks ``same_certificate`` through ``NodeFacts.holds``' identities).
- every other kind is an action (``Action.RUN``: a reset, a gate, a TVS restart): never in sync.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from ipaddress import IPv4Address

from reconciler.certnames import same_dn, serial_candidates

__all__ = ["in_sync", "option150_key", "param_word", "same_certificate"]


def param_word(text: object) -> str:
    """``"T"``/``"true"``/``True`` → ``"true"``, ``"F"``/``"False"``/``False`` → ``"false"``, else the
    stripped, lower-cased text."""
    if isinstance(text, bool):
        return "true" if text else "false"
    low = str(text).strip().lower()
    return {"t": "true", "f": "false"}.get(low, low)


def option150_key(addresses: Sequence[object]) -> tuple[str, ...]:
    """The ordered addresses in canonical dotted form (a text that is no IPv4 address stays as it is)."""
    out = []
    for item in addresses:
        try:
            out.append(str(IPv4Address(str(item).strip())))
        except ValueError:
            out.append(str(item))
    return tuple(out)


def _text(value: Mapping[str, object], key: str) -> str | None:
    item = value.get(key)
    return item.strip().lower() if isinstance(item, str) and item.strip() else None


def _serials(value: Mapping[str, object]) -> frozenset[int]:
    """The numbers a value's serial may be: its ``serial_print`` (as a node printed it, perhaps decimal)
    when it has one, else its ``serial`` (hex)."""
    printed = _text(value, "serial_print")
    if printed is not None:
        return serial_candidates(printed)
    serial = _text(value, "serial")
    if serial is None:
        return frozenset()
    try:
        return frozenset({int(serial.replace(":", ""), 16)})
    except ValueError:
        return frozenset()


def same_certificate(want: Mapping[str, object], have: Mapping[str, object]) -> bool:
    """``want`` and ``have`` (``sha256``/``serial``/``issuer`` maps, ``have`` perhaps with the
    ``serial_print`` a node printed) name the same certificate: equal SHA-256 when both know it, else
    the same serial number (hex, any case or separators; any reading of a printed one) and, where
    ``want`` names one, the same issuer by normalised RDN sequence (``reconciler.certnames.same_dn``),
    never by DN text."""
    sha_w, sha_h = _text(want, "sha256"), _text(have, "sha256")
    if sha_w is not None and sha_h is not None:
        return sha_w == sha_h
    if not _serials(want) & _serials(have):
        return False
    issuer_w, issuer_h = want.get("issuer"), have.get("issuer")
    if not isinstance(issuer_w, str):
        return True  # ``want`` names no issuer: the serial decides
    return isinstance(issuer_h, str) and same_dn(issuer_w, issuer_h)


def in_sync(kind: str, *, live: object, want: object) -> bool:
    """True when the live value of a ``kind`` resource already is the desired one (see the module
    docstring); ``live=None`` (absent or unknown) is never in sync."""
    if live is None or want is None:
        return False
    if kind == "param":
        return param_word(live) == param_word(want)
    if kind == "option150":
        if isinstance(live, str | bytes) or isinstance(want, str | bytes):
            return False
        if not isinstance(live, Sequence) or not isinstance(want, Sequence):
            return False
        return option150_key(live) == option150_key(want)
    if kind == "trust":
        return isinstance(live, Mapping) and isinstance(want, Mapping) and same_certificate(want, live)
    return False
