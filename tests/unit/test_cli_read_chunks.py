"""``CliSession._read`` cleans each line once as it completes, however the output is cut into packets:
the answer is the same as cleaning the whole output at once (escape sequences, an OSC title spanning a
line end, CRLF, backspace erasures and a pager prompt answered once), and every line reaches ``on_line``.
A small in-process channel stands in for paramiko's; the real SSH path is in
tests/integration/test_prov_ssh_cli.py."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from providers.cucm_cli.parse import clean_output
from providers.cucm_cli.session import CliSession
from providers.transports.ssh import SshTarget

PAGER = "\x1b[1mPress <enter> for 1 line, <space> for one page, or <q> to quit\x1b[0m\x1b[K"


class ChunkedChannel:
    """Hands out ``text`` in pieces of ``size`` characters, then the prompt; records what is sent."""

    def __init__(self, text: str, *, size: int) -> None:
        data = text.encode()
        self.chunks = [data[i : i + size] for i in range(0, len(data), size)]
        self.sent: list[bytes] = []
        self.closed = False

    def recv(self, _n: int) -> bytes:
        if not self.chunks:
            raise TimeoutError
        return self.chunks.pop(0)

    def sendall(self, data: bytes) -> None:
        self.sent.append(data)


def _session(channel: ChunkedChannel) -> CliSession:
    target = SshTarget(name="node", host="node.invalid", username="admin", password=SecretStr("unused"))
    session = CliSession(target)
    session._channel = channel  # type: ignore[assignment]
    session.prompt = "admin:"
    return session


BODY = (
    "show cert list trust\r\n"
    "\x1b]0;title that ends\non the next line\x07CallManager-trust/a.pem: Trust Certificate\r\n"
    "\x1b[32mPhone-SAST-trust/b.pem\x1b[0m: Trust Certificate\r\n"
    f"tomcat-trust/c.pem: typo\x08 \x08o{PAGER}"
    "tomcat-trust/d.pem: after the page break\r\n"
)


@pytest.mark.parametrize("size", [1, 3, 7, 64, 4096])
def test_the_answer_does_not_depend_on_how_the_output_is_cut(size: int) -> None:
    channel = ChunkedChannel(BODY + "admin:", size=size)
    lines: list[str] = []
    output = _session(channel)._read(command="show cert list trust", timeout=5, on_line=lines.append)
    whole = clean_output(BODY).rstrip("\n").split("\n")[1:]  # the echoed command line dropped
    assert output == "\n".join(whole)
    assert output.splitlines()[-1] == "tomcat-trust/c.pem: typootomcat-trust/d.pem: after the page break"
    assert "Phone-SAST-trust/b.pem: Trust Certificate" in output
    assert lines == whole, "every completed line reaches on_line once, in order"
    # the pager prompt is answered once, with a space (unless the prompt arrived in the same packet)
    assert channel.sent == ([] if size >= len(BODY) else [b" "])


def test_lines_after_an_unterminated_osc_sequence_still_reach_on_line() -> None:
    body = "show cert list own\r\n\x1b]0;never ended\ntomcat/tomcat.pem: own\r\n"
    channel = ChunkedChannel(body + "admin:", size=5)
    lines: list[str] = []
    output = _session(channel)._read(command="show cert list own", timeout=5, on_line=lines.append)
    assert output == "\n".join(clean_output(body).rstrip("\n").split("\n")[1:])
    assert lines == output.split("\n")
