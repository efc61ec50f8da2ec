"""The IOS DHCP router face: a Cisco IOS-like shell over an ``IosBackend``.

Enough of IOS for netmiko's ``cisco_ios`` driver and for the IOS DHCP provider: ``Router#``,
``Router(config)#`` and ``Router(dhcp-config)#`` prompts; ``terminal length 0``, ``terminal width 511``;
``show running-config | section REGEX`` (the pools' blocks); ``configure terminal``; ``ip dhcp pool NAME``;
``option 150 ip A B`` / ``no option 150``; ``show privilege``; ``exit``; ``end``; ``write memory`` (and
``write mem``/``wr``).
Anything else answers "% Invalid input detected at '^' marker.". ``ios_server`` builds the SSH face.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping

import paramiko

from simulator.faces.backends import IosBackend
from simulator.faces.faults import FaceFaults
from simulator.faces.ssh import Shell, SshFaceServer, Terminal

__all__ = ["IosShell", "ios_server"]

INVALID = "% Invalid input detected at '^' marker.\n"


class IosShell:
    def __init__(self, backend: IosBackend, *, hostname: str = "Router") -> None:
        self.backend = backend
        self.hostname = hostname
        self.mode = "exec"  # exec | config | dhcp-config
        self.pool = ""

    def banner(self) -> str:
        return "\n"

    def prompt(self) -> str:
        return {"exec": f"{self.hostname}#", "config": f"{self.hostname}(config)#"}.get(
            self.mode, f"{self.hostname}(dhcp-config)#"
        )

    def _invalid(self, line: str, term: Terminal) -> None:
        term.write(
            " " * (len(self.prompt()) + len(line.split(maxsplit=1)[0]) if line.split() else 0)
            + "^\n"
            + INVALID
        )

    def run(self, line: str, term: Terminal) -> bool:
        line = line.replace("\x00", "").strip()  # IOS ignores NUL bytes (netmiko's keep-alive sends one)
        if not line:
            return True  # an empty line: just the prompt again
        words = line.split()
        low = [w.lower() for w in words]
        if low in (["end"], ["\x1a"]):
            self.mode = "exec"
        elif self.mode == "exec":
            return self._exec(line, low, term)
        elif low == ["exit"]:
            self.mode = "config" if self.mode == "dhcp-config" else "exec"
        elif self.mode == "config":
            self._config(words, low, line, term)
        else:
            self._dhcp(words, low, line, term)
        return True

    def _exec(self, line: str, low: list[str], term: Terminal) -> bool:
        if low in (["exit"], ["quit"], ["logout"]):
            return False
        if low[:2] == ["terminal", "length"] or low[:2] == ["terminal", "width"]:
            return True
        if low[:2] in (["configure", "terminal"], ["conf", "t"]):
            term.write("Enter configuration commands, one per line.  End with CNTL/Z.\n")
            self.mode = "config"
        elif low[:4] == ["show", "running-config", "|", "section"] and len(low) > 4:
            term.write(self._section(line.split("section", 1)[1].strip(), term))
        elif low in (["show", "running-config"], ["show", "run"]):
            term.write(
                f"Building configuration...\n\nCurrent configuration:\n!\nhostname {self.hostname}\n!\n"
                + self._pools_text()
                + "!\nend\n"
            )
        elif low in (
            ["write", "memory"],
            ["write", "mem"],
            ["write"],
            ["wr"],
            ["copy", "running-config", "startup-config"],
        ):
            self.backend.write_memory()
            term.write("Building configuration...\n[OK]\n")
        elif low == ["enable"]:
            return True
        elif low == ["show", "privilege"]:
            term.write("Current privilege level is 15\n")
        else:
            self._invalid(line, term)
        return True

    def _section(self, pattern: str, term: Terminal) -> str:
        """``| section REGEX``: every configuration block with a line matching REGEX (IOS regular
        expressions are close enough to Python's for ``^``, ``$`` and literals)."""
        try:
            regex = re.compile(pattern)
        except re.error:
            self._invalid(pattern, term)
            return ""
        blocks = re.split(r"(?m)^(?=\S)", self._pools_text())
        return "".join(b for b in blocks if b and any(regex.search(ln) for ln in b.splitlines()))

    def _pools_text(self) -> str:
        out = []
        for name, network, option150 in self.backend.pools():
            out.append(f"ip dhcp pool {name}\n")
            if network:
                out.append(f" network {network}\n")
            if option150:
                out.append(f" option 150 ip {' '.join(option150)}\n")
        return "".join(out)

    def _config(self, words: list[str], low: list[str], line: str, term: Terminal) -> None:
        if low[:3] == ["ip", "dhcp", "pool"] and len(words) == 4:
            self.pool = words[3]
            self.mode = "dhcp-config"
        else:
            self._invalid(line, term)

    def _dhcp(self, words: list[str], low: list[str], line: str, term: Terminal) -> None:
        if low[:3] == ["option", "150", "ip"] and len(words) > 3:
            try:
                addresses = [str(ipaddress.IPv4Address(w)) for w in words[3:]]
            except ValueError:
                self._invalid(line, term)
                return
            self.backend.set_option150(pool=self.pool, addresses=addresses)
        elif low[:3] == ["no", "option", "150"]:
            self.backend.set_option150(pool=self.pool, addresses=[])
        elif low[:1] in (["network"], ["default-router"], ["dns-server"], ["lease"], ["domain-name"]):
            return  # accepted, not modelled
        else:
            self._invalid(line, term)


def ios_server(
    backend: IosBackend,
    *,
    host: str,
    port: int,
    host_key: paramiko.PKey,
    users: Mapping[str, str] | Callable[[], Mapping[str, str]],
    hostname: str = "Router",
    faults: FaceFaults | None = None,
) -> SshFaceServer:
    def shell(user: str) -> Shell:
        return IosShell(backend, hostname=hostname)

    return SshFaceServer(
        name="ios", host=host, port=port, host_key=host_key, users=users, shell_factory=shell, faults=faults
    )
