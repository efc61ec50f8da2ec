"""The HTTP(S) server framework every web face of a node runs on (AXL, serviceability, certmgr, TFTP-HTTP).

One ``HttpFaceServer`` listens on one (loopback IP, port); it is threaded (one thread per connection,
HTTP/1.1 keep-alive), wraps each accepted connection in TLS inside that connection's own thread (a slow
handshake never blocks the accept loop), sets TCP_NODELAY, dispatches by path prefix to a ``Route`` whose
HTTP basic credentials it checks (per path family: AXL/serviceability = application user, certmgr =
OS admin), applies the node's ``FaceFaults`` (latency, unreachable), logs one line per request without
credentials, and stops cleanly: ``stop()`` closes every open connection and joins every thread it started.
Called by the face modules (``axl``, ``serviceability``, ``certmgr``, ``tftp_http``) and
``simulator/lab/runtime.py``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import http.server
import logging
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from simulator.faces.faults import FaceFaults

__all__ = ["Credentials", "HttpFaceServer", "Request", "Response", "Route", "tomcat_error_page"]

_LOG = logging.getLogger("simulator.faces.http")


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str = field(repr=False)

    def matches(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return hmac.compare_digest(user, self.user) and hmac.compare_digest(password, self.password)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: Mapping[str, Sequence[str]]
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    client: str
    base_url: str  # e.g. "https://127.0.10.1:8443"

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


Handler = Callable[[Request], Response]


@dataclass(frozen=True)
class Route:
    """Requests whose path is ``prefix`` (without its trailing slash) or starts with it go to ``handler``."""

    prefix: str
    handler: Handler
    credentials: Credentials | Callable[[], Credentials] | None = None
    realm: str = "Cisco"

    def matches(self, path: str) -> bool:
        return path == self.prefix.rstrip("/") or path.startswith(self.prefix)

    def expected(self) -> Credentials | None:
        creds = self.credentials
        return creds() if callable(creds) else creds


def tomcat_error_page(status: int, reason: str) -> str:
    """An error page shaped like Tomcat's (HTML, not XML: SOAP clients see a transport error, not a fault)."""
    return (
        f'<!doctype html><html lang="en"><head><title>HTTP Status {status} – {reason}</title></head>'
        f"<body><h1>HTTP Status {status} – {reason}</h1></body></html>"
    )


def _unauthorized(realm: str) -> Response:
    page = tomcat_error_page(401, "Unauthorized")
    return Response(
        401, page.encode(), "text/html;charset=utf-8", (("WWW-Authenticate", f'Basic realm="{realm}"'),)
    )


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # idle keep-alive connections end on their own, too
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: ``_dispatch`` logs one credential-free line per request."""

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        started = time.perf_counter()
        face = self.server.face
        if face.faults.unreachable:  # a node gone down ends its open connections too, unanswered
            self.close_connection = True
            return
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        request = Request(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            client=self.client_address[0],
            base_url=face.base_url,
        )
        face.delay()
        response = face.respond(request)
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)
        _LOG.info(
            "%s %s %s %s -> %d (%.1f ms)",
            face.name,
            request.client,
            request.method,
            request.path,
            response.status,
            (time.perf_counter() - started) * 1000,
        )


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = False
    block_on_close = True  # server_close() joins every connection thread
    allow_reuse_address = True

    def __init__(self, face: HttpFaceServer, address: tuple[str, int]) -> None:
        self.face = face
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, addr = self.socket.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn, addr

    def verify_request(self, request: Any, client_address: Any) -> bool:
        return not self.face.faults.unreachable

    def finish_request(self, request: Any, client_address: Any) -> None:
        conn: socket.socket = request
        if self.face.tls is not None:
            try:
                conn = self.face.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError) as exc:
                _LOG.debug("%s TLS handshake with %s failed: %s", self.face.name, client_address[0], exc)
                return
        with self._open_lock:
            self._open.add(conn)
        try:
            _Handler(conn, client_address, self)
        finally:
            with self._open_lock:
                self._open.discard(conn)
            conn.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        _LOG.debug("%s connection from %s ended with an error", self.face.name, client_address, exc_info=True)

    def close_connections(self) -> None:
        with self._open_lock:
            conns = list(self._open)
        for conn in conns:
            with contextlib.suppress(OSError, ValueError):
                conn.shutdown(socket.SHUT_RDWR)


class HttpFaceServer:
    """A threaded HTTP(S) server on one address with prefix routes; ``start()`` then ``stop()``."""

    def __init__(
        self,
        *,
        name: str,
        host: str,
        port: int,
        routes: Sequence[Route],
        tls: ssl.SSLContext | None = None,
        faults: FaceFaults | None = None,
    ) -> None:
        self.name = name
        self.tls = tls
        self.faults = faults or FaceFaults()
        self.routes = sorted(routes, key=lambda r: len(r.prefix), reverse=True)
        self._stopping = threading.Event()
        self._server = _Server(self, (host, port))
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def start(self) -> HttpFaceServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"http-{self.name}"
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, close open connections, join every thread (idempotent)."""
        self._stopping.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5)
            self._thread = None
        self._server.close_connections()
        self._server.server_close()

    def __enter__(self) -> HttpFaceServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- used by the handler
    def delay(self) -> None:
        latency = self.faults.latency_s
        if latency > 0:
            self._stopping.wait(latency)

    def respond(self, request: Request) -> Response:
        for route in self.routes:
            if route.matches(request.path):
                expected = route.expected()
                if expected is not None and not expected.matches(request.header("authorization")):
                    return _unauthorized(route.realm)
                try:
                    return route.handler(request)
                except Exception:
                    _LOG.exception("%s: handler for %s failed", self.name, request.path)
                    return Response(500, b"internal server error")
        return Response(404, tomcat_error_page(404, "Not Found").encode(), "text/html;charset=utf-8")
