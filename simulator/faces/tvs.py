"""The Trust Verification Service over TLS (port 2445 of a TVS node), with the lab's small protocol.

A phone opens TLS to a TVS server of its CallManager group; the server presents its node's TVS
certificate (the phone pins it against the TVS records of its ITL, so the client here does not verify a
chain: it returns what was presented). The lab protocol (docs/simulator.md#the-tvs-face): after the
handshake the phone sends any number of queries over the one connection, each answered in turn, each
message one line of JSON (at most ``MAX_LINE`` bytes); the phone closes the connection when it is done:

    phone → TVS   {"serial": "<hex of the serial's bytes>", "issuer": "<issuer, printed the CUCM way>"}
    TVS → phone   {"roles": [<role>, ...], "certificate": "<base64 DER, empty when unknown>"}

An empty role list means "unknown". When the service is not running on the node, or the node's ``tvs`` face
is faulted unreachable (``FaceFaults``), the face accepts the TCP connection and closes it before the
handshake (the phone sees an unreachable TVS); a service stopped while a phone is connected closes the
connection before the next answer. A latency fault delays the handshake. A malformed request is answered
``{"error": ...}`` and closed.

``TvsFaceServer`` is started by ``simulator.lab.faces`` on every node that runs TVS, with a backend from
``simulator.adapters.tvs``; ``TvsSession`` is the phone's side (``simulator.adapters.tvs.WireTvs``) and
``tvs_query`` one session with one query.
"""

from __future__ import annotations

import base64
import json
import socket
import socketserver
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

from simulator.faces.faults import FaceFaults

__all__ = ["MAX_LINE", "TVS_PORT", "TvsBackend", "TvsFaceServer", "TvsReply", "TvsSession", "tvs_query"]

TVS_PORT = 2445
MAX_LINE = 8192


class TvsBackend(Protocol):
    def running(self) -> bool:
        """Is the service Started on the node (a stopped TVS closes every connection)?"""
        ...

    def answer(self, serial: bytes, issuer: str) -> tuple[frozenset[int], bytes]:
        """Roles and certificate (DER) the service's cache holds for the signer (empty: unknown)."""
        ...


def _read_line(conn: Any) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(MAX_LINE + 1 - len(data))
        if not chunk:
            break
        data += chunk
        if len(data) > MAX_LINE:
            raise ValueError("line too long")
    return data


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        face = self.server.face
        if face.faults.unreachable or not face.backend.running():
            return  # closed before the handshake
        if face.faults.latency_s > 0:
            time.sleep(face.faults.latency_s)
        try:
            conn = face.context.wrap_socket(self.request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        with face.counted:
            face.handshakes += 1
        try:
            conn.settimeout(face.timeout)
            with conn.makefile("rb") as reader:
                while line := reader.readline(MAX_LINE + 1):  # queries until the phone closes (EOF)
                    try:
                        if len(line) > MAX_LINE:
                            raise ValueError("line too long")
                        request = json.loads(line)
                        serial, issuer = bytes.fromhex(str(request["serial"])), str(request["issuer"])
                    except (ValueError, KeyError, TypeError) as exc:
                        conn.sendall(json.dumps({"error": f"bad request: {exc}"}).encode() + b"\n")
                        return
                    if face.faults.unreachable or not face.backend.running():
                        return  # stopped while the phone was connected: the connection drops
                    roles, certificate = face.backend.answer(serial, issuer)
                    reply = {"roles": sorted(roles), "certificate": base64.b64encode(certificate).decode()}
                    conn.sendall(json.dumps(reply).encode() + b"\n")
        except OSError:
            return
        finally:
            conn.close()


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    face: TvsFaceServer


class TvsFaceServer:
    """The TVS face of one node; ``start()`` then ``stop()``."""

    def __init__(
        self,
        *,
        name: str,
        host: str,
        port: int = TVS_PORT,
        context: ssl.SSLContext,
        backend: TvsBackend,
        timeout: float = 10.0,
        faults: FaceFaults | None = None,
    ) -> None:
        self.name = name
        self.faults = faults or FaceFaults()
        self.context = context
        self.backend = backend
        self.timeout = timeout
        self.handshakes = 0  # TLS sessions made (a phone asks all its queries over one)
        self.counted = threading.Lock()
        self._server = _Server((host, port), _Handler)
        self._server.face = self
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> TvsFaceServer:
        self._thread = threading.Thread(  # a short poll: ``stop()`` waits for it (0.5 s by default)
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=self.name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> TvsFaceServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(frozen=True, slots=True)
class TvsReply:
    presented: bytes  # DER of the certificate the server presented in the handshake
    roles: frozenset[int] | None  # None: the connection broke before an answer
    certificate: bytes = b""


class TvsSession:
    """The phone's side: one TLS connection to a TVS face, any number of queries, then ``close()``.

    ``open`` returns None when no TLS session could be made (unreachable); ``presented`` is the DER of the
    certificate the server presented; ``ask`` returns None once the connection broke (and stays broken).
    """

    def __init__(self, conn: ssl.SSLSocket, presented: bytes) -> None:
        self.presented = presented
        self._conn: ssl.SSLSocket | None = conn
        self.queries = 0  # how many queries went over this connection

    @classmethod
    def open(cls, *, host: str, port: int, timeout: float = 5.0) -> TvsSession | None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the phone pins the presented certificate against its ITL
        try:
            raw = socket.create_connection((host, port), timeout=timeout)
        except OSError:
            return None
        try:
            conn = context.wrap_socket(raw)
        except (ssl.SSLError, OSError):
            raw.close()
            return None
        return cls(conn, conn.getpeercert(binary_form=True) or b"")

    @property
    def broken(self) -> bool:
        return self._conn is None

    def ask(self, *, serial: bytes, issuer: str) -> TvsReply | None:
        """Roles and certificate for the signer; None when the connection broke before an answer."""
        conn = self._conn
        if conn is None:
            return None
        self.queries += 1
        try:
            conn.sendall(json.dumps({"serial": serial.hex(), "issuer": issuer}).encode() + b"\n")
            reply = json.loads(_read_line(conn))
            roles = frozenset(int(r) for r in reply["roles"])
            return TvsReply(self.presented, roles, base64.b64decode(reply.get("certificate", "")))
        except (OSError, ValueError, KeyError, TypeError):
            self.close()
            return None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def tvs_query(*, host: str, port: int, serial: bytes, issuer: str, timeout: float = 5.0) -> TvsReply | None:
    """One session with one query; None when no TLS session could be made (unreachable)."""
    session = TvsSession.open(host=host, port=port, timeout=timeout)
    if session is None:
        return None
    try:
        return session.ask(serial=serial, issuer=issuer) or TvsReply(session.presented, None)
    finally:
        session.close()
