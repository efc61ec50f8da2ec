"""A desired-state document for a running lab at any address prefix, derived from examples/lab.yaml.

Used by ``tests/e2e/test_lab_migration.py`` and ``scripts/demo``-style checks: the example is loaded as
YAML and only what differs between labs is changed — node/router/relay addresses moved from
``127.0.x.y`` to ``<prefix>.x.y`` (``reconciler lab up --prefix``), the lab's files referenced by
absolute path (credentials, CA, known_hosts), the gates' poll interval (``policy.gate_poll_interval``:
1s, as the lab's phones register within a second of a reset, where CUCM's default is 15s), shorter
backoffs between retries (``policy.retries``: 1s doubling to 2s instead of 2s to 60s; as many attempts,
so a test of an endpoint that stays down still sees every retry, without waiting a minute), and, when
asked, wave settings (every wave resets its phones — the lab has no natural reboots — and shorter gate
deadlines) and the RisPort70 allowance (the pacer still holds the gates' polls to it, R13).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

__all__ = ["EXAMPLE", "lab_data", "lab_document"]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "lab.yaml"
_LOOPBACK = re.compile(r"^127\.0\.(\d+)\.(\d+)$")


def _move(value: Any, prefix: str) -> Any:
    if isinstance(value, str):
        match = _LOOPBACK.match(value)
        return f"{prefix}.{match.group(1)}.{match.group(2)}" if match else value
    if isinstance(value, dict):
        return {k: _move(v, prefix) for k, v in value.items()}
    if isinstance(value, list):
        return [_move(v, prefix) for v in value]
    return value


def _paths(value: Any, lab_dir: Path) -> Any:
    marker = "../.reconciler/lab/"
    if isinstance(value, str) and marker in value:
        return value.replace(marker, f"{lab_dir}/")
    if isinstance(value, dict):
        return {k: _paths(v, lab_dir) for k, v in value.items()}
    if isinstance(value, list):
        return [_paths(v, lab_dir) for v in value]
    return value


def lab_document(
    *,
    lab_dir: Path,
    prefix: str = "127.0",
    reset_every_wave: bool = False,
    gate_deadline: str | None = None,
    ris_queries_per_minute: int | None = None,
    gate_poll_interval: str | None = "1s",
) -> str:
    """examples/lab.yaml for the lab in ``lab_dir`` listening at ``prefix`` (YAML text)."""
    doc = lab_data(
        lab_dir=lab_dir,
        prefix=prefix,
        reset_every_wave=reset_every_wave,
        gate_deadline=gate_deadline,
        ris_queries_per_minute=ris_queries_per_minute,
        gate_poll_interval=gate_poll_interval,
    )
    return yaml.safe_dump(doc, sort_keys=False)


def lab_data(
    *,
    lab_dir: Path,
    prefix: str = "127.0",
    reset_every_wave: bool = False,
    gate_deadline: str | None = None,
    ris_queries_per_minute: int | None = None,
    gate_poll_interval: str | None = "1s",
) -> dict[str, Any]:
    """The same document as ``lab_document``, as a dict for a test to change before dumping it."""
    doc = yaml.safe_load(EXAMPLE.read_text())
    doc = _paths(_move(doc, prefix), lab_dir.resolve())
    for wave in doc["migration"]["waves"]:
        if reset_every_wave:
            wave["reset"] = True
        if gate_deadline is not None:
            wave["gate"]["deadline"] = gate_deadline
    if ris_queries_per_minute is not None:
        doc["policy"]["ris_queries_per_minute"] = ris_queries_per_minute
    if gate_poll_interval is not None:
        doc["policy"]["gate_poll_interval"] = gate_poll_interval
    doc["policy"].setdefault("retries", {}).update(initial_backoff="1s", max_backoff="2s")
    return dict(doc)
