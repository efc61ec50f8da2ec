"""``KeaDhcpBackend``: option 150 on ISC Kea DHCPv4 through the control agent REST API.

Implements ``providers.dhcp.base.DhcpBackend``; wired by ``reconciler.wiring`` (inside an
``Option150Provider``) and tested against a real kea-dhcp4 (``simulator.kea``). Kea 2.2 has no
per-subnet update command in the stock hooks (docs/providers.md, "Running a real Kea"), so every change is:

``config-get`` → edit option 150 of one subnet → ``config-test`` → ``config-set`` → real DHCP query
(``reconciler.dhcpwire.query_relayed`` as the scope's relay) → ``config-write``.

Rules this module keeps:

- Option 150 is read and edited in the configuration document by ``providers.dhcp.keaconfig`` (matched by
  code 150, CSV or raw hex, inherited subnet → shared network → global; a change is written on the
  subnet itself).
- The configuration is otherwise sent back untouched — ``control-socket`` above all (omitting it would cut
  the control channel); a guard refuses to send a config whose control socket differs.
- Kea can accept a ``config-set`` yet stop serving DHCP (a failed ``config-set`` closes its sockets while
  ``config-get`` still shows the old config). So after every ``config-set`` the backend asks Kea over real
  DHCP; when Kea does not answer with the new option 150, the previous configuration is re-sent and a
  ``VerificationError`` says so. Nothing is written to disk before the probe passed.
- Idempotent: when the scope already announces the addresses, no mutating command is sent.
- ``set_option150`` is serialised per backend (a read-modify-write of the whole config).
- ``set_option150_batch``: the same sequence once for several scopes — one ``config-get``, every scope
  edited, one ``config-test``, one ``config-set``, one probe (the first changed scope with a relay: it
  proves Kea serves the new configuration), one ``config-write``; on any failure the previous
  configuration (every scope of the batch) is re-sent. ``verify_option150_batch``: one ``config-get`` and
  one probe.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address
from types import TracebackType
from typing import Any, Self

import requests

from providers.dhcp import keaconfig
from providers.dhcp.base import DhcpScope, Option150Check, SetResult, Wants, find_scope, find_scopes
from reconciler.dhcpwire import DhcpOffer, query_relayed
from reconciler.errors import PermanentError, RemoteFaultError, TemporaryError, VerificationError

__all__ = ["KeaDhcpBackend", "KeaProbe"]


@dataclass(frozen=True, slots=True, kw_only=True)
class KeaProbe:
    """How to ask Kea over real DHCP: its ``server`` (host, port), the ``client_port`` it sends relay
    replies to (``-P``), a ``timeout`` and the probe's ``mac``. Only usable where this host can receive
    on the scope's relay address — the lab and tests on loopback."""

    server: tuple[str, int]
    client_port: int
    timeout: float = 2.0
    mac: str = "02:00:00:00:01:50"


