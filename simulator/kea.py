"""Run a real ISC Kea (``kea-dhcp4`` + ``kea-ctrl-agent`` with basic auth) on loopback.

Used by the lab (``simulator/lab/runtime.py`` starts one for its DHCP scopes, relays in 127.0.30.x) and by
tests (integration and contract tests of ``providers.dhcp.kea``, relays in 127.0.31.x). Facts behind the
shape (docs/providers.md, "Running a real Kea"): Kea never daemonizes and exits on SIGTERM; it needs
per-instance ``KEA_PIDFILE_DIR``/``KEA_LOCKFILE_DIR``; on ``lo`` with ``dhcp-socket-type: udp`` and
non-standard ports (``-p``/``-P``) it answers relayed packets without root, sending replies to
``giaddr:client_port``; option 150 is not predefined, hence the ``option-def``; kea-dhcp4 2.2 has no HTTP
socket, so the REST API is the control agent forwarding to the unix control socket.

``KeaInstance`` is a context manager: ``start()`` writes the configs, launches both daemons with logs in
the instance directory and waits until the control socket and the agent answer; ``stop()`` sends
SIGTERM, waits, and SIGKILLs only as a last resort, so no process is left behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from shutil import which
from types import TracebackType
from typing import Any, Self

from reconciler.errors import LabError

__all__ = ["OPTION150_DEF", "KeaInstance", "KeaSubnet", "free_port", "wait_for"]

OPTION150_DEF: dict[str, Any] = {
    "name": "tftp-server-address",
    "code": 150,
    "space": "dhcp4",
    "type": "ipv4-address",
    "array": True,
}
_SUN_PATH_MAX = 100  # sockaddr_un.sun_path is 108 bytes; keep a margin


def free_port(*, kind: str = "tcp", host: str = "127.0.0.1") -> int:
    """A port the kernel just handed out on ``host`` (bind to 0, read, close). ``kind``: tcp or udp."""
    sock_type = socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, sock_type) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(predicate: Any, *, timeout: float, what: str, interval: float = 0.01) -> None:
    """Poll ``predicate()`` until true; raise ``LabError`` naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise LabError(f"timed out after {timeout:g}s waiting for {what}")


@dataclass(frozen=True, slots=True, kw_only=True)
class KeaSubnet:
    """One DHCP scope: ``relay`` is the giaddr that selects it; ``option150`` the TFTP servers."""

    id: int
    subnet: IPv4Network
    relay: IPv4Address
    option150: tuple[IPv4Address, ...] = ()
    pool: tuple[IPv4Address, IPv4Address] | None = None
    name: str | None = None

    def to_kea(self) -> dict[str, Any]:
        """The ``subnet4`` entry (option 150 by name, through ``OPTION150_DEF``)."""
        hosts = list(self.subnet.hosts())
        first, last = self.pool or (hosts[min(99, len(hosts) - 2)], hosts[-1])
        entry: dict[str, Any] = {
            "id": self.id,
            "subnet": str(self.subnet),
            "pools": [{"pool": f"{first} - {last}"}],
            "relay": {"ip-addresses": [str(self.relay)]},
            "option-data": [],
        }
        if self.option150:
            entry["option-data"].append(
                {"name": OPTION150_DEF["name"], "data": ", ".join(str(a) for a in self.option150)}
            )
        if self.name:
            entry["user-context"] = {"name": self.name}
        return entry


