"""Start-up time of ``reconciler --help`` (target < 0.3 s, docs/performance.md#scale-targets), and what it
imports.

Runs the installed console script in fresh subprocesses (several runs, median and spread) and
checks that no heavy library (zeep, paramiko, cryptography, netmiko) is imported by the CLI module.
Writes its section of docs/performance.md between markers, leaving other benchmarks' sections alone.

    .venv/bin/python bench/bench_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- bench_startup:begin -->", "<!-- bench_startup:end -->"
TARGET_S = 0.3
HEAVY = ("zeep", "paramiko", "cryptography", "netmiko")


def _time(argv: list[str], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, timeout=30)
        samples.append(time.perf_counter() - start)
    return samples


def _heavy_imports() -> list[str]:
    probe = f"import sys, reconciler.cli; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True, timeout=30
    )
    return [m for m in out.stdout.strip().split(",") if m]


def _write(section: str) -> None:
    text = REPORT.read_text() if REPORT.exists() else "# Performance\n\nMeasured by the scripts in bench/.\n"
    block = f"{BEGIN}\n{section}\n{END}"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    REPORT.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    exe = str(Path(sys.executable).parent / "reconciler")
    _time([exe, "--help"], 2)  # warm the page cache and .pyc files
    samples = _time([exe, "--help"], args.runs)
    bare = statistics.median(_time([sys.executable, "-c", "pass"], args.runs))
    typer_rich = statistics.median(_time([sys.executable, "-c", "import typer, rich.console"], args.runs))
    median = statistics.median(samples)
    heavy = _heavy_imports()
    section = "\n".join(
        [
            "## `reconciler --help` start-up (bench/bench_startup.py)",
            "",
            f"Target: under {TARGET_S} s ([scale targets](#scale-targets)). Fresh subprocess per run, "
            f"{args.runs} runs after 2 warm-up runs,",
            f"on {platform.python_implementation()} {platform.python_version()}, {platform.machine()}; "
            "the machine is shared, so the spread matters as much as the median.",
            "",
            "| median | min | max | heavy modules imported by `reconciler.cli` |",
            "|---|---|---|---|",
            f"| {median:.3f} s | {min(samples):.3f} s | {max(samples):.3f} s "
            f"| {', '.join(heavy) or 'none'} |",
            "",
            f"Lower bounds on the same machine: bare `python -c pass` {bare:.3f} s; importing typer and rich",
            f"{typer_rich:.3f} s. The schema models, the loader and every heavy client library are imported",
            "inside command bodies only (tests/unit/test_cli_validate.py checks sys.modules).",
        ]
    )
    _write(section)
    print(section)
    return 0 if median < TARGET_S and not heavy else 1


if __name__ == "__main__":
    sys.exit(main())
