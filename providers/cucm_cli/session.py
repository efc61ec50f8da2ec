"""The CUCM platform ``admin:`` shell over SSH: one interactive session, commands, parsed answers.

Called by ``providers.cucm_certs.cli`` (trust stores and identities on CUCM < 14, or when
``certificate_api: cli``). Facts and their certainty: docs/cucm-domain.md#admin-cli.

Session mechanics: CUCM refuses exec requests, so this opens a shell (``invoke_shell``), waits for
the banner and the first prompt (a line that is just ``<user>:``; a newline nudges a silent login),
locks onto that exact prompt, turns pagination off (``set cli pagination off``) and then runs one
command at a time: write it, read until the prompt returns at the start of a line. ANSI/VT100 escape
sequences and CRs are stripped; the echoed command line is dropped. During a command it answers:

- ``Paste the Certificate and Hit Enter`` → the PEM, then an empty line (``paste=``);
- ``(yes|no)`` / ``(y/n)`` confirmations → yes only if the caller asked (``confirm=True``), else no and a
  ``RemoteFaultError`` (a command we did not expect to ask must not proceed);
- a pager prompt (``Press <enter> …`` wrapped in ANSI bold/erase-line, ``--More--``, ``options: q=quit …``)
  → a space (next page), once per prompt; the prompt is cut out of the output byte-exactly, so neither
  the row after a page break nor an ``admin:`` written right after the prompt is lost. ``set cli
  pagination off`` is sent at login but a CLI that does not support it still works.

Output carrying a documented failure text (``Executed command unsuccessfully``, ``No valid command
entered``, ``Invalid command``, ``Syntax error``, ``Error executing``) raises ``RemoteFaultError``; a
change whose success text is documented (``set cert import``) must print it, and the callers read every
change back (a command that printed neither is not a success).
A session lost mid-command raises ``TemporaryError`` and the next command reconnects (the executor's
retry then re-runs an idempotent apply). The command methods parse their output with the pure parsers of
``providers.cucm_cli.parse`` (both ``show cert list`` forms, ``run sql`` tables sized by their ``====``
rule, …); those parsers and their report dataclasses are re-exported here for existing importers.
"""

from __future__ import annotations

import codecs
import logging
import re
import time
from collections.abc import Callable, Sequence
from typing import Literal

import paramiko
from pydantic import SecretStr

from providers.cucm_cli.parse import (
    CertDetail,
    CertListing,
    ServiceLine,
    TrustFileReport,
    clean_output,
    count_pager_prompts,
    find_failure,
    parse_cert_detail,
    parse_cert_list,
    parse_service_list,
    parse_sql_table,
    parse_trust_file_report,
)
from providers.transports.ssh import SshClientBase, SshConnection, SshTarget, connect, map_ssh_error
from reconciler.errors import RemoteFaultError, TemporaryError

__all__ = [
    "CertDetail",
    "CertKind",
    "CertListing",
    "CliSession",
    "ServiceLine",
    "TrustFileReport",
    "clean_output",
    "parse_cert_detail",
    "parse_cert_list",
    "parse_service_list",
    "parse_sql_table",
    "parse_trust_file_report",
]

log = logging.getLogger(__name__)
Connector = Callable[[SshTarget], SshConnection]
CertKind = Literal["own", "trust"]

_PROMPT_GUESS = re.compile(r"^[A-Za-z0-9_.-]+:\s*$")
_PASTE = re.compile(r"paste\s+the\s+certificate", re.IGNORECASE)
_CONFIRM = re.compile(r"\((yes\|no|y/n)\)\s*\??\s*:?\s*$", re.IGNORECASE)
_IMPORTED = re.compile(r"Successfully imported certificate", re.IGNORECASE)


