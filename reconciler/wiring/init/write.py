"""``reconciler init``'s output: a commented desired-state YAML from a seed and what was discovered.

Called by ``reconciler.wiring.init.init_document``. Pure text building (no I/O): the seed's connection
settings (ports, credentials, TLS, SSH, DHCP servers) are copied as written, with relative paths and
``file:`` references re-based from the seed's directory to the output's, so credentials stay
references; everything else comes from the ``Discovery``. What the schema has no place for (CallManager
groups, device pools, today's option 150, where a node's address came from) is written as comments.
The migration it declares is the procedure's default: the target's TFTP nodes' CallManager
certificates (and its ITLRecovery for a 12.0+ target, R6) into the source's CallManager-trust and
Phone-SAST-trust (R4, R5), the rollback parameter False on both (R2), option 150 of every scope to the
target's TFTP nodes (R12), one wave per scope with a registration gate (R13).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import yaml

from reconciler.wiring.init.discover import ClusterFound, Discovery, Seed

__all__ = ["render_document"]

_PATH_KEYS = frozenset({"ca_bundle", "known_hosts", "axl_wsdl"})
_CONNECTION_KEYS = (
    "ports",
    "certificate_api",
    "certmgr_service_name",
    "credentials",
    "tls",
    "ssh",
    "axl_wsdl",
)


def _rebase(value: Any, *, seed_dir: Path, out_dir: Path, key: str | None = None) -> Any:
    """``value`` with relative paths (path keys, ``file:`` references) rewritten for ``out_dir``."""
    if isinstance(value, dict):
        return {k: _rebase(v, seed_dir=seed_dir, out_dir=out_dir, key=k) for k, v in value.items()}
    if isinstance(value, list):
        return [_rebase(v, seed_dir=seed_dir, out_dir=out_dir) for v in value]
    if isinstance(value, str):
        if value.startswith("file:") and not Path(value[5:]).is_absolute():
            return "file:" + os.path.relpath(seed_dir / value[5:], out_dir)
        if key in _PATH_KEYS and not Path(value).is_absolute():
            return os.path.relpath(seed_dir / value, out_dir)
    return value


def _flow(value: Any) -> str:
    """One value in YAML flow style on one line."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000, sort_keys=False).strip()
    return text.removesuffix("...").strip()  # a lone scalar ends with the document-end marker


def _cluster_lines(found: ClusterFound, seed_entry: dict[str, Any]) -> list[str]:
    role_note = "phones move away from here" if found.role == "source" else "phones move here"
    lines = [
        f"  - name: {found.name}",
        f"    role: {found.role}                      # {role_note}",
        f"    version: {json.dumps(found.version)}   # getCCMVersion on the publisher",
    ]
    for key in _CONNECTION_KEYS:
        if key not in seed_entry:
            continue
        value = seed_entry[key]
        if isinstance(value, dict) and any(isinstance(v, dict) for v in value.values()):
            lines.append(f"    {key}:")
            lines += [f"      {k}: {_flow(v)}" for k, v in value.items()]
        else:
            lines.append(f"    {key}: {_flow(value)}")
    lines.append("    nodes:")
    for node in found.nodes:
        lines.append(f"      - name: {node.name}")
        lines.append(f"        host: {node.host}              # from {node.host_from}")
        if node.publisher:
            lines.append("        publisher: true")
        lines.append(f"        services: {_flow([str(s) for s in node.services])}")
    if found.cm_groups:
        lines.append("    # CallManager groups (a phone's TVS servers are its group's nodes, in order):")
        lines += [
            f"    #   {name}: {', '.join(members) or '(no members)'}"
            for name, members in found.cm_groups.items()
        ]
    if found.device_pools:
        lines.append("    # device pools -> CallManager group:")
        lines += [
            f"    #   {pool} -> {group or '(none)'}" for pool, group in sorted(found.device_pools.items())
        ]
    return lines


def _major(version: str) -> tuple[int, int]:
    parts = version.split(".")
    return int(parts[0]), int(parts[1]) if len(parts) > 1 else 0


