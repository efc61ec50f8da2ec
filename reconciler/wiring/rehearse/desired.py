"""The desired state of a rehearsal: the user's declarations, pointed at the rehearsal lab.

``rehearsal_data(data=, inventory=, base_dir=, gate_deadline=)`` takes the user's desired-state YAML as
plain data and the lab's inventory (``DIR/inventory.yaml``) and returns the same document with every
endpoint and credential replaced by the lab's: node hosts and ports, the lab CA and known_hosts, the
lab's credential files (``file:`` references, never values), the IOS router (Kea servers become the
lab's router, see ``labspec``), scope relays. Every other declaration (trust, parameters, scopes,
waves, policy) is kept; relative file paths the user wrote (PEM files, WSDLs) are made absolute so the
document works from the rehearsal directory. Waves are made to run to the end so each one's outcome
is measured: ``reset: true`` (the lab's phones never reboot alone), ``on_failure: continue``,
``max_stranded_share: 1`` (the plan's verdict on the user's file is reported from the forecast), and
``gate.deadline`` = ``gate_deadline``. Called by ``reconciler.commands.rehearse``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reconciler.errors import PlanError

__all__ = ["rehearsal_data"]

_PATH_KEYS = frozenset({"pem", "ca_bundle", "known_hosts", "axl_wsdl", "file", "path"})


def _cred(entry: Mapping[str, Any]) -> dict[str, str]:
    return {"username": str(entry["username"]), "password": f"file:{entry['password_file']}"}


def _absolute(value: Any, base_dir: Path) -> Any:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in _PATH_KEYS and isinstance(v, str) and not Path(v).is_absolute():
                out[k] = str((base_dir / v).resolve())
            elif isinstance(v, str) and v.startswith("file:") and not Path(v[5:]).is_absolute():
                out[k] = f"file:{(base_dir / v[5:]).resolve()}"
            else:
                out[k] = _absolute(v, base_dir)
        return out
    if isinstance(value, list):
        return [_absolute(v, base_dir) for v in value]
    return value


def rehearsal_data(
    *,
    data: Mapping[str, Any],
    inventory: Mapping[str, Any],
    base_dir: Path,
    gate_deadline: str,
) -> dict[str, Any]:
    """The rehearsal's desired-state document (see the module docstring)."""
    doc: dict[str, Any] = _absolute(copy.deepcopy(dict(data)), base_dir)
    ports = inventory["ports"]
    for cluster in doc.get("clusters", []):
        lab = inventory["clusters"].get(cluster["name"])
        if lab is None:
            raise PlanError(f"the rehearsal lab has no cluster {cluster['name']!r}")
        cluster["ports"] = {"https": ports["https"], "tftp_http": ports["tftp_http"], "ssh": ports["ssh"]}
        cluster["credentials"] = {
            "axl": _cred(lab["credentials"]["axl"]),
            "os": _cred(lab["credentials"]["os"]),
        }
        cluster["tls"] = {"ca_bundle": inventory["ca_bundle"]}
        cluster["ssh"] = {"known_hosts": inventory["known_hosts"]}
        for node in cluster.get("nodes", []):
            if node["name"] not in lab["nodes"]:
                raise PlanError(f"the rehearsal lab has no node {node['name']!r} in {cluster['name']!r}")
            node["host"] = lab["nodes"][node["name"]]["host"]
    router = next((s for s in inventory["dhcp"]["servers"] if s["kind"] == "ios"), None)
    dhcp = doc.get("dhcp") or {}
    for i, server in enumerate(dhcp.get("servers", [])):
        if server.get("kind") in ("ios", "kea"):
            if router is None:
                raise PlanError("the rehearsal lab has no IOS router")
            dhcp["servers"][i] = {
                "name": server["name"],
                "kind": "ios",
                "host": router["host"],
                "port": router["port"],
                "credentials": _cred(router),
                "known_hosts": inventory["known_hosts"],
            }
    relays = {s["name"]: s.get("relay") for s in inventory["dhcp"]["scopes"]}
    for scope in dhcp.get("scopes", []):
        if relays.get(scope["name"]):
            scope["relay"] = relays[scope["name"]]
        if not scope.get("pool") and any(
            s["name"] == scope["server"] and s["kind"] == "ios" for s in dhcp.get("servers", [])
        ):
            scope["pool"] = f"POOL-{scope['name']}"
    for wave in (doc.get("migration") or {}).get("waves", []):
        wave["reset"] = True
        wave["on_failure"] = "continue"
        wave["max_stranded_share"] = 1.0
        wave.setdefault("gate", {})["deadline"] = gate_deadline
    return doc
