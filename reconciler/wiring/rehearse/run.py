"""Running a rehearsal: start the lab a snapshot describes, plan and apply against it, compare, stop.

``rehearse(...)`` is called by ``reconciler.commands.rehearse``. It reaches the lab only through the
``reconciler lab`` command (``lab up --detach --spec``, ``lab phones --json``, ``lab down``) and the
estate only through ``reconciler plan`` and ``reconciler apply`` — the same providers, the same
processes as a user's run — each as a child process in the rehearsal directory, so nothing here imports
the simulator. Progress goes through ``progress`` (one line per phase); the lab is stopped in every case
unless ``keep``.

A plan with errors (exit 1 with a plan file) is not applied: the result carries its forecast, its error
diagnostics and ``applied=False``. An apply that outlives ``apply_timeout`` seconds is stopped and the
outcome is what the lab shows then, with a note saying so: a rehearsal always ends and reports.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from reconciler.errors import LabError, PlanError

from .compare import WaveOutcome, compare
from .desired import rehearsal_data

__all__ = ["RehearsalResult", "free_prefix", "rehearse", "start_lab"]

COMMAND_TIMEOUT = 900.0
#: The default bound on the rehearsal's apply (seconds): every wave's gate plus the settle times of the
#: TVS restarts and replication checks it may wait out fit several times in it.
APPLY_TIMEOUT = 900.0


@dataclass(slots=True)
class RehearsalResult:
    prefix: str
    directory: Path
    plan_exit: int
    apply_exit: int
    waves: list[WaveOutcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    kept: bool = False
    applied: bool = False
    """Whether the plan was applied in the lab (False: the plan had errors, see ``errors``)."""
    errors: list[str] = field(default_factory=list)
    """The plan's error diagnostics (``rule: summary``) when it could not be applied."""

    @property
    def as_forecast(self) -> bool:
        return self.applied and bool(self.waves) and all(w.as_forecast for w in self.waves)

    def to_dict(self) -> dict[str, Any]:
        return {
            "prefix": self.prefix,
            "directory": str(self.directory),
            "plan_exit": self.plan_exit,
            "apply_exit": self.apply_exit,
            "applied": self.applied,
            "as_forecast": self.as_forecast,
            "errors": list(self.errors),
            "waves": [w.to_dict() for w in self.waves],
            "notes": list(self.notes),
            "lab_kept": self.kept,
        }


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def free_prefix() -> str:
    """A ``127.N`` prefix no lab listens on (its first node's HTTPS and its router's SSH are closed)."""
    for n in range(200, 255):
        if not _listening(f"127.{n}.10.1", 8443) and not _listening(f"127.{n}.30.254", 2222):
            return f"127.{n}"
    raise LabError("no free loopback prefix 127.200-254 for the rehearsal lab", hint="pass --prefix 127.N")


