"""The domain's words, each defined once: trust stores, services, the migration method, the rollback
parameter, provider kinds and step status.

A kernel module: the engine (``reconciler.*``), the providers and the simulator import it (the simulator
only for names both sides of the wire must spell alike, never for a decision). The YAML's closed
vocabularies live in ``schemas`` (which imports nothing of ours) and are re-exported here, so every
other module has one place to import them from. Values are the strings plans, state, journals and CUCM
use, so serialising an enum member gives the same JSON as before.

Public API (stable)::

    TrustStore(StrEnum)        CALLMANAGER_TRUST "CallManager-trust", PHONE_SAST_TRUST "Phone-SAST-trust", ...
    PHONE_TRUST_STORES         (CALLMANAGER_TRUST, PHONE_SAST_TRUST): the stores phones' trust comes from
    Service(StrEnum)           the YAML's service words (``tftp``, ``tvs``, ...)
    CucmService(StrEnum)       CUCM's exact service names (``Cisco Tftp``, ...); SERVICE_NAMES word → name
    Method(StrEnum)            MANUAL (Cisco's method 2), BULK (method 1, R9)
    OnFailure(StrEnum)         REVERT, STOP, CONTINUE: what apply does when a wave's gate fails (R13)
    EnterpriseParameter(StrEnum)  ROLLBACK_TO_PRE8 "Prepare Cluster for Rollback to pre 8.0" (R2)
    ROLLBACK_PARAMETER, ROLLBACK_ALIAS "rollback_to_pre8" (the short name a ``param`` address may use)
    ProviderKind(StrEnum)      who performs a plan step (``PlanStep.provider``): cucm_certs, ...; .dhcp(kind)
    StepStatus(StrEnum)        PENDING, RUNNING, DONE, FAILED, SKIPPED (one step during an apply)
    ReadFace(StrEnum)          the face a read went through: AXL, CLI, certmgr, ControlCenterServices,
                               RisPort70, TFTP, DHCP (where a snapshot says a read failed)
"""

from __future__ import annotations

import enum

from schemas.cluster import SERVICE_NAMES, CucmService, Service
from schemas.migration import Method, OnFailure
from schemas.trust import TrustStore

__all__ = [
    "PHONE_TRUST_STORES",
    "ROLLBACK_ALIAS",
    "ROLLBACK_PARAMETER",
    "SERVICE_NAMES",
    "CucmService",
    "EnterpriseParameter",
    "Method",
    "OnFailure",
    "ProviderKind",
    "ReadFace",
    "Service",
    "StepStatus",
    "TrustStore",
]

#: The trust stores a phone's trust comes from (TFTP role and SAST role); the rules read these two.
PHONE_TRUST_STORES: tuple[TrustStore, TrustStore] = (
    TrustStore.CALLMANAGER_TRUST,
    TrustStore.PHONE_SAST_TRUST,
)


class ReadFace(enum.StrEnum):
    """The face of a node (or DHCP server) a read goes through, as CUCM names its interfaces."""

    AXL = "AXL"
    CLI = "CLI"
    CERTMGR = "certmgr"
    CONTROL_CENTER = "ControlCenterServices"
    RISPORT = "RisPort70"
    TFTP = "TFTP"
    DHCP = "DHCP"


class EnterpriseParameter(enum.StrEnum):
    """Enterprise parameters the procedure names, by the label CUCM shows (internal names differ by
    release and are discovered over AXL)."""

    ROLLBACK_TO_PRE8 = "Prepare Cluster for Rollback to pre 8.0"


#: R2: must stay False on a secure source (True empties the ITL).
ROLLBACK_PARAMETER = EnterpriseParameter.ROLLBACK_TO_PRE8
#: The short name of the rollback parameter in a ``param.<cluster>.<name>`` address.
ROLLBACK_ALIAS = "rollback_to_pre8"


class ProviderKind(enum.StrEnum):
    """Who performs a plan step: ``PlanStep.provider`` in plan files, the executor's registry key."""

    CUCM_CERTS = "cucm_certs"  # trust uploads/deletes, replication checks (R4–R7)
    CUCM_SERVICEABILITY = "cucm_serviceability"  # TVS restarts (R8)
    CUCM_AXL = "cucm_axl"  # enterprise parameters (R2), phone resets (R12)
    CUCM_CLI = "cucm_cli"  # bulk certificate management (R9)
    RIS = "ris"  # wave gates (R13)
    WINDOW = "window"  # maintenance windows: apply waits until a wave fits in one (the clock, no system)
    DHCP_KEA = "dhcp_kea"
    DHCP_IOS = "dhcp_ios"
    DHCP_CUCM = "dhcp_cucm"

    @classmethod
    def dhcp(cls, server_kind: str) -> ProviderKind | str:
        """The provider of option 150 on a DHCP server of ``server_kind`` (``kea``/``ios``/``cucm``);
        an unknown kind gives ``dhcp_<kind>``, which no registry entry answers (a precise plan error)."""
        try:
            return cls(f"dhcp_{server_kind}")
        except ValueError:
            return f"dhcp_{server_kind}"

    @property
    def is_dhcp(self) -> bool:
        return self.value.startswith("dhcp_")


class StepStatus(enum.StrEnum):
    """Where one step of an apply stands."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"
