"""Fuzz every parser that meets untrusted input with at least 100,000 generated inputs and report any
non-clean error (an exception outside ``reconciler.errors``; for the desired-state loader also an error
diagnostic without a ``FILE:LINE:COL`` position).

Parsers: the admin CLI's screens, the RisPort70 / ControlCenterServices / AXL answer mappers (generators
in ``tests.fuzzing``), the desired-state loader (splices of a valid file and YAML-shaped noise) and the
ITL/CTL (TLV) parser (mutations of a real signed file and random bytes). Seeds are the input numbers,
so a finding is reproduced with ``--only NAME --start SEED --count 1``. The result goes to
docs/reliability.md by hand (counts, time, command).

    .venv/bin/python bench/fuzz_parsers.py [--count 100000] [--only NAME]... [--start 0]
"""

from __future__ import annotations

import argparse
import collections
import random
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reconciler.config.loader import load_text  # noqa: E402
from reconciler.cucm import tlv  # noqa: E402
from tests.fuzzing import TARGETS, is_clean  # noqa: E402
from tests.unit.desired_fixtures import VALID  # noqa: E402

_PIECES = ["[", "]", "{", "}", ":", "- ", "&a ", "*a", "<<: ", "!!int ", "\n", "  ", "\x00", "9" * 20, "'",
           '"', "#", "? ", "|", ">", "2024-13-45", "~", "---", "...", "%YAML 1.1\n", "\t", "é"]  # fmt: skip


def _loader(rng: random.Random) -> object:
    if rng.random() < 0.5:
        at = rng.randrange(len(VALID))
        insert = "".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 3)))
        text = VALID[:at] + insert + VALID[at + rng.randint(0, 4) :]
    else:
        text = "".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 60)))
    result = load_text(text, file="fuzz.yaml", base_dir=ROOT)
    for d in result.diagnostics.errors:
        if d.position is None or d.position.line < 1 or d.position.column < 1:
            raise AssertionError(f"an error without FILE:LINE:COL: {d.summary}")
    return result


def _tlv_seed() -> bytes:
    """A real signed ITL file to mutate (the one ``tests/unit/test_tlv.py`` builds)."""
    from tests.unit.test_tlv import VALID as ITL

    return ITL


def _tlv(rng: random.Random, seed: bytes) -> object:
    if rng.random() < 0.7:
        data = bytearray(seed)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            data = data[: rng.randrange(len(data))]
        raw = bytes(data)
    else:
        raw = rng.randbytes(rng.randint(0, 600))
    return tlv.parse(raw)


def _targets() -> dict[str, Callable[[random.Random], object]]:
    seed = _tlv_seed()
    out: dict[str, Callable[[random.Random], object]] = dict(TARGETS)
    out["desired-state-loader"] = _loader
    out["tlv"] = lambda rng: _tlv(rng, seed)
    return out


def run(
    name: str, fn: Callable[[random.Random], object], *, start: int, count: int
) -> tuple[int, int, float]:
    findings: collections.Counter[tuple[str, str, int]] = collections.Counter()
    first: dict[tuple[str, str, int], int] = {}
    clean_errors = 0
    began = time.perf_counter()
    for seed in range(start, start + count):
        try:
            fn(random.Random(seed))
        except Exception as exc:
            if is_clean(exc):
                clean_errors += 1
                continue
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            key = (type(exc).__name__, Path(frame.filename).name, frame.lineno or 0)
            findings[key] += 1
            first.setdefault(key, seed)
    took = time.perf_counter() - began
    verdict = "clean" if not findings else f"{sum(findings.values())} NON-CLEAN"
    print(
        f"{name:22} {count:>8,} inputs {took:8.1f} s  {clean_errors:>8,} clean errors  {verdict}", flush=True
    )
    for key, n in findings.most_common():
        print(f"    {key[0]} at {key[1]}:{key[2]} x{n} (first: --only {name} --start {first[key]} --count 1)")
    return count, sum(findings.values()), took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--only", action="append", default=[])
    args = parser.parse_args()
    targets = _targets()
    bad = 0
    for name, fn in targets.items():
        if args.only and name not in args.only:
            continue
        _, found, _ = run(name, fn, start=args.start, count=args.count)
        bad += found
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
