"""The wire path of a phone reset: each phone boots over the lab's own network faces, off the lab lock.

``Lab.reset_phones`` (e.g. from the AXL face's ``resetPhone``) marks the phones as rebooting and hands
their names to the ``WireBooter`` attached by ``simulator.lab.runtime``. A bounded pool of worker threads
then boots each phone the way a phone does (docs/lab.md#how-phones-boot):

1. DHCP through its scope's source: the IOS router or CUCM DHCP of the model, or the real Kea over the
   wire with a relayed DISCOVER (``Lab.option150``);
2. CTL, ITL and the signed configuration ``SEP<MAC>.cnf.xml.sgn`` downloaded as bytes over HTTP from the
   TFTP face (port 6970) of the first address in option 150 that answers;
3. each file parsed with the lab's own reader and judged by the lab phone (``simulator.model.boot.
   decide_boot`` → ``phonetrust.judge``), which asks the TVS servers of its CallManager group over TLS on
   port 2445 (``simulator.adapters.tvs.WireTvs``; the presented certificate is pinned against the ITL);
4. the outcome is committed under the lock (``Lab.boot_commit``): the phone registers (RisPort70 shows
   it) or stays, with the reason a phone would log.

The faces take the lab lock to answer, so a boot must never hold it while it talks to them: only
``boot_context``, ``boot_rule`` and ``boot_commit`` take it, each briefly. ``log`` records, per phone,
the DHCP answer and every TFTP and TVS request. ``stop()`` cancels queued boots, waits for running ones
and joins every worker thread (``lab down`` leaves no thread behind).
"""

from __future__ import annotations

import http.client
import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from reconciler.errors import ProviderError, TlvError
from simulator.adapters.tvs import WireTvs
from simulator.faces.tvs import TVS_PORT
from simulator.model import Lab, labtlv
from simulator.model.boot import BootOutcome, decide_boot
from simulator.model.oplog import OperationLog
from simulator.model.phonetrust import TvsAnswer, TvsContact, Verdict
from simulator.model.reboot import BootContext
from simulator.model.trustfiles import ServedFile

__all__ = ["DEFAULT_WORKERS", "WireBooter"]

_LOG = logging.getLogger("simulator.lab.wireboot")

DEFAULT_WORKERS = 8  # concurrent boots (real phones boot in parallel; the lab has 2 cores to share)


class _Traced(TvsContact):
    """A TVS contact that writes each exchange into the phone's trace."""

    def __init__(self, inner: WireTvs, trace: list[str]) -> None:
        self.name = inner.name
        self._inner = inner
        self._trace = trace

    def close(self) -> None:
        self._inner.close()

    def presented(self) -> tuple[bytes, str] | None:
        before = self._inner.connections
        found = self._inner.presented()
        if found is None:
            self._trace.append(f"tvs {self.name}: unreachable")
        elif self._inner.connections > before:
            self._trace.append(f"tvs {self.name}: TLS up")
        return found

    def query(self, signer: tuple[bytes, str]) -> TvsAnswer | None:
        answer = self._inner.query(signer)
        roles = "broken" if answer is None else (",".join(map(str, sorted(answer.roles))) or "unknown")
        self._trace.append(f"tvs {self.name}: query {signer[0].hex()} -> {roles}")
        return answer


class _Downloaded:
    def __init__(self, *, address: str, ctl: bytes | None, itl: bytes, config: bytes) -> None:
        self.address = address
        self.ctl = ctl
        self.itl = itl
        self.config = config


