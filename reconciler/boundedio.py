"""Reading a file the user named, never more than a bound: ``read_bounded`` and the limits by kind.

Called by every place the CLI opens a file the user gave it (desired-state YAML, saved plans, state,
journals, ITL/CTL files, secret files, CA bundles). A path such as ``/dev/zero`` or a 20 GB file must end
with a clean error at once instead of filling memory, so each read asks for at most ``limit + 1`` bytes
and refuses the file when that many arrive. Too large is reported as ``OSError(errno.EFBIG, ...)``, so
callers that already turn ``OSError`` into a diagnostic (with ``strerror``) need nothing new.
This module imports nothing of ours: every layer may use it.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

__all__ = [
    "MAX_CERT_BYTES",
    "MAX_DESIRED_BYTES",
    "MAX_JOURNAL_BYTES",
    "MAX_PLAN_BYTES",
    "MAX_SECRET_BYTES",
    "MAX_STATE_BYTES",
    "MAX_TLV_BYTES",
    "read_bounded",
]

#: A desired-state file declares clusters, nodes, scopes and waves (a large estate is ~20 KB), never
#: phones: 1 MiB is fifty times the largest realistic file and keeps a validate run well under a second.
MAX_DESIRED_BYTES = 512 << 10
#: A saved plan holds per-phone forecasts; 80,000 phones make ~40 MB.
MAX_PLAN_BYTES = 256 << 20
#: state.json holds the last applied identities and fingerprints per phone.
MAX_STATE_BYTES = 256 << 20
#: An apply journal: one line per step and per verified phone.
MAX_JOURNAL_BYTES = 512 << 20
#: ITL/CTL files hold tens of certificates; CUCM's own stay below 64 KiB.
MAX_TLV_BYTES = 4 << 20
#: A password or API token.
MAX_SECRET_BYTES = 64 << 10
#: A PEM CA bundle (the system bundle is ~220 KB).
MAX_CERT_BYTES = 4 << 20


def _human(size: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if size >= 1 << shift and size % (1 << shift) == 0:
            return f"{size >> shift} {unit}"
    return f"{size} bytes"


def read_bounded(path: str | os.PathLike[str], *, limit: int) -> bytes:
    """The bytes of ``path``; raises ``OSError`` (``EFBIG``) when it holds more than ``limit`` bytes,
    and any ``OSError`` of opening or reading. Works for devices and pipes: it never trusts ``st_size``."""
    with Path(path).open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"larger than the {_human(limit)} limit for this kind of file", str(path))
    return data
