"""SFTP for the bulk certificate method: the in-process SFTP server and the CUCM side's SFTP client.

``RootedSftp`` is the paramiko ``SFTPServerInterface`` jailed to one directory (no path escapes it);
``sftp_server`` builds an ``SshFaceServer`` that serves it with password auth (what CUCM uses for its
SFTP targets). ``SftpTarget`` + ``fetch_all``/``upload`` are what the admin CLI face uses when a node runs
``set cert bulk export|consolidate|import``: CUCM is then an SFTP *client* of that server.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paramiko
from paramiko import SFTPAttributes, SFTPHandle, SFTPServer, SFTPServerInterface
from paramiko.sftp import SFTP_OK

from simulator.faces.backends import BulkFile
from simulator.faces.faults import FaceFaults
from simulator.faces.ssh import SshFaceServer

__all__ = ["RootedSftp", "SftpTarget", "fetch_all", "sftp_server", "upload"]


class _Handle(SFTPHandle):
    filename: str
    readfile: Any
    writefile: Any

    def stat(self) -> Any:
        return SFTPAttributes.from_stat(os.fstat(self.readfile.fileno()))


class RootedSftp(SFTPServerInterface):
    def __init__(self, server: Any, *args: Any, root: Path, **kwargs: Any) -> None:
        super().__init__(server, *args, **kwargs)
        self.root = Path(root)

    def canonicalize(self, path: str) -> str:
        return os.path.normpath("/" + path.lstrip("/")) if path not in ("", ".") else "/"

    def _p(self, path: str) -> str:
        return str(self.root / self.canonicalize(path).lstrip("/"))

    def list_folder(self, path: str) -> Any:
        try:
            out = []
            for name in sorted(os.listdir(self._p(path))):
                attr = SFTPAttributes.from_stat(os.stat(os.path.join(self._p(path), name)))
                attr.filename = name
                out.append(attr)
            return out
        except OSError as exc:
            return SFTPServer.convert_errno(exc.errno or 0)

    def stat(self, path: str) -> Any:
        try:
            return SFTPAttributes.from_stat(os.stat(self._p(path)))
        except OSError as exc:
            return SFTPServer.convert_errno(exc.errno or 0)

    lstat = stat

    def open(self, path: str, flags: int, attr: Any) -> Any:
        try:
            fd = os.open(self._p(path), flags, 0o644)
        except OSError as exc:
            return SFTPServer.convert_errno(exc.errno or 0)
        mode = (
            "ab"
            if flags & os.O_APPEND
            else "wb"
            if flags & os.O_WRONLY
            else "r+b"
            if flags & os.O_RDWR
            else "rb"
        )
        handle = _Handle(flags)
        handle.filename = self._p(path)
        handle.readfile = os.fdopen(fd, mode)
        handle.writefile = handle.readfile if mode != "rb" else None
        return handle

    def _call(self, func: Any, *args: Any) -> int:
        try:
            func(*args)
            return int(SFTP_OK)
        except OSError as exc:
            return int(SFTPServer.convert_errno(exc.errno or 0))

    def remove(self, path: str) -> int:
        return self._call(os.remove, self._p(path))

    def rename(self, oldpath: str, newpath: str) -> int:
        return self._call(os.rename, self._p(oldpath), self._p(newpath))

    posix_rename = rename

    def mkdir(self, path: str, attr: Any) -> int:
        return self._call(os.mkdir, self._p(path))

    def rmdir(self, path: str) -> int:
        return self._call(os.rmdir, self._p(path))

    def chattr(self, path: str, attr: Any) -> int:
        return int(SFTP_OK)


def sftp_server(
    *,
    root: Path,
    host: str,
    port: int,
    host_key: paramiko.PKey,
    user: str,
    password: str,
    faults: FaceFaults | None = None,
) -> SshFaceServer:
    return SshFaceServer(
        name="sftp",
        host=host,
        port=port,
        host_key=host_key,
        users={user: password},
        sftp_root=root,
        faults=faults,
        auth_methods=("password",),
    )


@dataclass(frozen=True)
class SftpTarget:
    """What ``set cert bulk sftp`` records: where the bulk files go."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    directory: str


def _client(target: SftpTarget) -> tuple[paramiko.Transport, paramiko.SFTPClient]:
    sock = socket.create_connection((target.host, target.port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    transport = paramiko.Transport(sock)
    transport.connect(username=target.user, password=target.password)
    client = paramiko.SFTPClient.from_transport(transport)
    if client is None:
        transport.close()
        raise paramiko.SSHException("SFTP subsystem refused")
    return transport, client


def upload(target: SftpTarget, files: Sequence[BulkFile]) -> None:
    transport, client = _client(target)
    try:
        for item in files:
            with client.open(f"{target.directory.rstrip('/')}/{item.name}", "wb") as handle:
                handle.write(item.content)
    finally:
        client.close()
        transport.close()


def fetch_all(target: SftpTarget) -> list[BulkFile]:
    transport, client = _client(target)
    try:
        out = []
        for name in sorted(client.listdir(target.directory)):
            with client.open(f"{target.directory.rstrip('/')}/{name}", "rb") as handle:
                out.append(BulkFile(name, handle.read()))
        return out
    finally:
        client.close()
        transport.close()