class WireBooter:
    """Boots reset phones over the faces; attach with ``lab.attach_booter(booter)``."""

    def __init__(
        self,
        lab: Lab,
        *,
        tftp_port: int,
        tvs_port: int = TVS_PORT,
        workers: int = DEFAULT_WORKERS,
        timeout: float = 5.0,
    ) -> None:
        self.lab = lab
        self.tftp_port = tftp_port
        self.tvs_port = tvs_port
        self.timeout = timeout
        self.log = OperationLog()
        self._sources = {s.name: s.source for s in lab.scopes()}
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lab-boot")
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._running = 0
        self._stopped = False

    # -- the pool ------------------------------------------------------------------------------------

    def __call__(self, names: Sequence[str]) -> None:
        """Queue a boot per phone (called by ``Lab.reset_phones`` under the lab lock: never blocks)."""
        with self._lock:
            if self._stopped:
                return
            self._running += len(names)
        for i, name in enumerate(names):
            try:
                future: Future[None] = self._pool.submit(self._boot, name)
            except RuntimeError:  # stopped meanwhile (lab down): these phones stay rebooting
                with self._lock:
                    self._running -= len(names) - i
                    self._idle.notify_all()
                return
            future.add_done_callback(self._done)

    def _done(self, _future: Future[None]) -> None:
        with self._lock:
            self._running -= 1
            if self._running <= 0:
                self._idle.notify_all()

    def wait(self, timeout: float) -> bool:
        """Wait until every queued boot has finished; False when ``timeout`` passed first."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._running > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def stop(self) -> None:
        """Cancel queued boots, finish running ones and join the worker threads (idempotent)."""
        with self._lock:
            self._stopped = True
        self._pool.shutdown(wait=True, cancel_futures=True)

    # -- one phone -----------------------------------------------------------------------------------

    def _boot(self, name: str) -> None:
        try:
            context = self.lab.boot_context(name)
        except KeyError:
            return
        trace: list[str] = []
        try:
            self._boot_phone(context, trace)
        except Exception as exc:  # a lab defect: the phone must not stay "rebooting" for ever
            _LOG.exception("boot of %s failed", name)
            trace.append(f"lab error: {exc!r}")
            self.lab.boot_commit(context, unregistered=f"the lab could not boot this phone: {exc!r}")
        finally:
            self.log.record(at=self.lab.clock.now(), op="boot", target=name, detail="; ".join(trace))

    def _boot_phone(self, context: BootContext, trace: list[str]) -> None:
        source = self._sources.get(context.scope, "?")
        try:
            addresses = self.lab.option150(context.scope, mac=context.mac)
        except ProviderError as exc:
            trace.append(f"dhcp {source}: no answer")
            self.lab.boot_commit(context, unregistered=f"DHCP source {source} did not answer: {exc}")
            return
        trace.append(f"dhcp {source}: option 150 {' '.join(addresses) or '(none)'}")
        got = None
        for address in addresses:
            got = self._download(address, context.mac, trace)
            if got is not None:
                break
        if got is None:
            why = (
                "DHCP sent no option 150"
                if not addresses
                else f"no TFTP server reachable at {', '.join(addresses)}"
            )
            self.lab.boot_commit(context, reason=f"{why}; using the cached configuration")
            return
        self.lab.boot_commit(context, tftp=got.address, outcome=self._judge(context, got, trace))

    def _download(self, address: str, mac: str, trace: list[str]) -> _Downloaded | None:
        """CTL, ITL and signed configuration from the TFTP face at ``address`` (one HTTP connection);
        None when it is unreachable or serves no ITL (Cisco Tftp not running there)."""
        conn = http.client.HTTPConnection(address, self.tftp_port, timeout=self.timeout)
        got: dict[str, bytes | None] = {}
        try:
            for key, path in (("CTL", f"CTLSEP{mac}.tlv"), ("ITL", f"ITLSEP{mac}.tlv"),
                              ("config", f"SEP{mac}.cnf.xml.sgn")):  # fmt: skip
                conn.request("GET", "/" + path)
                response = conn.getresponse()
                body = response.read()
                trace.append(f"tftp {address}: GET {path} {response.status}")
                got[key] = body if response.status == 200 else None
                if key != "CTL" and got[key] is None:
                    return None
        except (OSError, http.client.HTTPException) as exc:
            trace.append(f"tftp {address}: unreachable ({type(exc).__name__})")
            return None
        finally:
            conn.close()
        itl, config = got["ITL"], got["config"]
        assert itl is not None and config is not None  # returned above otherwise
        return _Downloaded(address=address, ctl=got["CTL"], itl=itl, config=config)

    def _judge(self, context: BootContext, got: _Downloaded, trace: list[str]) -> BootOutcome:
        cluster, node = context.nodes.get(got.address, ("?", got.address))
        where = f"TFTP {node} ({cluster})"
        keep = f"; the phone keeps its configuration from cluster {context.cluster}"
        try:
            served_ctl = _served("CTL", got.ctl, context.ctl, cluster, node)
            served_itl = _served("ITL", got.itl, context.itl, cluster, node)
            config = labtlv.read(got.config, records=False)
        except TlvError as exc:
            return BootOutcome(
                ctl=context.ctl,
                itl=context.itl,
                config_cluster=None,
                reason=f"a file from {where} could not be parsed: {exc}{keep}",
            )
        assert served_itl is not None  # the ITL was downloaded
        contacts = [
            _Traced(WireTvs(name=n, host=ip, port=self.tvs_port, timeout=self.timeout), trace)
            for n, ip in context.tvs
        ]

        def annotate(verdict: Verdict, kind: str, held: ServedFile | None) -> tuple[str, str]:
            return self.lab.boot_rule(verdict, kind=kind, held_itl=held, context=context)

        try:
            return decide_boot(
                phone_ctl=context.ctl,
                phone_itl=context.itl,
                served_ctl=served_ctl,
                served_itl=served_itl,
                config=config,
                tvs=contacts,
                knobs=context.knobs,
                where=where,
                keep=keep,
                target=cluster,
                annotate=annotate,
                remembered=context.remembered,
            )
        finally:
            for contact in contacts:  # the phone closes its TVS connections once the boot is judged
                contact.close()


def _served(
    kind: str, data: bytes | None, held: ServedFile | None, cluster: str, node: str
) -> ServedFile | None:
    """The downloaded file as the phone sees it: what it already holds when the bytes are the same
    (a phone skips a file whose hash it has), else the bytes parsed by the lab's reader."""
    if data is None:
        return None
    if held is not None and held.data == data:
        return held
    return ServedFile(kind, cluster, node, data, labtlv.read(data))
