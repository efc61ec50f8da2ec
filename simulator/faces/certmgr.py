"""The Certificate Management REST face (``/platformcom/api/v1/certmgr/config/...``, CUCM 14+ only).

Translates the certmgr endpoints (docs/cucm-interfaces.md) to a node's ``CertmgrBackend``: the server
snapshot, the trust list of one service, trust upload (``service`` list, ``certificates`` list,
``description``), trust delete (``DELETE .../config/trust/certificate?service=<name>&filename=<file>``, our
choice while the real path is unconfirmed) and identity read. Errors are JSON objects with a ``message``. A
trust store is named in ``service`` as the ``WireDialect`` says: by its unit (``CallManager``, what public
clients send: the default), by the store (``CallManager-trust``), or either; any other form is refused (HTTP
400). Mounted with the OS admin credentials; a node older than 14.0 simply has no such route (HTTP 404).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from reconciler.errors import RemoteFaultError
from simulator.faces.backends import CertEntry, CertmgrBackend
from simulator.faces.dialect import WireDialect
from simulator.faces.https import Credentials, Request, Response, Route

__all__ = ["CERTMGR_PREFIX", "CertmgrFace"]

CERTMGR_PREFIX = "/platformcom/api/v1/certmgr/"


def _json(status: int, payload: Any) -> Response:
    return Response(status, json.dumps(payload).encode(), "application/json")


def _error(status: int, message: str) -> Response:
    return _json(status, {"message": message})


class CertmgrFace:
    def __init__(self, backend: CertmgrBackend, *, dialect: WireDialect | None = None) -> None:
        self.backend = backend
        self.dialect = dialect or WireDialect()

    def _store(self, service: str) -> str:
        """The trust store a ``service`` token names, if this dialect accepts the token's form."""
        is_store = service.endswith("-trust")
        style = self.dialect.certmgr_service
        if (style == "unit" and is_store) or (style == "store" and not is_store):
            example = "CallManager" if style == "unit" else "CallManager-trust"
            raise RemoteFaultError(f"Invalid service name {service!r} (e.g. {example!r})", code="400")
        return service if is_store else f"{service}-trust"

    def route(self, credentials: Credentials | Callable[[], Credentials]) -> Route:
        return Route(CERTMGR_PREFIX, self, credentials, realm="CMPlatform")

    def __call__(self, request: Request) -> Response:
        path = request.path[len(CERTMGR_PREFIX.rstrip("/")) :].rstrip("/")
        key = (request.method, path)
        try:
            if key == ("GET", "/config/snapshot/server"):
                return self._snapshot()
            if key == ("GET", "/config/trust/certificate"):
                return self._trust_list(request)
            if key == ("POST", "/config/trust/certificates"):
                return self._upload(request)
            if key == ("DELETE", "/config/trust/certificate"):
                return self._delete(request)
            if request.method == "GET" and path in (
                "/config/identity/certificate",
                "/config/identity/certificates",
            ):
                return self._identity(request)
        except RemoteFaultError as exc:
            return _error(404 if exc.code == "404" else 400, exc.message)
        return _error(404, f"No resource for {request.method} {request.path}")

    def _snapshot(self) -> Response:
        snap = self.backend.snapshot()
        groups: dict[str, list[CertEntry]] = {}
        for entry in snap.trusts:
            groups.setdefault(entry.unit, []).append(entry)
        return _json(
            200,
            {
                "trackingId": snap.tracking_id,
                "server": snap.server,
                "identities": [{"service": e.unit, "certificate": e.pem} for e in snap.identities],
                "trusts": [
                    {
                        "service": store,
                        "certificate_data": [{"filename": e.filename, "certificate": e.pem} for e in entries],
                    }
                    for store, entries in groups.items()
                ],
                "revokedCertificates": [],
            },
        )

    def _trust_list(self, request: Request) -> Response:
        service = request.param("service")
        if not service:
            return _error(400, "query parameter 'service' is required")
        store = self._store(service)
        entries = [e for e in self.backend.snapshot().trusts if e.unit == store]
        return _json(
            200,
            [
                {"service": store, "filename": e.filename, "certificate": e.pem, "description": e.description}
                for e in entries
            ],
        )

    def _upload(self, request: Request) -> Response:
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return _error(400, "request body is not JSON")
        services = body.get("service")
        if isinstance(services, str):
            services = [services]
        certificates = body.get("certificates")
        if not isinstance(services, list) or not services or not all(isinstance(s, str) for s in services):
            return _error(400, "'service' must be a non-empty list of service names")
        if (
            not isinstance(certificates, list)
            or not certificates
            or not all(isinstance(c, str) for c in certificates)
        ):
            return _error(400, "'certificates' must be a non-empty list of PEM strings")
        stored = self.backend.upload_trust(
            services=[self._store(s) for s in services],
            pems=certificates,
            description=str(body.get("description") or ""),
        )
        return _json(201, {"certificates": [{"service": e.unit, "filename": e.filename} for e in stored]})

    def _delete(self, request: Request) -> Response:
        service, filename = request.param("service"), request.param("filename")
        if not service or not filename:
            return _error(400, "query parameters 'service' and 'filename' are required")
        store = self._store(service)
        self.backend.delete_trust(store=store, filename=filename)
        return _json(200, {"message": f"{store}/{filename} deleted"})

    def _identity(self, request: Request) -> Response:
        service = request.param("service")
        for entry in self.backend.snapshot().identities:
            if entry.unit == service:
                return _json(200, {"service": entry.unit, "certificate": entry.pem})
        return _error(404, f"no identity certificate for service {service!r}")
