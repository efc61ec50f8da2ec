"""``ProviderEstate``: ``reconciler.live.protocol.LiveEstate`` over the concrete providers (read-only).

Built by ``reconciler.wiring.factory.ProviderWiring`` (plan, drift, apply) over a
``reconciler.wiring.connections.Connections``. Every read goes through a provider client, which maps
foreign errors to ``reconciler.errors`` at its boundary; nothing here calls a mutating operation.
Reads of one cluster's nodes run on a small thread pool (``parallelism``; ``reconciler.wiring.estate_base``).

The estate is three halves: cluster facts (nodes, services, identities, trust stores, TVS, parameters:
``reconciler.wiring.estate_clusters``), phones and their registrations
(``reconciler.wiring.estate_phones``), and here the rest:

- CallManager groups: AXL. Option 150: each scope's DHCP server, the scope found by its subnet (an IOS
  pool or CUCM DHCP subnet is named differently from the YAML's scope).
- TFTP files: ``CTLFile.tlv``/``ITLFile.tlv`` over HTTP 6970; a file that cannot be fetched is kept as a
  read failure of the node's TFTP face and reported with its error, not as an empty file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from reconciler.errors import ReconcilerError
from reconciler.live.pools import PoolMember
from reconciler.live.progress import ReadPhase, ReadProgress
from reconciler.live.protocol import TftpFile
from reconciler.vocabulary import ReadFace
from reconciler.wiring.estate_clusters import ClusterReads
from reconciler.wiring.estate_phones import PhoneReads
from reconciler.wiring.indexes import ScopeIndex

__all__ = ["ProviderEstate"]


class ProviderEstate(ClusterReads, PhoneReads):
    """The live estate of one desired state, read through ``conns`` (see the module docstring)."""

    def callmanager_groups(self, cluster: str) -> Mapping[str, tuple[str, ...]]:
        groups = self.waiter.read(self._where(cluster), lambda: self.conns.axl(cluster).callmanager_groups())
        return {g.name: tuple(g.members) for g in groups}

    def pool_devices(self, cluster: str, pool: str | None = None) -> Sequence[PoolMember]:
        """Every device of ``pool`` (every pool when ``None``) on ``cluster``, all device classes
        (``reconciler.live.pools.ListsPoolDevices``; one read-only SQL query through AXL)."""
        devices = self.waiter.read(self._where(cluster), lambda: self.conns.axl(cluster).pool_devices(pool))
        return [PoolMember(name=d.name, pool=d.pool, phone=d.is_phone) for d in devices]

    def option150(
        self, scopes: Sequence[tuple[str, str]]
    ) -> Mapping[tuple[str, str], tuple[str, ...] | None]:
        declared = {s.name: s for s in self.conns.desired.dhcp.scopes}
        servers = sorted({server for server, _ in scopes})
        total = len(scopes)
        self.hooks.read_progress(ReadProgress(phase=ReadPhase.DHCP, subject="dhcp", done=0, total=total))
        listed = self._map(
            lambda s: self.waiter.read(f"DHCP server {s}", lambda: self.conns.dhcp(s).list_scopes()), servers
        )
        index = {server: ScopeIndex(found) for server, found in listed.items()}
        out: dict[tuple[str, str], tuple[str, ...] | None] = {}
        for server, scope in scopes:
            decl = declared.get(scope)
            keys = (
                [scope]
                + ([str(decl.subnet)] if decl is not None else [])
                + ([decl.pool] if decl is not None and decl.pool else [])
            )
            found = index[server].first(keys) if server in index else None
            out[(server, scope)] = (
                tuple(str(a) for a in found.option150) if found and found.option150 else None
            )
        self.hooks.read_progress(
            ReadProgress(phase=ReadPhase.DHCP, subject="dhcp", done=total, total=total, finished=True)
        )
        return out

    def tftp_files(self, cluster: str, nodes: Sequence[str]) -> Mapping[str, tuple[TftpFile, TftpFile]]:
        def fetch(node: str) -> tuple[TftpFile, TftpFile]:
            client = self.conns.tftp(cluster, node)
            pair = []
            for name in ("CTLFile.tlv", "ITLFile.tlv"):
                try:
                    pair.append(TftpFile(cluster=cluster, node=node, name=name, data=client.fetch(name)))
                except ReconcilerError as exc:
                    self._failures.record(cluster=cluster, node=node, face=ReadFace.TFTP, error=exc)
                    pair.append(TftpFile(cluster=cluster, node=node, name=name, data=None, error=str(exc)))
            return pair[0], pair[1]

        return self._map(fetch, list(nodes))
