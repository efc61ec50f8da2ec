"""Composition helpers for ``simulator/lab/runtime.py``: one node's HTTPS server, and a group that
starts/stops many.

``node_https_server`` mounts the AXL, ControlCenterServices, RisPort70 and (CUCM 14+) certmgr faces of one
node on one TLS address with the right credentials per path family. ``FaceGroup`` starts servers (anything
with ``start()``/``stop()``) and stops them all, in reverse order, even when one fails.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from simulator.faces.axl import AxlFace
from simulator.faces.backends import AxlBackend, CertmgrBackend, RisBackend, ServicesBackend
from simulator.faces.certmgr import CertmgrFace
from simulator.faces.dialect import WireDialect
from simulator.faces.faults import FaceFaults, QueryAllowance
from simulator.faces.https import Credentials, HttpFaceServer, Route
from simulator.faces.serviceability import ControlCenterFace, RisFace

__all__ = ["FaceGroup", "Startable", "node_https_server"]


class Startable(Protocol):
    def start(self) -> object: ...
    def stop(self) -> None: ...


def node_https_server(
    *,
    name: str,
    host: str,
    port: int,
    tls: ssl.SSLContext,
    version: str,
    app_user: Credentials | Callable[[], Credentials],
    os_admin: Credentials | Callable[[], Credentials],
    axl: AxlBackend | None,
    services: ServicesBackend | None,
    ris: RisBackend | None,
    certmgr: CertmgrBackend | None,
    faults: FaceFaults | None = None,
    ris_allowance: QueryAllowance | None = None,
    dialect: WireDialect | None = None,
    process_node: str | None = None,
) -> HttpFaceServer:
    """``process_node`` is the node's own CUCM server name (default: ``name`` without ``-https``):
    the ``NodeName`` a strict ``soapDoControlServices`` accepts."""
    faults = faults or FaceFaults()
    dialect = dialect or WireDialect()
    routes: list[Route] = []
    if axl is not None:
        routes.append(AxlFace(axl, faults=faults).route(app_user))
    if services is not None:
        routes.append(
            ControlCenterFace(
                services, dialect=dialect, process_node=process_node or name.removesuffix("-https")
            ).route(app_user)
        )
    if ris is not None:
        routes.append(RisFace(ris, version=version, allowance=ris_allowance).route(app_user))
    if certmgr is not None and int(version.split(".", maxsplit=1)[0]) >= 14:
        routes.append(CertmgrFace(certmgr, dialect=dialect).route(os_admin))
    return HttpFaceServer(name=name, host=host, port=port, routes=routes, tls=tls, faults=faults)


class FaceGroup:
    """Servers started together and stopped together: all at once (each waits up to one poll of its
    serve loop, so one by one the default lab's 17 listeners took 0.75 s), every one even if one fails."""

    def __init__(self) -> None:
        self._started: list[Startable] = []

    def start(self, server: Startable) -> Startable:
        server.start()
        self._started.append(server)
        return server

    def stop(self) -> None:
        servers, self._started = self._started[::-1], []

        def stop_one(server: Startable) -> Exception | None:
            try:
                server.stop()
            except Exception as exc:  # keep stopping the others
                return exc
            return None

        with ThreadPoolExecutor(max_workers=max(1, len(servers)), thread_name_prefix="face-stop") as pool:
            errors = [e for e in pool.map(stop_one, servers) if e is not None]
        if errors:
            raise errors[0]

    def __enter__(self) -> FaceGroup:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
