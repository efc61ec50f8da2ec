"""The one way providers open SSH: host keys checked before any credential is sent, mapped errors, no secrets.

Called by ``providers.cucm_cli.session`` (the CUCM ``admin:`` shell), ``providers.sftp`` (bulk-method file
exchange) and ``providers.dhcp.ios`` (through netmiko, which gets ``HostKeyVerifier.policy()``).
Rules (docs/providers.md#security-defaults):

- The server's host key is compared with a pinned key (``host_key: "ecdsa-sha2-nistp256 AAAA…"``) or
  with ``known_hosts`` (OpenSSH format; port-qualified ``[host]:port`` names for ports other than 22;
  default ``~/.ssh/known_hosts``). Unknown or changed keys raise ``HostKeyError`` naming the node, the
  SHA-256 fingerprint seen and the fix. Nothing is ever added to a known_hosts file (no AutoAddPolicy).
- The check happens right after key exchange, before authentication: a wrong server never sees the
  password.
- Authentication: ``password`` (paramiko falls back to keyboard-interactive when that is all the server
  offers), ``keyboard-interactive`` (CUCM on some releases, docs/cucm-domain.md#admin-cli: every
  prompt is answered with the password) or ``auto`` (password, then keyboard-interactive).
- The password is a ``SecretRef`` resolved by ``reconciler.config.secrets.resolve`` at the moment of
  authentication (or a ``SecretStr``); it is never logged, put into a message or a ``repr``.
- Errors: refused/reset/unreachable/closed-at-once → ``UnreachableError``; timeouts, dropped sessions,
  EOF → ``TemporaryError``; bad credentials → ``AuthenticationError``; host key → ``HostKeyError``.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import logging
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Generic, Literal, Protocol, Self, TypeVar

import paramiko
from pydantic import SecretStr

from providers.transports.waits import wait_limit
from reconciler.config.secrets import resolve
from reconciler.errors import (
    AuthenticationError,
    ConfigError,
    HostKeyError,
    ProviderError,
    TemporaryError,
    UnreachableError,
)
from schemas.secret import SecretRef

__all__ = [
    "AuthMethod",
    "HostKeyVerifier",
    "SshClientBase",
    "SshConnection",
    "SshTarget",
    "connect",
    "fingerprint",
    "known_hosts_name",
    "map_ssh_error",
]

log = logging.getLogger(__name__)
AuthMethod = Literal["auto", "password", "keyboard-interactive"]
DEFAULT_KNOWN_HOSTS = Path("~/.ssh/known_hosts")


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH-style ``SHA256:<base64>`` fingerprint of a public key."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def known_hosts_name(host: str, port: int) -> str:
    """The name a known_hosts line uses: ``host`` on port 22, else ``[host]:port``."""
    return host if port == 22 else f"[{host}]:{port}"


@dataclass(frozen=True, slots=True, kw_only=True)
class SshTarget:
    """Where and as whom to log in. ``name`` is the node/server name used in every message."""

    name: str
    host: str
    username: str
    password: SecretRef | SecretStr = field(repr=False)
    port: int = 22
    known_hosts: Path | None = None
    host_key: str | None = None
    auth_method: AuthMethod = "auto"
    connect_timeout: float = 10.0
    auth_timeout: float = 20.0

    @property
    def label(self) -> str:
        """``cucm-pub (127.0.41.1:2222)`` — for messages."""
        return f"{self.name} ({self.host}:{self.port})"

    def secret(self) -> str:
        """The password, resolved now (``SecretError`` names the reference, never a value)."""
        value = self.password if isinstance(self.password, SecretStr) else resolve(self.password)
        return value.get_secret_value()

    def verifier(self) -> HostKeyVerifier:
        return HostKeyVerifier(
            endpoint=self.name,
            host=self.host,
            port=self.port,
            known_hosts=self.known_hosts,
            pinned=self.host_key,
        )


def _parse_pinned(text: str, *, endpoint: str) -> paramiko.PKey:
    parts = text.split()
    if len(parts) < 2:
        raise ConfigError(f"{endpoint}: host_key must be '<type> <base64>', got {text!r}")
    try:
        return paramiko.PKey.from_type_string(parts[0], base64.b64decode(parts[1], validate=True))
    except (ValueError, paramiko.SSHException) as exc:
        raise ConfigError(f"{endpoint}: host_key is not a valid {parts[0]} public key: {exc}") from exc


class HostKeyVerifier:
    """Decides whether a server key is the expected one (pinned key first, else known_hosts)."""

    def __init__(
        self, *, endpoint: str, host: str, port: int, known_hosts: Path | None, pinned: str | None
    ) -> None:
        self.endpoint = endpoint
        self.name = known_hosts_name(host, port)
        self.port = port
        self.host = host
        self.pinned = _parse_pinned(pinned, endpoint=endpoint) if pinned else None
        self.path = (known_hosts or DEFAULT_KNOWN_HOSTS).expanduser()

    def _known(self) -> dict[str, paramiko.PKey]:
        if not self.path.is_file():
            return {}
        keys = paramiko.HostKeys()
        try:
            keys.load(str(self.path))
        except (OSError, paramiko.SSHException) as exc:
            raise ConfigError(f"cannot read known_hosts {self.path}: {exc}") from exc
        found = keys.lookup(self.name)
        return dict(found) if found is not None else {}

    def expected_types(self) -> tuple[str, ...]:
        """Key types to prefer in negotiation (what we already know for this host)."""
        if self.pinned is not None:
            return (self.pinned.get_name(),)
        return tuple(self._known())

    def check(self, key: paramiko.PKey) -> None:
        """Return when ``key`` is the expected key; ``HostKeyError`` (unknown or changed) otherwise."""
        seen = fingerprint(key)
        if self.pinned is not None:
            if key.get_name() == self.pinned.get_name() and key.asbytes() == self.pinned.asbytes():
                return
            raise HostKeyError(
                f"SSH host key of {self.endpoint} ({self.name}) CHANGED: it presented {key.get_name()} "
                f"{seen}, but the pinned host_key is {self.pinned.get_name()} {fingerprint(self.pinned)}",
                endpoint=self.endpoint,
                hint="if the node was reinstalled or its key regenerated, confirm the new fingerprint on "
                "the console ('show myself' / ssh-keygen -lf) and update nodes[].host_key; otherwise "
                "someone may be intercepting the connection",
            )
        known = self._known()
        if not known:
            raise HostKeyError(
                f"SSH host key of {self.endpoint} ({self.name}) is UNKNOWN: {self.path} has no entry for "
                f"{self.name}; the server presented {key.get_name()} {seen}",
                endpoint=self.endpoint,
                hint=f"verify {seen} out of band, then add it: ssh-keyscan -p {self.port} {self.host} "
                f">> {self.path} (or pin it as nodes[].host_key); keys are never added automatically",
            )
        if any(k.get_name() == key.get_name() and k.asbytes() == key.asbytes() for k in known.values()):
            return
        expected = ", ".join(f"{k.get_name()} {fingerprint(k)}" for k in known.values())
        raise HostKeyError(
            f"SSH host key of {self.endpoint} ({self.name}) CHANGED: it presented {key.get_name()} {seen}, "
            f"{self.path} expects {expected}",
            endpoint=self.endpoint,
            hint=f"if the node was reinstalled, confirm {seen} out of band, then run ssh-keygen -R "
            f"'{self.name}' -f {self.path} and add the new key; otherwise treat it as an attack",
        )

    def policy(self) -> paramiko.MissingHostKeyPolicy:
        """A paramiko policy for ``SSHClient`` users (netmiko) that loaded no host keys: every server key
        goes through ``check`` (reject unless it matches); nothing is ever added."""
        return _VerifyingPolicy(self)


class _VerifyingPolicy(paramiko.MissingHostKeyPolicy):
    def __init__(self, verifier: HostKeyVerifier) -> None:
        self.verifier = verifier

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        self.verifier.check(key)  # raises HostKeyError; accepting never adds the key anywhere


def map_ssh_error(exc: BaseException, *, target: SshTarget, during: str) -> ProviderError:
    """Translate a paramiko/socket error into the error tree (the caller raises it ``from exc``)."""
    where = target.label
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, paramiko.AuthenticationException):
        return AuthenticationError(
            f"{where} rejected the SSH login of user {target.username!r} ({during})",
            endpoint=target.name,
            hint=f"check the user and the password reference {_ref(target)} for {target.name}",
        )
    if isinstance(exc, paramiko.BadHostKeyException):
        return HostKeyError(
            f"SSH host key of {where} changed: presented {fingerprint(exc.key)}",
            endpoint=target.name,
            hint="confirm the new key out of band and update known_hosts / host_key",
        )
    if isinstance(exc, ConnectionRefusedError | ConnectionResetError | socket.gaierror):
        return UnreachableError(f"cannot reach {where} ({during}): {exc}", endpoint=target.name)
    if isinstance(exc, TimeoutError | socket.timeout):
        return UnreachableError(f"{where} did not answer in time ({during})", endpoint=target.name)
    if isinstance(exc, EOFError | paramiko.SSHException | OSError):
        text = str(exc) or type(exc).__name__
        return TemporaryError(f"SSH session to {where} failed ({during}): {text}", endpoint=target.name)
    return TemporaryError(
        f"SSH session to {where} failed ({during}): {type(exc).__name__}", endpoint=target.name
    )


def _ref(target: SshTarget) -> str:
    return str(target.password) if isinstance(target.password, SecretRef) else "(given in code)"


class SshConnection:
    """An authenticated SSH transport to one target; open shells or SFTP on it, then ``close``."""

    def __init__(self, target: SshTarget, transport: paramiko.Transport) -> None:
        self.target = target
        self.transport = transport

    @property
    def active(self) -> bool:
        return self.transport.is_active()

    def open_shell(self, *, width: int = 250, height: int = 1000) -> paramiko.Channel:
        try:
            channel = self.transport.open_session(timeout=self.target.connect_timeout)
            channel.get_pty(term="vt100", width=width, height=height)
            channel.invoke_shell()
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise map_ssh_error(exc, target=self.target, during="opening the shell") from exc
        return channel

    def open_sftp(self) -> paramiko.SFTPClient:
        try:
            client = paramiko.SFTPClient.from_transport(self.transport)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise map_ssh_error(exc, target=self.target, during="opening SFTP") from exc
        if client is None:
            raise TemporaryError(f"{self.target.label} refused the SFTP subsystem", endpoint=self.target.name)
        return client

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> SshConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _prefer(transport: paramiko.Transport, types: Sequence[str]) -> None:
    options = transport.get_security_options()
    current = list(options.key_types)
    wanted = [t for t in types if t in current]
    if wanted:
        options.key_types = tuple(wanted + [t for t in current if t not in wanted])


def _authenticate(transport: paramiko.Transport, target: SshTarget) -> None:
    password = target.secret()

    def answer(title: str, instructions: str, prompts: Sequence[tuple[str, bool]]) -> list[str]:
        return [password for _ in prompts]  # CUCM asks one "Password:" prompt (§2.1)

    if target.auth_method == "keyboard-interactive":
        transport.auth_interactive(target.username, answer)
        return
    try:
        transport.auth_password(target.username, password, fallback=True)
    except paramiko.BadAuthenticationType as exc:
        if target.auth_method == "auto" and "keyboard-interactive" in exc.allowed_types:
            transport.auth_interactive(target.username, answer)
        else:
            raise paramiko.AuthenticationException(
                f"server allows only {', '.join(exc.allowed_types)}"
            ) from exc


def connect(target: SshTarget) -> SshConnection:
    """Open, verify the host key, authenticate. Raises only ``reconciler.errors`` types."""
    verifier = target.verifier()
    limit = wait_limit()  # the CLI's --timeout caps every wait (providers.transports.waits)
    if limit is not None:
        target = dataclasses.replace(
            target,
            connect_timeout=min(target.connect_timeout, limit),
            auth_timeout=min(target.auth_timeout, limit),
        )
    try:
        sock = socket.create_connection((target.host, target.port), timeout=target.connect_timeout)
    except OSError as exc:
        raise map_ssh_error(exc, target=target, during="connecting") from exc
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    transport = paramiko.Transport(sock)
    transport.banner_timeout = target.connect_timeout
    transport.handshake_timeout = target.connect_timeout
    transport.auth_timeout = target.auth_timeout
    _prefer(transport, verifier.expected_types())
    try:
        try:
            transport.start_client(timeout=target.connect_timeout)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise UnreachableError(
                f"{target.label} closed the connection during SSH negotiation: {exc or type(exc).__name__}",
                endpoint=target.name,
            ) from exc
        verifier.check(transport.get_remote_server_key())  # before any credential is sent
        try:
            _authenticate(transport, target)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise map_ssh_error(exc, target=target, during="authenticating") from exc
        if not transport.is_authenticated():
            raise AuthenticationError(f"{target.label} did not accept the SSH login", endpoint=target.name)
    except BaseException:
        transport.close()
        raise
    log.debug("ssh: connected to %s as %s", target.label, target.username)
    return SshConnection(target, transport)


class _Closable(Protocol):
    def close(self) -> None: ...


_Channel = TypeVar("_Channel", bound=_Closable)


class SshClientBase(Generic[_Channel]):
    """A client that holds one ``SshConnection`` and one channel on it (the admin CLI's shell in
    ``providers.cucm_cli.session``, an SFTP session in ``providers.sftp``): ``close()`` closes the channel,
    then the connection (idempotent), and the client is a context manager that closes on exit. The
    subclass opens both and keeps them in ``_conn`` and ``_channel``."""

    _conn: SshConnection | None = None
    _channel: _Channel | None = None

    def close(self) -> None:
        """Close the channel, then the connection; never raises. A peer that already dropped the
        connection makes paramiko's channel close fail (``EOFError`` from its packetizer): closing what
        is already closed is not an error, and the connection is still closed."""
        channel, conn = self._channel, self._conn
        self._channel, self._conn = None, None
        try:
            if channel is not None:
                with contextlib.suppress(EOFError, OSError, paramiko.SSHException):
                    channel.close()
        finally:
            if conn is not None:
                with contextlib.suppress(EOFError, OSError, paramiko.SSHException):
                    conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
