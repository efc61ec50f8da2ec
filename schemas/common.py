"""Building blocks shared by every desired-state model: the frozen/strict base class, names, hosts,
ports, durations, file paths resolved against the YAML file's directory, and TLS/SSH settings.

Used by the other ``schemas`` modules only; the loader passes ``context={"base_dir": <dir of the YAML>}``
to ``model_validate`` so that relative paths resolve against the file that declared them
(docs/architecture.md, "Where we deviate from the original design").
"""

from __future__ import annotations

import ipaddress
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)

__all__ = [
    "Duration",
    "FilePath",
    "Host",
    "Name",
    "Port",
    "StrictModel",
    "TlsSettings",
    "base_dir_of",
    "parse_duration",
]


class StrictModel(BaseModel):
    """Base of every desired-state model: immutable, unknown keys are errors (so typos are caught)."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False, validate_default=False)


#: Identifiers users pick (cluster, node, server, scope, wave names): letters, digits, ``-``, ``_``, ``.``.
Name = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="A name: letters, digits, '-', '_' and '.', starting with a letter or digit.",
    ),
]

Port = Annotated[int, Field(ge=1, le=65535)]

_HOSTNAME_RE = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$"
)
_LOOKS_NUMERIC_RE = re.compile(r"^[0-9.]+$")


def _check_host(value: str) -> str:
    """An IPv4/IPv6 address or a DNS name. Dotted digits must be a valid IPv4 address ("bad IP")."""
    text = value.strip()
    if _LOOKS_NUMERIC_RE.match(text):
        try:
            ipaddress.IPv4Address(text)
        except ValueError as exc:
            raise ValueError(f"{text!r} is not a valid IPv4 address") from exc
        return text
    if ":" in text:
        try:
            ipaddress.IPv6Address(text)
        except ValueError as exc:
            raise ValueError(f"{text!r} is not a valid IPv6 address") from exc
        return text
    if not _HOSTNAME_RE.match(text):
        raise ValueError(f"{text!r} is neither an IP address nor a valid host name")
    return text


#: A node or server address: IPv4, IPv6 or a DNS name.
Host = Annotated[
    str,
    AfterValidator(_check_host),
    WithJsonSchema({"type": "string", "description": "IPv4/IPv6 address or DNS name", "minLength": 1}),
]


def base_dir_of(info: ValidationInfo) -> Path | None:
    """The directory relative paths resolve against (``None``: the current directory)."""
    context = info.context
    if isinstance(context, dict):
        base = context.get("base_dir")
        if isinstance(base, str | Path):
            return Path(base)
    return None


def _resolve_path(value: Path, info: ValidationInfo) -> Path:
    expanded = value.expanduser()
    if expanded.is_absolute():
        return expanded
    base = base_dir_of(info)
    return expanded if base is None else Path(os.path.normpath(base / expanded))


#: A file path; relative paths resolve against the directory of the YAML file. Existence is checked by
#: the semantic checks (a warning for CA bundles and known_hosts, an error for trust PEM files).
FilePath = Annotated[
    Path,
    AfterValidator(_resolve_path),
    WithJsonSchema({"type": "string", "minLength": 1, "description": "file path, relative to the YAML file"}),
]

_DURATION_RE = re.compile(r"^\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?\s*$")


def parse_duration(value: Any) -> Any:
    """``"15m"``, ``"1h30m"``, ``"90s"`` or a number of seconds -> ``timedelta``."""
    if isinstance(value, timedelta):
        return value
    try:  # a number beyond timedelta's range (about 2.7 million years) is an error, not a crash
        if isinstance(value, int | float) and not isinstance(value, bool):
            return timedelta(seconds=value)
        if isinstance(value, str):
            match = _DURATION_RE.match(value)
            if match is None or not any(match.groups()):
                raise ValueError(f"{value!r} is not a duration; write e.g. '90s', '15m' or '1h30m'")
            hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
            return timedelta(hours=hours, minutes=minutes, seconds=seconds)
    except OverflowError as exc:
        raise ValueError(f"{str(value)[:40]!r} is too long for a duration") from exc
    raise ValueError("a duration must be a string such as '15m' or a number of seconds")


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("a duration must be positive")
    return value


def _format_duration(value: timedelta) -> str:
    return f"{int(value.total_seconds())}s"


#: A positive duration: ``"90s"``, ``"15m"``, ``"1h30m"`` or seconds as a number.
Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    AfterValidator(_positive),
    PlainSerializer(_format_duration, return_type=str),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": _DURATION_RE.pattern.replace(r"\s*", "")},
                {"type": "number", "exclusiveMinimum": 0},
            ],
            "description": "duration: '90s', '15m', '1h30m', or seconds",
        }
    ),
]

_PIN_RE = re.compile(r"^(?:sha256:)?([0-9A-Fa-f]{2}(?::?[0-9A-Fa-f]{2}){31})$")


def _normalise_pin(value: str) -> str:
    match = _PIN_RE.match(value.strip())
    if match is None:
        raise ValueError("a pin is a SHA-256 fingerprint: 64 hex digits, optionally colon-separated")
    return "sha256:" + match.group(1).replace(":", "").lower()


class TlsSettings(StrictModel):
    """How the tool verifies HTTPS servers (AXL, serviceability, certmgr REST, Kea's agent).

    Verification is on by default against the system trust store; give ``ca_bundle`` (a PEM file)
    or ``pin_sha256`` (the server certificate's SHA-256 fingerprint). ``insecure: true`` turns
    verification off and is reported as a warning by ``validate``.
    """

    ca_bundle: FilePath | None = None
    pin_sha256: (
        Annotated[
            str,
            AfterValidator(_normalise_pin),
            WithJsonSchema({"type": "string", "pattern": _PIN_RE.pattern}),
        ]
        | None
    ) = None
    insecure: bool = False

    @model_validator(mode="after")
    def _one_way_to_verify(self) -> TlsSettings:
        if self.ca_bundle is not None and self.pin_sha256 is not None:
            raise ValueError("give either ca_bundle or pin_sha256, not both")
        if self.insecure and (self.ca_bundle is not None or self.pin_sha256 is not None):
            raise ValueError("insecure: true disables verification; drop ca_bundle/pin_sha256 or insecure")
        return self
