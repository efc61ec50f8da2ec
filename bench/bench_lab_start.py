"""Benchmark: how fast the built-in lab starts, and what the 80,000-phone estate costs as a running lab.

1. ``reconciler lab up --detach`` from a fresh process until it returns "lab ready" (what a newcomer
   waits for; target < 5 s for the default lab), then ``lab down``; several runs.
2. The largest estate (docs/performance.md#scale-targets: 2 × 21 nodes, 80,000 phones, 1,000 scopes) as a
   ``LabRuntime`` in a fresh child process: start-up time, peak RSS, servers/threads, one RisPort70-sized
   query through the adapter, stop time.

Writes its section of docs/performance.md between the ``bench_lab_start`` markers.

    .venv/bin/python bench/bench_lab_start.py [--runs N] [--no-largest] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from _doc import write_section  # noqa: E402

DOC = ROOT / "docs" / "performance.md"
START = "<!-- bench_lab_start:begin -->"
END = "<!-- bench_lab_start:end -->"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reconciler", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )


def default_lab_runs(runs: int) -> dict[str, float]:
    took, internal = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(runs):
            directory = Path(tmp) / f"lab{i}"
            t0 = time.perf_counter()
            out = cli("lab", "up", "--detach", "--dir", str(directory), "--prefix", "127.48")
            took.append(time.perf_counter() - t0)
            assert "lab ready" in out.stdout
            log = (directory / "lab.log").read_text()
            internal.append(float(log.split("started in ")[1].split(" s")[0]))
            cli("lab", "down", "--dir", str(directory))
    return {
        "median": statistics.median(took),
        "min": min(took),
        "max": max(took),
        "runtime_median": statistics.median(internal),
    }


def child_largest() -> None:
    import resource
    import threading

    from simulator.faces.backends import RisCriteria
    from simulator.lab.runtime import LabRuntime
    from simulator.spec import largest_estate

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        runtime = LabRuntime(directory=tmp, spec=largest_estate(), prefix="127.49").start()
        startup = time.perf_counter() - t0
        threads = threading.active_count()
        from simulator.adapters import ModelRis

        t0 = time.perf_counter()
        devices = ModelRis(runtime.lab, cluster="old").select_devices(RisCriteria())
        ris = time.perf_counter() - t0
        t0 = time.perf_counter()
        runtime.stop()
        stop = time.perf_counter() - t0
        print(
            json.dumps(
                {
                    "startup": startup,
                    "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
                    "threads": threads,
                    "nodes": sum(len(c.nodes) for c in runtime.lab.clusters()),
                    "phones": runtime.lab.phone_count(),
                    "ris_s": ris,
                    "ris_devices": len(devices),
                    "stop": stop,
                    "threads_after": threading.active_count(),
                }
            )
        )


def largest() -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child-largest"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def section(default: dict[str, float], big: dict[str, float] | None, runs: int) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        START,
        "## The built-in lab: start-up (`bench/bench_lab_start.py`)",
        "",
        f"Measured {when} on {platform.machine()} ({os.cpu_count()} CPUs visible, shared), "
        f"Python {platform.python_version()}.",
        "",
        "| what | result |",
        "|---|---|",
        f'| `reconciler lab up --detach` until "lab ready", default lab (target < 5 s), {runs} runs | '
        f"**{default['median']:.2f} s** median (min {default['min']:.2f} s, max {default['max']:.2f} s) |",
        f"| of which inside the lab process: build the model, write the files, start 19 servers | "
        f"{default['runtime_median']:.2f} s median |",
    ]
    if big is not None:
        lines += [
            f"| largest estate ({big['nodes']} nodes, {big['phones']:,} phones): `LabRuntime.start()` | "
            f"**{big['startup']:.2f} s** |",
            f"| largest estate: peak RSS of the lab process | **{big['rss_mib']:.0f} MiB** |",
            f"| largest estate: threads while running (one accept loop per server) | {big['threads']} |",
            f"| largest estate: RisPort70 view of `old` via the adapter ({big['ris_devices']:,} records) | "
            f"{big['ris_s']:.2f} s |",
            f"| largest estate: `stop()` (every server joined; threads left: {big['threads_after'] - 1}) | "
            f"{big['stop']:.2f} s |",
        ]
    lines += [
        "",
        "Where the default lab's time goes: Python start-up and imports (~0.5 s), building the model "
        "(identities, really signed ITL/CTL, 300 phones), TLS contexts and SSH host keys for 6 nodes, and "
        "the detach handshake (the parent polls for the lab's `ready` file).",
        END,
    ]
    return "\n".join(lines)


def write(text: str) -> None:
    write_section(text, start=START, end=END, doc=DOC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-largest", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--child-largest", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_largest:
        child_largest()
        return
    default = default_lab_runs(args.runs)
    print(f"default lab: {default}")
    big = None if args.no_largest else largest()
    print(f"largest estate: {big}")
    text = section(default, big, args.runs)
    print(text)
    if not args.no_write:
        write(text)


if __name__ == "__main__":
    main()
