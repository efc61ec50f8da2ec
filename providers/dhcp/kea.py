"""``KeaDhcpBackend``: option 150 on ISC Kea DHCPv4 through the control agent REST API.

Implements ``providers.dhcp.base.DhcpBackend``; wired by ``reconciler.wiring`` (inside an
``Option150Provider``) and tested against a real kea-dhcp4 (``simulator.kea``). Kea 2.2 has no
per-subnet update command in the stock hooks (docs/providers.md, "Running a real Kea"), so every change is:

``config-get`` → edit option 150 of one subnet → ``config-test`` → ``config-set`` → real DHCP query
(``reconciler.dhcpwire.query_relayed`` as the scope's relay) → ``config-write``.

Rules this module keeps:

- Option 150 is matched by **code 150** in space ``dhcp4`` — an entry with ``"code": 150``, or one whose
  ``name`` an ``option-def`` maps to code 150; ``data`` in CSV (``"10.0.0.1, 10.0.0.2"``) or raw hex
  (``"csv-format": false``) form is read, and a rewritten entry keeps its form. The effective value of a
  subnet is its own entry, else its shared network's, else the global one; a change is written on the
  subnet itself.
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

import copy
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from types import TracebackType
from typing import Any, Self

import requests

from providers.dhcp.base import DhcpScope, Option150Check, SetResult, Wants, find_scope
from reconciler.dhcpwire import DhcpOffer, query_relayed
from reconciler.errors import PermanentError, RemoteFaultError, TemporaryError, VerificationError

__all__ = ["KeaDhcpBackend", "KeaProbe"]

OPTION_CODE = 150


@dataclass(frozen=True, slots=True, kw_only=True)
class KeaProbe:
    """How to ask Kea over real DHCP: its ``server`` (host, port), the ``client_port`` it sends relay
    replies to (``-P``), a ``timeout`` and the probe's ``mac``. Only usable where this host can receive
    on the scope's relay address — the lab and tests on loopback."""

    server: tuple[str, int]
    client_port: int
    timeout: float = 2.0
    mac: str = "02:00:00:00:01:50"


def _decode(entry: dict[str, Any]) -> tuple[IPv4Address, ...]:
    data = str(entry.get("data", "")).strip()
    if not data:
        return ()
    try:
        if entry.get("csv-format", True):
            return tuple(IPv4Address(p.strip()) for p in data.split(",") if p.strip())
        raw = bytes.fromhex(data.lower().removeprefix("0x").replace(":", "").replace(" ", ""))
    except ValueError as exc:
        raise RemoteFaultError(f"Kea option 150 data {data!r} is not a list of IPv4 addresses") from exc
    if len(raw) % 4:
        raise RemoteFaultError(f"Kea option 150 raw data {data!r} is not a multiple of 4 bytes")
    return tuple(IPv4Address(raw[i : i + 4]) for i in range(0, len(raw), 4))


