"""The longest any one connection or read may wait: the CLI's global ``--timeout``.

Set once per process by ``reconciler.commands.wiring.open_estate`` (``set_wait_limit``); read by
``providers.transports.http.SafeSession`` (every request's ``(connect, read)`` timeout is capped) and
``providers.transports.ssh.connect`` (TCP connect, banner, handshake and authentication timeouts), so a
node that accepts a connection and never answers holds a read for at most that long. ``None`` (the
default) leaves each transport's own timeouts as they are.
"""

from __future__ import annotations

__all__ = ["cap", "set_wait_limit", "wait_limit"]

_limit: float | None = None


def set_wait_limit(seconds: float | None) -> None:
    """Cap every connect/read timeout at ``seconds`` (``None``: no cap)."""
    global _limit  # noqa: PLW0603 - one process-wide setting, made by the CLI before any connection
    if seconds is not None and seconds <= 0:
        raise ValueError("the wait limit must be positive")
    _limit = seconds


def wait_limit() -> float | None:
    """The cap set by ``set_wait_limit``, or ``None``."""
    return _limit


def cap(timeout: float | tuple[float, float] | None) -> float | tuple[float, float] | None:
    """``timeout`` (a number or ``(connect, read)``) with every part at most the wait limit."""
    if _limit is None:
        return timeout
    if timeout is None:
        return _limit
    if isinstance(timeout, tuple):
        return (min(timeout[0], _limit), min(timeout[1], _limit))
    return min(timeout, _limit)
