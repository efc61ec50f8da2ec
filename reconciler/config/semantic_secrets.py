"""Semantic checks about credential files and trust material: who may read them, where they live.

A check function over a ``reconciler.config.semantic_report.Report``, called by
``reconciler.config.semantic.check`` (so by ``validate`` and, before any connection, by ``plan``,
``drift`` and ``apply``). Nothing here reads a secret: a credential file is only ``stat``-ed.

* A ``file:`` credential readable by group or others is a warning (``chmod 600``), like ssh does for
  private keys.
* A *relative* ``file:`` reference must stay inside the repository that holds the YAML file (the
  nearest ancestor directory with a ``.git``; without one, the YAML file's own directory), so
  ``file:../../../etc/shadow`` is an error while ``examples/lab.yaml``'s
  ``file:../.reconciler/lab/...`` is fine. A file elsewhere must be written as an absolute path, so
  that reaching outside the project is visible in review (docs/architecture.md, "Credentials").
* A credential file that is not a regular file (``/dev/zero``, a FIFO, a directory) is an error.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel

from reconciler.config.semantic_report import Report
from reconciler.config.yamlsource import DataPath
from reconciler.diagnostics import Severity
from schemas.document import DesiredState
from schemas.secret import SecretRef, SecretScheme

__all__ = ["check_credentials", "project_root", "secret_refs"]


def secret_refs(value: object, path: DataPath = ()) -> Iterator[tuple[DataPath, SecretRef]]:
    """Every ``SecretRef`` in a model tree, with its data path (field names are the YAML keys)."""
    if isinstance(value, SecretRef):
        yield path, value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from secret_refs(getattr(value, name), (*path, name))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from secret_refs(item, (*path, index))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from secret_refs(item, (*path, str(key)))


def project_root(yaml_dir: Path) -> Path:
    """The nearest ancestor of ``yaml_dir`` (itself included) holding ``.git``; else ``yaml_dir``."""
    for candidate in (yaml_dir, *yaml_dir.parents):
        if (candidate / ".git").exists():
            return candidate
    return yaml_dir


def check_credentials(report: Report, desired: DesiredState) -> None:
    """Warnings and errors about ``file:`` credentials (see the module docstring)."""
    root = project_root(Path(os.path.abspath(report.source.file)).parent)
    seen: set[str] = set()

    def add(path: DataPath, severity: Severity, summary: str, fix: str) -> None:
        report.add(path, summary, rule="secret", severity=severity, fix=fix)

    for path, ref in secret_refs(desired):
        if ref.scheme is not SecretScheme.FILE:
            continue
        written = ref.reference.partition(":")[2]
        target = Path(ref.target)
        if not Path(written).expanduser().is_absolute() and not target.is_relative_to(root):
            add(
                path,
                Severity.ERROR,
                f"credential file '{written}' leaves {root} (the YAML's repository or directory); "
                f"it is {target}",
                "keep credential files in the repository, or write the absolute path if you mean it",
            )
            continue
        if ref.target in seen:
            continue
        seen.add(ref.target)
        try:
            info = os.stat(target)
        except OSError:
            continue  # not written yet: plan and apply report it when they need the value
        if not stat.S_ISREG(info.st_mode):
            add(path, Severity.ERROR, f"credential file {target} is not a regular file", "point at a file")
        elif info.st_mode & 0o077:
            who = (
                "group and others"
                if info.st_mode & 0o070 and info.st_mode & 0o007
                else ("its group" if info.st_mode & 0o070 else "others")
            )
            add(
                path,
                Severity.WARNING,
                f"credential file {target} is readable by {who} (mode {stat.S_IMODE(info.st_mode):04o})",
                f"chmod 600 {target}",
            )
