"""Shared pytest fixtures and the "tool missing" policy.

Tests that need a system tool (kea-dhcp4, udhcpc, sshd, ...) call ``require_tool(name)``. Locally a missing
tool skips the test with a reason; when ``RECONCILER_REQUIRE_TOOLS=1`` (set by ``.ci/run``) it fails, so CI
can never pass by silently skipping what it should have run.

The ``loopback`` session fixture (``tests.loopback.Loopback``) leases every lab its own address prefix; a
test that uses it must carry the ``lab`` marker (checked at collection), so ``pytest -m "not lab"`` runs
without starting any lab, server or daemon.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from tests.loopback import Loopback

REQUIRE_TOOLS_ENV = "RECONCILER_REQUIRE_TOOLS"


def tools_required() -> bool:
    """True when missing tools must fail instead of skip (CI)."""
    return os.environ.get(REQUIRE_TOOLS_ENV, "") not in ("", "0", "false", "no")


def require_tool(name: str, *, reason: str | None = None) -> str:
    """Return the path of executable ``name`` (searching sbin too), or skip/fail the calling test."""
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin:/usr/local/sbin")
    if path:
        return path
    why = reason or f"{name} is not installed (the README's test command installs it when run as root)"
    if tools_required():
        pytest.fail(f"{why}; {REQUIRE_TOOLS_ENV} is set, so a missing tool is a failure", pytrace=False)
    pytest.skip(why)


def require_root(*, reason: str) -> None:
    """Skip (locally) or fail (CI) unless running as root."""
    if os.geteuid() == 0:
        return
    if tools_required():
        pytest.fail(f"{reason}: needs root, and {REQUIRE_TOOLS_ENV} is set", pytrace=False)
    pytest.skip(f"{reason}: needs root")


@pytest.fixture(scope="session")
def loopback() -> Iterator[Loopback]:
    """This worker's allocator of loopback prefixes (``with loopback.lease() as lease``)."""
    allocator = Loopback(worker=os.environ.get("PYTEST_XDIST_WORKER"))
    try:
        yield allocator
    finally:
        allocator.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test that leases a loopback prefix starts a lab: without the ``lab`` marker it would run under
    ``-m "not lab"``, which promises that no lab is needed."""
    unmarked = [
        item.nodeid
        for item in items
        if "loopback" in getattr(item, "fixturenames", ()) and item.get_closest_marker("lab") is None
    ]
    if unmarked:
        raise pytest.UsageError(
            "tests using the loopback fixture lack the 'lab' marker: " + ", ".join(unmarked)
        )