class CliSession(SshClientBase[paramiko.Channel]):
    """One ``admin:`` session to one node, opened lazily and re-opened after a drop."""

    def __init__(
        self,
        target: SshTarget,
        *,
        command_timeout: float = 120.0,
        login_timeout: float = 60.0,
        connector: Connector = connect,
    ) -> None:
        self.target = target
        self.command_timeout = command_timeout
        self.login_timeout = login_timeout
        self._connector = connector
        self._conn, self._channel = None, None
        self.prompt: str | None = None
        #: the cleaned screen when the last read ended without a recognised prompt (``reconciler doctor``
        #: shows it: an unknown prompt or banner on a real node)
        self.last_screen: str | None = None

    @property
    def node(self) -> str:
        return self.target.name

    # -- session -------------------------------------------------------------------------------
    def open(self) -> None:
        """Connect, wait for the first prompt, turn pagination off (idempotent)."""
        chan, conn = self._channel, self._conn
        if chan is not None and not chan.closed and conn is not None and conn.active:
            return
        self.close()
        self._conn = self._connector(self.target)
        self._channel = self._conn.open_shell()
        self._channel.settimeout(0.1)
        self._read(command=None, timeout=self.login_timeout)
        self.run("set cli pagination off", check=False)  # unsupported somewhere: the pager is handled

    def run(
        self,
        command: str,
        *,
        timeout: float | None = None,
        paste: str | None = None,
        confirm: bool = False,
        on_line: Callable[[str], None] | None = None,
        answers: Sequence[tuple[str, str]] = (),
        check: bool = True,
    ) -> str:
        """Run one command; return its output (without echo and prompt). See the module docstring.
        ``answers`` are (regex, reply) pairs for the command's own prompts, each used once, in order;
        replies are never logged (``set cert bulk sftp`` asks for a password)."""
        self.open()
        assert self._channel is not None
        log.debug("cli %s: %s", self.node, command)
        try:
            self._channel.sendall((command + "\n").encode())
        except (OSError, EOFError, paramiko.SSHException) as exc:
            self.close()
            raise map_ssh_error(exc, target=self.target, during=f"sending {command!r}") from exc
        output = self._read(
            command=command,
            timeout=timeout or self.command_timeout,
            paste=paste,
            confirm=confirm,
            on_line=on_line,
            answers=list(answers),
        )
        if check:
            failure = find_failure(output)
            if failure:
                detail = failure[:300]
                raise RemoteFaultError(
                    f"{self.node}: {command!r} failed: {detail}", endpoint=self.node, code="cli"
                )
        return output

    def _read(
        self,
        *,
        command: str | None,
        timeout: float,
        paste: str | None = None,
        confirm: bool = False,
        on_line: Callable[[str], None] | None = None,
        answers: list[tuple[str, str]] | None = None,
    ) -> str:
        chan = self._channel
        assert chan is not None
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        # Linear in the output: raw text up to its last newline is cleaned once ("settled"; no escape
        # sequence or pager prompt spans a newline) and only the unfinished last line is cleaned again
        # per packet. A 1,500-line ``show cert list`` arrives in hundreds of packets; cleaning all of it
        # per packet made each listing cost 0.5 s of CPU.
        settled: list[str] = []  # cleaned text of the settled raw text, each part ending with "\n"
        settled_len = 0
        settled_pages = 0  # pager prompts in the settled raw text
        pending = ""  # raw text after the last settled newline
        answered = 0  # length of the cleaned text already answered (paste, confirmation, pager)
        refused = ""
        paged = 0  # pager prompts answered
        started = time.monotonic()
        nudged = 0.0
        what = repr(command) if command else "login"
        while True:
            cut = pending.rfind("\n")
            head = pending[: cut + 1]
            osc = head.rfind("\x1b]")  # an OSC sequence (up to BEL) may span lines: settle after it ends
            if cut >= 0 and (osc < 0 or head.find("\x07", osc) >= 0):
                piece = clean_output(head)
                settled_pages += count_pager_prompts(head)
                settled.append(piece)
                settled_len += len(piece)
                pending = pending[cut + 1 :]
                if on_line is not None:
                    for line in piece[:-1].split("\n"):
                        if not (command and line.strip() == command):
                            on_line(line)
            rest = clean_output(pending)
            more, _, tail = rest.rpartition("\n")
            if self._is_prompt(tail) and (command is None or settled_len > 1 or more):
                if on_line is not None and more:  # complete lines not settled (an unterminated OSC)
                    for line in more.split("\n"):
                        if not (command and line.strip() == command):
                            on_line(line)
                break
            pages = settled_pages + count_pager_prompts(pending)
            if pages > paged:
                chan.sendall(b" " * (pages - paged))  # next page, once per prompt
                paged = pages
            text_len = settled_len + len(rest)
            if text_len > answered:
                fresh = None
                if paste is not None:
                    fresh = ("".join(settled) + rest)[answered:]
                if fresh is not None and paste is not None and _PASTE.search(fresh):
                    chan.sendall((paste.strip().replace("\r\n", "\n") + "\n\n").encode())
                    paste, answered = None, text_len
                elif answers and re.search(answers[0][0], tail, re.IGNORECASE):
                    chan.sendall((answers.pop(0)[1] + "\n").encode())
                    answered = text_len
                elif _CONFIRM.search(tail):
                    short = "y/n" in tail.lower()
                    reply = ("y" if short else "yes") if confirm else ("n" if short else "no")
                    if not confirm:
                        refused = tail.strip()
                    chan.sendall((reply + "\n").encode())
                    answered = text_len
            elapsed = time.monotonic() - started
            if elapsed > timeout:
                self.last_screen = ("".join(settled) + rest)[-4000:]
                self.close()
                raise TemporaryError(
                    f"{self.target.label}: no prompt within {timeout:.0f} s after {what}", endpoint=self.node
                )
            login = command is None and elapsed - nudged > 2.0
            if login and not rest.strip() and not "".join(settled).strip():
                chan.sendall(b"\n")  # a silent login sometimes needs a newline nudge (§2.1)
                nudged = elapsed
            try:
                data = chan.recv(65536)
            except TimeoutError:
                continue
            except (OSError, EOFError, paramiko.SSHException) as exc:
                self.close()
                raise map_ssh_error(exc, target=self.target, during=what) from exc
            if not data:
                self.close()
                raise TemporaryError(
                    f"SSH session to {self.target.label} dropped during {what}",
                    endpoint=self.node,
                    hint="a retry reconnects; the command may or may not have taken effect",
                )
            pending += decoder.decode(data)
        complete = ("".join(settled) + more) if more else "".join(settled)[:-1]
        if command is None:
            self.prompt = tail.strip()
            return complete
        body = complete.split("\n")
        if body and body[0].strip() == command:
            body = body[1:]
        output = "\n".join(body).strip("\n")
        if refused:
            raise RemoteFaultError(
                f"{self.node}: {command!r} asked {refused!r}; answered no", endpoint=self.node, code="cli"
            )
        return output

    def _is_prompt(self, tail: str) -> bool:
        if self.prompt is not None:
            return tail.strip() == self.prompt
        return bool(_PROMPT_GUESS.match(tail)) and "password" not in tail.lower()

    # -- commands ------------------------------------------------------------------------------
    def active_version(self) -> str:
        """``show version active`` → ``14.0.1.11900-132``."""
        output = self.run("show version active")
        match = re.search(r"Active Master Version:\s*(\S+)", output)
        if match is None:
            raise RemoteFaultError(
                f"{self.node}: cannot read the version from {output[:120]!r}", endpoint=self.node
            )
        return match.group(1)

    def cert_list(self, kind: CertKind) -> tuple[CertListing, ...]:
        return parse_cert_list(self.run(f"show cert list {kind}"))

    def show_cert(self, kind: CertKind, name: str) -> CertDetail:
        """``name`` is ``<unit>/<file>`` (or a unit)."""
        return parse_cert_detail(self.run(f"show cert {kind} {name}"))

    def import_trust(self, *, unit: str, pem: str) -> str:
        """``set cert import trust <unit>`` with the PEM pasted at the prompt."""
        output = self.run(f"set cert import trust {unit}", paste=pem)
        if not _IMPORTED.search(output):
            raise RemoteFaultError(
                f"{self.node}: import into {unit} not confirmed: {output[-200:]!r}",
                endpoint=self.node,
                code="cli",
            )
        return output

    def delete_cert(self, *, store: str, filename: str) -> str:
        """``set cert delete <store> <file>``, confirming the optional prompt."""
        return self.run(f"set cert delete {store} {filename}", confirm=True)

    def configure_bulk_sftp(
        self, *, host: str, port: int, user: str, password: SecretStr, directory: str
    ) -> str:
        """``set cert bulk sftp``: answer its prompts (server, port, user, password, directory; §2.5 [I])."""
        return self.run(
            "set cert bulk sftp",
            answers=[
                (r"(server|ip)[^:]*:\s*$", host),
                (r"port[^:]*:\s*$", str(port)),
                (r"user[^:]*:\s*$", user),
                (r"password[^:]*:\s*$", password.get_secret_value()),
                (r"director[^:]*:\s*$", directory),
            ],
        )

    def bulk(self, verb: Literal["export", "consolidate", "import"], unit: str = "all") -> str:
        """``set cert bulk export|consolidate|import <unit>`` (the SFTP target must be configured)."""
        return self.run(f"set cert bulk {verb} {unit}", timeout=max(self.command_timeout, 600.0))

    def service_list(self) -> tuple[ServiceLine, ...]:
        return parse_service_list(self.run("utils service list"))

    def restart_service(
        self, name: str, *, progress: Callable[[str], None] | None = None, timeout: float = 900.0
    ) -> ServiceLine:
        """``utils service restart <name>``; each progress line goes to ``progress``; returns the last
        ``<name>[STATUS]`` line (the caller decides what a final STOPPED means)."""
        output = self.run(f"utils service restart {name}", timeout=timeout, on_line=progress)
        states = [s for s in parse_service_list(output) if s.name == name]
        if not states:
            raise RemoteFaultError(
                f"{self.node}: no status line for {name!r} in the restart output",
                endpoint=self.node,
                code="cli",
            )
        return states[-1]

    def show_itl(self) -> TrustFileReport:
        return parse_trust_file_report(self.run("show itl", check=False))

    def show_ctl(self) -> TrustFileReport:
        return parse_trust_file_report(self.run("show ctl", check=False))

    def run_sql(self, query: str) -> tuple[dict[str, str | None], ...]:
        """``run sql <select>`` (read-only Informix SQL, §2.2) as a list of rows."""
        return parse_sql_table(self.run(f"run sql {query}"))