def _cli(args: list[str], *, cwd: Path, timeout: float = COMMAND_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """``reconciler ARGS`` in ``cwd``; past ``timeout`` the child is killed (``TimeoutExpired``)."""
    return subprocess.run(
        [sys.executable, "-m", "reconciler", *args],
        cwd=cwd,
        env=dict(os.environ, NO_COLOR="1"),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _text(value: str | bytes | None) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value or ""


def start_lab(*, spec: Mapping[str, Any], directory: Path, prefix: str, restart_seconds: float) -> Path:
    """Write ``spec`` as ``DIR/lab-spec.yaml`` and ``reconciler lab up --detach`` it in ``DIR/lab``."""
    directory.mkdir(parents=True, exist_ok=True)
    spec_file = directory / "lab-spec.yaml"
    spec_file.write_text(
        "# yaml-language-server: $schema=lab-spec.schema.json\n# written by reconciler rehearse\n"
        + yaml.safe_dump(dict(spec), sort_keys=False)
    )
    lab_dir = directory / "lab"
    args = ["lab", "up", "--detach", "--spec", str(spec_file), "--dir", str(lab_dir), "--prefix", prefix,
            "--restart-seconds", str(restart_seconds)]  # fmt: skip
    result = _cli(args, cwd=directory)
    if result.returncode != 0:
        raise LabError(f"the rehearsal lab did not start:\n{result.stdout}{result.stderr}".rstrip())
    return lab_dir


def stop_lab(lab_dir: Path) -> None:
    _cli(["lab", "down", "--dir", str(lab_dir)], cwd=lab_dir.parent)


def rehearse(
    *,
    spec: Mapping[str, Any],
    notes: list[str],
    desired_data: Mapping[str, Any],
    base_dir: Path,
    target: str,
    directory: Path,
    prefix: str | None,
    keep: bool,
    gate_deadline: str,
    restart_seconds: float,
    progress: Callable[[str], None],
    apply_timeout: float = APPLY_TIMEOUT,
) -> RehearsalResult:
    prefix = prefix or free_prefix()
    progress(f"starting the rehearsal lab at {prefix} in {directory}/lab ...")
    lab_dir = start_lab(spec=spec, directory=directory, prefix=prefix, restart_seconds=restart_seconds)
    result = RehearsalResult(prefix=prefix, directory=directory, plan_exit=-1, apply_exit=-1, notes=notes)
    try:
        inventory = yaml.safe_load((lab_dir / "inventory.yaml").read_text())
        data = rehearsal_data(data=desired_data, inventory=inventory, base_dir=base_dir,
                              gate_deadline=gate_deadline)  # fmt: skip
        (directory / "rehearsal.yaml").write_text(
            "# written by reconciler rehearse: your declarations, pointed at the rehearsal lab\n"
            + yaml.safe_dump(data, sort_keys=False)
        )
        state = ["--state-dir", str(directory / "state")]
        progress("plan ...")
        planned = _cli(["plan", "rehearsal.yaml", "-o", "plan.json", *state], cwd=directory)
        result.plan_exit = planned.returncode
        if not (directory / "plan.json").exists() or planned.returncode not in (0, 1, 2):
            raise PlanError(f"the rehearsal plan failed:\n{planned.stdout}{planned.stderr}".rstrip())
        plan = json.loads((directory / "plan.json").read_text())
        if planned.returncode == 1 or plan.get("errored"):
            diagnostics = plan.get("diagnostics", [])
            result.errors = [f"{d.get('rule') or 'error'}: {d['summary']}"
                             for d in diagnostics if d.get("severity") == "error"]  # fmt: skip
            result.notes.insert(0, "the rehearsal's plan has errors, so nothing was applied: the forecast "
                                "below is the plan's, without an outcome")  # fmt: skip
            result.waves = compare(plan=plan, phones=None, target=target)
            return result
        progress("apply (every wave, to its gate) ...")
        apply_args = ["apply", "plan.json", "--auto-approve", "--approve-one-way", *state]
        try:
            applied = _cli(apply_args, cwd=directory, timeout=apply_timeout)
            result.apply_exit = applied.returncode
            log = applied.stdout + applied.stderr
        except subprocess.TimeoutExpired as exc:
            log = _text(exc.stdout) + _text(exc.stderr)
            result.notes.insert(0, f"the apply did not finish within {apply_timeout:g} s and was stopped: "
                                "the outcome is the lab's phones at that moment (see apply.log and the "
                                "journal in the state directory)")  # fmt: skip
        result.applied = True
        (directory / "apply.log").write_text(log)
        phones = _cli(["lab", "phones", "--dir", str(lab_dir), "--json"], cwd=directory)
        if phones.returncode != 0:
            raise LabError(f"could not read the lab's phones:\n{phones.stdout}{phones.stderr}".rstrip())
        result.waves = compare(plan=plan, phones=json.loads(phones.stdout), target=target)
    finally:
        if keep:
            result.kept = True
        else:
            progress("stopping the rehearsal lab ...")
            stop_lab(lab_dir)
    return result
