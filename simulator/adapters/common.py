"""Small helpers shared by the adapters: stable AXL-style uuids, epoch <-> datetime, store names.

Called by every module of ``simulator.adapters``; no model state lives here.
"""

from __future__ import annotations

import datetime as dt
import uuid as uuidlib

from simulator.model.truststore import ALL_STORES

__all__ = ["ENTERPRISE_SERVICE", "ENTERPRISE_WIDE", "object_uuid", "to_datetime", "trust_store_name"]

ENTERPRISE_WIDE = "EnterpriseWideData"  # AXL's pseudo process node for enterprise parameters
ENTERPRISE_SERVICE = "Enterprise Wide"
_NAMESPACE = uuidlib.UUID("6f1c3d7e-3b1a-4c59-9a57-2a8f5cf0d6a1")


def object_uuid(*parts: str) -> str:
    """A stable ``{UPPER-CASE}`` uuid for a lab object (same lab, same object -> same uuid)."""
    return "{" + str(uuidlib.uuid5(_NAMESPACE, "/".join(parts))).upper() + "}"


def to_datetime(epoch: float | None) -> dt.datetime | None:
    return None if epoch is None else dt.datetime.fromtimestamp(epoch, tz=dt.UTC)


def trust_store_name(unit: str) -> str | None:
    """``CallManager`` / ``callmanager-trust`` / ``Phone-SAST`` -> the model's store name; None if unknown."""
    wanted = unit.strip().lower()
    if not wanted.endswith("-trust"):
        wanted += "-trust"
    return next((s for s in ALL_STORES if s.lower() == wanted), None)
