"""Operator playbooks against a ``Lab``: the manual-method steps (R4–R8, R12) done the way
an administrator does them — upload on the source publisher, wait out replication, restart TVS one node
at a time waiting for Started, change option 150, reset phones.

Used by scenario tests (which also do the steps one by one, to break them) and by ``bench/``. Only the
public ``Lab`` API is used, so every step shows in the operation log. ``wait`` advances a
``ManualClock`` (tests, bench) or sleeps in bounded steps with a real clock.
"""

from __future__ import annotations

import time

from reconciler.errors import VerificationError

from ..labcerts import IdentityKind
from .clock import ManualClock
from .lab import Lab
from .services import TFTP, TVS, ServiceAction, ServiceStatus
from .truststore import CALLMANAGER_TRUST, PHONE_SAST_TRUST

__all__ = ["establish_trust", "point_scopes_at", "restart_tvs_everywhere", "wait", "wait_for_service"]


def wait(lab: Lab, seconds: float) -> None:
    """Let ``seconds`` of lab time pass."""
    if isinstance(lab.clock, ManualClock):
        lab.clock.advance(seconds)
    else:
        time.sleep(seconds)
    lab.settle()


def wait_for_service(
    lab: Lab, *, cluster: str, node: str, name: str, timeout: float = 600.0, step: float = 1.0
) -> ServiceStatus:
    """Poll until the service is Started or Stopped (bounded by ``timeout`` lab seconds)."""
    waited = 0.0
    while True:
        status = lab.service_status(cluster, node, name).status
        if status in (ServiceStatus.STARTED, ServiceStatus.STOPPED) or waited >= timeout:
            return status
        wait(lab, step)
        waited += step


def establish_trust(
    lab: Lab,
    *,
    source: str,
    target: str,
    stores: tuple[str, ...] = (CALLMANAGER_TRUST, PHONE_SAST_TRUST),
    every_tftp_node: bool = True,
    itl_recovery: bool = True,
) -> int:
    """Upload the target's CallManager certificates (every TFTP node, R4) and ITLRecovery (R6) into
    ``stores`` (R5) on the source publisher. Returns the number of uploads."""
    src = lab.cluster(source)
    tgt = lab.cluster(target)
    nodes = tgt.nodes_running(TFTP) if every_tftp_node else (tgt.node(tgt.publisher),)
    certs = [lab.identity(target, n.name, IdentityKind.CALLMANAGER) for n in nodes]
    if itl_recovery:
        certs.append(lab.identity(target, tgt.publisher, IdentityKind.ITLRECOVERY))
    count = 0
    for issued in certs:
        assert issued is not None
        for store in stores:
            lab.upload_trust(cluster=source, node=src.publisher, store=store, cert=issued.cert)
            count += 1
    return count


def restart_tvs_everywhere(lab: Lab, *, cluster: str, nodes: tuple[str, ...] | None = None) -> None:
    """R8: restart TVS on every node that runs it, one at a time, waiting for Started."""
    info = lab.cluster(cluster)
    for node in nodes or tuple(n.name for n in info.nodes_running(TVS)):
        lab.control_service(cluster=cluster, node=node, name=TVS, action=ServiceAction.RESTART)
        status = wait_for_service(lab, cluster=cluster, node=node, name=TVS)
        if status is not ServiceStatus.STARTED:
            raise VerificationError(f"{TVS} on {node} did not start ({status.value})", endpoint=node)


def point_scopes_at(lab: Lab, *, cluster: str, scopes: tuple[str, ...] | None = None) -> None:
    """R12: option 150 of ``scopes`` (all when None) = the TFTP nodes of ``cluster``."""
    addresses = tuple(n.ip for n in lab.cluster(cluster).nodes_running(TFTP))
    for scope in scopes or tuple(s.name for s in lab.scopes()):
        lab.set_option150(scope=scope, addresses=addresses)
