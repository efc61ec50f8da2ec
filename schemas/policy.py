"""Operational knobs: concurrency per API, retries, RisPort70 pacing, certificate-expiry warnings, how
often a wave's gate polls.

Read by the executor and drift; every field has a safe default so ``policy`` may be omitted.
"""

from __future__ import annotations

import enum
from datetime import timedelta

from pydantic import Field, field_validator

from schemas.common import Duration, StrictModel

__all__ = ["Concurrency", "Policy", "PoolLevel", "ResetPacing", "Retries"]


class Concurrency(StrictModel):
    """Parallel requests per API. ``cli`` is per node (one interactive shell each)."""

    axl: int = Field(default=4, ge=1, le=64, description="AXL requests in flight per cluster")
    cli: int = Field(default=1, ge=1, le=8, description="admin CLI sessions per node")
    ris: int = Field(default=1, ge=1, le=4, description="RisPort70 queries in flight per cluster")
    dhcp: int = Field(default=4, ge=1, le=64, description="DHCP server operations in flight")


class Retries(StrictModel):
    """Retries of temporary errors (HTTP 503 throttle, timeouts, dropped SSH) with exponential backoff."""

    attempts: int = Field(default=5, ge=0, le=50)
    initial_backoff: Duration = timedelta(seconds=2)
    max_backoff: Duration = timedelta(seconds=60)


class PoolLevel(enum.StrEnum):
    """Whether a wave that covers every device of a device pool resets the pool in one AXL call."""

    OFF = "off"  # every phone is reset on its own (paced, the default)
    AUTO = "auto"  # pools the plan proved to hold only the wave's phones get one resetDevicePool each


class ResetPacing(StrictModel):
    """The rate of per-phone AXL resets: it starts at ``start_per_second``, grows while CUCM answers
    quickly and halves on HTTP 503 or rising latency, never above ``ceiling_per_second``. ``pool_level``
    ``auto`` lets a pool that holds nothing but the wave's phones be reset in one call instead."""

    start_per_second: float = Field(default=5.0, gt=0, le=1000, description="reset rate to start with")
    ceiling_per_second: float = Field(
        default=50.0, gt=0, le=1000, description="the highest reset rate per cluster (what CUCM may take)"
    )
    pool_level: PoolLevel = Field(
        default=PoolLevel.OFF,
        description="off: reset every phone on its own; auto: one resetDevicePool per device pool whose "
        "every device is a phone of the wave (checked from live data at plan and again before the call)",
    )


class Policy(StrictModel):
    concurrency: Concurrency = Concurrency()
    retries: Retries = Retries()
    resets: ResetPacing = ResetPacing()
    ris_queries_per_minute: int = Field(
        default=15, ge=1, le=60, description="RisPort70 allowance per cluster (about 15/min on CUCM)"
    )
    cert_expiry_warning_days: int = Field(default=30, ge=0, le=3650)
    gate_poll_interval: Duration = Field(
        default=timedelta(seconds=15),
        description="how often a wave's gate asks RisPort70 whether its phones registered (R13; each poll "
        "spends the allowance, the live R3 check runs with it); 1s to 10m",
    )

    @field_validator("gate_poll_interval")
    @classmethod
    def _poll_bounds(cls, value: timedelta) -> timedelta:
        if not timedelta(seconds=1) <= value <= timedelta(minutes=10):
            raise ValueError("gate_poll_interval must be between 1s and 10m")
        return value
