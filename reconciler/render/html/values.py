"""Plain-text forms of the values a report shows: optional fields, ``before``/``after`` values, shares.

Called by ``reconciler.render.html.sections`` and ``.drift``. ``describe`` turns whatever a plan field
holds (a mapping, an object with ``to_dict``, an enum, a list) into one readable line, so a field added
to the plan later is shown without a renderer of its own; the page escapes the result.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from reconciler.render.html.seam import NOT_IN_PLAN

__all__ = ["NOT_IN_PLAN_TEXT", "describe", "seconds"]

NOT_IN_PLAN_TEXT = "not in this plan"


@runtime_checkable
class _Document(Protocol):
    def to_dict(self) -> Any: ...


def describe(value: object) -> str:
    """One line for ``value``; ``NOT_IN_PLAN`` → "not in this plan", ``None`` → "unknown"."""
    if value is NOT_IN_PLAN:
        return NOT_IN_PLAN_TEXT
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, _Document):
        return describe(value.to_dict())
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {describe(v)}" for k, v in value.items())
    if isinstance(value, Sequence):
        return ", ".join(describe(v) for v in value)
    return json.dumps(value, default=str)


def seconds(value: object) -> str:
    """``90`` → ``1 min 30 s``; other values as ``describe``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        total = round(float(value))
        hours, rest = divmod(total, 3600)
        minutes, secs = divmod(rest, 60)
        parts = [
            f"{hours} h" if hours else "",
            f"{minutes} min" if minutes else "",
            f"{secs} s" if secs else "",
        ]
        return " ".join(p for p in parts if p) or "0 s"
    return describe(value)
