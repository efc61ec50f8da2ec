"""The lab directory (lab.md): its layout, private files, and ``inventory.yaml`` — what a running lab
tells its clients (the planner/providers, ``reconciler lab ...`` and tests).

Layout of ``DIR`` (default ``.reconciler/lab``)::

    inventory.yaml   every face of every node (address, port, URL), credential files, CA, known_hosts, DHCP
    ca.pem           the lab CA (issuer of every node's tomcat certificate)
    known_hosts      every SSH face's host key, port-qualified ("[127.0.10.1]:2222 ecdsa-sha2-nistp256 ...")
    credentials/     mode 0700; files 0600: <cluster>-axl.password, <cluster>-os.password, ios.password,
                     sftp.password, control.password (kea.password with --with-kea)
    lab.pid, lab.log, ready   written by ``reconciler lab up`` (``--detach``: pid and log of the background
                     process; ``ready`` once every face listens)
    sftp/            the SFTP server's root (bulk certificate method);  kea/  Kea's configs and logs

Only stdlib and PyYAML here, so ``reconciler lab status|down|phones`` stay light. Called by
``simulator.lab.runtime`` (writes) and ``reconciler.commands.lab`` (reads).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from reconciler.errors import LabError

__all__ = [
    "INVENTORY_VERSION",
    "LabPaths",
    "Ports",
    "build_inventory",
    "node_entry",
    "read_inventory",
    "write_inventory",
    "write_private",
    "write_public",
]

INVENTORY_VERSION = 1


@dataclass(frozen=True, slots=True)
class LabPaths:
    """Every path of one lab directory (absolute)."""

    root: Path

    @classmethod
    def at(cls, directory: str | os.PathLike[str]) -> LabPaths:
        return cls(Path(directory).expanduser().resolve())

    @property
    def inventory(self) -> Path:
        return self.root / "inventory.yaml"

    @property
    def ca(self) -> Path:
        return self.root / "ca.pem"

    @property
    def known_hosts(self) -> Path:
        return self.root / "known_hosts"

    @property
    def credentials(self) -> Path:
        return self.root / "credentials"

    def credential(self, name: str) -> Path:
        """``credentials/<name>.password`` (e.g. ``old-axl``, ``ios``, ``control``)."""
        return self.credentials / f"{name}.password"

    @property
    def pid(self) -> Path:
        return self.root / "lab.pid"

    @property
    def log(self) -> Path:
        return self.root / "lab.log"

    @property
    def ready(self) -> Path:
        return self.root / "ready"

    @property
    def sftp_root(self) -> Path:
        return self.root / "sftp"

    @property
    def kea(self) -> Path:
        return self.root / "kea"

    def prepare(self) -> None:
        """Create the directory, ``credentials/`` (0700) and ``sftp/``; remove a stale ``ready`` file."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.credentials.mkdir(mode=0o700, exist_ok=True)
        os.chmod(self.credentials, 0o700)
        self.sftp_root.mkdir(exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.ready.unlink()


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to a file created with mode 0600 (replacing any older file atomically)."""
    tmp = path.with_name(f".{path.name}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


def write_public(path: Path, text: str) -> None:
    """Write a non-secret file atomically (readers never see half a file)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def read_inventory(paths: LabPaths) -> dict[str, Any]:
    """The inventory of the lab in ``paths``; ``LabError`` when there is none (lab not up)."""
    try:
        doc = yaml.safe_load(paths.inventory.read_text())
    except FileNotFoundError as exc:
        raise LabError(
            f"no lab inventory at {paths.inventory}", hint="start one with 'reconciler lab up --detach'"
        ) from exc
    except (OSError, yaml.YAMLError) as exc:
        raise LabError(f"cannot read {paths.inventory}: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("version") != INVENTORY_VERSION:
        raise LabError(f"{paths.inventory} is not a version {INVENTORY_VERSION} lab inventory")
    return doc


def _cred(paths: LabPaths, user: str, name: str) -> dict[str, str]:
    return {"username": user, "password_file": str(paths.credential(name))}


def node_entry(
    *, host: str, publisher: bool, services: list[str], version: str, ports: Ports
) -> dict[str, Any]:
    """One node of the inventory: its faces (host/port) and the URLs of its HTTP services."""
    base = f"https://{host}:{ports.https}"
    urls = {
        "axl": f"{base}/axl/",
        "controlcenter": f"{base}/controlcenterservice2/services/ControlCenterServices",
        "risport": f"{base}/realtimeservice2/services/RISService70",
    }
    if int(version.split(".", maxsplit=1)[0]) >= 14:
        urls["certmgr"] = f"{base}/platformcom/api/v1/certmgr/"
    tftp = "Cisco Tftp" in services
    if tftp:
        urls["tftp"] = f"http://{host}:{ports.tftp_http}/"
    return {
        "host": host,
        "publisher": publisher,
        "services": services,
        "https": {"host": host, "port": ports.https},
        "tftp_http": {"host": host, "port": ports.tftp_http} if tftp else None,
        "ssh": {"host": host, "port": ports.ssh},
        "urls": urls,
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class Ports:
    https: int
    tftp_http: int
    ssh: int


def build_inventory(
    *,
    paths: LabPaths,
    lab_name: str,
    prefix: str,
    ports: Ports,
    clusters: list[dict[str, Any]],
    dhcp_servers: list[dict[str, Any]],
    scopes: list[dict[str, Any]],
    sftp_host: str,
    control_url: str,
    phones: int,
    users: Mapping[str, str],
) -> dict[str, Any]:
    """The inventory document. ``clusters`` entries: name, role, version, mixed_mode, publisher,
    cm_groups, nodes (name -> ``node_entry``); ``dhcp_servers``: name, kind and kind-specific keys (ios:
    host, port; cucm: cluster, node; kea: server, client_port, control_agent url)."""
    servers = []
    for server in dhcp_servers:
        entry = dict(server)
        if entry["kind"] == "ios":
            entry.update(_cred(paths, users["ios"], "ios"))
        elif entry["kind"] == "kea":
            entry["control_agent"] = {**entry["control_agent"], **_cred(paths, "reconciler", "kea")}
        servers.append(entry)
    return {
        "version": INVENTORY_VERSION,
        "lab": lab_name,
        "pid": os.getpid(),
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "directory": str(paths.root),
        "prefix": prefix,
        "ca_bundle": str(paths.ca),
        "known_hosts": str(paths.known_hosts),
        "ports": {"https": ports.https, "tftp_http": ports.tftp_http, "ssh": ports.ssh},
        "control": {"url": control_url, **_cred(paths, users["control"], "control")},
        "clusters": {
            c["name"]: {
                "role": c["role"],
                "version": c["version"],
                "mixed_mode": c["mixed_mode"],
                "publisher": c["publisher"],
                "credentials": {
                    "axl": _cred(paths, users["axl"], f"{c['name']}-axl"),
                    "os": _cred(paths, users["os"], f"{c['name']}-os"),
                },
                "cm_groups": c["cm_groups"],
                "nodes": c["nodes"],
            }
            for c in clusters
        },
        "dhcp": {"servers": servers, "scopes": scopes},
        "sftp": {
            "host": sftp_host,
            "port": ports.ssh,
            "directory": "/",
            "root": str(paths.sftp_root),
            **_cred(paths, users["sftp"], "sftp"),
        },
        "phones": phones,
    }


def write_inventory(paths: LabPaths, doc: Mapping[str, Any]) -> None:
    write_public(paths.inventory, yaml.safe_dump(dict(doc), sort_keys=False, width=120))
