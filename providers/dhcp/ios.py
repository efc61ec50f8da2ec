"""``IosDhcpBackend``: option 150 of ``ip dhcp pool`` scopes on a Cisco IOS router, through netmiko.

Implements ``providers.dhcp.base.DhcpBackend`` (wrapped by ``Option150Provider``; wired by
``reconciler.wiring`` from a ``schemas.dhcp.IosDhcpServer``). netmiko's ``cisco_ios`` driver is the
field's standard; it runs on paramiko, so host keys are checked the same way as everywhere else:
``ssh_strict=True`` (``RejectPolicy``), no system or user known_hosts loaded, and the policy replaced by
``providers.transports.ssh.HostKeyVerifier.policy()`` before connecting — every server key is compared
with the pinned key / known_hosts and an unknown or changed key raises ``HostKeyError`` before authentication.

- ``list_scopes``: ``show running-config | section ip dhcp pool`` → pools with a ``network`` (``A M`` or
  ``A/len``) and their ``option 150 ip …`` (never mutates).
- ``set_option150``: if the pool already announces exactly those addresses: nothing (``changed=False``);
  else ``ip dhcp pool NAME`` / ``option 150 ip A B`` (or ``no option 150``), ``write memory``, re-read;
  a read-back that differs raises ``VerificationError``.
- ``verify_option150``: read-back (a router gives no way to probe DHCP from here).
- ``set_option150_batch`` (what ``set_option150`` also uses): one read of exactly the batch's pools, one
  configuration session with every pool's ``option 150`` line (written as one block, read back to the
  exec prompt: one round trip), one ``write memory``, one read-back of
  exactly those pools. When anything fails (a rejected line, a dropped session, ``write memory`` not
  confirmed, a read-back that differs), one more session puts every changed pool's previous option 150
  back and saves, and the error says whether that worked (all or nothing, R12).
- Reads for pools named like IOS pools ask for those sections only
  (``show running-config | section ^ip dhcp pool (NAME|NAME)$``): a router with 1,000 pools would
  otherwise send its whole DHCP configuration three times per change. A subnet key, a filter longer than
  ``MAX_FILTER`` characters, or an answer without those pools (a router whose ``section`` filter takes
  no anchors or alternation) falls back to the full listing, read once.
Errors: netmiko/paramiko failures are mapped like ``providers.transports.ssh.map_ssh_error``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from ipaddress import IPv4Address, IPv4Network
from types import TracebackType
from typing import Any, Self

import paramiko

from providers.dhcp.base import (
    DhcpScope,
    Option150Check,
    SetResult,
    Wants,
    find_scopes,
    restore_note,
    with_note,
)
from providers.transports.ssh import SshTarget, map_ssh_error
from reconciler.errors import (
    AuthenticationError,
    HostKeyError,
    ProviderError,
    RemoteFaultError,
    TemporaryError,
    UnreachableError,
    VerificationError,
)

__all__ = ["IosDhcpBackend", "parse_pools"]

log = logging.getLogger(__name__)
SHOW_POOLS = "show running-config | section ip dhcp pool"
SHOW_PRIVILEGE = "show privilege"
_PRIVILEGE = re.compile(r"Current privilege level is\s+(\d+)", re.IGNORECASE)
_POOL_NAME = re.compile(r"[A-Za-z0-9_.:-]+")  # an IOS pool name; a subnet key has a "/"
MAX_FILTER = 400  # longest pool-name alternation sent in one ``section`` filter
_INVALID = re.compile(r"^% ?(Invalid|Incomplete|Ambiguous)", re.MULTILINE)


def parse_privilege(text: str) -> int | None:
    """``show privilege``'s level, or ``None`` when the text does not say it."""
    match = _PRIVILEGE.search(text)
    return int(match.group(1)) if match else None


