"""Escaped-by-default HTML/SVG building: every string is escaped unless it is already ``Markup``.

Used by every module of ``reconciler.render.html``. Names in a desired-state file (clusters, scopes,
certificate subjects, phone names) end up in the report, so nothing from a plan is ever pasted into the
page as text: ``el`` escapes its text children and attribute values, and ``Markup`` (markup this package
built) is the only thing it inserts unchanged.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping

__all__ = ["Markup", "el", "esc", "join"]


class Markup(str):
    """A string of markup built by this package (already escaped); never made from user text directly."""

    __slots__ = ()


def esc(value: object) -> Markup:
    """``value`` as escaped text (``Markup`` passes through unchanged)."""
    if isinstance(value, Markup):
        return value
    return Markup(html.escape(str(value), quote=True))


def join(children: Iterable[object], sep: str = "") -> Markup:
    """Escape and concatenate ``children`` (``None`` is skipped; nested iterables are flattened)."""
    return Markup(esc(sep).join(_flatten(children)))


def _flatten(children: Iterable[object]) -> Iterable[Markup]:
    for child in children:
        if child is None:
            continue
        if isinstance(child, str | int | float):
            yield esc(child)
        elif isinstance(child, Iterable):
            yield from _flatten(child)
        else:
            yield esc(child)


def el(tag: str, *children: object, attrs: Mapping[str, object] | None = None, **kw: object) -> Markup:
    """``<tag attrs>children</tag>``. Attribute names come from code (``class_`` → ``class``,
    ``data_rule`` → ``data-rule``); values are escaped; ``None``/``False`` values are left out and
    ``True`` gives a bare attribute. Void elements (``meta``, ``br``) get no closing tag."""
    parts = [tag]
    for name, value in {**(attrs or {}), **kw}.items():
        if value is None or value is False:
            continue
        key = name.rstrip("_").replace("_", "-")
        parts.append(key if value is True else f'{key}="{esc(value)}"')
    opening = "<" + " ".join(parts) + ">"
    if tag in _VOID:
        return Markup(opening)
    return Markup(f"{opening}{join(children)}</{tag}>")


_VOID = frozenset({"meta", "br", "hr", "img", "link", "col"})
