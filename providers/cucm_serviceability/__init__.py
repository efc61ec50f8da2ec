"""CUCM serviceability over SOAP: ControlCenterServices (``control``), RisPort70 (``ris``) and the
``tvs.<cluster>.<node>`` provider (``tvs``). Wired by ``reconciler.wiring``. Facts:
docs/cucm-domain.md#controlcenterservices and #risport70."""

from providers.cucm_serviceability.control import (
    ControlCenterClient,
    RestartProgress,
    ServiceStatusInfo,
    match_process_node,
    parse_start_time,
)
from providers.cucm_serviceability.ris import Registration, RisClient, RisPacer, dedupe, ris_max_devices
from providers.cucm_serviceability.tvs import TVS_SERVICE, TvsProvider, tvs_value

__all__ = [
    "TVS_SERVICE",
    "ControlCenterClient",
    "Registration",
    "RestartProgress",
    "RisClient",
    "RisPacer",
    "ServiceStatusInfo",
    "TvsProvider",
    "dedupe",
    "match_process_node",
    "parse_start_time",
    "ris_max_devices",
    "tvs_value",
]
