"""The reads a snapshot could not take: ``UnknownRead`` (the call and what failed) and which face each
``LiveEstate`` read goes through.

Used by ``reconciler.live.snapshot`` (a tolerant ``RecordingEstate`` keeps them, ``SnapshotEstate``
refuses them), ``reconciler snapshot`` (prints them with their fix, exit 2) and the rehearsal's lab spec
(``reconciler.wiring.rehearse.labspec`` refuses a snapshot holding them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.live.protocol import ReadFailure
from reconciler.vocabulary import ReadFace

__all__ = ["READ_FACES", "UnknownRead", "fix_for", "unknown_where"]


@dataclass(frozen=True, slots=True, kw_only=True)
class UnknownRead:
    """A whole read that failed while the snapshot was taken: the call (``method``, ``args`` as JSON
    data) and what failed (``failure``: where, through which face, the error class, redacted message)."""

    method: str
    args: list[Any]
    failure: ReadFailure

    def describe(self) -> str:
        """One line: ``RisPort70 of cucm-b: TransportError: ...``."""
        where = "/".join(x for x in (self.failure.cluster, self.failure.node) if x)
        return f"{self.method} ({self.failure.face} of {where}): {self.failure.error}: {self.failure.message}"


#: Through which face each read goes (a failed read names it; ``phones`` lists RisPort70 and AXL).
READ_FACES: dict[str, ReadFace] = {
    "clusters": ReadFace.AXL,
    "identity_pems": ReadFace.CERTMGR,
    "parameters": ReadFace.AXL,
    "callmanager_groups": ReadFace.AXL,
    "option150": ReadFace.DHCP,
    "phones": ReadFace.RISPORT,
    "tftp_files": ReadFace.TFTP,
    "registrations": ReadFace.RISPORT,
}


def unknown_where(method: str, args: tuple[Any, ...]) -> tuple[str, str | None]:
    """(cluster or DHCP server(s), node) a failed call concerns, from its arguments."""
    if method == "option150":
        return ", ".join(sorted({str(server) for server, _ in args[0]})) or "dhcp", None
    if method == "phones":
        return "scopes " + ", ".join(map(str, args[0])), None
    if method == "clusters":
        return ", ".join(map(str, args[0])), None
    return str(args[0]), None


_FIXES: dict[ReadFace, str] = {
    ReadFace.AXL: "check the publisher's AXL (address, TLS, the AXL user's role): reconciler doctor FILE",
    ReadFace.CERTMGR: "check certmgr (CUCM 14+) or the admin CLI of the publisher: reconciler doctor FILE",
    ReadFace.RISPORT: "RisPort70 did not answer or its allowance stayed exhausted: take the snapshot again "
    "when other RisPort70 clients are idle, or give a longer --timeout",
    ReadFace.DHCP: "check the DHCP server (Kea control agent or IOS SSH): reconciler doctor FILE",
    ReadFace.TFTP: "check the TFTP service of the node: reconciler doctor FILE",
}


def fix_for(read: UnknownRead) -> str:
    """What to do about a failed read, by its face."""
    return _FIXES.get(read.failure.face, "reconciler doctor FILE names what fails")
