"""``CucmDhcpBackend``: option 150 on the CUCM DHCP server (Cisco DHCP Monitor Service) over AXL.

Implements ``providers.dhcp.base.DhcpBackend``; ``reconciler.wiring`` wraps it in an ``Option150Provider``
for each ``kind: cucm`` DHCP server of the YAML (``schemas.dhcp.CucmDhcpServer``: a cluster and the node
whose DHCP server it is), and ``tests/contract/test_dhcp_cucm.py`` runs the shared DHCP suite on it.

A scope is a CUCM DHCP subnet (``listDhcpSubnet`` of that server), named by its ``subnetIpAddress``
(``10.1.0.0``) and also found by ``10.1.0.0/24``. Its option 150 is the subnet's TFTP addresses,
``primaryTftpServerIpAddress`` then ``secondaryTftpServerIpAddress`` (docs/cucm-domain.md#axl): at most two
addresses, and a change is one ``updateDhcpSubnet`` keyed by (server, subnet). Idempotent: when the
subnet already announces the addresses nothing is sent. Verification is a read-back (CUCM's DHCP server
cannot be probed from here).

``set_option150_batch``: one listing, one ``updateDhcpSubnet`` per changed subnet with at most
``concurrency`` in flight (AXL allows no more per cluster), one listing to check; when any update fails
or the listing differs, every subnet the batch changed gets its previous TFTP addresses back.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from ipaddress import IPv4Address, IPv4Network
from typing import Self

from providers.cucm_axl.client import AxlClient
from providers.cucm_axl.models import DhcpSubnetInfo
from providers.dhcp.base import (
    DhcpScope,
    Option150Check,
    SetResult,
    Wants,
    find_scope,
    find_scopes,
    restore_note,
    with_note,
)
from reconciler.errors import PermanentError, ProviderError, RemoteFaultError, VerificationError

__all__ = ["CucmDhcpBackend"]


def _scope(info: DhcpSubnetInfo) -> DhcpScope:
    try:
        network = IPv4Network(f"{info.subnet}/{info.mask}" if info.mask else info.subnet, strict=False)
        tftp = tuple(IPv4Address(a) for a in (info.primary_tftp, info.secondary_tftp) if a)
    except ValueError as exc:
        raise RemoteFaultError(
            f"CUCM DHCP subnet {info.subnet} of {info.server} is not readable: {exc}"
        ) from exc
    return DhcpScope(name=info.subnet, subnet=network, option150=tftp)


class CucmDhcpBackend:
    """The DHCP server of process node ``server`` of one cluster, through that cluster's ``AxlClient``."""

    def __init__(self, client: AxlClient, *, name: str, server: str, concurrency: int = 4) -> None:
        self.client = client
        self._name = name
        self.server = server
        self.concurrency = max(1, concurrency)

    @property
    def name(self) -> str:
        """The YAML's name of this DHCP server (``<server>`` in ``option150.<server>.<scope>``)."""
        return self._name

    def list_scopes(self) -> tuple[DhcpScope, ...]:
        return tuple(_scope(s) for s in self.client.dhcp_subnets(server=self.server))

    def _check_size(self, want: tuple[IPv4Address, ...]) -> None:
        if len(want) > 2:
            raise PermanentError(
                f"CUCM DHCP server {self._name} ({self.server}) holds at most two TFTP addresses, "
                f"got {len(want)}",
                endpoint=self._name,
                hint="list at most two option150 addresses for scopes served by a CUCM DHCP server",
            )

    def _update(self, subnet: str, want: tuple[IPv4Address, ...]) -> None:
        texts = [str(a) for a in want] + ["", ""]
        self.client.update_dhcp_subnet_tftp(
            server=self.server, subnet=subnet, primary=texts[0], secondary=texts[1]
        )

    def set_option150_batch(self, *, wants: Wants) -> tuple[SetResult, ...]:
        """Several subnets with bounded concurrency (module docstring); all or nothing."""
        wanted = [(key, tuple(IPv4Address(a) for a in want)) for key, want in wants]
        for _, want in wanted:
            self._check_size(want)
        scopes = self.list_scopes()
        current = find_scopes(scopes, [key for key, _ in wanted], server=self._name)
        todo = {c.name: w for c, (_, w) in zip(current, wanted, strict=True) if c.option150 != w}
        previous = {c.name: c.option150 for c in current if c.name in todo}
        done: list[str] = []

        def update(item: tuple[str, tuple[IPv4Address, ...]]) -> None:
            self._update(*item)
            done.append(item[0])

        try:
            with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="cucm-dhcp") as pool:
                for future in [pool.submit(update, item) for item in todo.items()]:
                    future.result()
            after = {s.name: s for s in self.list_scopes()} if todo else {}
            wrong = [n for n, w in todo.items() if n not in after or after[n].option150 != w]
            if wrong:
                shown = ", ".join(wrong[:5])
                raise VerificationError(
                    f"CUCM DHCP {self._name}: subnet(s) {shown} do not announce what was set",
                    endpoint=self._name,
                )
        except ProviderError as exc:
            raise with_note(exc, self._restore({n: previous[n] for n in done})) from exc
        return tuple(SetResult(scope=after.get(c.name, c), changed=c.name in todo, previous=c.option150)
                     for c in current)  # fmt: skip

    def _restore(self, previous: dict[str, tuple[IPv4Address, ...]]) -> str:
        try:
            for subnet, want in previous.items():
                self._update(subnet, want)
        except ProviderError as exc:
            return restore_note((), str(exc))
        return restore_note(sorted(previous), None)

    def verify_option150_batch(self, *, wants: Wants) -> tuple[Option150Check, ...]:
        """One listing for every subnet of the batch (never mutates)."""
        scopes = self.list_scopes()
        out = []
        for (_, want), found in zip(
            wants, find_scopes(scopes, [k for k, _ in wants], server=self._name), strict=True
        ):
            out.append(Option150Check(scope=found.name, expected=tuple(IPv4Address(a) for a in want),
                                      observed=found.option150))  # fmt: skip
        return tuple(out)

    def set_option150(self, *, scope: str, addresses: Sequence[IPv4Address]) -> SetResult:
        want = tuple(IPv4Address(a) for a in addresses)
        self._check_size(want)
        current = find_scope(self.list_scopes(), scope, server=self._name)
        if current.option150 == want:
            return SetResult(scope=current, changed=False, previous=current.option150)
        texts = [str(a) for a in want] + ["", ""]
        self.client.update_dhcp_subnet_tftp(
            server=self.server, subnet=current.name, primary=texts[0], secondary=texts[1]
        )
        after = find_scope(self.list_scopes(), current.name, server=self._name)
        return SetResult(scope=after, changed=True, previous=current.option150)

    def verify_option150(self, *, scope: str, addresses: Sequence[IPv4Address]) -> Option150Check:
        found = find_scope(self.list_scopes(), scope, server=self._name)
        return Option150Check(
            scope=found.name,
            expected=tuple(IPv4Address(a) for a in addresses),
            observed=found.option150,
            method="read-back",
        )

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
