"""Benchmark: the default lab's 300 phones booting over the wire with every scope served by a real Kea
(``LabRuntime(with_kea=True)`` for scope-a, -b and -c; each phone's own relayed DISCOVER through the scope's
relay agent, ``simulator.model.dhcprelay``), against the same lab with its model DHCP sources (IOS and
CUCM DHCP). Each lab resets all phones ``--rounds`` times; reports the median, fastest and slowest boot and
how many distinct client MACs Kea's log shows. Writes its section of docs/performance.md (between the
``bench_kea_boot`` markers). Needs kea-dhcp4 and kea-ctrl-agent.

    .venv/bin/python bench/bench_kea_boot.py [--prefix 127.N] [--rounds N] [--no-write]
"""

from __future__ import annotations

import argparse
import platform
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from _doc import write_section  # noqa: E402

START = "<!-- bench_kea_boot:start -->"
END = "<!-- bench_kea_boot:end -->"
KEA_SCOPES = ("scope-a", "scope-b", "scope-c")


def boots(prefix: str, *, rounds: int, kea: bool) -> tuple[list[float], int, int]:
    """(boot seconds per round, phones, distinct MACs in Kea's log or 0)."""
    from simulator.lab.runtime import LabRuntime
    from simulator.model.phones import RegStatus

    with tempfile.TemporaryDirectory() as tmp:
        rt = LabRuntime(
            directory=tmp, prefix=prefix, restart_duration=0.0, with_kea=kea, kea_scopes=KEA_SCOPES
        )
        with rt:
            times = []
            for _ in range(rounds):
                t0 = time.perf_counter()
                rt.lab.reset_phones()
                if not rt.wait_booted(300):
                    raise SystemExit("benchmark invalid: the wire boot did not finish")
                times.append(time.perf_counter() - t0)
                if {p.status for p in rt.lab.phones()} != {RegStatus.REGISTERED}:
                    raise SystemExit("benchmark invalid: a phone did not register")
            macs = 0
            if kea:
                log = rt._kea.log_path("kea-dhcp4").read_text(errors="replace")
                macs = len(set(re.findall(r"DHCP4_LEASE_ADVERT \[hwtype=1 ([0-9a-f:]{17})\]", log)))
            return times, len(rt.lab.phones()), macs


def section(rows: dict[str, tuple[list[float], int, int]], rounds: int) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        START,
        "## Simulator: the default lab's wire boot with Kea (`bench/bench_kea_boot.py`)",
        "",
        f"Measured {when} on {platform.machine()} (shared 2-core machine), "
        f"Python {platform.python_version()}. Each lab resets all its phones {rounds} times; "
        "every phone boots over the wire (8 at a time).",
        "",
        "| DHCP | phones | median boot | fastest | slowest | distinct MACs in Kea's log |",
        "|---|---|---|---|---|---|",
    ]
    for name, (times, phones, macs) in rows.items():
        lines.append(
            f"| {name} | {phones} | **{statistics.median(times):.2f} s** | {min(times):.2f} s | "
            f"{max(times):.2f} s | {macs or '—'} |"
        )
    lines += [
        "",
        "Each phone asks Kea with its own MAC through the scope's relay agent, several at once. The Kea "
        "lab boots as fast as the model-DHCP lab within noise: DHCP is not what a wire boot waits for "
        "(the rest of the path is TFTP downloads, signature checks and TLS to TVS).",
        END,
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", default="127.51", help="loopback prefix of the labs")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/performance.md alone")
    args = parser.parse_args()
    rows = {
        "IOS and CUCM DHCP (model)": boots(args.prefix, rounds=args.rounds, kea=False),
        "real Kea for all three scopes": boots(args.prefix, rounds=args.rounds, kea=True),
    }
    text = section(rows, args.rounds)
    print(text)
    if not args.no_write:
        write_section(text, start=START, end=END)


if __name__ == "__main__":
    main()
