"""Running a lab for an e2e test: ``reconciler lab up --detach`` in a temp dir on an address prefix leased
from the ``loopback`` session fixture (``tests.loopback``; held until ``lab down``, so tests that
pytest-xdist runs at once each get their own addresses), the CLI in subprocesses, and ``lab down`` always.

Used by tests/e2e/test_lab_failures.py, test_lab_resume.py, test_lab_kea.py, test_lab_migration.py and
others; ``gated_lab`` is the wave tests' lab (test_lab_live_r3.py, test_lab_revert.py).
The desired-state YAML comes from ``tests.e2e.labdoc``; commands run in the lab's working directory, so
``.reconciler/`` (state, journal) lands there.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.loopback import Loopback

__all__ = ["ROOT", "RunningLab", "gated_lab", "raise_ris_allowance", "running_lab"]

ROOT = Path(__file__).resolve().parents[2]
COMMAND_TIMEOUT = 120.0


@dataclass(frozen=True, slots=True)
class RunningLab:
    workdir: Path
    lab_dir: Path
    prefix: str

    @property
    def yaml(self) -> Path:
        return self.workdir / "lab.yaml"

    def env(self) -> dict[str, str]:
        return dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1", COLUMNS="200")

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "reconciler", *args]

    def run(self, *args: str, timeout: float = COMMAND_TIMEOUT) -> subprocess.CompletedProcess[str]:
        """``reconciler ARGS`` in the lab's working directory."""
        return subprocess.run(
            self.argv(*args),
            cwd=self.workdir,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def popen(self, *args: str) -> subprocess.Popen[str]:
        """``reconciler ARGS`` started in the background (stdout/stderr to files in the workdir)."""
        out = (self.workdir / "popen.out").open("w")
        err = (self.workdir / "popen.err").open("w")
        try:
            return subprocess.Popen(
                self.argv(*args), cwd=self.workdir, env=self.env(), stdout=out, stderr=err, text=True
            )
        finally:
            out.close()
            err.close()

    def lab(self, *args: str) -> Any:
        """``reconciler lab ARGS --dir DIR --json`` as a parsed document."""
        result = self.run("lab", *args, "--dir", str(self.lab_dir), "--json")
        assert result.returncode == 0, result.stdout + result.stderr
        return json.loads(result.stdout)

    def operations(self) -> int:
        """How many operations the lab's model recorded (a plan must not add any)."""
        return int(self.lab("status")["operations"])

    def fault(self, *args: str) -> None:
        result = self.run("lab", "fault", *args, "--dir", str(self.lab_dir))
        assert result.returncode == 0, result.stdout + result.stderr

    def write(self, doc: Mapping[str, Any], name: str = "lab.yaml") -> Path:
        path = self.workdir / name
        path.write_text(yaml.safe_dump(dict(doc), sort_keys=False))
        return path

    def inventory(self) -> Any:
        return yaml.safe_load((self.lab_dir / "inventory.yaml").read_text())


@contextlib.contextmanager
def running_lab(
    workdir: Path,
    *,
    loopback: Loopback,
    spec: Mapping[str, Any] | None = None,
    with_kea: bool = False,
    restart_seconds: float = 0.0,
) -> Iterator[RunningLab]:
    """``lab up --detach`` on a leased prefix in ``workdir/lab`` (``spec`` as ``--spec``); ``lab down``
    after, then the prefix goes back. ``restart_seconds``: how long the lab's service restarts take; 0
    by default (a restarted TVS reports Started, with its new start time, at the provider's first poll
    instead of after its 2 s poll interval: R8 freshness is still checked). A test that must catch a
    restart while it runs passes a duration."""
    with loopback.lease() as lease:
        lab = RunningLab(workdir=workdir, lab_dir=workdir / "lab", prefix=lease.prefix)
        args = ["lab", "up", "--detach", "--dir", str(lab.lab_dir), "--prefix", lease.prefix,
                "--restart-seconds", f"{restart_seconds:g}"]  # fmt: skip
        if spec is not None:
            spec_file = workdir / "spec.yaml"
            spec_file.write_text(yaml.safe_dump(dict(spec), sort_keys=False))
            args += ["--spec", str(spec_file)]
        if with_kea:
            args.append("--with-kea")
        up = lab.run(*args, timeout=150)
        try:
            assert up.returncode == 0, up.stdout + up.stderr
            yield lab
        finally:
            down = lab.run("lab", "down", "--dir", str(lab.lab_dir), timeout=60)
            assert down.returncode == 0, down.stdout + down.stderr


@contextlib.contextmanager
def gated_lab(
    workdir: Path, *, loopback: Loopback, spec: Mapping[str, Any], gate_deadline: str
) -> Iterator[RunningLab]:
    """``running_lab`` with ``lab.yaml`` written for wave tests: every wave resets its phones, each gate
    has ``gate_deadline``, and the RisPort70 allowance is 60 per minute on both the clusters and in the
    policy (so gates poll every second, the lab's ``policy.gate_poll_interval`` from ``tests.e2e.labdoc``)."""
    from tests.e2e.labdoc import lab_data

    with running_lab(workdir, loopback=loopback, spec=spec) as running:
        running.write(
            lab_data(
                lab_dir=running.lab_dir,
                prefix=running.prefix,
                reset_every_wave=True,
                gate_deadline=gate_deadline,
                ris_queries_per_minute=60,
            )
        )
        raise_ris_allowance(running.yaml)
        yield running


def raise_ris_allowance(doc: Path, *, per_minute: int = 60) -> None:
    """Lab setup: 'Allowed Device Queries Per Minute' on both clusters through AXL, as an admin would."""
    from providers.cucm_axl import AxlClient
    from reconciler.config.loader import load

    state = load(doc).state
    assert state is not None
    for cluster in state.clusters:
        with AxlClient.connect(cluster) as axl:
            axl.update_service_parameter(
                node="EnterpriseWideData",
                service="Enterprise Wide",
                name="AllowedDeviceQueriesPerMinute",
                value=str(per_minute),
            )
