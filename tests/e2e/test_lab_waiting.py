"""Waiting you can see, against real sockets: a plan whose endpoints refuse connections, or accept them and
never answer, names the endpoint and the attempt (n of m) within seconds and ends within ``--timeout``;
a stale saved plan is reported before any connection.

The unreachable endpoints are addresses of the test's own leased prefix where no lab node listens
(``<prefix>.40.x``): a closed port there refuses at once; a plain TCP listener there completes the
handshake (the kernel does) and then says nothing, as a hung node does.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from reconciler.state.store import StateSnapshot, StateStore
from tests.e2e.labdoc import lab_document
from tests.e2e.labrun import RunningLab, running_lab
from tests.loopback import Loopback

pytestmark = pytest.mark.lab

TIMEOUT = 6  # --timeout of the runs below, in seconds
SLACK = 8.0  # interpreter start and imports on a busy machine


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, loopback: Loopback) -> Iterator[RunningLab]:
    with running_lab(tmp_path_factory.mktemp("waiting"), loopback=loopback) as running:
        yield running


def _unreachable_doc(lab: RunningLab, name: str) -> Path:
    """The lab's document with every node of both clusters moved to ``<prefix>.40.x``."""
    text = lab_document(lab_dir=lab.lab_dir, prefix=lab.prefix)
    text = text.replace(f"{lab.prefix}.10.", f"{lab.prefix}.40.").replace(
        f"{lab.prefix}.20.", f"{lab.prefix}.41."
    )
    path = lab.workdir / name
    path.write_text(text)
    return path


def _watch(lab: RunningLab, *args: str) -> tuple[list[tuple[float, str]], int, float]:
    """Run the CLI; collect (seconds since start, line) of stderr as they come; return lines, rc, time."""
    started = time.monotonic()
    proc = subprocess.Popen(
        lab.argv(*args),
        cwd=lab.workdir,
        env=lab.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[tuple[float, str]] = []
    assert proc.stderr is not None
    for line in proc.stderr:
        lines.append((time.monotonic() - started, line.rstrip("\n")))
    rc = proc.wait(timeout=TIMEOUT + SLACK + 30)
    assert proc.stdout is not None
    proc.stdout.close()
    proc.stderr.close()
    return lines, rc, time.monotonic() - started


def test_closed_port_names_endpoint_and_attempts_within_seconds(lab: RunningLab) -> None:
    doc = _unreachable_doc(lab, "closed.yaml")
    lines, rc, took = _watch(lab, "--timeout", str(TIMEOUT), "plan", doc.name)
    text = "\n".join(line for _, line in lines)
    assert rc == 1, text
    waits = [(at, line) for at, line in lines if line.startswith("waiting for ")]
    assert waits, text
    first_at, first = waits[0]
    assert f"{lab.prefix}.40.1" in first and "attempt 1 of " in first and "next at " in first, first
    assert "refused" in first, first
    assert first_at < SLACK, f"the first status line came after {first_at:.1f} s"
    assert took < TIMEOUT + SLACK, f"took {took:.1f} s with --timeout {TIMEOUT}"
    assert any(line.startswith("error: ") and f"{lab.prefix}.40.1" in line for _, line in lines), text


def test_silent_listener_is_reported_and_bounded_by_timeout(lab: RunningLab) -> None:
    doc = _unreachable_doc(lab, "silent.yaml")
    https = int(yaml.safe_load(doc.read_text())["clusters"][0]["ports"]["https"])
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((f"{lab.prefix}.40.1", https))
    listener.listen(64)  # the kernel completes every handshake; nobody ever reads or writes
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        lines, rc, took = _watch(lab, "--timeout", str(TIMEOUT), "plan", doc.name)
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()
    text = "\n".join(line for _, line in lines)
    assert rc == 1, text
    slow = [(at, line) for at, line in lines if line.startswith("waiting for ") and "no answer for" in line]
    assert slow, text
    at, line = slow[0]
    assert f"{lab.prefix}.40.1" in line and "(attempt 1 of " in line, line
    assert at < SLACK, f"the first status line came after {at:.1f} s"
    assert took < TIMEOUT + SLACK, f"took {took:.1f} s with --timeout {TIMEOUT}"
    assert held, "the plan never connected to the silent listener"


def test_stale_saved_plan_is_reported_before_any_connection(tmp_path: Path, loopback: Loopback) -> None:
    with running_lab(tmp_path, loopback=loopback) as lab:
        doc = lab.workdir / "lab.yaml"
        doc.write_text(lab_document(lab_dir=lab.lab_dir, prefix=lab.prefix))
        made = lab.run("plan", "lab.yaml", "-o", "saved.json")
        assert made.returncode == 0, made.stdout + made.stderr
    # the lab is down: nothing listens at the YAML's addresses any more, so any connection would be
    # refused and reported ("waiting for ...", "unreachable"); the state moves behind the plan's back
    store = StateStore(lab.workdir / ".reconciler")
    with store.lock(timeout=1.0, command="test"):
        store.write(store.read() if store.read().lineage else StateSnapshot())
    started = time.monotonic()
    result = lab.run("--timeout", str(TIMEOUT), "apply", "saved.json", "--auto-approve")
    took = time.monotonic() - started
    assert result.returncode == 1, result.stdout + result.stderr
    assert "stale" in result.stderr and "serial" in result.stderr, result.stderr
    assert "waiting for" not in result.stderr and "unreachable" not in result.stderr, result.stderr
    assert took < SLACK, f"took {took:.1f} s"
