"""``SshClientBase.close`` never raises: a node that already dropped the connection makes paramiko's
channel close raise ``EOFError`` (its packetizer is closed); the client still closes its connection and
forgets both, so a second close is a no-op. Small in-process stand-ins for the channel and connection."""

from __future__ import annotations

import paramiko
import pytest

from providers.transports.ssh import SshClientBase


class _Channel:
    def __init__(self, error: BaseException | None) -> None:
        self.error = error
        self.closed = 0

    def close(self) -> None:
        self.closed += 1
        if self.error is not None:
            raise self.error


class _Conn:
    def __init__(self) -> None:
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


class _Client(SshClientBase[_Channel]):
    def __init__(self, channel: _Channel, conn: _Conn) -> None:
        self._channel = channel
        self._conn = conn  # type: ignore[assignment]


@pytest.mark.parametrize("error", [EOFError(), OSError("reset"), paramiko.SSHException("gone"), None])
def test_close_after_the_peer_dropped_the_connection_still_closes_it(error: BaseException | None) -> None:
    channel, conn = _Channel(error), _Conn()
    client = _Client(channel, conn)
    client.close()
    client.close()  # idempotent
    assert channel.closed == 1 and conn.closed == 1
