"""The ``Lab`` methods of the wire path of a phone reset (mixed into ``simulator.model.lab.Lab``).

With a booter attached (``simulator.lab.wireboot.WireBooter``, by ``simulator.lab.runtime``),
``Lab.reset_phones`` marks the phones as rebooting (UnRegistered) and hands their names to it
(``_boot_later``); the booter reads each phone's ``BootContext`` (``boot_context``), talks to the faces
with the lock released, asks the lab's reading of a rejection (``boot_rule``) and commits the outcome
(``boot_commit``). A phone reset again before its boot finished carries a newer generation, and the older
boot's commit is dropped. Each method takes the lab's lock briefly (``locked``); none records an
``Operation``: a boot is the phone's own doing, logged by the booter.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from reconciler.errors import UnreachableError

from ..knobs import TrustKnobs
from . import services as svc
from .boot import BootOutcome, apply_outcome, register, rule_for, unregister
from .clock import Clock
from .cluster import Cluster
from .lablock import locked
from .phones import Phone, PhoneFleet
from .phonetrust import Verdict
from .reboot import BootContext, boot_context
from .trustfiles import ServedFile

__all__ = ["WireBoots"]


class WireBoots:
    """Mixin: the wire-boot state and methods of ``Lab`` (which owns the attributes declared here)."""

    _lock: threading.RLock
    _fleet: PhoneFleet
    _clusters: dict[str, Cluster]
    clock: Clock
    knobs: TrustKnobs

    def _init_boots(self) -> None:
        self._booter: Callable[[tuple[str, ...]], None] | None = None  # the wire path, when attached
        self._boot_gen: dict[str, int] = {}  # phone -> reset count (a newer reset supersedes a boot)
        self._booting: set[str] = set()

    def _node(self, cluster: str, node: str) -> tuple[Cluster, str]:
        raise NotImplementedError  # Lab's

    def _boot_later(self, chosen: Sequence[Phone]) -> bool:
        """Under the lock, from ``reset_phones``: hand ``chosen`` to the booter (False: no booter, boot
        them now on the model path)."""
        if self._booter is None:
            return False
        now = self.clock.now()
        for phone in chosen:
            self._boot_gen[phone.name] = self._boot_gen.get(phone.name, 0) + 1
            self._booting.add(phone.name)
            phone.timestamp, phone.rule, phone.tftp = now, None, None
            unregister(phone, "rebooting (reset)")
        self._booter(tuple(p.name for p in chosen))
        return True

    def attach_booter(self, booter: Callable[[tuple[str, ...]], None] | None) -> None:
        """From now on ``reset_phones`` hands the phones' names to ``booter`` (None: the model path)."""
        with self._lock:
            self._booter = booter

    @locked
    def boot_context(self, name: str) -> BootContext:
        """What phone ``name`` knows when it starts booting (a snapshot, read outside the lock)."""
        phone = self._fleet.get(name)
        if phone is None:
            raise KeyError(name)
        return boot_context(
            phone,
            clusters=self._clusters,
            generation=self._boot_gen.get(name, 0),
            now=self.clock.now(),
            knobs=self.knobs,
        )

    @locked
    def boot_rule(
        self, verdict: Verdict, *, kind: str, held_itl: ServedFile | None, context: BootContext
    ) -> tuple[str, str]:
        """The lab's reading of a rejection (``boot.rule_for``) for a phone booting over the wire."""
        return rule_for(
            verdict,
            kind=kind,
            held_itl=self._canonical(held_itl),
            clusters=self._clusters,
            cluster=context.cluster,
            group=context.cm_group,
            now=self.clock.now(),
        )

    @locked
    def boot_commit(
        self,
        context: BootContext,
        *,
        tftp: str | None = None,
        outcome: BootOutcome | None = None,
        reason: str = "",
        unregistered: str = "",
    ) -> bool:
        """Commit a wire boot: the outcome (from TFTP ``tftp``), or no TFTP (registers with ``reason``), or
        ``unregistered`` (why: no DHCP answer, or the boot itself failed). False (nothing changed) when the
        phone was reset again meanwhile."""
        phone = self._fleet.get(context.name)
        if phone is None or self._boot_gen.get(context.name, 0) != context.generation:
            return False
        self._booting.discard(context.name)
        phone.timestamp, phone.rule, phone.tftp = self.clock.now(), None, tftp
        if unregistered:
            unregister(phone, unregistered)
        elif outcome is None:
            register(phone, self._clusters, reason)
        else:
            canonical = BootOutcome(
                ctl=self._canonical(outcome.ctl),
                itl=self._canonical(outcome.itl),
                config_cluster=outcome.config_cluster,
                reason=outcome.reason,
                rule=outcome.rule,
                learned=outcome.learned,
            )
            apply_outcome(phone, canonical, clusters=self._clusters, now=self.clock.now())
        return True

    @locked
    def boots_pending(self) -> int:
        """Phones reset on the wire path that have not finished booting."""
        return len(self._booting)

    def _canonical(self, file: ServedFile | None) -> ServedFile | None:
        """The model's own object for a file a phone downloaded (same bytes), so that identical phones
        stay identical for the model path's memo; the downloaded one when TFTP no longer serves it."""
        c = self._clusters.get(file.cluster) if file is not None else None
        if file is None or c is None or file.node not in c.nodes:
            return file
        itl, ctl = c.files(file.node, self.clock.now())
        for served in (itl, ctl):
            if served is not None and served is not file and served.data == file.data:
                return served
        return file

    @locked
    def tftp_config(self, cluster: str, node: str, mac: str) -> bytes:
        """``SEP<MAC>.cnf.xml.sgn`` as TFTP on ``node`` serves it; ``UnreachableError`` when Cisco Tftp is
        not running there."""
        c, n = self._node(cluster, node)
        if not c.nodes[n].runs(svc.TFTP):
            raise UnreachableError(f"Cisco Tftp is not running on {n}", endpoint=n)
        return c.config_bytes(n, mac=mac, now=self.clock.now())
