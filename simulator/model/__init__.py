"""The in-process model of two secure CUCM clusters, their trust stores, ITL/CTL, TVS caches, phones and
DHCP sources. It is the other side of every test, the engine behind ``reconciler lab`` and the
network faces, and it fails exactly where the procedure (R1–R14) says real clusters fail. It imports
none of ``reconciler.cucm``: certificates come from ``simulator.labcerts``, the TLV codec is
``labtlv``, the phone's trust decision ``phonetrust``; from the product only the kernel's ``errors``,
``vocabulary``, ``dhcpwire`` and ``schemas``.

Build and drive::

    from simulator.spec import default_lab, largest_estate, LabSpec, LabDefects
    from simulator.model import build_lab, ManualClock, RealClock
    lab = build_lab(default_lab(), clock=ManualClock())       # RealClock() (default) for the running lab

``Lab`` — one RLock; every call settles due timed events first; every mutating call appends one
``Operation`` to ``lab.operation_log`` (reads append nothing)::

    topology   cluster(name) -> ClusterInfo (.node(name_or_ip), .nodes_running(service)); clusters();
               node_at(ip) -> NodeInfo | None; identity(cluster, node, kind) -> IssuedCert | None;
               ca (lab CA IssuedCert); regenerate_identity(*, cluster, node, kind)*;
               set_mixed_mode(*, cluster, enabled)*
    trust      trust_store(cluster, node, store) -> tuple[TrustEntry]; trust_store_changed_at(cluster, node,
               store=None); upload_trust(*, cluster, node, store, cert) -> UploadResult*;
               delete_trust(*, cluster, node, store, subject=None, file_name=None) -> bool*;
               set_replication_lag(*, cluster, seconds, node=None)*
    services   service_status(cluster, node, name) -> ServiceSnapshot; services(cluster, node);
               control_service(*, cluster, node, name, action)*; inject_service_failure(*, cluster, node,
               name, times=-1)*; tvs_cache(cluster, node) -> (LabTvsCache | None, loaded_at)
    parameters enterprise_parameter(cluster, name); enterprise_parameters(cluster);
               set_enterprise_parameter(*, cluster, name, value)* (ROLLBACK_PARAMETER rebuilds the ITL, R2)
    TFTP       tftp_file(cluster, node, filename) -> bytes | None  (ITLFile.tlv, CTLFile.tlv,
               ITLSEP<MAC>.tlv, CTLSEP<MAC>.tlv; UnreachableError when Cisco Tftp is not running)
    DHCP       scopes(); dhcp_source(name); option150(scope); set_option150(*, scope, addresses)*;
               set_ios_pool_option150(*, router, pool, addresses)*; set_cucm_dhcp_subnet(*, cluster, subnet,
               tftp)*
    phones     phones(names=None, *, scope=None) -> tuple[PhoneView]; phone(name); phone_count();
               reset_phones(names=None, *, scope=None) -> BootStats*; registrations(cluster=None) ->
               tuple[Registration]  (RisPort70: device, cluster, node, status, ip, timestamp, reason, model)
    (* = mutating, logged)

Modules: clock (Clock, ManualClock, RealClock, Scheduler), oplog, services (exact Control Center names,
timed start/stop/restart, start failures), identities, certview, truststore (replication lag, CAPF-trust
local, replace-only-if-newer), tvs (caches loaded at TVS start), trustfiles (ITL/CTL per TFTP node),
cluster, dhcp (CUCM, IOS, Kea sources), phones, boot (the phone's reset, memoized), lab, build, playbook
(operator steps). See docs/simulator.md.
"""

from .boot import BootStats
from .build import build_lab
from .clock import Clock, ManualClock, RealClock
from .cluster import ROLLBACK_PARAMETER
from .lab import ClusterInfo, Lab, NodeInfo
from .oplog import Operation, OperationLog
from .phones import PhoneView, Registration, RegStatus
from .services import ServiceAction, ServiceSnapshot, ServiceStatus
from .truststore import (
    CALLMANAGER_TRUST,
    CAPF_TRUST,
    PHONE_SAST_TRUST,
    TOMCAT_TRUST,
    TrustEntry,
    UploadResult,
)

__all__ = [
    "CALLMANAGER_TRUST",
    "CAPF_TRUST",
    "PHONE_SAST_TRUST",
    "ROLLBACK_PARAMETER",
    "TOMCAT_TRUST",
    "BootStats",
    "Clock",
    "ClusterInfo",
    "Lab",
    "ManualClock",
    "NodeInfo",
    "Operation",
    "OperationLog",
    "PhoneView",
    "RealClock",
    "RegStatus",
    "Registration",
    "ServiceAction",
    "ServiceSnapshot",
    "ServiceStatus",
    "TrustEntry",
    "UploadResult",
    "build_lab",
]
