"""``reconciler doctor``: a read-only first contact with every endpoint of a desired state.

``run_doctor(desired, slow_s=, probe_writes=, hooks=)`` checks every cluster (``.cucm``) and every DHCP server
(``.dhcp``) through the same clients ``plan`` and ``apply`` use and returns a ``DoctorReport``
(``.report``: findings with pass/warn/fail/skip and the fix, unrecognised screens, versions, timings).
``write_bundle`` writes the support bundle with every secret the run resolved scrubbed. Called by
``reconciler.commands.doctor``; docs/first-contact.md says what each check means.
"""

from __future__ import annotations

import time

from reconciler.live.progress import ReadHooks
from reconciler.wiring.connections import Connections
from reconciler.wiring.doctor.cucm import check_cluster
from reconciler.wiring.doctor.dhcp import check_dhcp_server
from reconciler.wiring.doctor.report import DoctorReport, Finding, table_lines, write_bundle
from reconciler.wiring.doctor.runner import Doctor
from schemas.document import DesiredState

__all__ = ["Doctor", "DoctorReport", "Finding", "run_doctor", "table_lines", "write_bundle"]


def run_doctor(
    desired: DesiredState, *, slow_s: float = 5.0, probe_writes: bool = False, hooks: ReadHooks | None = None
) -> Doctor:
    """Every check of ``desired``'s clusters and DHCP servers; the ``Doctor`` holds the report and the
    secrets it resolved (for the bundle's scrubbing only). ``hooks`` hear the progress: per cluster, then
    the DHCP servers one by one (phase ``checks``), and each check as it starts."""
    doc = Doctor(slow_s=slow_s, hooks=hooks)
    started = time.monotonic()
    for cluster in desired.clusters:
        doc.progress(subject=cluster.name, done=0, total=len(cluster.nodes))
        check_cluster(doc, desired, cluster, probe_writes=probe_writes)
        doc.progress(subject=cluster.name, done=len(cluster.nodes), total=len(cluster.nodes))
    conns = Connections(desired)
    servers = desired.dhcp.servers
    try:
        for done, server in enumerate(servers):
            doc.progress(subject="DHCP", done=done, total=len(servers))
            check_dhcp_server(doc, desired, conns, server.name)
        if servers:
            doc.progress(subject="DHCP", done=len(servers), total=len(servers))
    finally:
        conns.close()
    doc.report.seconds = time.monotonic() - started
    return doc
