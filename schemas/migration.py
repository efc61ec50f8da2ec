"""The migration itself: source and target cluster, method (R9 bulk or manual R4–R8), rollback
readiness (R11), SFTP settings for the bulk method, and the ordered waves of DHCP scopes, each with
a verification gate (R12, R13) — declared one by one, or ``waves: {auto: ...}``: canary growth, expanded
by the planner from the scopes' live phone counts (``CanaryGrowth``; docs/waves.md, "Canary growth").
"""

from __future__ import annotations

import enum
import re
from datetime import timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Discriminator, Field, Tag, field_validator

from schemas.common import Duration, FilePath, Host, Name, Port, StrictModel
from schemas.secret import Credential

__all__ = [
    "AutoWaves",
    "CanaryGrowth",
    "Gate",
    "Method",
    "Migration",
    "OnFailure",
    "SftpSettings",
    "Wave",
    "Weekday",
    "Window",
]


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


class Weekday(enum.StrEnum):
    """A day a maintenance window may open on (the day its ``start`` falls on, in its time zone)."""

    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


_HH_MM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


class Window(StrictModel):
    """A recurring maintenance window: it opens at ``start`` (local time in ``tz``) on each of ``days``
    and stays open for ``duration`` (which may run past midnight). ``apply`` starts a wave only when the
    wave's budget (its gate deadline plus the estimated option 150 and reset time) ends inside the
    window it starts in (docs/waves.md, "Maintenance windows")."""

    start: str = Field(description='local opening time, "HH:MM" (24-hour clock)')
    duration: Duration
    days: tuple[Weekday, ...] = Field(
        default=tuple(Weekday), min_length=1, description="days it opens on (default every day)"
    )
    tz: str = Field(default="UTC", description="IANA time zone, e.g. Europe/Berlin")

    @field_validator("start", mode="before")
    @classmethod
    def _hh_mm(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
            # YAML 1.1 reads an unquoted 22:00 as the base-60 number 1320
            raise ValueError(
                f'quote the time: start: "{value // 60:02d}:{value % 60:02d}" (YAML read {value})'
            )
        if not isinstance(value, str) or not _HH_MM.match(value):
            raise ValueError(f'start must be "HH:MM" on a 24-hour clock, got {value!r}')
        return value

    @field_validator("duration")
    @classmethod
    def _at_most_a_week(cls, value: timedelta) -> timedelta:
        if value > timedelta(days=7):
            raise ValueError("a window is open at most 7 days (168h)")
        return value

    @field_validator("tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Berlin)") from exc
        return value


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
    window: Window | None = Field(
        default=None, description="The wave's own maintenance window (overrides migration.window)."
    )


class CanaryGrowth(StrictModel):
    """Waves generated from the scopes' live phone counts, smallest scopes first (R12: the scope is the
    unit): the first wave holds about ``first_phones`` phones, each later one about ``growth`` times the
    phones of the wave before it. Every generated wave (``<name>-1``, ``<name>-2``, ...) gets ``reset``,
    ``gate``, ``max_stranded_share``, ``on_failure`` and ``window`` from here, and starts only after the
    previous wave's gate passed (R13)."""

    first_phones: int = Field(ge=1, description="about how many phones the first wave holds (>= 1)")
    growth: float = Field(gt=1, le=100, description="each wave aims at this many times the one before (> 1)")
    scopes: tuple[Name, ...] | None = Field(
        default=None, min_length=1, description="the scopes to move (default: every scope of dhcp.scopes)"
    )
    name: Name = Field(default="canary", description="generated waves are named <name>-1, <name>-2, ...")
    reset: bool = True
    gate: Gate
    max_stranded_share: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="0 <= share <= 1: phones the forecast strands in each generated wave, as a share of "
        "its phones still to move, that the plan accepts (default 0)",
    )
    on_failure: OnFailure = OnFailure.REVERT
    window: Window | None = Field(default=None, description="every generated wave's maintenance window")

    def wave(self, *, name: str, scopes: tuple[str, ...]) -> Wave:
        """One generated wave, with this declaration's defaults."""
        return Wave(
            name=name,
            scopes=scopes,
            reset=self.reset,
            gate=self.gate,
            max_stranded_share=self.max_stranded_share,
            on_failure=self.on_failure,
            window=self.window,
        )


class AutoWaves(StrictModel):
    """``waves: {auto: {...}}``: canary growth instead of declared waves."""

    auto: CanaryGrowth


def _waves_kind(value: object) -> str:
    return "auto" if isinstance(value, dict | AutoWaves) else "declared"


Waves = Annotated[
    Annotated[tuple[Wave, ...], Field(min_length=1), Tag("declared")] | Annotated[AutoWaves, Tag("auto")],
    Discriminator(_waves_kind),
]


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
    window: Window | None = Field(
        default=None, description="The maintenance window of every wave that declares none of its own."
    )
    waves: Waves = Field(
        description="The ordered waves, or {auto: {first_phones, growth, gate, ...}} (canary growth)."
    )

    @property
    def auto(self) -> CanaryGrowth | None:
        """The canary growth declaration, or None when the waves are declared."""
        return self.waves.auto if isinstance(self.waves, AutoWaves) else None

    @property
    def wave_list(self) -> tuple[Wave, ...]:
        """The declared waves. Canary growth (``auto``) has none until the planner expanded it from live
        phone counts (the plan carries the expansion); asking before is a programming error."""
        if isinstance(self.waves, AutoWaves):
            raise ValueError("migration.waves is auto: expand it from live phone counts first")
        return self.waves
