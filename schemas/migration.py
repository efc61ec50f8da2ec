"""The migration itself: source and target cluster, method (R9 bulk or manual R4–R8), rollback
readiness (R11), SFTP settings for the bulk method, and the ordered waves of DHCP scopes, each with
a verification gate (R12, R13).
"""

from __future__ import annotations

import enum

from pydantic import Field

from schemas.common import Duration, FilePath, Host, Name, Port, StrictModel
from schemas.secret import Credential

__all__ = ["Gate", "Method", "Migration", "OnFailure", "SftpSettings", "Wave"]


class Method(enum.StrEnum):
    """``manual`` = Cisco's method 2 (upload certificates, R4–R8); ``bulk`` = method 1 (R9)."""

    MANUAL = "manual"
    BULK = "bulk"


class OnFailure(enum.StrEnum):
    """What apply does when a wave's gate fails (R13): ``revert`` restores the wave's option 150 and
    brings its phones back to the source; ``stop`` leaves the wave as it is and starts no later wave;
    ``continue`` reports the failure and goes on with the next wave."""

    REVERT = "revert"
    STOP = "stop"
    CONTINUE = "continue"


class SftpSettings(StrictModel):
    """The SFTP server both clusters export to and import from (R9: same server, same directory)."""

    host: Host
    port: Port = 22
    credentials: Credential
    directory: str = Field(min_length=1)
    known_hosts: FilePath | None = None
    host_key: str | None = None


class Gate(StrictModel):
    """A wave passes when ``min_registered_share`` of its phones are Registered on the target within
    ``deadline`` (R13)."""

    min_registered_share: float = Field(gt=0, le=1, description="0 < share <= 1, e.g. 0.98")
    deadline: Duration


class Wave(StrictModel):
    """An ordered group of scopes moved together (R12). ``reset: false`` waits for natural reboots.
    ``max_stranded_share``: the share of the wave's phones still to move that the plan's forecast may
    strand before the plan is an error (default 0: any stranded phone makes the plan unapplyable)."""

    name: Name
    scopes: tuple[Name, ...]
    reset: bool = True
    gate: Gate
    max_stranded_share: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="0 <= share <= 1: phones the forecast strands in this wave, as a share of its phones "
        "still to move, that the plan accepts (default 0: any stranded phone is a plan error)",
    )
    on_failure: OnFailure = Field(
        default=OnFailure.REVERT,
        description="When the gate fails: revert (restore option 150, reset the wave's phones back to "
        "the source and gate on them there), stop (leave the wave as it is), continue (go on with the "
        "next wave; the apply still fails)",
    )


class Migration(StrictModel):
    source: Name
    target: Name
    method: Method = Method.MANUAL
    allow_rollback: bool = Field(
        default=False, description="Also establish reverse trust so phones can be moved back (R11)."
    )
    sftp: SftpSettings | None = Field(default=None, description="Required for method: bulk (R9).")
    consolidate_on: Name | None = Field(
        default=None, description="Bulk: the one cluster that consolidates (R9); default the target."
    )
    waves: tuple[Wave, ...] = Field(min_length=1)
