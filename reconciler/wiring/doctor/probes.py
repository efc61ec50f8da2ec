"""Low-level, credential-free probes of one endpoint: TCP reach, the TLS chain, the SSH host key.

Called by ``reconciler.wiring.doctor.cucm`` and ``.dhcp``. Each returns a detail string for a pass and
raises from ``reconciler.errors`` otherwise: ``UnreachableError`` (refused, timed out, closed at once),
``TlsVerificationError`` (chain or name does not verify against the CA bundle / pin),
``HostKeyError`` (through ``providers.transports.ssh.HostKeyVerifier``: unknown or changed). Nothing is
sent beyond the handshakes; no credential is used.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import socket
import ssl
from pathlib import Path

import paramiko
from cryptography import x509

from providers.transports.ssh import HostKeyVerifier, fingerprint
from reconciler.errors import TlsVerificationError, UnreachableError

__all__ = ["ssh_host_key", "tcp_reach", "tls_chain"]


def tcp_reach(*, endpoint: str, host: str, port: int, timeout: float = 5.0) -> str:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return f"TCP {host}:{port} open"
    except OSError as exc:
        raise UnreachableError(
            f"{endpoint}: TCP {host}:{port} is unreachable ({exc.strerror or exc})",
            endpoint=endpoint,
            hint=f"unreachable: check that {host} is the node's address, that port {port} is open and "
            "that no firewall on the path drops it",
        ) from exc


def tls_chain(
    *,
    endpoint: str,
    host: str,
    port: int,
    ca_bundle: Path | None,
    pin_sha256: str | None,
    insecure: bool,
    expiry_warning_days: int,
    timeout: float = 10.0,
) -> tuple[str, bool]:
    """(detail, expiring soon). Verifies as the clients do: the CA bundle (or the system store) and the
    host name, or the pin; ``insecure`` only reads the certificate."""
    context = ssl.create_default_context(cafile=str(ca_bundle) if ca_bundle else None)
    if pin_sha256 or insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    except ssl.SSLCertVerificationError as exc:
        raise TlsVerificationError(
            f"{endpoint}: the TLS certificate of {host}:{port} does not verify: {exc.verify_message}",
            endpoint=endpoint,
            hint="tls.ca_bundle must hold the CA that signed the node's tomcat certificate (or pin it "
            "with tls.pin_sha256); a self-signed tomcat certificate is its own CA",
        ) from exc
    except (ssl.SSLError, OSError) as exc:
        raise UnreachableError(
            f"{endpoint}: no TLS handshake with {host}:{port}: {exc}",
            endpoint=endpoint,
            hint=f"unreachable: check that port {port} of {host} serves HTTPS",
        ) from exc
    if der is None:
        raise TlsVerificationError(f"{endpoint}: {host}:{port} presented no certificate", endpoint=endpoint)
    cert = x509.load_der_x509_certificate(der)
    if pin_sha256:
        seen = hashlib.sha256(der).hexdigest()
        if seen != pin_sha256.replace(":", "").lower().removeprefix("sha256"):
            raise TlsVerificationError(
                f"{endpoint}: the certificate of {host}:{port} has SHA-256 {seen}, not the pinned one",
                endpoint=endpoint,
                hint="if the tomcat certificate was renewed, confirm the new fingerprint and update "
                "tls.pin_sha256",
            )
    left = cert.not_valid_after_utc - dt.datetime.now(dt.UTC)
    detail = (
        f"{cert.subject.rfc4514_string()} issued by {cert.issuer.rfc4514_string()}, "
        f"valid until {cert.not_valid_after_utc:%Y-%m-%d}"
        + (" (NOT VERIFIED: insecure)" if insecure and not pin_sha256 else "")
    )
    return detail, left < dt.timedelta(days=expiry_warning_days)


def ssh_host_key(*, verifier: HostKeyVerifier, timeout: float = 10.0) -> str:
    """Negotiate keys only (no authentication) and check the server's key against known_hosts/pin."""
    try:
        sock = socket.create_connection((verifier.host, verifier.port), timeout=timeout)
    except OSError as exc:
        raise UnreachableError(
            f"{verifier.endpoint}: SSH {verifier.host}:{verifier.port} is unreachable ({exc})",
            endpoint=verifier.endpoint,
            hint=f"unreachable: check that port {verifier.port} is open on {verifier.host}",
        ) from exc
    transport = paramiko.Transport(sock)
    try:
        preferred = verifier.expected_types()
        if preferred:
            options = transport.get_security_options()
            known = [t for t in preferred if t in options.key_types]
            options.key_types = tuple(known) + tuple(t for t in options.key_types if t not in known)
        transport.start_client(timeout=timeout)
        key = transport.get_remote_server_key()
    except (paramiko.SSHException, OSError, EOFError) as exc:
        raise UnreachableError(
            f"{verifier.endpoint}: no SSH handshake with {verifier.host}:{verifier.port}: {exc}",
            endpoint=verifier.endpoint,
            hint="unreachable: the port answers but not as an SSH server (or closed the connection)",
        ) from exc
    finally:
        transport.close()
    verifier.check(key)
    against = "the pinned host_key" if verifier.pinned else str(verifier.path.name)
    return f"{key.get_name()} {fingerprint(key)} matches {against}"
