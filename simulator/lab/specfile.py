"""``reconciler lab up --spec FILE``: a small YAML file choosing the lab's shape, defects and faults.

::

    base: default            # default (docs/lab.md, ~300 phones) | largest (80,000 phones)
    phones_per_scope: 100    # default only
    phones: 80000            # largest only
    scopes: 1000             # largest only
    restart_duration: 10     # seconds a service restart takes (Stopping half, Starting half)
    replication_lag: {old: 5}                     # seconds, per cluster
    versions: {new: "12.0.1.10000-10"}            # a cluster's CUCM version (e.g. 12.0-12.4: R6 per node)
    defects:
      stale_itl_scopes: [scope-b]                 # R1
      failing_services:                           # every later start of that service fails
        - {cluster: old, node: cucm-old-sub1, service: Cisco Trust Verification Service}
      node_lag: [{cluster: old, node: cucm-old-sub2, seconds: 120}]   # R7
    faults:                                       # applied once the faces listen (as ``lab fault``)
      - {kind: latency, node: cucm-old-pub, face: https, seconds: 0.2}
      - {kind: ris-exhausted, cluster: new}

Unknown keys are errors (``LabError``), so typos do not silently give the default lab. Called by
``simulator.lab.runtime`` and ``reconciler.commands.lab``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from reconciler.errors import LabError
from schemas.version import CucmVersion
from simulator.lab.faults import Fault
from simulator.spec import LabDefects, LabSpec, default_lab, largest_estate

__all__ = ["LabFile", "load_lab_file"]

_KEYS = {"base", "phones_per_scope", "phones", "scopes", "restart_duration", "replication_lag", "defects",
         "faults", "versions"}  # fmt: skip
_DEFECT_KEYS = {"stale_itl_scopes", "failing_services", "node_lag"}


@dataclass(frozen=True, slots=True, kw_only=True)
class LabFile:
    spec: LabSpec
    faults: tuple[Fault, ...] = ()


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise LabError(f"{what} must be a mapping")
    return value


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise LabError(f"{what} must be a list")
    return value


def parse_lab_file(doc: Any, *, source: str = "lab spec") -> LabFile:
    data = _mapping(doc, source)
    unknown = set(data) - _KEYS
    if unknown:
        raise LabError(
            f"{source}: unknown key(s) {', '.join(sorted(unknown))}", hint=f"known: {sorted(_KEYS)}"
        )
    base = str(data.get("base", "default"))
    if base == "default":
        spec = default_lab(phones_per_scope=int(data.get("phones_per_scope", 100)))
    elif base == "largest":
        spec = largest_estate(phones=int(data.get("phones", 80_000)), scopes=int(data.get("scopes", 1_000)))
    else:
        raise LabError(f"{source}: base must be 'default' or 'largest', not {base!r}")
    clusters = []
    lags = _mapping(data.get("replication_lag"), "replication_lag")
    versions = _mapping(data.get("versions"), "versions")
    strangers = sorted(set(versions) - {c.name for c in spec.clusters})
    if strangers:
        raise LabError(f"{source}: versions names unknown cluster(s) {', '.join(strangers)}")
    for cluster in spec.clusters:
        changed = cluster
        if "restart_duration" in data:
            changed = replace(changed, restart_duration=float(data["restart_duration"]))
        if cluster.name in versions:
            try:
                CucmVersion(str(versions[cluster.name]))
            except ValueError as exc:
                raise LabError(f"{source}: versions.{cluster.name}: {exc}") from exc
            changed = replace(changed, version=str(versions[cluster.name]))
        if cluster.name in lags:
            changed = replace(changed, replication_lag=float(lags[cluster.name]))
        clusters.append(changed)
    defects_doc = _mapping(data.get("defects"), "defects")
    if set(defects_doc) - _DEFECT_KEYS:
        raise LabError(f"{source}: unknown defect(s) {', '.join(sorted(set(defects_doc) - _DEFECT_KEYS))}")
    try:
        failing = tuple(
            (str(f["cluster"]), str(f["node"]), str(f["service"]))
            for f in _list(defects_doc.get("failing_services"), "defects.failing_services")
        )
        node_lag = {
            (str(f["cluster"]), str(f["node"])): float(f["seconds"])
            for f in _list(defects_doc.get("node_lag"), "defects.node_lag")
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise LabError(f"{source}: malformed defect entry ({exc})") from exc
    defects = LabDefects(
        stale_itl_scopes=tuple(
            str(s) for s in _list(defects_doc.get("stale_itl_scopes"), "stale_itl_scopes")
        ),
        failing_services=failing,
        node_lag=node_lag,
    )
    faults = tuple(Fault.from_mapping(_mapping(f, "faults[]")) for f in _list(data.get("faults"), "faults"))
    return LabFile(spec=replace(spec, clusters=tuple(clusters), defects=defects), faults=faults)


def load_lab_file(path: Path) -> LabFile:
    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise LabError(f"cannot read lab spec {path}: {exc}") from exc
    return parse_lab_file(doc, source=str(path))
