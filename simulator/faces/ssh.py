"""The SSH server framework (paramiko) under the admin CLI, IOS router and SFTP faces.

``SshFaceServer`` listens on one (loopback IP, port) with its own host key; per connection it runs a
paramiko ``Transport`` in server mode with password and keyboard-interactive authentication (configurable),
an optional pre-auth banner, and either an interactive shell (exec requests are refused, as on CUCM) driven
by a ``Shell`` and a ``Terminal`` (echo, line editing, paste mode for multi-line PEM, confirmations), or the
SFTP subsystem. The node's ``FaceFaults`` add latency before each command and can drop the session in the
middle of a command's output. ``stop()`` closes the listener and every transport and joins every thread.
Known-hosts lines for the inventory come from ``known_hosts_line``.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import paramiko
from paramiko.common import (
    AUTH_FAILED,
    AUTH_SUCCESSFUL,
    OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED,
    OPEN_SUCCEEDED,
)
from paramiko.server import InteractiveQuery

from simulator.faces.faults import FaceFaults

__all__ = [
    "SessionDroppedError",
    "Shell",
    "SshFaceServer",
    "Terminal",
    "generate_host_key",
    "known_hosts_line",
]

_LOG = logging.getLogger("simulator.faces.ssh")


def generate_host_key() -> paramiko.PKey:
    """A fresh host key (ECDSA P-256: ~0.1 ms; paramiko 5 cannot generate Ed25519)."""
    return paramiko.ECDSAKey.generate()


def known_hosts_line(host: str, port: int, key: paramiko.PKey) -> str:
    """One OpenSSH known_hosts line, port-qualified (``[127.0.10.1]:2222 ecdsa-sha2-nistp256 AAAA...``)."""
    name = host if port == 22 else f"[{host}]:{port}"
    return f"{name} {key.get_name()} {key.get_base64()}"


class SessionDroppedError(Exception):
    """Raised inside a command when the drop fault cuts the session; the server closes the transport."""


class Terminal:
    """Line-oriented I/O on a shell channel: writes with CRLF, reads lines with echo and editing."""

    def __init__(self, channel: paramiko.Channel) -> None:
        self.channel = channel
        self._pending = bytearray()
        self._after_cr = False
        self.lines_left: int | None = None  # drop fault: output lines still allowed

    def write(self, text: str) -> None:
        data = text.replace("\r\n", "\n").replace("\n", "\r\n")
        if self.lines_left is None:
            self.channel.sendall(data.encode())
            return
        for piece in data.splitlines(keepends=True):
            if self.lines_left <= 0:
                raise SessionDroppedError
            self.channel.sendall(piece.encode())
            if piece.endswith("\n"):
                self.lines_left -= 1

    def _next_char(self) -> str | None:
        if not self._pending:
            data = self.channel.recv(4096)
            if not data:
                return None
            self._pending.extend(data)
        return chr(self._pending.pop(0))

    def read_key(self) -> str | None:
        """One keystroke, not echoed (a pager's answer); ``None`` when the client closed the channel."""
        return self._next_char()

    def read_line(self, *, echo: bool = True) -> str | None:
        """One input line (CR, LF or CRLF ends it); ``None`` when the client closed the channel.

        The echo of what arrived together goes back together (as a terminal's line discipline does), not
        one SSH packet per keystroke: a client that writes a whole command, or a block of configuration
        lines, gets one echo packet per line instead of one per character."""
        line: list[str] = []
        echoed = bytearray()

        def flush(extra: bytes = b"") -> None:
            echoed.extend(extra)
            if echoed:
                self.channel.sendall(bytes(echoed))
                echoed.clear()

        while True:
            if not self._pending:
                flush()  # about to wait for the client: show what it typed so far
            char = self._next_char()
            if char is None:
                return None
            if char == "\n" and self._after_cr:
                self._after_cr = False
                continue
            self._after_cr = char == "\r"
            if char in "\r\n":
                flush(b"\r\n")
                return "".join(line)
            if char in "\x7f\x08":
                if line:
                    line.pop()
                    if echo:
                        echoed.extend(b"\x08 \x08")
                continue
            if char == "\x03":
                flush(b"^C\r\n")
                return ""
            line.append(char)
            if echo:
                echoed.extend(char.encode())

    def ask(self, prompt: str, *, echo: bool = True) -> str | None:
        self.channel.sendall(prompt.encode())
        return self.read_line(echo=echo)

    def confirm(self, question: str) -> bool:
        answer = self.ask(question)
        return (answer or "").strip().lower() in ("y", "yes")

    def read_paste(self, *, max_lines: int = 2000) -> str:
        """Pasted lines up to the first blank line after some text (a PEM, then Enter)."""
        lines: list[str] = []
        for _ in range(max_lines):
            line = self.read_line()
            if line is None:
                break
            if not line.strip():
                if lines:
                    break
                continue
            lines.append(line.rstrip())
        return "\n".join(lines) + "\n"


class Shell(Protocol):
    """One interactive session's command interpreter."""

    def banner(self) -> str: ...
    def prompt(self) -> str: ...
    def run(self, line: str, term: Terminal) -> bool: ...  # False ends the session


class _Interface(paramiko.ServerInterface):
    def __init__(self, server: SshFaceServer) -> None:
        self.server = server
        self.user = ""
        self.shell_ready = threading.Event()

    def get_allowed_auths(self, username: str) -> str:
        return ",".join(self.server.auth_methods)

    def _ok(self, username: str, password: str) -> int:
        expected = self.server.users.get(username)
        if expected is not None and expected == password:
            self.user = username
            return AUTH_SUCCESSFUL
        return AUTH_FAILED

    def check_auth_password(self, username: str, password: str) -> int:
        if "password" not in self.server.auth_methods:
            return AUTH_FAILED
        return self._ok(username, password)

    def check_auth_interactive(self, username: str, submethods: str) -> Any:
        if "keyboard-interactive" not in self.server.auth_methods:
            return AUTH_FAILED
        self.user = username
        return InteractiveQuery("", "", ("Password: ", False))

    def check_auth_interactive_response(self, responses: list[str]) -> int:
        return self._ok(self.user, responses[0] if len(responses) == 1 else "\0")

    def get_banner(self) -> tuple[str | None, str | None]:
        return (self.server.auth_banner, "en-US") if self.server.auth_banner else (None, None)

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return OPEN_SUCCEEDED if kind == "session" else OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_pty_request(self, *args: Any) -> bool:
        return True

    def check_channel_shell_request(self, channel: paramiko.Channel) -> bool:
        if self.server.shell_factory is None:
            return False
        self.shell_ready.set()
        return True

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        return False  # CUCM's CLI refuses exec requests: interactive shell only

    def check_channel_window_change_request(self, *args: Any) -> bool:
        return True


class SshFaceServer:
    """An SSH listener serving either a ``Shell`` (``shell_factory``) or SFTP rooted at ``sftp_root``."""

    def __init__(
        self,
        *,
        name: str,
        host: str,
        port: int,
        host_key: paramiko.PKey,
        users: Mapping[str, str] | Callable[[], Mapping[str, str]],
        shell_factory: Callable[[str], Shell] | None = None,
        sftp_root: Path | None = None,
        faults: FaceFaults | None = None,
        auth_methods: tuple[str, ...] = ("password", "keyboard-interactive"),
        auth_banner: str | None = None,
    ) -> None:
        self.name = name
        self.host_key = host_key
        self._users = users
        self.shell_factory = shell_factory
        self.sftp_root = sftp_root
        self.faults = faults or FaceFaults()
        self.auth_methods = auth_methods
        self.auth_banner = auth_banner
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._transports: set[paramiko.Transport] = set()
        self._threads: set[threading.Thread] = set()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self._sock.listen(32)
        self._accept_thread: threading.Thread | None = None

    @property
    def users(self) -> Mapping[str, str]:
        return self._users() if callable(self._users) else self._users

    @property
    def host(self) -> str:
        return str(self._sock.getsockname()[0])

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    def known_hosts_line(self) -> str:
        return known_hosts_line(self.host, self.port, self.host_key)

    def start(self) -> SshFaceServer:
        self._accept_thread = threading.Thread(target=self._accept_loop, name=f"ssh-{self.name}")
        self._accept_thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes accept(); close() alone does not
        self._sock.close()
        if self._accept_thread is not None:
            self._accept_thread.join(5)
        with self._lock:
            transports, threads = list(self._transports), list(self._threads)
        for transport in transports:
            transport.close()
        for thread in threads:
            thread.join(5)

    def __enter__(self) -> SshFaceServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _addr = self._sock.accept()
            except OSError:
                return
            if self.faults.unreachable:
                conn.close()
                continue
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            thread = threading.Thread(target=self._serve, args=(conn,), name=f"ssh-{self.name}-conn")
            with self._lock:
                self._threads.add(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        transport = paramiko.Transport(conn)
        with self._lock:
            self._transports.add(transport)
        try:
            transport.add_server_key(self.host_key)
            if self.sftp_root is not None:
                from simulator.faces.sftp import RootedSftp  # noqa: PLC0415 - only SFTP faces need it

                transport.set_subsystem_handler("sftp", paramiko.SFTPServer, RootedSftp, root=self.sftp_root)
            iface = _Interface(self)
            transport.start_server(server=iface)
            channel = None
            for _ in range(150):  # at most 15 s for the client to open its session channel
                channel = transport.accept(0.1)
                if channel is not None or not transport.is_active() or self._stopping.is_set():
                    break
            if channel is None:
                return
            if self.shell_factory is None:  # SFTP: the subsystem thread does the work
                while transport.is_active() and not self._stopping.wait(0.2):
                    pass
                return
            for _ in range(100):  # at most 10 s for the shell request
                if iface.shell_ready.wait(0.1) or not transport.is_active() or self._stopping.is_set():
                    break
            if iface.shell_ready.is_set() and transport.is_active():
                self._run_shell(channel, self.shell_factory(iface.user), transport)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            _LOG.debug("%s: session ended: %s", self.name, exc)
        finally:
            transport.close()
            with self._lock:
                self._transports.discard(transport)
                self._threads.discard(threading.current_thread())

    def _run_shell(self, channel: paramiko.Channel, shell: Shell, transport: paramiko.Transport) -> None:
        term = Terminal(channel)
        term.write(shell.banner())
        channel.sendall(shell.prompt().encode())
        while not self._stopping.is_set():
            line = term.read_line()
            if line is None:
                return
            command = line.strip()
            if command and self.faults.latency_s > 0:
                self._stopping.wait(self.faults.latency_s)
            if command and self.faults.take_ssh_drop():
                term.lines_left = 1
            try:
                keep = shell.run(command, term) if command else True
            except SessionDroppedError:
                _LOG.info("%s: dropping the session in the middle of %r (fault)", self.name, command)
                transport.close()
                return
            term.lines_left = None
            if not keep:
                channel.close()
                return
            channel.sendall(shell.prompt().encode())
