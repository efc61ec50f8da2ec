"""The import-linter contracts bite: a forbidden import added to any engine package turns the check red.

Copies the four packages and pyproject.toml into a temporary directory, runs ``lint-imports`` there once
as they are (green) and once with one forbidden import injected into a module of every layer, and checks
that each injected import is named as a broken contract.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("reconciler", "providers", "simulator", "schemas")

# (module file, forbidden import): one per package and layer of the engine.
INJECTIONS = (
    ("reconciler/config/explain.py", "providers.cucm_axl"),
    ("reconciler/live/refresh.py", "reconciler.plan.planner"),
    ("reconciler/plan/declared.py", "simulator.lab.runtime"),
    ("reconciler/apply/gate_specs.py", "reconciler.wiring.estate"),
    ("reconciler/state/journal.py", "reconciler.apply.executor"),
    ("reconciler/cucm/trust.py", "reconciler.plan.forecast"),
    ("reconciler/render/plan.py", "reconciler.commands.plan"),
    ("reconciler/errors.py", "reconciler.config.loader"),
    ("reconciler/certnames.py", "reconciler.cucm.certs"),
    ("providers/sftp.py", "reconciler.plan.planner"),
    ("simulator/model/phones.py", "providers.sftp"),
    ("simulator/model/truststore.py", "reconciler.cucm.certs"),
    ("schemas/cluster.py", "reconciler.errors"),
)


def _copy(tmp: Path) -> Path:
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, tmp / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp / "pyproject.toml")
    return tmp


def _lint(where: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(where)}
    code = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    return subprocess.run(
        [sys.executable, "-c", code, "--no-cache"],
        cwd=where,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_every_forbidden_import_turns_the_check_red(tmp_path: Path) -> None:
    work = _copy(tmp_path)
    clean = _lint(work)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    for path, module in INJECTIONS:
        target = work / path
        target.write_text(target.read_text() + f"\nimport {module}  # injected by the layering probe\n")
    broken = _lint(work)
    assert broken.returncode != 0
    report = broken.stdout
    for path, module in INJECTIONS:
        importer = path.removesuffix(".py").replace("/", ".")
        assert f"{importer} -> {module}" in report, f"{importer} -> {module} not reported:\n{report}"
