"""``SftpExchange``: the bulk-method file exchange (R9) over host-key-checked SFTP.

Called by the bulk-method steps (``bulk.<cluster>.<step>``) to see what ``set cert bulk export`` left on
the SFTP server and to prove it is usable before ``consolidate``/``import`` run (R9/R10 context): list the
directory, fetch files (size-capped), and ``inspect_bundle`` each PKCS#12 (``.p12``/``.pfx``) or PEM file
into the certificates it holds. Connections go through ``providers.transports.ssh.connect`` (pinned key or
known_hosts, never auto-added; password auth as CUCM's SFTP targets use). Read-only: nothing here writes.
"""

from __future__ import annotations

import stat
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

import paramiko
from cryptography.hazmat.primitives.serialization import pkcs12
from pydantic import SecretStr

from providers.transports.ssh import SshClientBase, SshTarget, connect, map_ssh_error
from reconciler.cucm.certs import (
    issuer_of,
    load_certificates,
    not_valid_after,
    serial_hex,
    sha256_hex,
    subject_of,
)
from reconciler.errors import CertificateError, RemoteFaultError, VerificationError

__all__ = ["BundleCert", "BundleReport", "RemoteFile", "SftpExchange", "inspect_bundle"]

MAX_FILE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class RemoteFile:
    name: str
    size: int
    modified: datetime


@dataclass(frozen=True, slots=True)
class BundleCert:
    subject: str
    serial: str
    sha256: str
    not_after: datetime
    issuer: str = ""


@dataclass(frozen=True, slots=True)
class BundleReport:
    """What one exported file holds. ``kind`` is ``pkcs12`` or ``pem``."""

    name: str
    kind: str
    certificates: tuple[BundleCert, ...]
    has_private_key: bool

    def holds(self, sha256: str) -> bool:
        return any(c.sha256 == sha256 for c in self.certificates)


def _cert(cert: object) -> BundleCert:
    from cryptography import x509  # noqa: PLC0415

    assert isinstance(cert, x509.Certificate)
    return BundleCert(
        subject_of(cert),
        serial_hex(cert.serial_number),
        sha256_hex(cert),
        not_valid_after(cert),
        issuer_of(cert),
    )


def inspect_bundle(name: str, data: bytes, *, password: SecretStr | None = None) -> BundleReport:
    """Parse a PKCS#12 or PEM export; ``CertificateError`` (naming the file) when it is neither."""
    if b"-----BEGIN" in data:
        certs = load_certificates(data)
        return BundleReport(name, "pem", tuple(_cert(c) for c in certs), b"PRIVATE KEY-----" in data)
    attempts = [password.get_secret_value().encode(), None] if password is not None else [None]
    for index, secret in enumerate(attempts):  # the password, then unencrypted (a mixed directory)
        try:
            key, cert, extra = pkcs12.load_key_and_certificates(data, secret)
            break
        except ValueError as exc:
            if index + 1 < len(attempts):
                continue
            raise CertificateError(
                f"{name} is not a readable PKCS#12 or PEM file ({exc})",
                hint="re-run 'set cert bulk export' on the cluster; check the bundle password if it has one",
            ) from exc
    found = ([cert] if cert is not None else []) + list(extra)
    if not found:
        raise CertificateError(f"{name} is a PKCS#12 file without certificates")
    return BundleReport(name, "pkcs12", tuple(_cert(c) for c in found), key is not None)


class SftpExchange(SshClientBase[paramiko.SFTPClient]):
    """One SFTP server directory; connects lazily, reconnects after a drop."""

    def __init__(self, *, target: SshTarget, directory: str = "/") -> None:
        self.target = target
        self.directory = directory.rstrip("/") or "/"
        self._conn, self._channel = None, None

    def _client(self) -> paramiko.SFTPClient:
        if self._channel is not None and self._conn is not None and self._conn.active:
            return self._channel
        self.close()
        self._conn = connect(self.target)
        self._channel = self._conn.open_sftp()
        return self._channel

    def _path(self, name: str) -> str:
        if "/" in name or name in ("", ".", ".."):
            raise RemoteFaultError(f"{name!r} is not a plain file name", endpoint=self.target.name)
        return f"{self.directory.rstrip('/')}/{name}"

    def list(self) -> tuple[RemoteFile, ...]:
        """Regular files of the directory, by name."""
        try:
            entries = self._client().listdir_attr(self.directory)
        except FileNotFoundError as exc:
            raise RemoteFaultError(
                f"{self.target.label}: no directory {self.directory}",
                endpoint=self.target.name,
                hint="check the bulk SFTP directory",
            ) from exc
        except (OSError, EOFError, paramiko.SSHException) as exc:
            self.close()
            raise map_ssh_error(exc, target=self.target, during=f"listing {self.directory}") from exc
        files = [
            RemoteFile(e.filename, int(e.st_size or 0), datetime.fromtimestamp(e.st_mtime or 0, UTC))
            for e in entries
            if e.st_mode is None or stat.S_ISREG(e.st_mode)
        ]
        return tuple(sorted(files, key=lambda f: f.name))

    def fetch(self, name: str) -> bytes:
        """One file's content (at most ``MAX_FILE_BYTES``)."""
        path = self._path(name)
        try:
            client = self._client()
            size = client.stat(path).st_size or 0
            if size > MAX_FILE_BYTES:
                raise RemoteFaultError(
                    f"{path} is {size} bytes; refusing more than {MAX_FILE_BYTES}", endpoint=self.target.name
                )
            with client.open(path, "rb") as handle:
                return bytes(handle.read(MAX_FILE_BYTES))
        except FileNotFoundError as exc:
            raise RemoteFaultError(f"{self.target.label}: no file {path}", endpoint=self.target.name) from exc
        except (OSError, EOFError, paramiko.SSHException) as exc:
            self.close()
            raise map_ssh_error(exc, target=self.target, during=f"fetching {path}") from exc

    def verify(
        self,
        *,
        suffixes: Collection[str] = (".p12", ".pfx", ".pem"),
        expect_sha256: Collection[str] = (),
        password: SecretStr | None = None,
    ) -> tuple[BundleReport, ...]:
        """Inspect every export file; ``VerificationError`` when none exists or an expected certificate
        (by SHA-256) is in none of them; ``CertificateError`` for an unreadable file."""
        names = [f.name for f in self.list() if f.name.lower().endswith(tuple(suffixes))]
        if not names:
            raise VerificationError(
                f"{self.target.label}: no exported bundle in {self.directory}",
                endpoint=self.target.name,
                hint="run 'set cert bulk export all' first",
            )
        reports = tuple(inspect_bundle(n, self.fetch(n), password=password) for n in names)
        missing = [s for s in expect_sha256 if not any(r.holds(s) for r in reports)]
        if missing:
            raise VerificationError(
                f"{self.target.label}: exported bundles lack {len(missing)} expected certificate(s): "
                + ", ".join(m[:16] for m in missing),
                endpoint=self.target.name,
            )
        return reports
