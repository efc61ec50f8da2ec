"""A small valid desired state as YAML text, and helpers to locate text in it, for loader, semantic
and CLI tests. Tests derive a broken variant by replacing one snippet and find the expected
``LINE:COL`` by searching the text, so positions are computed, not hard-coded."""

from __future__ import annotations

from pathlib import Path

from reconciler.config.loader import LoadResult, load_text

__all__ = ["VALID", "line_col", "load_yaml", "write"]

VALID = """\
version: 1
clusters:
  - name: old
    role: source
    version: "11.5.1.21900-40"
    credentials:
      axl: {username: axladmin, password: "env:OLD_AXL"}
      os: {username: admin, password: "env:OLD_OS"}
    nodes:
      - name: old-pub
        host: 127.0.10.1
        publisher: true
        services: [callmanager, tftp, tvs]
      - name: old-sub
        host: 127.0.10.2
        services: [callmanager, tvs]
  - name: new
    role: target
    version: "14.0.1.11900-132"
    credentials:
      axl: {username: axladmin, password: "env:NEW_AXL"}
      os: {username: admin, password: "env:NEW_OS"}
    nodes:
      - name: new-pub
        host: 127.0.20.1
        publisher: true
        services: [callmanager, tftp, tvs]
      - name: new-sub
        host: 127.0.20.2
        services: [callmanager, tftp, tvs]
trust:
  - cluster: old
    store: Phone-SAST-trust
    certificates:
      - identity: callmanager
        cluster: new
        nodes: {role: tftp}
parameters:
  old:
    prepare_cluster_for_rollback: false
dhcp:
  servers:
    - name: router
      kind: ios
      host: 127.0.30.254
      credentials: {username: netops, password: "env:IOS"}
    - name: cucm-dhcp
      kind: cucm
      cluster: old
      node: old-pub
  scopes:
    - name: scope-a
      server: router
      subnet: 192.0.2.0/24
      pool: PHONES-A
      option150: {tftp_nodes_of: new}
    - name: scope-b
      server: cucm-dhcp
      subnet: 198.51.100.0/24
      option150: [127.0.20.1]
migration:
  source: old
  target: new
  waves:
    - name: w1
      scopes: [scope-a]
      gate: {min_registered_share: 0.9, deadline: 10m}
    - name: w2
      scopes: [scope-b]
      reset: false
      gate: {min_registered_share: 0.9, deadline: 1h}
"""


def line_col(text: str, needle: str, *, occurrence: int = 1) -> tuple[int, int]:
    """1-based line and column of the ``occurrence``-th ``needle`` in ``text``."""
    index = -1
    for _ in range(occurrence):
        index = text.index(needle, index + 1)
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column


def load_yaml(text: str, *, base_dir: Path | None = None, file: str = "test.yaml") -> LoadResult:
    return load_text(text, file=file, base_dir=base_dir or Path.cwd())


def write(tmp_path: Path, text: str, name: str = "desired.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path
