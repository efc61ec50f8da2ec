"""``RestCertClient``: one node's certificates through the certmgr REST API (CUCM 14+).

Facts and their certainty: docs/cucm-domain.md#certmgr-rest.

Trust stores are named in ``service`` by their unit (``CallManager``, ``Phone-SAST``: what every public
client sends, the default) or, with ``service_style="store"`` (the YAML's ``certmgr_service_name:
store``), by the store (``CallManager-trust``). Reads of given stores use the list endpoint
``GET /config/trust/certificate?service=<name>`` (a JSON array, or an object with a ``certificates``
array; each element carries ``certificate`` and perhaps ``filename``: without one the name is CUCM's
``<CN>_<serial hex>.pem``); reads of every store and identities use the server snapshot
(``GET /config/snapshot/server``), whose trust groups may be keyed ``CallManager-trust`` or ``CallManager``
and list ``certificate_data`` or ``certificates``. Upload is ``POST /config/trust/certificates`` with
``service`` as a list. Delete has no public reference ([GAP]); the default is
``DELETE /config/trust/certificate?service=<name>&filename=<file>``, configurable; the provider reads
every change back, so a wrong guess fails loudly. The session comes from
``providers.transports.http.make_session``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any, Literal

import requests

from providers.cucm_certs.model import StoredCert, normalise_store, store_unit
from providers.transports.http import check_status
from reconciler.cucm.certs import load_certificate, trust_file_name
from reconciler.errors import CertificateError, RemoteFaultError

__all__ = ["CERTMGR_PATH", "RestCertClient", "ServiceStyle"]

CERTMGR_PATH = "/platformcom/api/v1/certmgr"
_JSON = {"Accept": "application/json"}
ServiceStyle = Literal["unit", "store"]


class RestCertClient:
    """``base_url`` is ``https://<node>:<port>``; ``session`` a ``make_session`` session with
    OS admin auth, or a factory for one (called at the first request)."""

    def __init__(
        self,
        *,
        node: str,
        base_url: str,
        session: requests.Session | Callable[[], requests.Session],
        service_style: ServiceStyle = "unit",
        delete_method: str = "DELETE",
        delete_path: str = "/config/trust/certificate",
    ) -> None:
        self._node = node
        self.base = base_url.rstrip("/") + CERTMGR_PATH
        self._session = session
        self.service_style = service_style
        self.delete_method = delete_method
        self.delete_path = delete_path

    @property
    def node(self) -> str:
        return self._node

    @property
    def session(self) -> requests.Session:
        """The HTTP session, built on first use when a factory was given (secrets resolved then)."""
        if not isinstance(self._session, requests.Session):
            self._session = self._session()
        return self._session

    def service_name(self, store: str) -> str:
        """The ``service`` token of ``store``: ``CallManager`` (unit style) or ``CallManager-trust``."""
        return normalise_store(store) if self.service_style == "store" else store_unit(normalise_store(store))

    def _get(self, path: str, params: dict[str, str] | None = None) -> Any:
        response = check_status(
            self.session.get(self.base + path, params=params, headers=_JSON), endpoint=self._node
        )
        try:
            return response.json()
        except ValueError as exc:
            raise RemoteFaultError(
                f"{self._node}: certmgr answered non-JSON for {path}", endpoint=self._node
            ) from exc

    def snapshot(self) -> dict[str, Any]:
        data = self._get("/config/snapshot/server")
        if not isinstance(data, dict):
            raise RemoteFaultError(f"{self._node}: snapshot is not a JSON object", endpoint=self._node)
        return data

    def _entry(self, *, store: str, filename: str | None, pem: object) -> StoredCert | None:
        if not isinstance(pem, str) or "BEGIN CERTIFICATE" not in pem:
            return None
        try:
            if not filename:  # CUCM's own naming, so a later delete can name the file
                filename = trust_file_name(load_certificate(pem.encode()))
            return StoredCert.from_pem(store=store, filename=filename, pem=pem)
        except CertificateError:
            return None

    def _listed(self, store: str) -> list[StoredCert]:
        """``GET /config/trust/certificate?service=<name>``: one store, as the node lists it."""
        data = self._get("/config/trust/certificate", {"service": self.service_name(store)})
        items = data.get("certificates") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise RemoteFaultError(
                f"{self._node}: the trust list of {store} is neither a JSON array nor has 'certificates'",
                endpoint=self._node,
            )
        out = []
        for raw in items:
            item = {"certificate": raw} if isinstance(raw, str) else raw
            if isinstance(item, dict):
                name = item.get("filename")
                entry = self._entry(
                    store=store, filename=str(name) if name else None, pem=item.get("certificate")
                )
                if entry is not None:
                    out.append(entry)
        return out

    def trust(self, stores: Collection[str] | None = None) -> Sequence[StoredCert]:
        if stores is not None:
            return [
                entry
                for store in sorted({normalise_store(s) for s in stores})
                for entry in self._listed(store)
            ]
        out: list[StoredCert] = []
        for group in self.snapshot().get("trusts") or []:
            if not isinstance(group, dict):
                continue
            store = normalise_store(str(group.get("service", "")))
            items = group.get("certificate_data") or group.get("certificates") or []
            for raw in items if isinstance(items, list) else []:
                item = {"certificate": raw} if isinstance(raw, str) else raw
                if not isinstance(item, dict):
                    continue
                name = item.get("filename")
                entry = self._entry(
                    store=store, filename=str(name) if name else None, pem=item.get("certificate")
                )
                if entry is not None:
                    out.append(entry)
        return out

    def identities(self) -> Sequence[StoredCert]:
        out = []
        for item in self.snapshot().get("identities") or []:
            if isinstance(item, dict):
                unit = str(item.get("service", ""))
                entry = self._entry(store=unit, filename=f"{unit}.pem", pem=item.get("certificate"))
                if entry is not None:
                    out.append(entry)
        return out

    def upload_trust(self, *, store: str, pem: str, description: str) -> None:
        body = {"service": [self.service_name(store)], "certificates": [pem], "description": description}
        check_status(self.session.post(self.base + "/config/trust/certificates", json=body, headers=_JSON),
                     endpoint=self._node)  # fmt: skip

    def delete_trust(self, *, store: str, filename: str) -> None:
        params = {"service": self.service_name(store), "filename": filename}
        response = self.session.request(
            self.delete_method, self.base + self.delete_path, params=params, headers=_JSON
        )
        check_status(response, endpoint=self._node)

    def close(self) -> None:
        if isinstance(self._session, requests.Session):
            self._session.close()
