"""``PhoneReads``: the phones of ``reconciler.wiring.estate.ProviderEstate`` — which phones each scope
holds and where they are registered (read-only).

Combined into ``ProviderEstate`` (``reconciler.wiring.estate``), which plan, drift, apply and the reset
provider (``reconciler.wiring.reset``) read through. Where each fact comes from:

- phones of a scope: the phones RisPort70 (source and target, paced) reports with an IPv4 address inside
  the scope's subnet — the lab's device pools do not follow scopes and neither do real ones reliably,
  while a phone's DHCP address always does. A phone registered on the target belongs to the target
  (its CallManager group there, via its device pool); otherwise to the source. Phones RisPort70 has no
  address for cannot be placed and are left out. Scope membership is read once per estate.
- TFTP files: ``CTLFile.tlv``/``ITLFile.tlv`` over HTTP 6970; registrations: RisPort70 by device name,
  except that the first such read after ``phones`` is answered from the complete listing ``phones``
  just took (the refresh's case: 40 fewer paced queries at 80,000 phones); see ``LISTING_TTL``.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from ipaddress import IPv4Network

from providers.cucm_serviceability import Registration as RisRecord
from providers.cucm_serviceability import dedupe
from reconciler.live.progress import ReadPhase, ReadProgress
from reconciler.live.protocol import PhoneFacts, Registration
from reconciler.wiring.estate_base import EstateReader
from reconciler.wiring.indexes import SubnetIndex

__all__ = ["LISTING_TTL", "PhoneReads"]

#: A complete RisPort70 listing of a cluster taken by ``phones`` answers the next ``registrations`` of
#: that cluster once, if younger than this (the refresh reads the listing for scope membership, then
#: the registrations of the same phones while the AXL listings finish); every other read is live.
LISTING_TTL = 120.0


class PhoneReads(EstateReader):
    """``LiveEstate.phones`` and ``registrations`` (see the module docstring)."""

    def phones(self, scopes: Sequence[str]) -> Mapping[str, tuple[PhoneFacts, ...]]:
        members = self._members()
        return {s: members.get(s, ()) for s in scopes}

    def _members(self) -> dict[str, tuple[PhoneFacts, ...]]:
        with self._lock:
            if self._scope_members is not None:
                return self._scope_members
        desired = self.conns.desired
        mig = desired.migration
        clusters = (mig.source, mig.target)
        # The paced RisPort70 listings are the refresh's critical path (R13: at 1,000 devices per query
        # and the allowance per minute, 80,000 phones take more than a minute); the AXL listings of
        # both clusters run beside them instead of after them.
        with ThreadPoolExecutor(max_workers=len(clusters) + 1, thread_name_prefix="estate-phones") as pool:
            pool_jobs = {c: pool.submit(self._pool_groups, c) for c in clusters}
            listings = {c: self._ris_listing(c) for c in clusters}
            groups = {c: job.result() for c, job in pool_jobs.items()}
        records: list[RisRecord] = []
        owner: dict[str, str] = {}
        for cluster in clusters:
            for rec in listings[cluster]:
                records.append(rec)
                if rec.registered:
                    owner[rec.name.upper()] = cluster
        latest = dedupe(records)
        subnets = SubnetIndex((s.name, IPv4Network(str(s.subnet))) for s in desired.dhcp.scopes)
        out: dict[str, list[PhoneFacts]] = {}
        for rec in latest:
            scope = subnets.scope_of(rec.ip)
            if scope is None:
                continue
            cluster = owner.get(rec.name.upper(), mig.source)
            pools = groups[cluster]
            out.setdefault(scope, []).append(
                PhoneFacts(name=rec.name, scope=scope, cluster=cluster, cm_group=pools.get(rec.name, ""))
            )
        result = {s: tuple(sorted(v, key=lambda p: p.name)) for s, v in out.items()}
        with self._lock:
            self._scope_members = result
        return result

    def _ris_listing(self, cluster: str) -> tuple[RisRecord, ...]:
        """Every phone record RisPort70 of ``cluster`` has; remembered for ``LISTING_TTL`` seconds so
        the refresh's registration read that follows needs no second pass over the same phones."""

        def listed(count: int, total: int, eta: float) -> None:
            self.hooks.read_progress(
                ReadProgress(phase=ReadPhase.PHONES, subject=cluster, done=count, total=total, eta=eta)
            )

        self.hooks.read_progress(ReadProgress(phase=ReadPhase.PHONES, subject=cluster, done=0, total=None))
        ris = self.conns.ris(cluster)
        found = self._ris(cluster, functools.partial(ris.raw_registrations, ("*",), progress=listed))
        self.hooks.read_progress(
            ReadProgress(
                phase=ReadPhase.PHONES, subject=cluster, done=len(found), total=len(found), finished=True
            )
        )
        with self._lock:
            self._listings[cluster] = (time.monotonic(), found)
        return found

    def _fresh_listing(self, cluster: str) -> tuple[RisRecord, ...] | None:
        """The listing ``phones`` took of ``cluster``, once (the next registration read after it), and
        only while it is younger than ``LISTING_TTL``; every later read asks RisPort70 again."""
        with self._lock:
            taken = self._listings.pop(cluster, None)
        if taken is None or time.monotonic() - taken[0] >= LISTING_TTL:
            return None
        return taken[1]

    def _pool_groups(self, cluster: str) -> dict[str, str]:
        """phone name → CallManager group on ``cluster`` (through its device pool)."""
        axl = self.conns.axl(cluster)
        pools = {p.name: p.callmanager_group for p in axl.device_pools()}
        return {name: pools.get(pool, "") for name, pool in axl.phone_device_pools().items()}

    def registrations(self, cluster: str, names: Sequence[str]) -> Mapping[str, Registration]:
        if not names:
            return {}
        listing = self._fresh_listing(cluster)
        if listing is not None:  # a complete listing of every device, seconds old (see LISTING_TTL)
            found: Iterable[RisRecord] = dedupe(listing)
        else:
            ris = self.conns.ris(cluster)
            found = self._ris(cluster, lambda: ris.registrations(list(names)))
        wanted = {n.upper(): n for n in names}
        return {
            wanted[r.name.upper()]: Registration(
                name=wanted[r.name.upper()],
                cluster=cluster,
                node=r.node or None,
                status=r.status,
                status_reason=r.reason,
                timestamp=r.timestamp,
            )
            for r in found
            if r.name.upper() in wanted
        }
