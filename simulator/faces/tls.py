"""TLS material of the HTTPS faces: a server ``ssl.SSLContext`` from PEM, plus PEM-level wrappers around
``reconciler.cucm.certs`` (the lab CA and the CA-signed tomcat-like server certificates with IP SANs).

``server_context`` is what the faces use; ``LabCa.create`` / ``issue_server_cert`` are conveniences for
tests and for ``simulator/lab/runtime.py`` when it needs PEM files (the CA bundle of the inventory).
"""

from __future__ import annotations

import os
import ssl
import tempfile
from dataclasses import dataclass, field

from reconciler.cucm import certs

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
        issued = certs.generate_ca(common_name=common_name, key_type="ec-p256")
        return cls(certs.certificate_pem(issued.cert), certs.private_key_pem(issued.key))

    def issued(self) -> certs.IssuedCert:
        return certs.IssuedCert(certs.load_certificate(self.cert_pem), certs.load_private_key(self.key_pem))


def issue_server_cert(ca: LabCa, *, hostname: str, ip: str) -> ServerIdentity:
    """A tomcat-like server certificate for ``hostname`` with DNS and IP SANs, signed by ``ca``."""
    issued = certs.generate_tls_server(host=hostname, issuer=ca.issued(), ips=[ip], key_type="ec-p256")
    return ServerIdentity(certs.certificate_pem(issued.cert), certs.private_key_pem(issued.key))


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
