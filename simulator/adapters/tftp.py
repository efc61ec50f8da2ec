"""TFTP files of one node and the IOS router's DHCP pools, on the model.

``ModelTftp`` serves what ``Lab.tftp_file`` serves (``ITLFile.tlv``, ``CTLFile.tlv``, the per-phone
``ITLSEP<MAC>.tlv``/``CTLSEP<MAC>.tlv``) plus ``SEP<MAC>.cnf.xml`` for phones the lab knows: a small
unsigned configuration naming the CallManager group of the phone's device pool on this cluster, and
``SEP<MAC>.cnf.xml.sgn``, the signed configuration a secure phone downloads and judges on boot
(``Lab.tftp_config``). When
``Cisco Tftp`` is not running on the node the model raises ``UnreachableError``; over HTTP that is a 404
here (the runtime starts the TFTP-over-HTTP face only on nodes where TFTP is activated, so a node without
it refuses the connection). ``ModelIos`` is the ``IosBackend`` of one IOS router of the lab.
"""

from __future__ import annotations

import ipaddress
import re
import threading
from collections.abc import Sequence
from xml.sax.saxutils import escape

from reconciler.errors import RemoteFaultError, UnreachableError
from simulator.model import Lab
from simulator.model.dhcp import IosRouter

__all__ = ["ModelIos", "ModelTftp"]

_CONFIG = re.compile(r"^SEP([0-9A-F]{12})\.cnf\.xml$")
_SIGNED = re.compile(r"^SEP([0-9A-F]{12})\.cnf\.xml\.sgn$")


class ModelTftp:
    def __init__(self, lab: Lab, *, cluster: str, node: str) -> None:
        self.lab = lab
        self.cluster = cluster
        self.node = node

    def tftp_file(self, name: str) -> bytes | None:
        try:
            if (m := _CONFIG.match(name)) is not None:
                return self._config(f"SEP{m.group(1)}")
            if (m := _SIGNED.match(name)) is not None:
                return self._signed(f"SEP{m.group(1)}")
            return self.lab.tftp_file(self.cluster, self.node, name)
        except UnreachableError:
            return None

    def _signed(self, device: str) -> bytes | None:
        try:
            phone = self.lab.phone(device)
        except KeyError:
            return None
        return self.lab.tftp_config(self.cluster, self.node, phone.mac)

    def _config(self, device: str) -> bytes | None:
        if not any(n.name == self.node for n in self.lab.cluster(self.cluster).nodes_running("Cisco Tftp")):
            raise UnreachableError(f"Cisco Tftp is not activated on {self.node}", endpoint=self.node)
        try:
            phone = self.lab.phone(device)
        except KeyError:
            return None
        info = self.lab.cluster(self.cluster)
        group = info.device_pools.get(phone.device_pool) or next(iter(info.cm_groups))
        members = "".join(
            f'<member priority="{i}"><callManager><name>{escape(n)}</name>'
            f"<processNodeName>{escape(info.node(n).ip)}</processNodeName></callManager></member>"
            for i, n in enumerate(info.cm_groups.get(group, ()))
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n<device xsi:type="axl:XIPPhone" ctiid="1">'
            f"<deviceProtocol>SIP</deviceProtocol><devicePool><name>{escape(phone.device_pool)}</name>"
            f"<callManagerGroup><name>{escape(group)}</name><members>{members}</members></callManagerGroup>"
            f"</devicePool><loadInformation>sip88xx.14-2-1-0001-60</loadInformation>"
            f"<deviceSecurityMode>3</deviceSecurityMode><cluster>{escape(self.cluster)}</cluster></device>\n"
        ).encode()


class ModelIos:
    """``ip dhcp pool`` of router ``router`` (a ``dhcp`` source of kind ios in the spec)."""

    def __init__(self, lab: Lab, *, router: str) -> None:
        self.lab = lab
        self.router = router
        self.saved = 0
        self._lock = threading.Lock()

    def _source(self) -> IosRouter:
        source = self.lab.dhcp_source(self.router)
        if not isinstance(source, IosRouter):
            raise RemoteFaultError(f"{self.router} is not an IOS router")
        return source

    def pools(self) -> Sequence[tuple[str, str, tuple[str, ...]]]:
        out = []
        for name, pool in sorted(self._source().pools().items()):
            net = ipaddress.IPv4Network(pool.network)
            out.append((name, f"{net.network_address} {net.netmask}", pool.option150))
        return out

    def set_option150(self, *, pool: str, addresses: Sequence[str]) -> None:
        if self._source().pool(pool) is None:
            raise RemoteFaultError(f"% pool {pool} does not exist")
        self.lab.set_ios_pool_option150(router=self.router, pool=pool, addresses=tuple(addresses))

    def write_memory(self) -> None:
        with self._lock:
            self.saved += 1