def render_document(seed: Seed, found: Discovery, *, out: Path) -> str:
    """The desired-state YAML text for ``out`` (see the module docstring)."""
    seed_dir, out_dir = seed.path.resolve().parent, out.resolve().parent
    raw = _rebase(seed.raw, seed_dir=seed_dir, out_dir=out_dir)
    entries = {str(e.get("name")): e for e in raw["clusters"]}
    source = next(c for c in found.clusters if c.role == "source")
    target = next(c for c in found.clusters if c.role == "target")
    lines = [
        f"# Written by `reconciler init {seed.path.name}` on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        "# from what the clusters and DHCP servers answered (nothing was changed). Review it: the trust,",
        "# the parameters and the waves below are the procedure's defaults for moving phones from",
        f"# {source.name} to {target.name}. Credentials are references only.",
        "version: 1",
        "",
        "clusters:",
    ]
    for cluster in found.clusters:
        lines += _cluster_lines(cluster, entries.get(cluster.name, {}))
    itlrecovery = _major(target.version) >= (12, 0)
    lines += [
        "",
        f"# What {source.name}'s TVS must know so that phones accept {target.name}'s files.",
        "trust:",
    ]
    for store, why in (("CallManager-trust", "R4"), ("Phone-SAST-trust", "R5: SAST vouches for the CTL")):
        lines += [
            f"  - cluster: {source.name}",
            f"    store: {store}                # {why}",
            "    mode: merge                       # only ensure presence; never remove what we do not own",
            "    certificates:",
            "      - identity: callmanager         # every TFTP node of the target (R4): "
            + ", ".join(target.tftp_nodes),
            f"        cluster: {target.name}",
            "        nodes: {role: tftp}",
        ]
        if itlrecovery:
            lines += [
                f"      - identity: itlrecovery         # R6: {target.name} is {target.version} (12.0+)",
                f"        cluster: {target.name}",
            ]
    lines += [
        "",
        "parameters:",
        f"  {source.name}:",
        "    prepare_cluster_for_rollback: false   # R2: True would blank the ITL",
        f"  {target.name}:",
        "    prepare_cluster_for_rollback: false",
        "",
        "dhcp:",
        f"  servers: {_flow((raw.get('dhcp') or {}).get('servers') or [])}",
        "  scopes:",
    ]
    tftp_of = {h: c.name for c in found.clusters for h in c.tftp_hosts()}
    for scope in found.scopes:
        today = " ".join(scope.option150) or "unset"
        whose = sorted({tftp_of.get(a, "?") for a in scope.option150})
        lines += [
            f"    - name: {scope.name}",
            f"      server: {scope.server}",
            f"      subnet: {scope.subnet}",
            *([f"      pool: {scope.pool}"] if scope.pool else []),
            *([f"      relay: {scope.relay}"] if scope.relay else []),
            f"      option150: {{tftp_nodes_of: {target.name}}}   # today: {today}"
            + (f" ({', '.join(whose)} TFTP)" if scope.option150 else ""),
        ]
    if not found.scopes:
        lines[-1] = "  scopes: []                          # no scope found on the servers given"
    lines += [
        "",
        "migration:",
        f"  source: {source.name}",
        f"  target: {target.name}",
        "  method: manual                      # upload certificates, restart TVS (R4-R8)",
        "  allow_rollback: false               # no reverse trust declared (R11)",
        "  waves:                              # one scope per wave; make the first one small",
    ]
    for n, names in enumerate([[s.name] for s in found.scopes] or [[]], 1):
        lines += [
            f"    - name: wave-{n}",
            f"      scopes: {_flow(names)}",
            "      reset: true",
            "      gate: {min_registered_share: 0.95, deadline: 10m}   # R13",
        ]
    allowance = min((c.ris_allowance for c in found.clusters if c.ris_allowance), default=None)
    lines += ["", "policy:"]
    if allowance is not None:
        per_minute = max(1, min(allowance, 60))
        lines.append(
            f"  ris_queries_per_minute: {per_minute}   # the smaller cluster allowance ({allowance}/min)"
        )
    else:
        lines.append("  ris_queries_per_minute: 15          # the allowance was not readable: CUCM's default")
    return "\n".join(lines) + "\n"