class KeaDhcpBackend:
    """A Kea DHCPv4 server behind its control agent at ``url``, through an injected ``session`` (from
    ``providers.transports.http.make_session``, carrying auth and TLS settings). ``probe`` enables the
    real DHCP check; ``query`` is the DHCP transport (``dhcpwire.query_relayed``); ``write_config`` persists
    with ``config-write`` (to ``config_file``, or to the file Kea was started with)."""

    def __init__(
        self,
        *,
        name: str,
        url: str,
        session: requests.Session,
        probe: KeaProbe | None = None,
        query: Callable[..., DhcpOffer] = query_relayed,
        write_config: bool = True,
        config_file: str | None = None,
        service: str = "dhcp4",
    ) -> None:
        self._name = name
        self.url = url
        self.session = session
        self.probe = probe
        self.query = query
        self.write_config = write_config
        self.config_file = config_file
        self.service = service
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """The DHCP server name used in ``option150.<name>.<scope>`` addresses."""
        return self._name

    # --- the control agent -------------------------------------------------------------------------

    def command(self, command: str, arguments: dict[str, Any] | None = None, *,
                check: bool = True) -> dict[str, Any]:  # fmt: skip
        """Send one command to the dhcp4 service; return its answer (``result``, ``text``,
        ``arguments``). ``check`` raises ``RemoteFaultError`` (code = Kea result) unless ``result`` is 0."""
        body: dict[str, Any] = {"command": command, "service": [self.service]}
        if arguments is not None:
            body["arguments"] = arguments
        response = self.session.post(self.url, json=body)
        try:
            payload = response.json()
        except ValueError as exc:
            raise RemoteFaultError(
                f"Kea control agent {self._name} sent non-JSON (HTTP {response.status_code}) to {command}",
                endpoint=self._name,
            ) from exc
        answer = payload[0] if isinstance(payload, list) and payload else payload
        if not isinstance(answer, dict) or "result" not in answer:
            raise RemoteFaultError(f"Kea {self._name}: unexpected answer to {command}: {payload!r:.200}",
                                   endpoint=self._name)  # fmt: skip
        if check and answer["result"] != 0:
            raise RemoteFaultError(
                f"Kea {self._name} refused {command}: {answer.get('text', '')}",
                endpoint=self._name,
                code=str(answer["result"]),
            )
        return answer

    def get_config(self) -> dict[str, Any]:
        """The running configuration as ``{"Dhcp4": {...}}`` (other keys such as ``hash`` dropped)."""
        args = self.command("config-get").get("arguments") or {}
        if "Dhcp4" not in args:
            raise RemoteFaultError(f"Kea {self._name}: config-get returned no Dhcp4", endpoint=self._name)
        return {"Dhcp4": args["Dhcp4"]}

    # --- reading the configuration (providers.dhcp.keaconfig) -------------------------------------

    def list_scopes(self) -> tuple[DhcpScope, ...]:
        """Every subnet (top level and in shared networks) with its effective option 150; read-only."""
        return keaconfig.scopes(self.get_config()["Dhcp4"])

    # --- changing option 150 -----------------------------------------------------------------------

    def edit(self, config: dict[str, Any], *, scope: str,
             addresses: Sequence[IPv4Address]) -> dict[str, Any]:  # fmt: skip
        """A copy of ``config`` where only the option 150 entry of ``scope`` differs (pure)."""
        return keaconfig.edit(config, scope=scope, addresses=addresses, server=self._name)

    def _ask(self, scope: DhcpScope) -> tuple[IPv4Address, ...]:
        """Option 150 of a real DHCP offer for ``scope`` (``TemporaryError`` when Kea does not answer)."""
        assert self.probe is not None and scope.relay is not None
        offer = self.query(server=self.probe.server, giaddr=scope.relay, client_port=self.probe.client_port,
                           mac=self.probe.mac, timeout=self.probe.timeout)  # fmt: skip
        return tuple(offer.option150)

    def _persist(self, previous: dict[str, Any], scope: DhcpScope) -> None:
        """``config-write`` (when configured) after a verified ``config-set``; on failure restore
        ``previous`` and raise ``RemoteFaultError`` saying how the restore went."""
        if not self.write_config:
            return
        args = {"filename": self.config_file} if self.config_file else {}
        answer = self.command("config-write", args, check=False)
        if answer["result"] != 0:
            raise RemoteFaultError(
                f"Kea {self._name} could not write its configuration: {answer.get('text', '')}; "
                f"{self._restore(previous, scope)}",
                endpoint=self._name,
                code=str(answer["result"]),
            )

    def _restore(self, previous: dict[str, Any], scope: DhcpScope) -> str:
        """Re-send ``previous``; return a sentence saying how that went (for the error message)."""
        try:
            self.command("config-set", previous)
        except (RemoteFaultError, TemporaryError) as exc:
            return f"restoring the previous configuration FAILED too ({exc}); Kea may not be serving DHCP"
        if self.probe is None or scope.relay is None:
            return "the previous configuration was restored"
        try:
            offered = self._ask(scope)
        except TemporaryError:
            return "the previous configuration was restored, but Kea still does not answer DHCP"
        shown = ", ".join(map(str, offered)) or "none"
        return f"the previous configuration was restored and Kea answers again (option 150: {shown})"

    def _send(self, old: dict[str, Any], new: dict[str, Any], *, what: str, probe: DhcpScope,
              want: tuple[IPv4Address, ...]) -> None:  # fmt: skip
        """``config-test`` and ``config-set`` of ``new`` (changing ``what``), the DHCP probe of scope
        ``probe`` (it must now announce ``want``), then ``config-write``. A refusal or a wrong answer
        re-sends ``old`` and raises, saying how that went; nothing reaches the disk before the probe."""
        if new["Dhcp4"].get("control-socket") != old["Dhcp4"].get("control-socket"):
            raise PermanentError("refusing to send a Kea config without the original control-socket",
                                 endpoint=self._name)  # fmt: skip
        self.command("config-test", new)
        answer = self.command("config-set", new, check=False)
        if answer["result"] != 0:
            raise RemoteFaultError(
                f"Kea {self._name} refused config-set for {what}: {answer.get('text', '')}; "
                f"{self._restore(old, probe)}",
                endpoint=self._name,
                code=str(answer["result"]),
            )
        if self.probe is not None and probe.relay is not None:
            try:
                got: tuple[IPv4Address, ...] | None = self._ask(probe)
                problem = f"Kea answers with option 150 {', '.join(map(str, got or ())) or 'none'}"
            except TemporaryError as exc:
                got, problem = None, f"Kea stopped answering DHCP ({exc})"
            if got != want:
                where = "" if what == f"scope {probe.name}" else f" for scope {probe.name}"
                raise VerificationError(
                    f"after config-set for {what} on Kea {self._name}, {problem}{where} instead of "
                    f"{', '.join(map(str, want)) or 'none'}; {self._restore(old, probe)}",
                    endpoint=self._name,
                    hint=f"see the kea-dhcp4 log of {self._name}; nothing was written to disk",
                )
        self._persist(old, probe)

    def set_option150(self, *, scope: str, addresses: Sequence[IPv4Address]) -> SetResult:
        """Make ``scope`` announce exactly ``addresses``; see the module docstring for the sequence."""
        want = tuple(IPv4Address(a) for a in addresses)
        with self._lock:
            old = self.get_config()
            current = find_scope(keaconfig.scopes(old["Dhcp4"]), scope, server=self._name)
            if current.option150 == want:
                return SetResult(scope=current, changed=False, previous=current.option150)
            new = self.edit(old, scope=scope, addresses=want)
            self._send(old, new, what=f"scope {current.name}", probe=current, want=want)
            changed = DhcpScope(name=current.name, subnet=current.subnet, option150=want,
                                relay=current.relay)  # fmt: skip
            return SetResult(scope=changed, changed=True, previous=current.option150)

    def set_option150_batch(self, *, wants: Wants) -> tuple[SetResult, ...]:
        """Several scopes in one ``config-set`` (module docstring); all or nothing."""
        if len(wants) == 1:
            return (self.set_option150(scope=wants[0][0], addresses=wants[0][1]),)
        wanted = [(key, tuple(IPv4Address(a) for a in want)) for key, want in wants]
        with self._lock:
            old = self.get_config()
            scopes = keaconfig.scopes(old["Dhcp4"])
            current = find_scopes(scopes, [key for key, _ in wanted], server=self._name)
            todo = [(c, w) for c, (_, w) in zip(current, wanted, strict=True) if c.option150 != w]
            if not todo:
                return tuple(SetResult(scope=c, changed=False, previous=c.option150) for c in current)
            new = old
            for scope, want in todo:
                new = self.edit(new, scope=scope.name, addresses=want)
            probe = next((c for c, _ in todo if c.relay is not None), todo[0][0])
            names = f"{len(todo)} scope(s) ({', '.join(c.name for c, _ in todo[:5])})"
            self._send(old, new, what=names, probe=probe, want=dict((c.name, w) for c, w in todo)[probe.name])
            changed = {c.name: w for c, w in todo}
            return tuple(
                SetResult(
                    scope=DhcpScope(name=c.name, subnet=c.subnet, option150=changed[c.name], relay=c.relay),
                    changed=True,
                    previous=c.option150,
                )
                if c.name in changed
                else SetResult(scope=c, changed=False, previous=c.option150)
                for c in current
            )

    def verify_option150_batch(self, *, wants: Wants) -> tuple[Option150Check, ...]:
        """One ``config-get`` and at most one probe (the first scope with a relay); never mutates."""
        scopes = self.list_scopes()
        found = [
            (scope, tuple(IPv4Address(a) for a in w))
            for scope, (_, w) in zip(
                find_scopes(scopes, [k for k, _ in wants], server=self._name), wants, strict=True
            )
        ]
        probed = next((i for i, (c, _) in enumerate(found) if c.relay is not None), None)
        out = []
        for i, (current, want) in enumerate(found):
            if self.probe is None or i != probed:
                out.append(Option150Check(scope=current.name, expected=want, observed=current.option150))
                continue
            out.append(Option150Check(scope=current.name, expected=want, observed=current.option150,
                                      offered=self._ask(current), method="read-back+dhcp-query"))  # fmt: skip
        return tuple(out)

    def verify_option150(self, *, scope: str, addresses: Sequence[IPv4Address]) -> Option150Check:
        """Read back through config-get, and ask over real DHCP when a probe is configured."""
        want = tuple(IPv4Address(a) for a in addresses)
        current = find_scope(self.list_scopes(), scope, server=self._name)
        if self.probe is None or current.relay is None:
            return Option150Check(scope=current.name, expected=want, observed=current.option150)
        return Option150Check(scope=current.name, expected=want, observed=current.option150,
                              offered=self._ask(current), method="read-back+dhcp-query")  # fmt: skip

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
