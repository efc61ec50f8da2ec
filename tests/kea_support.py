"""Test helpers for the Kea backend (integration and contract tests): a real Kea on loopback with relays in
127.0.31.x, a recording transport adapter that logs every control-agent command (the "operation log"
proving read/diff make no mutating call) and can tamper with one command on the wire."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from providers.dhcp.kea import KeaDhcpBackend, KeaProbe
from providers.transports.http import make_session
from simulator.kea import KeaInstance, KeaSubnet

MUTATING = frozenset({"config-set", "config-write", "config-reload", "shutdown"})
TFTP_OLD = (IPv4Address("10.30.0.11"), IPv4Address("10.30.0.12"))
TFTP_NEW = (IPv4Address("10.40.0.21"), IPv4Address("10.40.0.22"))


def default_subnets() -> list[KeaSubnet]:
    """Two scopes behind two relays; scope-a announces the old cluster's TFTP servers."""
    return [
        KeaSubnet(id=1, name="scope-a", subnet=IPv4Network("192.0.2.0/24"), relay=IPv4Address("127.0.31.2"),
                  option150=TFTP_OLD),
        KeaSubnet(id=2, name="scope-b", subnet=IPv4Network("198.51.100.0/24"),
                  relay=IPv4Address("127.0.31.3"), option150=TFTP_OLD[:1]),
    ]  # fmt: skip


class RecordingAdapter(HTTPAdapter):
    """Records the command of every request; ``tamper[command]`` rewrites the first such request body."""

    def __init__(self) -> None:
        super().__init__()
        self.commands: list[str] = []
        self.tamper: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        body = json.loads(request.body or b"{}")
        command = str(body.get("command"))
        self.commands.append(command)
        change = self.tamper.pop(command, None)
        if change is not None:
            request.prepare_body(data=None, files=None, json=change(body))
        return super().send(request, **kwargs)

    def mutations(self) -> list[str]:
        return [c for c in self.commands if c in MUTATING]


@contextmanager
def running_kea(
    workdir: Path, subnets: list[KeaSubnet] | None = None, **kwargs: Any
) -> Iterator[KeaInstance]:
    with KeaInstance(workdir=workdir, subnets=subnets or default_subnets(), **kwargs) as kea:
        yield kea


def backend_for(kea: KeaInstance, *, password: str | None = None, probe: bool = True,
                name: str = "kea1") -> tuple[KeaDhcpBackend, RecordingAdapter]:  # fmt: skip
    """A backend wired as reconciler.cli will: make_session + password from the credentials file."""
    secret = password if password is not None else kea.password_file.read_text().strip()
    session = make_session(endpoint=f"{name} ({kea.url})", auth=(kea.user, secret), timeout=(2.0, 10.0))
    adapter = RecordingAdapter()
    session.mount("http://", adapter)
    backend = KeaDhcpBackend(
        name=name,
        url=kea.url,
        session=session,
        probe=KeaProbe(server=kea.server, client_port=kea.client_port, timeout=1.0) if probe else None,
    )
    return backend, adapter
