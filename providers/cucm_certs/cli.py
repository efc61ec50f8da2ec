"""``CliCertClient``: one node's certificates through the admin CLI (CUCM < 14, or ``certificate_api: cli``).

Reads: ``show cert list trust|own`` then ``show cert trust|own <unit>/<file>`` per certificate of the
requested stores (the PEM when printed; else the serial and the names as printed, ``CN=X, OU=Y``, which
``StoredCert.same_certificate`` compares by normalised RDN sequence and number, docs/cucm-interfaces.md).
Writes:
``set cert import trust <unit>`` with the PEM pasted (unit = store without ``-trust``, e.g. ``Phone-SAST``,
[I] in docs/cucm-domain.md#admin-cli, overridable through ``units``) and ``set cert delete <store> <file>``
with its confirmation. Built on ``providers.cucm_cli.session.CliSession``.

Details are read once per cluster: the clients of one cluster share a ``DetailCache`` keyed by
(store, file name), so a certificate replicated to 21 nodes costs one ``show cert`` instead of 21. The
per-node listing still comes from each node, so what a node holds (R7) is always that node's own
answer; only the certificate behind a name is taken from the first node that showed it. CUCM names
trust files ``<CN>_<serial hex>.pem`` (docs/cucm-domain.md#trust-stores-and-certificates), so within one
cluster and store the name identifies the certificate.
"""

from __future__ import annotations

import zlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace

from providers.cucm_certs.model import StoredCert, normalise_store, store_unit
from providers.cucm_cli.session import CertDetail, CertKind, CliSession
from reconciler.cucm.certs import serial_candidates, serial_hex
from reconciler.errors import CertificateError

__all__ = ["CliCertClient", "DetailCache"]

DetailCache = dict[tuple[str, str, str], StoredCert]
"""(kind, store, file name) → the certificate read behind that name; shared by one cluster's clients."""


class CliCertClient:
    def __init__(
        self,
        session: CliSession,
        *,
        units: Mapping[str, str] | None = None,
        detail_cache: DetailCache | None = None,
    ) -> None:
        self.session = session
        self.units = dict(units or {})
        self.detail_cache: DetailCache = detail_cache if detail_cache is not None else {}

    @property
    def node(self) -> str:
        return self.session.node

    def _stored(self, kind: CertKind, *, store: str, filename: str, description: str) -> StoredCert:
        key = (kind, normalise_store(store), filename)
        known = self.detail_cache.get(key)
        if known is not None:
            return replace(known, store=store, description=description)
        entry = self._read(kind, store=store, filename=filename, description=description)
        self.detail_cache[key] = entry
        return entry

    def _read(self, kind: CertKind, *, store: str, filename: str, description: str) -> StoredCert:
        detail: CertDetail = self.session.show_cert(kind, f"{store}/{filename}")
        if detail.pem is not None:
            try:
                return StoredCert.from_pem(
                    store=store, filename=filename, pem=detail.pem, description=description
                )
            except CertificateError:
                pass
        # no PEM (the usual ``show cert trust`` answer): names as printed, compared by ``same_dn``; the
        # serial's print form is not documented, CUCM's file name ``<CN>_<serial hex>.pem`` settles it
        candidates = serial_candidates(detail.serial_text) if detail.serial_text else frozenset()
        stem = filename.removesuffix(".pem").lower()
        named = [c for c in candidates if stem.endswith(f"_{serial_hex(c)}")]
        serial = named[0] if len(named) == 1 else detail.serial
        return StoredCert(
            store=store,
            filename=filename,
            pem=None,
            sha256=None,
            serial=serial_hex(serial) if serial is not None else None,
            subject=detail.subject,
            issuer=detail.issuer,
            description=description,
            serial_print=None if len(named) == 1 or not detail.serial_text else detail.serial_text,
        )

    def trust(self, stores: Collection[str] | None = None) -> Sequence[StoredCert]:
        wanted = {normalise_store(s) for s in stores} if stores is not None else None
        items = [
            item
            for item in self.session.cert_list("trust")
            if wanted is None or normalise_store(item.unit) in wanted
        ]
        # Nodes of one cluster are read in parallel and share the detail cache: each starts at its own
        # place in the listing, so concurrent readers fill different parts of the cache instead of all
        # missing on the same first entries. The result keeps the node's listing order.
        start = zlib.crc32(self.node.encode()) % len(items) if items else 0
        read = {
            index: self._stored(
                "trust", store=item.unit, filename=item.filename, description=item.description
            )
            for index, item in [*enumerate(items)][start:] + [*enumerate(items)][:start]
        }
        return [self._normalised(read[index]) for index in range(len(items))]

    @staticmethod
    def _normalised(entry: StoredCert) -> StoredCert:
        return replace(entry, store=normalise_store(entry.store))

    def identities(self) -> Sequence[StoredCert]:
        # own certificates differ per node even under one name (CallManager.pem): never shared
        return [
            self._read("own", store=item.unit, filename=item.filename, description=item.description)
            for item in self.session.cert_list("own")
        ]

    def upload_trust(self, *, store: str, pem: str, description: str) -> None:
        unit = self.units.get(normalise_store(store), store_unit(store))
        self.session.import_trust(unit=unit, pem=pem)

    def delete_trust(self, *, store: str, filename: str) -> None:
        self.session.delete_cert(store=normalise_store(store), filename=filename)
        self.detail_cache.pop(("trust", normalise_store(store), filename), None)

    def close(self) -> None:
        self.session.close()
