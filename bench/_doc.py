"""``write_section``: put one benchmark's section into docs/performance.md between its markers.

Called by the bench scripts after they have measured; replaces the text between ``start`` and ``end``
(markers included in ``text``) or appends the section when the markers are not there yet.
"""

from __future__ import annotations

from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "performance.md"


def write_section(text: str, *, start: str, end: str, doc: Path = DOC) -> None:
    current = doc.read_text() if doc.exists() else "# Performance\n\nMeasured by the scripts in bench/.\n"
    if start in current and end in current:
        current = current[: current.index(start)] + text + current[current.index(end) + len(end) :]
    else:
        current = current.rstrip("\n") + "\n\n" + text + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(current)