def _encode(template: dict[str, Any] | None, addresses: Sequence[IPv4Address],
            names: frozenset[str]) -> dict[str, Any]:  # fmt: skip
    if template is None:
        if names:
            template = {"name": sorted(names)[0], "code": OPTION_CODE, "space": "dhcp4"}
        else:
            template = {"code": OPTION_CODE, "space": "dhcp4", "csv-format": False}
    entry = dict(template)
    if entry.get("csv-format", True):
        entry["data"] = ", ".join(str(a) for a in addresses)
    else:
        entry["data"] = b"".join(a.packed for a in addresses).hex().upper()
    return entry


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

    # --- reading the configuration -----------------------------------------------------------------

    @staticmethod
    def _option_names(dhcp4: dict[str, Any]) -> frozenset[str]:
        return frozenset(
            d["name"]
            for d in dhcp4.get("option-def", [])
            if d.get("code") == OPTION_CODE and d.get("space", "dhcp4") == "dhcp4" and "name" in d
        )

    @staticmethod
    def _find_entry(option_data: list[dict[str, Any]], names: frozenset[str]) -> int | None:
        for i, entry in enumerate(option_data):
            if entry.get("space", "dhcp4") != "dhcp4":
                continue
            if entry.get("code") == OPTION_CODE or (entry.get("code") is None and entry.get("name") in names):
                return i
        return None

    @staticmethod
    def _subnets(dhcp4: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None]]:
        for subnet in dhcp4.get("subnet4", []):
            yield subnet, None
        for network in dhcp4.get("shared-networks", []):
            for subnet in network.get("subnet4", []):
                yield subnet, network

    def _scope(self, dhcp4: dict[str, Any], subnet: dict[str, Any],
               network: dict[str, Any] | None) -> DhcpScope:  # fmt: skip
        names = self._option_names(dhcp4)
        value: tuple[IPv4Address, ...] = ()
        for level in (subnet, network or {}, dhcp4):
            options = level.get("option-data", [])
            index = self._find_entry(options, names)
            if index is not None:
                value = _decode(options[index])
                break
        relays: list[str] = []
        for level in (subnet, network or {}):
            relay = level.get("relay") or {}
            relays = relay.get("ip-addresses") or ([relay["ip-address"]] if relay.get("ip-address") else [])
            if relays:
                break
        context = subnet.get("user-context") or {}
        name = context.get("name") if isinstance(context, dict) else None
        return DhcpScope(
            name=str(name or subnet["subnet"]),
            subnet=IPv4Network(subnet["subnet"], strict=False),
            option150=value,
            relay=IPv4Address(relays[0]) if relays else None,
        )

    def list_scopes(self) -> tuple[DhcpScope, ...]:
        """Every subnet (top level and in shared networks) with its effective option 150; read-only."""
        dhcp4 = self.get_config()["Dhcp4"]
        return tuple(self._scope(dhcp4, s, n) for s, n in self._subnets(dhcp4))

    # --- changing option 150 -----------------------------------------------------------------------

    def edit(self, config: dict[str, Any], *, scope: str,
             addresses: Sequence[IPv4Address]) -> dict[str, Any]:  # fmt: skip
        """A copy of ``config`` where only the option 150 entry of ``scope`` differs (pure)."""
        new = copy.deepcopy(config)
        dhcp4 = new["Dhcp4"]
        names = self._option_names(dhcp4)
        for subnet, network in self._subnets(dhcp4):
            if not self._scope(dhcp4, subnet, network).matches(scope):
                continue
            options: list[dict[str, Any]] = subnet.setdefault("option-data", [])
            index = self._find_entry(options, names)
            if not addresses:
                if index is not None:
                    del options[index]
                return new
            if index is None:
                options.append(_encode(None, addresses, names))
            else:
                options[index] = _encode(options[index], addresses, names)
            return new
        raise RemoteFaultError(f"Kea {self._name} has no scope {scope!r}", endpoint=self._name)

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

    def set_option150(self, *, scope: str, addresses: Sequence[IPv4Address]) -> SetResult:
        """Make ``scope`` announce exactly ``addresses``; see the module docstring for the sequence."""
        want = tuple(IPv4Address(a) for a in addresses)
        with self._lock:
            old = self.get_config()
            dhcp4 = old["Dhcp4"]
            current = find_scope([self._scope(dhcp4, s, n) for s, n in self._subnets(dhcp4)], scope,
                                 server=self._name)  # fmt: skip
            if current.option150 == want:
                return SetResult(scope=current, changed=False, previous=current.option150)
            new = self.edit(old, scope=scope, addresses=want)
            if new["Dhcp4"].get("control-socket") != dhcp4.get("control-socket"):
                raise PermanentError("refusing to send a Kea config without the original control-socket",
                                     endpoint=self._name)  # fmt: skip
            self.command("config-test", new)
            answer = self.command("config-set", new, check=False)
            if answer["result"] != 0:
                restored = self._restore(old, current)
                raise RemoteFaultError(
                    f"Kea {self._name} refused config-set for scope {current.name}: "
                    f"{answer.get('text', '')}; {restored}",
                    endpoint=self._name,
                    code=str(answer["result"]),
                )
            if self.probe is not None and current.relay is not None:
                offered: tuple[IPv4Address, ...] | None = None
                try:
                    got = self._ask(current)
                except TemporaryError as exc:
                    problem = f"Kea stopped answering DHCP ({exc})"
                else:
                    offered = got
                    problem = f"Kea answers with option 150 {', '.join(map(str, got)) or 'none'}"
                if offered != want:
                    restored = self._restore(old, current)
                    raise VerificationError(
                        f"after config-set for scope {current.name} on Kea {self._name}, {problem} "
                        f"instead of {', '.join(map(str, want)) or 'none'}; {restored}",
                        endpoint=self._name,
                        hint=f"see the kea-dhcp4 log of {self._name}; nothing was written to disk",
                    )
            self._persist(old, current)
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
            dhcp4 = old["Dhcp4"]
            scopes = [self._scope(dhcp4, s, n) for s, n in self._subnets(dhcp4)]
            current = [find_scope(scopes, key, server=self._name) for key, _ in wanted]
            todo = [(c, w) for c, (_, w) in zip(current, wanted, strict=True) if c.option150 != w]
            if not todo:
                return tuple(SetResult(scope=c, changed=False, previous=c.option150) for c in current)
            new = old
            for scope, want in todo:
                new = self.edit(new, scope=scope.name, addresses=want)
            if new["Dhcp4"].get("control-socket") != dhcp4.get("control-socket"):
                raise PermanentError("refusing to send a Kea config without the original control-socket",
                                     endpoint=self._name)  # fmt: skip
            self.command("config-test", new)
            probe = next((c for c, _ in todo if c.relay is not None), todo[0][0])
            names = f"{len(todo)} scope(s) ({', '.join(c.name for c, _ in todo[:5])})"
            answer = self.command("config-set", new, check=False)
            if answer["result"] != 0:
                raise RemoteFaultError(
                    f"Kea {self._name} refused config-set for {names}: {answer.get('text', '')}; "
                    f"{self._restore(old, probe)}",
                    endpoint=self._name,
                    code=str(answer["result"]),
                )
            want = dict((c.name, w) for c, w in todo)[probe.name]
            if self.probe is not None and probe.relay is not None:
                try:
                    got: tuple[IPv4Address, ...] | None = self._ask(probe)
                    problem = f"Kea answers with option 150 {', '.join(map(str, got or ())) or 'none'}"
                except TemporaryError as exc:
                    got, problem = None, f"Kea stopped answering DHCP ({exc})"
                if got != want:
                    raise VerificationError(
                        f"after config-set for {names} on Kea {self._name}, {problem} for scope "
                        f"{probe.name} instead of {', '.join(map(str, want)) or 'none'}; "
                        f"{self._restore(old, probe)}",
                        endpoint=self._name,
                        hint=f"see the kea-dhcp4 log of {self._name}; nothing was written to disk",
                    )
            self._persist(old, probe)
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
            (find_scope(scopes, key, server=self._name), tuple(IPv4Address(a) for a in w)) for key, w in wants
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