def parse_pools(text: str) -> tuple[DhcpScope, ...]:
    """Pools of ``show running-config | section ip dhcp pool`` that have a ``network``."""
    out: list[DhcpScope] = []
    name: str | None = None
    net: IPv4Network | None = None
    opt: tuple[IPv4Address, ...] = ()

    def flush() -> None:
        if name is not None and net is not None:
            out.append(DhcpScope(name=name, subnet=net, option150=opt))

    for raw in text.splitlines():
        line = raw.strip()
        pool = re.match(r"^ip dhcp pool (\S+)$", line)
        if pool:
            flush()
            name, net, opt = pool.group(1), None, ()
            continue
        network = re.match(r"^network (\d+\.\d+\.\d+\.\d+)(?:\s+(\d+\.\d+\.\d+\.\d+)|\s*/(\d+))?", line)
        if network and name is not None:
            mask = network.group(2) or network.group(3) or "32"
            net = IPv4Network(f"{network.group(1)}/{mask}", strict=False)
            continue
        option = re.match(r"^option 150 ip\s+(.*)$", line)
        if option and name is not None:
            opt = tuple(IPv4Address(a) for a in option.group(1).split())
    flush()
    return tuple(out)


def _show(addresses: Sequence[IPv4Address]) -> str:
    return ", ".join(map(str, addresses)) or "nothing"


def _netmiko_connect(target: SshTarget, *, read_timeout: float) -> Any:
    from netmiko import ConnectHandler  # noqa: PLC0415 - heavy; only when a router is really used

    conn = ConnectHandler(
        device_type="cisco_ios",
        host=target.host,
        port=target.port,
        username=target.username,
        password=target.secret(),
        use_keys=False,
        allow_agent=False,
        ssh_strict=True,  # RejectPolicy ...
        system_host_keys=False,
        alt_host_keys=False,
        conn_timeout=target.connect_timeout,
        auth_timeout=target.auth_timeout,
        banner_timeout=target.connect_timeout,
        read_timeout_override=read_timeout,
        fast_cli=True,
        auto_connect=False,
    )
    conn.key_policy = target.verifier().policy()  # ... replaced by the verifying policy (never adds keys)
    try:
        conn._open()
    except BaseException:
        conn.disconnect()  # also removes netmiko's per-connection log filter
        raise
    _fail_fast_on_eof(conn)
    return conn


def _fail_fast_on_eof(conn: Any) -> None:
    """netmiko polls a closed channel until its read timeout; make a dropped session an ``EOFError`` at
    once (mapped to ``TemporaryError``) instead of a 30 s wait."""
    read = conn.read_channel

    def read_channel() -> str:
        data = str(read())
        channel = conn.remote_conn
        if not data and (channel is None or channel.closed or channel.eof_received):
            raise EOFError("the router closed the SSH session")
        return data

    conn.read_channel = read_channel


def _map(exc: BaseException, *, target: SshTarget, during: str) -> ProviderError:
    """netmiko wraps paramiko errors (the original is the ``__context__``); unwrap and map."""
    from netmiko.exceptions import (  # noqa: PLC0415
        NetmikoAuthenticationException,
        NetmikoTimeoutException,
        ReadTimeout,
    )

    chain: list[BaseException] = []
    cursor: BaseException | None = exc
    while cursor is not None and len(chain) < 10:
        chain.append(cursor)
        cursor = cursor.__cause__ or cursor.__context__
    for item in chain:
        if isinstance(item, HostKeyError | paramiko.BadHostKeyException):
            return map_ssh_error(item, target=target, during=during)
    if isinstance(exc, NetmikoAuthenticationException) or any(
        isinstance(i, paramiko.AuthenticationException) for i in chain
    ):
        return AuthenticationError(
            f"{target.label} rejected the SSH login of user {target.username!r} ({during})",
            endpoint=target.name,
            hint=f"check the user and the password reference for DHCP server {target.name}",
        )
    if isinstance(exc, ReadTimeout):
        return TemporaryError(f"{target.label} did not answer in time ({during})", endpoint=target.name)
    if isinstance(exc, NetmikoTimeoutException) and (
        "TCP connection" in str(exc) or any(isinstance(i, EOFError | ConnectionError) for i in chain)
    ):  # refused, or closed/reset before the SSH banner: as providers.transports.ssh.connect maps it
        return UnreachableError(f"cannot reach {target.label} ({during})", endpoint=target.name)
    return map_ssh_error(exc, target=target, during=during)


