"""TLS material of the HTTPS faces: a server ``ssl.SSLContext`` from PEM, plus PEM-level wrappers around
``simulator.labcerts`` (the lab CA and the CA-signed tomcat-like server certificates with IP SANs).

``server_context`` is what the faces use; ``LabCa.create`` / ``issue_server_cert`` are conveniences for
tests and for ``simulator/lab/runtime.py`` when it needs PEM files (the CA bundle of the inventory).
"""

from __future__ import annotations

import os
import ssl
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric import ec

from simulator import labcerts

__all__ = ["LabCa", "ServerIdentity", "issue_server_cert", "server_context"]


@dataclass(frozen=True)
class ServerIdentity:
    cert_pem: bytes  # leaf first, then any intermediates
    key_pem: bytes = field(repr=False)


@dataclass(frozen=True)
class LabCa:
    cert_pem: bytes
    key_pem: bytes = field(repr=False)

    @classmethod
    def create(cls, common_name: str = "reconciler lab CA") -> LabCa:
        key = ec.generate_private_key(ec.SECP256R1())
        issued = labcerts.mint_ca(common_name=common_name, key=key, now=datetime.now(UTC))
        return cls(labcerts.pem(issued.cert), labcerts.key_pem(issued.key))

    def issued(self) -> labcerts.IssuedCert:
        return labcerts.IssuedCert(labcerts.load_cert(self.cert_pem), labcerts.load_key(self.key_pem))


def issue_server_cert(ca: LabCa, *, hostname: str, ip: str) -> ServerIdentity:
    """A tomcat-like server certificate for ``hostname`` with DNS and IP SANs, signed by ``ca``."""
    key = ec.generate_private_key(ec.SECP256R1())
    issued = labcerts.mint_tls_server(
        host=hostname, issuer=ca.issued(), ips=[ip], key=key, now=datetime.now(UTC)
    )
    return ServerIdentity(labcerts.pem(issued.cert), labcerts.key_pem(issued.key))


def server_context(identity: ServerIdentity) -> ssl.SSLContext:
    """A TLS server context presenting ``identity`` (the ssl module loads chains only from files)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    fd, path = tempfile.mkstemp(prefix="face-", suffix=".pem")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(identity.cert_pem + b"\n" + identity.key_pem)
        ctx.load_cert_chain(path)
    finally:
        os.unlink(path)
    return ctx