@dataclass(slots=True, kw_only=True)
class KeaInstance:
    """A kea-dhcp4 + kea-ctrl-agent pair on loopback.

    ``workdir`` holds configs, logs, the pid/lock files and the password file; ``dhcp_port`` is the
    server port (``-p``), ``client_port`` the port replies go to (``-P``), ``ca_port`` the REST port.
    Ports default to fresh ones from ``free_port``.
    """

    workdir: Path
    subnets: Sequence[KeaSubnet]
    host: str = "127.0.0.1"
    dhcp_port: int = 0
    client_port: int = 0
    ca_port: int = 0
    user: str = "reconciler"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(16), repr=False)
    extra_dhcp4: dict[str, Any] = field(default_factory=dict)
    start_timeout: float = 10.0
    _procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict, init=False, repr=False)
    _sockdir: Path | None = field(default=None, init=False, repr=False)

    # --- paths and endpoints ------------------------------------------------------------------------

    @property
    def dhcp4_config(self) -> Path:
        """The kea-dhcp4 config file (``config-write`` without a filename writes here)."""
        return self.workdir / "kea-dhcp4.json"

    @property
    def ca_config(self) -> Path:
        return self.workdir / "kea-ctrl-agent.json"

    @property
    def control_socket(self) -> Path:
        """The kea-dhcp4 unix control socket (short path: sun_path is limited)."""
        base = self._sockdir or self.workdir
        return base / "kea4.sock"

    @property
    def password_file(self) -> Path:
        """File holding the control agent password (mode 0600); use as ``file:`` credential reference."""
        return self.workdir / "ca-password"

    @property
    def url(self) -> str:
        """The control agent REST endpoint."""
        return f"http://{self.host}:{self.ca_port}/"

    @property
    def server(self) -> tuple[str, int]:
        """Where DHCP clients/relays send packets: ``(host, dhcp_port)``."""
        return (self.host, self.dhcp_port)

    def log_path(self, daemon: str) -> Path:
        """Log of ``kea-dhcp4`` or ``kea-ctrl-agent``."""
        return self.workdir / f"{daemon}.log"

    # --- configs -------------------------------------------------------------------------------------

    def dhcp4_document(self) -> dict[str, Any]:
        """The full kea-dhcp4 configuration this instance starts with."""
        dhcp4: dict[str, Any] = {
            "interfaces-config": {"interfaces": ["lo"], "dhcp-socket-type": "udp"},
            "control-socket": {"socket-type": "unix", "socket-name": str(self.control_socket)},
            "lease-database": {"type": "memfile", "persist": False, "lfc-interval": 0},
            "valid-lifetime": 600,
            "option-def": [dict(OPTION150_DEF)],
            "subnet4": [s.to_kea() for s in self.subnets],
            "loggers": [{"name": "kea-dhcp4", "output_options": [{"output": "stdout"}], "severity": "INFO"}],
        }
        dhcp4.update(self.extra_dhcp4)
        return {"Dhcp4": dhcp4}

    def ca_document(self) -> dict[str, Any]:
        """The control agent configuration (basic auth, forwarding to the dhcp4 socket)."""
        return {
            "Control-agent": {
                "http-host": self.host,
                "http-port": self.ca_port,
                "authentication": {
                    "type": "basic",
                    "realm": "kea",
                    "clients": [{"user": self.user, "password": self.password}],
                },
                "control-sockets": {
                    "dhcp4": {"socket-type": "unix", "socket-name": str(self.control_socket)}
                },
                "loggers": [
                    {"name": "kea-ctrl-agent", "output_options": [{"output": "stdout"}], "severity": "INFO"}
                ],
            }
        }

    # --- lifecycle -----------------------------------------------------------------------------------

    def start(self) -> Self:
        """Write configs, start both daemons, wait until ready. Raises ``LabError`` (with a log tail).

        Idempotent: on a running instance it does nothing, so ``with KeaInstance(...).start() as kea``
        (where ``__enter__`` calls ``start`` again) cannot spawn a second, orphaned pair of daemons.
        """
        if self._procs:
            return self
        binaries = {name: which(name) or which(name, path="/usr/sbin:/sbin") for name in
                    ("kea-dhcp4", "kea-ctrl-agent")}  # fmt: skip
        missing = [n for n, p in binaries.items() if not p]
        if missing:
            raise LabError(
                f"{', '.join(missing)} not installed",
                hint="apt-get install -y --no-install-recommends kea-dhcp4-server kea-ctrl-agent",
            )
        self.workdir.mkdir(parents=True, exist_ok=True)
        if len(str(self.workdir / "kea4.sock")) > _SUN_PATH_MAX:
            self._sockdir = Path(tempfile.mkdtemp(prefix="kea-"))
        self.dhcp_port = self.dhcp_port or free_port(kind="udp", host=self.host)
        self.client_port = self.client_port or free_port(kind="udp", host=self.host)
        self.ca_port = self.ca_port or free_port(kind="tcp", host=self.host)
        self.dhcp4_config.write_text(json.dumps(self.dhcp4_document(), indent=2))
        fd = os.open(self.ca_config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(self.ca_document(), fh, indent=2)
        fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(self.password + "\n")
        env = dict(os.environ, KEA_PIDFILE_DIR=str(self.workdir), KEA_LOCKFILE_DIR=str(self.workdir))
        try:
            self._spawn(
                "kea-dhcp4",
                [str(binaries["kea-dhcp4"]), "-c", str(self.dhcp4_config),
                 "-p", str(self.dhcp_port), "-P", str(self.client_port)],
                env,
            )  # fmt: skip
            wait_for(self._socket_ready, timeout=self.start_timeout, what="the kea-dhcp4 control socket")
            self._spawn("kea-ctrl-agent", [str(binaries["kea-ctrl-agent"]), "-c", str(self.ca_config)], env)
            wait_for(self._agent_ready, timeout=self.start_timeout, what="kea-ctrl-agent to listen")
        except LabError as exc:
            tails = "; ".join(f"{n}: {self._tail(n)}" for n in self._procs)
            self.stop()
            raise LabError(f"Kea did not start: {exc} ({tails})", hint=f"logs in {self.workdir}") from exc
        return self

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        with open(self.log_path(name), "ab") as log:
            self._procs[name] = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
            )

    def _check_alive(self) -> None:
        for name, proc in self._procs.items():
            if proc.poll() is not None:
                raise LabError(f"{name} exited with status {proc.returncode}")

    def _socket_ready(self) -> bool:
        self._check_alive()
        if not self.control_socket.exists():
            return False
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            try:
                sock.connect(str(self.control_socket))
            except OSError:
                return False
        return True

    def _agent_ready(self) -> bool:
        self._check_alive()
        try:
            with socket.create_connection((self.host, self.ca_port), timeout=0.2):
                return True
        except OSError:
            return False

    def _tail(self, name: str, lines: int = 3) -> str:
        try:
            text = self.log_path(name).read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(text[-lines:]) or "(empty log)"

    def running(self) -> bool:
        """True while both daemons are alive."""
        return bool(self._procs) and all(p.poll() is None for p in self._procs.values())

    def pids(self) -> dict[str, int]:
        """Process ids by daemon name (for tests proving nothing is left behind)."""
        return {name: proc.pid for name, proc in self._procs.items()}

    def stop(self, *, timeout: float = 5.0) -> None:
        """SIGTERM both daemons (agent first), wait, SIGKILL only if one refuses; idempotent."""
        for name in ("kea-ctrl-agent", "kea-dhcp4"):
            proc = self._procs.pop(name, None)
            if proc is None:
                continue
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=timeout)
        if self._sockdir is not None:
            with contextlib.suppress(OSError):
                for child in self._sockdir.iterdir():
                    child.unlink()
                self._sockdir.rmdir()
            self._sockdir = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