def _ask(conn: Any, command: str) -> str:
    """One exec command, read until the exec prompt. (Without an expected prompt netmiko's
    ``send_command`` first finds the prompt again, with its sleeps: about 0.1 s a command.)"""
    return str(conn.send_command(command, expect_string=rf"{re.escape(str(conn.base_prompt))}#"))


def _send_block(conn: Any, commands: Sequence[str], *, read_timeout: float) -> str:
    """``configure terminal``, every line of ``commands`` and ``end`` written as one block, then read
    until the exec prompt comes back: one round trip whatever the number of pools. (netmiko's
    ``send_config_set`` either waits for each line's echo or sleeps after each line and then waits for
    two seconds of silence: 3.5 s for 63 pools on an idle loopback, 30 s on a loaded one.) The
    configuration prompts (``Router(config)#``, ``Router(dhcp-config)#``) never match the exec prompt
    (``Router#``), so the read ends after ``end`` has been processed, i.e. after every line before it;
    a rejected line's ``% Invalid input`` is in the returned text."""
    output = str(conn.config_mode())
    conn.write_channel("".join(conn.normalize_cmd(line) for line in [*commands, "end"]))
    exec_prompt = rf"^{re.escape(str(conn.base_prompt))}#"
    return output + str(
        conn.read_until_pattern(pattern=exec_prompt, read_timeout=read_timeout, re_flags=re.MULTILINE)
    )


