"""TVS on the model, as the TLS face serves it, and a lab phone's TVS contact over that face.

``ModelTvsBackend`` answers from the cache the node's TVS loaded at its last start (``Lab.tvs_cache``;
R7, R8: later store changes are invisible until the next start) and reports the service down when
``Cisco Trust Verification Service`` is not Started. ``WireTvs`` is a ``TvsContact`` of the lab phone
(``simulator.model.phonetrust``) that reaches a TVS face over TLS on port 2445 the way a phone does: one
connection, whose handshake gives the presented certificate (the phone pins it against its ITL), then
every query of the boot over that connection; ``close()`` ends it. Used by
``simulator.lab.faces`` (the backend) and by wire boots and tests (the contact).
"""

from __future__ import annotations

from cryptography import x509

from simulator.faces.tvs import TVS_PORT, TvsSession
from simulator.model import Lab
from simulator.model import services as svc
from simulator.model.phonetrust import TvsAnswer, TvsContact
from simulator.model.tvs import key_of

__all__ = ["ModelTvsBackend", "WireTvs"]


class ModelTvsBackend:
    def __init__(self, lab: Lab, *, cluster: str, node: str) -> None:
        self.lab = lab
        self.cluster = cluster
        self.node = node

    def running(self) -> bool:
        status = self.lab.service_status(self.cluster, self.node, svc.TVS).status
        return status is svc.ServiceStatus.STARTED

    def answer(self, serial: bytes, issuer: str) -> tuple[frozenset[int], bytes]:
        cache, _ = self.lab.tvs_cache(self.cluster, self.node)
        if cache is None:
            return frozenset(), b""
        return cache.answer((serial, issuer))


class WireTvs(TvsContact):
    """One TVS server of a phone's group, reached over TLS (``host``:``port``)."""

    def __init__(self, *, name: str, host: str, port: int = TVS_PORT, timeout: float = 5.0) -> None:
        self.name = name
        self._host = host
        self._port = port
        self._timeout = timeout
        self._session: TvsSession | None = None
        self.connections = 0  # TLS connections opened (one per boot unless one broke)

    def _connected(self) -> TvsSession | None:
        """The open connection, or a new one when there is none or it broke; None: unreachable."""
        if self._session is None or self._session.broken:
            self._session = TvsSession.open(host=self._host, port=self._port, timeout=self._timeout)
            self.connections += self._session is not None
        return self._session

    def presented(self) -> tuple[bytes, str] | None:
        session = self._connected()
        if session is None or not session.presented:
            return None
        return key_of(x509.load_der_x509_certificate(session.presented))

    def query(self, signer: tuple[bytes, str]) -> TvsAnswer | None:
        session = self._session  # the connection whose certificate the phone pinned
        if session is None:
            session = self._connected()
        reply = None if session is None else session.ask(serial=signer[0], issuer=signer[1])
        if reply is None or reply.roles is None:
            return None
        return TvsAnswer(reply.roles, reply.certificate)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
