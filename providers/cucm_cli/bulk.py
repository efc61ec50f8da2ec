"""``BulkProvider``: the bulk-method steps ``bulk.<cluster>.<export|consolidate|import>`` (R9).

Built per cluster by ``reconciler.wiring.registry``; the executor calls ``apply`` then ``verify``. Apply
runs on the cluster's publisher's admin CLI: ``set cert bulk sftp`` (the SFTP target: the same server
and directory for both clusters, R9), then ``set cert bulk <step> all``. Verify never trusts the CLI's
text; it reads the other side:

- ``export``: the SFTP directory holds readable bundles containing the CallManager certificate of every
  TFTP node of the cluster (what the ``tftp`` unit exports), read through the certificate clients;
- ``consolidate``: one bundle holds those certificates of both clusters (the consolidated file);
- ``import``: every certificate of that consolidated bundle that is not one of this cluster's own is in
  a trust store of this cluster's publisher.

Credentials (the OS admin's, the SFTP user's) are resolved only when a step runs; neither is logged.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Literal

from pydantic import SecretStr

from providers.cucm_certs.model import CertStoreClient, StoredCert
from providers.cucm_cli.session import CliSession
from providers.sftp import BundleCert, SftpExchange
from reconciler.errors import PermanentError
from reconciler.model import Address, Change
from reconciler.provider import ApplyResult, ProviderBase, VerifyResult

__all__ = ["BulkProvider", "SftpSpec"]

Step = Literal["export", "consolidate", "import"]
_STEPS: tuple[Step, ...] = ("export", "consolidate", "import")


class SftpSpec:
    """Where ``set cert bulk sftp`` points CUCM: host, port, user, password (resolved late), directory."""

    def __init__(
        self, *, host: str, port: int, user: str, password: Callable[[], SecretStr], directory: str
    ) -> None:
        self.host, self.port, self.user, self.directory = host, port, user, directory
        self.password = password


class BulkProvider(ProviderBase):
    """The bulk steps of one cluster (see the module docstring). ``session`` is the publisher's admin
    CLI, ``exchange`` the SFTP directory (read-only), ``own`` this cluster's certificate clients
    (publisher first), ``other`` the other cluster's; ``tftp_nodes`` names both clusters' TFTP nodes."""

    kinds = frozenset({"bulk"})

    def __init__(
        self,
        *,
        cluster: str,
        session: CliSession,
        sftp: SftpSpec,
        exchange: SftpExchange,
        own: Callable[[], Sequence[CertStoreClient]],
        other: Callable[[], Sequence[CertStoreClient]],
        tftp_nodes: frozenset[str],
    ) -> None:
        self.cluster = cluster
        self.endpoint = f"{cluster} (admin CLI, bulk)"
        self._session = session
        self._sftp = sftp
        self._exchange = exchange
        self._own = own
        self._other = other
        self._tftp = tftp_nodes
        self._lock = threading.Lock()  # one admin shell, one SFTP session

    def _step(self, address: Address) -> Step:
        parts = address.parts
        if len(parts) != 3 or parts[1] != self.cluster or parts[2] not in _STEPS:
            raise PermanentError(f"{address}: not a bulk step of {self.cluster}")
        step: Step = parts[2]
        return step

    def apply(self, change: Change) -> ApplyResult:
        step = self._step(change.address)
        with self._lock:
            self._session.configure_bulk_sftp(
                host=self._sftp.host,
                port=self._sftp.port,
                user=self._sftp.user,
                password=self._sftp.password(),
                directory=self._sftp.directory,
            )
            self._session.bulk(step, "all")
        return ApplyResult(change=change, changed=True, observed=f"set cert bulk {step} all")

    def verify(self, change: Change) -> VerifyResult:
        step = self._step(change.address)
        with self._lock:
            reports = self._exchange.verify()
            mine = self._exported(self._own())
            if step == "export":
                missing = [c for c in mine if not any(_same(c, b) for r in reports for b in r.certificates)]
                ok = bool(mine) and not missing
                detail = f"{len(missing)} of {len(mine)} TFTP CallManager certificate(s) in no bundle"
            else:
                both = [*mine, *self._exported(self._other())]
                merged = [
                    r for r in reports if both and all(any(_same(c, b) for b in r.certificates) for c in both)
                ]
                if step == "consolidate":
                    ok, detail = bool(merged), "no bundle holds both clusters' exported certificates"
                else:
                    own = [c for client in self._own() for c in client.identities()]
                    foreign = [b for r in merged for b in r.certificates if not any(_same(c, b) for c in own)]
                    trusted = self._own()[0].trust()
                    absent = [b for b in foreign if not any(_same(t, b) for t in trusted)]
                    ok = bool(foreign) and not absent
                    detail = (
                        f"{len(absent)} imported certificate(s) in no trust store of {self.cluster}: "
                        + ", ".join(b.subject for b in absent[:3])
                        if foreign
                        else "no consolidated bundle with the other cluster's certificates to import from"
                    )
        if ok:
            detail = f"bulk {step} on {self.cluster}: read back (SFTP bundles, trust stores)"
        return VerifyResult(address=change.address, complies=ok, method="read-back", detail=detail)

    def _exported(self, clients: Sequence[CertStoreClient]) -> list[StoredCert]:
        """The CallManager identity of every TFTP node among ``clients`` (what ``tftp`` exports)."""
        return [
            c
            for client in clients
            if client.node in self._tftp
            for c in client.identities()
            if c.store.lower() == "callmanager"
        ]

    def close(self) -> None:
        self._session.close()
        self._exchange.close()


def _same(stored: StoredCert, cert: BundleCert) -> bool:
    return stored.same_certificate(sha256=cert.sha256, serial=cert.serial, issuer=cert.issuer)