class IosDhcpBackend:
    """One IOS router. ``connector`` (target → netmiko connection) is injectable for tests."""

    def __init__(
        self,
        *,
        name: str,
        target: SshTarget,
        read_timeout: float = 30.0,
        connector: Callable[[SshTarget], Any] | None = None,
    ) -> None:
        self._name = name
        self.target = target
        self.read_timeout = read_timeout
        self._connector = connector or (lambda t: _netmiko_connect(t, read_timeout=read_timeout))
        self._conn: Any = None

    @property
    def name(self) -> str:
        return self._name

    def _session(self) -> Any:
        if self._conn is not None and self._conn.is_alive():
            return self._conn
        self.close()
        try:
            self._conn = self._connector(self.target)
        except ProviderError:
            raise
        except Exception as exc:
            raise _map(exc, target=self.target, during="connecting") from exc
        return self._conn

    def _call(self, during: str, func: Callable[[Any], str]) -> str:
        conn = self._session()
        try:
            return func(conn)
        except ProviderError:
            raise
        except Exception as exc:
            self.close()
            raise _map(exc, target=self.target, during=during) from exc

    def list_scopes(self) -> tuple[DhcpScope, ...]:
        text = self._call(SHOW_POOLS, lambda c: _ask(c, SHOW_POOLS))
        return parse_pools(text)

    def privilege(self) -> tuple[str, int | None]:
        """(prompt, privilege level) of the session: ``show privilege`` → ``Current privilege level is
        15``; the level is ``None`` when the answer is not recognised (the doctor shows the screen).
        Changing a pool's option 150 needs configuration mode, i.e. level 15 on a default router."""
        prompt = self._call("finding the prompt", lambda c: str(c.find_prompt()))
        text = self._call(SHOW_PRIVILEGE, lambda c: _ask(c, SHOW_PRIVILEGE))
        return prompt, parse_privilege(text)

    def _pools_for(self, key: str) -> tuple[DhcpScope, ...]:
        """The pool named ``key`` alone when the router can filter for it, else every pool."""
        return self._read_pools((key,))

    def _read_pools(self, keys: Sequence[str]) -> tuple[DhcpScope, ...]:
        """Exactly the pools named ``keys`` in one read when the router can filter for them, else every
        pool (one full listing)."""
        names = sorted(set(keys))
        alternation = names[0] if len(names) == 1 else f"({'|'.join(names)})"
        if all(_POOL_NAME.fullmatch(k) for k in names) and len(alternation) <= MAX_FILTER:
            command = f"show running-config | section ^ip dhcp pool {alternation}$"
            wanted = set(names)
            found = tuple(
                s for s in parse_pools(self._call(command, lambda c: _ask(c, command))) if s.name in wanted
            )
            if {s.name for s in found} == wanted:
                return found
        return self.list_scopes()

    def set_option150(self, *, scope: str, addresses: Sequence[IPv4Address]) -> SetResult:
        return self.set_option150_batch(wants=[(scope, tuple(IPv4Address(a) for a in addresses))])[0]

    def set_option150_batch(self, *, wants: Wants) -> tuple[SetResult, ...]:
        """Every pool of ``wants`` in one configuration session (module docstring); all or nothing."""
        wanted = [(key, tuple(IPv4Address(a) for a in want)) for key, want in wants]
        pools = self._read_pools([k for k, _ in wanted])
        current = find_scopes(pools, [key for key, _ in wanted], server=self._name)
        todo = {
            cur.name: want for cur, (_, want) in zip(current, wanted, strict=True) if cur.option150 != want
        }
        if not todo:
            return tuple(SetResult(scope=c, changed=False, previous=c.option150) for c in current)
        previous = {c.name: c.option150 for c in current if c.name in todo}
        try:
            after = self._configure(todo, during="configuring option 150")
        except ProviderError as exc:
            raise with_note(exc, self._restore(previous)) from exc
        for name, want in todo.items():
            log.info("ios %s: pool %s option 150 → %s", self._name, name, ", ".join(map(str, want)) or "none")
        return tuple(
            SetResult(scope=after.get(c.name, c), changed=c.name in todo, previous=c.option150)
            for c in current
        )

    def _configure(self, values: dict[str, tuple[IPv4Address, ...]], *, during: str) -> dict[str, DhcpScope]:
        """One configuration session for ``values``, one ``write memory``, one read-back of exactly
        those pools; ``VerificationError`` when the read-back differs."""
        commands: list[str] = []
        for name, want in values.items():
            line = f"option 150 ip {' '.join(map(str, want))}" if want else "no option 150"
            commands += [f"ip dhcp pool {name}", line, "exit"]  # back to (config) before the next pool
        output = self._call(during, lambda c: _send_block(c, commands, read_timeout=self.read_timeout))
        if _INVALID.search(output):
            raise RemoteFaultError(
                f"{self._name} rejected a line of {len(values)} pool(s)' option 150: {output.strip()[-200:]}",
                endpoint=self._name,
                code="ios",
            )
        saved = self._call("write memory", lambda c: str(c.save_config(cmd="write memory")))
        if "[OK]" not in saved and "OK" not in saved:
            raise RemoteFaultError(
                f"{self._name}: write memory not confirmed: {saved.strip()[-200:]}",
                endpoint=self._name,
                code="ios",
            )
        after = {s.name: s for s in self._read_pools(list(values))}
        wrong = [n for n, want in values.items() if n not in after or after[n].option150 != want]
        if wrong:
            shown = "; ".join(
                f"pool {n} announces {_show(after[n].option150 if n in after else ())}, "
                f"wanted {_show(values[n])}"
                for n in wrong[:5]
            )
            raise VerificationError(f"{self._name}: {shown}", endpoint=self._name)
        return after

    def _restore(self, previous: dict[str, tuple[IPv4Address, ...]]) -> str:
        """Put ``previous`` back in one more session (and save); the sentence for the error message."""
        try:
            self._configure(previous, during="restoring the previous option 150")
        except ProviderError as exc:
            return restore_note((), str(exc))
        return restore_note(sorted(previous), None)

    def verify_option150(self, *, scope: str, addresses: Sequence[IPv4Address]) -> Option150Check:
        return self.verify_option150_batch(wants=[(scope, tuple(IPv4Address(a) for a in addresses))])[0]

    def verify_option150_batch(self, *, wants: Wants) -> tuple[Option150Check, ...]:
        """One read-back of exactly the batch's pools (never mutates)."""
        pools = self._read_pools([k for k, _ in wants])
        out = []
        for (_, want), found in zip(
            wants, find_scopes(pools, [k for k, _ in wants], server=self._name), strict=True
        ):
            out.append(Option150Check(scope=found.name, expected=tuple(IPv4Address(a) for a in want),
                                      observed=found.option150))  # fmt: skip
        return tuple(out)

    def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                conn.disconnect()
            except Exception as exc:  # closing a dead session must not mask the real error
                log.debug("ios %s: disconnect failed: %s", self._name, exc)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
