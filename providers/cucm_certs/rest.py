"""``RestCertClient``: one node's certificates through the certmgr REST API (CUCM 14+).

Facts and their certainty: docs/cucm-domain.md#certmgr-rest.

Reads use the server snapshot (``GET /config/snapshot/server``: identities and trust groups in one
call); the parser accepts trust groups keyed ``CallManager-trust`` or ``CallManager`` and
``certificate_data`` or ``certificates`` lists ([I]). Upload is ``POST /config/trust/certificates``
with ``service`` as a list; the service token style (``store``: ``CallManager-trust``, or
``unit``: ``CallManager``) is a knob until confirmed on a lab CUCM. Delete has no public
reference ([GAP]); the default is ``DELETE /config/trust/certificate?service=<store>&filename=<file>``,
configurable. The session comes from ``providers.transports.http.make_session`` (verified TLS, mapped errors).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any, Literal

import requests

from providers.cucm_certs.model import StoredCert, normalise_store, store_unit
from providers.transports.http import check_status
from reconciler.errors import CertificateError, RemoteFaultError

__all__ = ["CERTMGR_PATH", "RestCertClient"]

CERTMGR_PATH = "/platformcom/api/v1/certmgr"
_JSON = {"Accept": "application/json"}


class RestCertClient:
    """``base_url`` is ``https://<node>:<port>``; ``session`` a ``make_session`` session with
    OS admin auth, or a factory for one (called at the first request)."""

    def __init__(
        self,
        *,
        node: str,
        base_url: str,
        session: requests.Session | Callable[[], requests.Session],
        service_style: Literal["store", "unit"] = "store",
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

    def _get(self, path: str) -> Any:
        response = check_status(self.session.get(self.base + path, headers=_JSON), endpoint=self._node)
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

    def _entry(self, *, store: str, filename: str, pem: object) -> StoredCert | None:
        if not isinstance(pem, str) or "BEGIN CERTIFICATE" not in pem:
            return None
        try:
            return StoredCert.from_pem(store=store, filename=filename, pem=pem)
        except CertificateError:
            return None

    def trust(self, stores: Collection[str] | None = None) -> Sequence[StoredCert]:
        wanted = {normalise_store(s) for s in stores} if stores is not None else None
        out: list[StoredCert] = []
        for group in self.snapshot().get("trusts") or []:
            if not isinstance(group, dict):
                continue
            store = normalise_store(str(group.get("service", "")))
            if wanted is not None and store not in wanted:
                continue
            items = group.get("certificate_data") or group.get("certificates") or []
            for index, raw in enumerate(items if isinstance(items, list) else []):
                item = {"certificate": raw} if isinstance(raw, str) else raw
                if not isinstance(item, dict):
                    continue
                filename = str(item.get("filename") or f"{store}-{index}.pem")
                entry = self._entry(store=store, filename=filename, pem=item.get("certificate"))
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
        token = normalise_store(store) if self.service_style == "store" else store_unit(store)
        body = {"service": [token], "certificates": [pem], "description": description}
        check_status(self.session.post(self.base + "/config/trust/certificates", json=body, headers=_JSON),
                     endpoint=self._node)  # fmt: skip

    def delete_trust(self, *, store: str, filename: str) -> None:
        params = {"service": normalise_store(store), "filename": filename}
        response = self.session.request(
            self.delete_method, self.base + self.delete_path, params=params, headers=_JSON
        )
        check_status(response, endpoint=self._node)

    def close(self) -> None:
        if isinstance(self._session, requests.Session):
            self._session.close()
