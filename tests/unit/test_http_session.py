"""Tests of providers.transports.http: real TLS on 127.0.0.1 (trustme CAs, a stdlib HTTPS server), CA-bundle
and
pinned-fingerprint verification, environment variables that must not override them, insecure warnings,
error mapping (a handshake the server cuts off is ``UnreachableError``, only a certificate that fails the
CA/hostname/pin check is ``TlsVerificationError``), and that credentials never reach the logs."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import socket
import ssl
import struct
import threading
import warnings
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import trustme
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from providers.transports.http import (
    InsecureTransportWarning,
    TransportFailure,
    classify_transport_failure,
    make_session,
    normalise_fingerprint,
    redact_headers,
)
from reconciler.errors import (
    AuthenticationError,
    ConfigError,
    PermanentError,
    TemporaryError,
    TlsVerificationError,
    UnreachableError,
)
from simulator.kea import free_port

pytestmark = pytest.mark.lab

USER, PASSWORD = "axladmin", "s3cret-Lab-Pa55"


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.server.seen.append(dict(self.headers))  # type: ignore[attr-defined]
        status, headers, body = 200, {}, {"ok": True}
        if self.path == "/busy":
            status, headers = 503, {"Retry-After": "7"}
        elif self.path == "/auth":
            expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            if self.headers.get("Authorization") != expected:
                status = 401
        data = json.dumps(body).encode()
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


class HttpsServer:
    def __init__(self, ca: trustme.CA, names: tuple[str, ...] = ("127.0.0.1", "localhost")) -> None:
        self.leaf = ca.issue_cert(*names)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.leaf.configure_cert(context)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.seen = []  # type: ignore[attr-defined]
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.httpd.server_address[1]}"
        der = x509.load_pem_x509_certificate(self.leaf.cert_chain_pems[0].bytes()).public_bytes(Encoding.DER)
        self.fingerprint = hashlib.sha256(der).hexdigest()
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05})

    @property
    def seen(self) -> list[dict[str, str]]:
        return self.httpd.seen  # type: ignore[attr-defined,no-any-return]


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def server(ca: trustme.CA) -> Iterator[HttpsServer]:
    srv = HttpsServer(ca)
    srv.thread.start()
    try:
        yield srv
    finally:
        srv.httpd.shutdown()
        srv.httpd.server_close()
        srv.thread.join(timeout=5)


@pytest.fixture
def bundles(ca: trustme.CA, tmp_path: Path) -> tuple[Path, Path]:
    good, wrong = tmp_path / "good-ca.pem", tmp_path / "wrong-ca.pem"
    ca.cert_pem.write_to_path(str(good))
    trustme.CA().cert_pem.write_to_path(str(wrong))
    return good, wrong


def test_ca_bundle_verifies_the_server(server: HttpsServer, bundles: tuple[Path, Path]) -> None:
    session = make_session(endpoint="cucm-new-pub:8443", ca_bundle=bundles[0])
    assert session.get(server.url + "/").json() == {"ok": True}


def test_wrong_ca_is_a_tls_error_naming_the_setting_and_the_node(
    server: HttpsServer, bundles: tuple[Path, Path]
) -> None:
    session = make_session(endpoint="cucm-new-pub:8443", ca_bundle=bundles[1], auth=(USER, PASSWORD))
    with pytest.raises(TlsVerificationError) as info:
        session.get(server.url + "/auth")
    assert info.value.endpoint == "cucm-new-pub:8443"
    assert "ca_bundle" in (info.value.hint or "") and "cucm-new-pub:8443" in str(info.value)
    assert server.seen == []  # nothing — no credentials — reached the server


def test_environment_ca_variables_cannot_override_the_configured_bundle(
    server: HttpsServer, bundles: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    good, wrong = bundles
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(good))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(good))
    with pytest.raises(TlsVerificationError):
        make_session(endpoint="n1", ca_bundle=wrong).get(server.url + "/")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(wrong))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(wrong))
    assert make_session(endpoint="n1", ca_bundle=good).get(server.url + "/").status_code == 200
    # system-store mode must not pick the env bundle up either
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(good))
    with pytest.raises(TlsVerificationError):
        make_session(endpoint="n1").get(server.url + "/")


@pytest.mark.parametrize("form", ["plain", "colons", "prefixed"])
def test_pinned_fingerprint_accepts_exactly_that_certificate(server: HttpsServer, form: str) -> None:
    fpr = server.fingerprint
    pin = {
        "plain": fpr,
        "colons": ":".join(fpr[i : i + 2] for i in range(0, 64, 2)).upper(),
        "prefixed": "sha256:" + fpr,
    }[form]
    session = make_session(endpoint="n1", pin_sha256=pin)  # the CA is in no bundle at all
    assert session.get(server.url + "/").json() == {"ok": True}


def test_wrong_pin_fails_before_any_request_is_sent(server: HttpsServer) -> None:
    wrong = hashlib.sha256(b"another certificate").hexdigest()
    session = make_session(endpoint="cucm-old-pub:8443", pin_sha256=wrong, auth=(USER, PASSWORD))
    with pytest.raises(TlsVerificationError) as info:
        session.get(server.url + "/auth")
    assert "pin_sha256" in (info.value.hint or "")
    assert server.seen == []


def test_fingerprint_normalisation_and_rejection() -> None:
    assert normalise_fingerprint("SHA256:" + "AB" * 32) == "ab" * 32
    with pytest.raises(ConfigError, match="not a SHA-256 fingerprint"):
        normalise_fingerprint("ab" * 20)


def test_conflicting_trust_settings_are_refused(bundles: tuple[Path, Path]) -> None:
    with pytest.raises(ConfigError, match="choose one"):
        make_session(endpoint="n1", ca_bundle=bundles[0], pin_sha256="ab" * 32)
    with pytest.raises(ConfigError, match="does not exist"):
        make_session(endpoint="n1", ca_bundle=bundles[0].with_name("missing.pem"))


def test_insecure_warns_loudly_every_time(server: HttpsServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="providers.transports.http")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("default")  # Python's usual "once per place" must not hush it
        sessions = [make_session(endpoint="lab-pub", insecure=True) for _ in range(2)]
    assert [type(w.message) for w in record] == [InsecureTransportWarning] * 2
    first = sessions[0]
    assert sum("DISABLED for lab-pub" in r.getMessage() for r in caplog.records) == 2
    with pytest.warns(Warning):  # urllib3 adds its own per-request warning
        assert first.get(server.url + "/").status_code == 200


def test_status_and_connection_errors_map_to_the_tree(
    server: HttpsServer, bundles: tuple[Path, Path]
) -> None:
    session = make_session(endpoint="n1", ca_bundle=bundles[0], auth=(USER, "wrong"))
    with pytest.raises(AuthenticationError) as auth:
        session.get(server.url + "/auth")
    assert auth.value.endpoint == "n1"
    with pytest.raises(TemporaryError) as busy:
        session.get(server.url + "/busy")
    assert busy.value.delay == 7.0
    closed = make_session(endpoint="n2", timeout=(0.5, 0.5))
    with pytest.raises(UnreachableError):
        closed.get(f"https://127.0.0.1:{free_port()}/")


def test_a_silent_server_is_a_temporary_timeout(bundles: tuple[Path, Path]) -> None:
    import socket

    with socket.socket() as listener:  # accepts (kernel backlog) but never answers the TLS handshake
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        session = make_session(endpoint="slow", ca_bundle=bundles[0], timeout=(0.3, 0.3))
        with pytest.raises(TemporaryError) as info:
            session.get(f"https://127.0.0.1:{listener.getsockname()[1]}/")
    assert type(info.value) is TemporaryError  # a timeout, not "unreachable"
    assert "did not answer in time" in str(info.value)


def test_every_request_gets_a_timeout(monkeypatch: pytest.MonkeyPatch, bundles: tuple[Path, Path]) -> None:
    seen: list[object] = []

    def fake_request(self: requests.Session, method: str, url: str, **kwargs: object) -> requests.Response:
        seen.append(kwargs.get("timeout"))
        response = requests.Response()
        response.status_code = 200
        response.request = requests.Request(method, url).prepare()
        return response

    monkeypatch.setattr(requests.Session, "request", fake_request)
    make_session(endpoint="n1", ca_bundle=bundles[0], timeout=(2.0, 9.0)).get("https://127.0.0.1:1/")
    make_session(endpoint="n1", ca_bundle=bundles[0]).post("https://127.0.0.1:1/", timeout=4)
    assert seen == [(2.0, 9.0), 4]


def test_credentials_never_reach_logs_or_messages(
    server: HttpsServer, bundles: tuple[Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    good = make_session(endpoint="n1", ca_bundle=bundles[0], auth=(USER, PASSWORD))
    assert good.get(server.url + "/auth").status_code == 200
    assert server.seen[-1]["Authorization"] == f"Basic {token}"  # it was really sent ...
    messages = []
    for session in (
        make_session(endpoint="n1", ca_bundle=bundles[1], auth=(USER, PASSWORD)),
        make_session(endpoint="n1", ca_bundle=bundles[0], auth=(USER, PASSWORD + "x")),
    ):
        with pytest.raises((TlsVerificationError, AuthenticationError)) as info:
            session.get(server.url + "/auth")
        messages.append(f"{info.value} {info.value.hint}")
    text = caplog.text + " ".join(messages) + repr(good) + repr(good.auth)
    assert "<redacted>" in caplog.text  # ... and the debug line shows where it was masked
    for secret in (PASSWORD, token):
        assert secret not in text


def test_redact_headers_masks_credential_headers_only() -> None:
    headers = {"Authorization": "Basic x", "Cookie": "JSESSIONID=1", "Accept": "application/json"}
    assert redact_headers(headers) == {"Authorization": "<redacted>", "Cookie": "<redacted>",
                                       "Accept": "application/json"}  # fmt: skip


class HandshakeCutter:
    """A TLS server (real certificate, server-side ``SSLObject``) that accepts the TCP connection, reads
    the client's hello, and then closes the connection in the middle of the handshake — what a node
    whose ``unreachable`` fault is on (simulator/faces/faults.py), or a firewall, does to a client.

    ``how``: ``fin`` closes before answering; ``partial`` sends the first bytes of the server's
    handshake flight and then closes; ``reset`` aborts with a TCP RST (SO_LINGER 0).
    """

    def __init__(self, ca: trustme.CA, how: str) -> None:
        self.how = how
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(self.context)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.url = f"https://127.0.0.1:{self.listener.getsockname()[1]}/"
        self.hellos: list[bytes] = []  # the first bytes each client sent (a TLS handshake record)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._serve)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(2.0)
                incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
                tls = self.context.wrap_bio(incoming, outgoing, server_side=True)
                hello = conn.recv(16384)
                self.hellos.append(hello)
                incoming.write(hello)
                with contextlib.suppress(ssl.SSLWantReadError):  # the server's flight is now in
                    tls.do_handshake()  # ``outgoing``; the client waits for it
                flight = outgoing.read()
                if self.how == "partial":
                    conn.sendall(flight[: max(1, len(flight) // 3)])
                elif self.how == "reset":
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def __enter__(self) -> HandshakeCutter:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.thread.join(timeout=5)
        self.listener.close()


@pytest.mark.parametrize("how", ["fin", "partial", "reset"])
@pytest.mark.parametrize("trust", ["good-ca", "wrong-ca", "pin"])
def test_a_handshake_cut_by_the_server_is_unreachable_not_a_tls_verification_error(
    ca: trustme.CA, bundles: tuple[Path, Path], how: str, trust: str
) -> None:
    """The certificate was never presented, so nothing failed verification: the node is unreachable
    (a TemporaryError the executor retries), whatever trust setting the session has."""
    session = make_session(
        endpoint="cucm-old-pub:8443",
        timeout=(2.0, 2.0),
        ca_bundle={"good-ca": bundles[0], "wrong-ca": bundles[1]}.get(trust),
        pin_sha256="ab" * 32 if trust == "pin" else None,
    )
    with HandshakeCutter(ca, how) as server, pytest.raises(UnreachableError) as info:
        session.get(server.url)
    error = info.value
    assert server.hellos and server.hellos[0][:1] == b"\x16"  # it really was a TLS handshake
    assert isinstance(error, TemporaryError) and not isinstance(error, PermanentError)
    assert error.endpoint == "cucm-old-pub:8443" and "cucm-old-pub:8443" in str(error)
    assert error.hint and "cucm-old-pub:8443" in error.hint
    assert "ca_bundle" not in error.hint and "pin_sha256" not in error.hint  # not a trust problem


def test_verification_failures_stay_tls_errors_next_to_a_cut_handshake(
    ca: trustme.CA, bundles: tuple[Path, Path]
) -> None:
    """Wrong CA, wrong host name and wrong pin against a server that completes its side of the
    handshake are TlsVerificationError; the same wrong-CA session against a cutting server is not."""
    srv = HttpsServer(ca, names=("127.0.0.1",))  # not valid for "localhost"
    srv.thread.start()
    try:
        failures: dict[str, Callable[[], object]] = {
            "ca": lambda: make_session(endpoint="n1", ca_bundle=bundles[1]).get(srv.url + "/"),
            "hostname": lambda: make_session(endpoint="n1", ca_bundle=bundles[0]).get(
                srv.url.replace("127.0.0.1", "localhost") + "/"
            ),
            "pin": lambda: make_session(endpoint="n1", pin_sha256="cd" * 32).get(srv.url + "/"),
        }
        for name, attempt in failures.items():
            with pytest.raises(TlsVerificationError) as info:
                attempt()
            assert info.value.endpoint == "n1", name
            cause = info.value.__cause__
            assert cause is not None and classify_transport_failure(cause) is TransportFailure.VERIFICATION
        assert make_session(endpoint="n1", ca_bundle=bundles[0]).get(srv.url + "/").status_code == 200
    finally:
        srv.httpd.shutdown()
        srv.httpd.server_close()
        srv.thread.join(timeout=5)
    with HandshakeCutter(ca, "fin") as cutter, pytest.raises(UnreachableError) as cut:
        make_session(endpoint="n1", ca_bundle=bundles[1], timeout=(2.0, 2.0)).get(cutter.url)
    assert cut.value.__cause__ is not None
    assert classify_transport_failure(cut.value.__cause__) is TransportFailure.CUT
