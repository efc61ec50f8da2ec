"""Shared pytest fixtures and the "tool missing" policy.

Tests that need a system tool (kea-dhcp4, udhcpc, sshd, ...) call ``require_tool(name)``. Locally a missing
tool skips the test with a reason; when ``RECONCILER_REQUIRE_TOOLS=1`` (set by ``.ci/run``) it fails, so CI
can never pass by silently skipping what it should have run.
"""

from __future__ import annotations

import os
import shutil

import pytest

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
