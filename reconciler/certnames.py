"""Distinguished names and serial numbers as CUCM and its APIs print them, compared by meaning.

A DN reaches us as ``CN=x;OU=y`` (ITL/CTL headers, ``reconciler.cucm.certs.cucm_dn``), ``CN=x, OU=y``
(``show cert`` on the admin CLI), RFC 4514 order or quoted; a serial as hex with or without colons, or
perhaps decimal (docs/cucm-interfaces.md). ``dn_key``/``same_dn`` and ``serial_candidates`` turn each
into something comparable, so certificates are never compared by DN text.

A dependency-free kernel module: used by ``reconciler.insync.same_certificate`` (the one "same
certificate" rule of planner and providers), ``reconciler.cucm.certs`` (``CertIdentity`` equality, and
re-exported there) and the certificate providers.
"""

from __future__ import annotations

import functools

__all__ = ["canonical_dn", "dn_key", "same_dn", "serial_candidates"]

_TYPE_ALIASES = {
    "E": "EMAILADDRESS",
    "EMAIL": "EMAILADDRESS",
    "S": "ST",
    "SP": "ST",
    "STREET": "STREET",
    "SERIALNUMBER": "SERIALNUMBER",
    "2.5.4.3": "CN",
    "2.5.4.11": "OU",
    "2.5.4.10": "O",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.6": "C",
}


def _split(text: str, separators: str) -> list[str]:
    """``text`` split at ``separators`` outside double quotes and not escaped by a backslash."""
    parts, current, quoted, escaped = [], [], False, False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            current.append(char)
            escaped = True
        elif char == '"':
            current.append(char)
            quoted = not quoted
        elif char in separators and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _value(raw: str) -> str:
    value = raw.strip()
    if value.startswith('"'):
        value = value[1:]
        value = value[:-1] if value.endswith('"') else value
    out, escaped = [], False
    for char in value:
        if escaped or char != "\\":
            out.append(char)
            escaped = False
        else:
            escaped = True
    return " ".join("".join(out).split()).casefold()


@functools.lru_cache(maxsize=65_536)
def dn_key(text: str) -> tuple[tuple[tuple[str, str], ...], ...]:
    """A DN's normalised RDN sequence, whatever form printed it: ``CN=x;OU=y`` (ITL/CTL, ``cucm_dn``),
    ``CN=x, OU=y`` (``show cert``), RFC 4514 ``OU=y,CN=x`` (reversed) or with quoted values. Types are
    upper-cased (``E``/``emailAddress`` alike), values trimmed and case-folded, multi-valued RDNs sorted,
    and the sequence taken in the orientation that sorts first, so print order does not matter."""
    body = text.strip().strip("\x00")
    if not body:
        return ()
    separators = ";" if len(_split(body, ";")) > 1 else ","
    rdns: list[tuple[tuple[str, str], ...]] = []
    for part in _split(body, separators):
        if not part.strip():
            continue
        attrs = []
        for atom in _split(part, "+"):
            kind, sep, value = atom.partition("=")
            if not sep:  # not TYPE=value: keep the text as it is, normalised
                attrs.append(("", _value(atom)))
                continue
            name = kind.strip().upper().removeprefix("OID.")
            attrs.append((_TYPE_ALIASES.get(name, name), _value(value)))
        rdns.append(tuple(sorted(attrs)))
    forward = tuple(rdns)
    return min(forward, tuple(reversed(rdns)))


def same_dn(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` name the same DN (``dn_key``), however each was printed."""
    return dn_key(a) == dn_key(b)


def serial_candidates(text: str) -> frozenset[int]:
    """The numbers a printed serial may be: hex (``01:9A:..``, ``19A3``, ``0x19a3``) and, when it has only
    decimal digits and no separators, also decimal (CUCM's print form is not documented)."""
    value = text.strip().lower().removeprefix("0x")
    hex_digits = value.replace(":", "").replace(" ", "")
    out: set[int] = set()
    if hex_digits and all(c in "0123456789abcdef" for c in hex_digits):
        out.add(int(hex_digits, 16))
    if value.isdigit():
        out.add(int(value, 10))
    return frozenset(out)


def canonical_dn(text: str) -> str:
    """One text per DN, whatever form printed it (``dn_key`` joined as ``TYPE=value;...``): for keys that
    must be strings, such as the identities a TVS restart recorded in the state."""
    return ";".join("+".join(f"{kind}={value}" for kind, value in rdn) for rdn in dn_key(text))
