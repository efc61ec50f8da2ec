"""The suite stays parallel-safe (``pytest -n 8``): no test module picks a lab's loopback prefix or ports by
hand; every lab leases its prefix from the ``loopback`` session fixture (``tests.loopback``), and the
allocator hands out a prefix once at a time, also across processes."""

from __future__ import annotations

import re
from pathlib import Path

from simulator.lab.runtime import LabPorts
from tests.loopback import FIRST, LAST, Loopback

TESTS = Path(__file__).resolve().parents[1]
HAND_PICKED = [
    re.compile(r"""prefix\s*=\s*["']127\.\d+["']"""),  # LabRuntime(prefix="127.N"), lab_data(prefix=...)
    re.compile(r"""["']--prefix["']\s*,\s*["']127\.\d+["']"""),  # lab up --prefix 127.N
    re.compile(r"""lab_runtime_fixture\(\s*["']"""),
    re.compile(r"""LabPorts\(\s*\w+\s*=\s*\d"""),
    re.compile(r"""^PREFIX\s*=""", re.MULTILINE),
]


def test_no_test_module_hard_codes_a_lab_prefix_or_lab_ports() -> None:
    found = [
        f"{path.relative_to(TESTS)}:{text[: m.start()].count(chr(10)) + 1}: {m.group(0)}"
        for path in sorted(TESTS.rglob("*.py"))
        for text in [path.read_text(encoding="utf-8")]
        for pattern in HAND_PICKED
        for m in pattern.finditer(text)
    ]
    assert found == [], "lease a prefix from the loopback fixture instead:\n" + "\n".join(found)


def _free(host: str, ports: LabPorts) -> bool:
    return True  # no socket in a unit test: the lock alone decides


def _allocator(tmp_path: Path, worker: str = "gw0") -> Loopback:
    return Loopback(worker=worker, lock_dir=tmp_path, ports_free=_free)


def test_a_leased_prefix_is_not_leased_again_until_released(tmp_path: Path) -> None:
    """Two allocators (as two xdist workers, or two pytest runs) sharing the lock directory."""
    first, second = _allocator(tmp_path), _allocator(tmp_path)
    held = first.acquire()
    other = second.acquire()
    assert other.prefix != held.prefix
    assert all(FIRST <= int(p.split(".")[1]) <= LAST for p in (held.prefix, other.prefix))
    first.release(held)
    second.release(other)
    assert _allocator(tmp_path).acquire().prefix == held.prefix, "a released prefix is free again"


def test_a_prefix_whose_ports_are_taken_is_skipped(tmp_path: Path) -> None:
    taken = f"127.{FIRST}.10.1"
    busy = Loopback(worker="gw0", lock_dir=tmp_path, ports_free=lambda host, ports: host != taken)
    assert busy.acquire().prefix == f"127.{FIRST + 1}"


def test_workers_start_their_scan_at_different_prefixes(tmp_path: Path) -> None:
    prefixes = {_allocator(tmp_path, f"gw{i}").acquire().prefix for i in range(8)}
    assert len(prefixes) == 8
