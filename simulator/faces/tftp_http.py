"""TFTP over HTTP (port 6970, plain HTTP): the files a phone fetches from a TFTP node.

Serves ``ITLFile.tlv``, ``CTLFile.tlv``, ``ITLSEP<MAC>.tlv``, ``CTLSEP<MAC>.tlv``, ``SEP<MAC>.cnf.xml`` and
the signed ``SEP<MAC>.cnf.xml.sgn``
from a ``TftpBackend``; any other name, or a name the backend does not hold, is a 404. No authentication,
as on CUCM. ``tftp_http_server`` builds the ready-to-start ``HttpFaceServer`` for one node.
"""

from __future__ import annotations

import re

from simulator.faces.backends import TftpBackend
from simulator.faces.faults import FaceFaults
from simulator.faces.https import HttpFaceServer, Request, Response, Route

__all__ = ["TFTP_FILE", "TftpHttpFace", "tftp_http_server"]

TFTP_FILE = re.compile(
    r"^(?:ITLFile\.tlv|CTLFile\.tlv|(?:ITL|CTL)SEP[0-9A-F]{12}\.tlv|SEP[0-9A-F]{12}\.cnf\.xml(?:\.sgn)?)$"
)


class TftpHttpFace:
    def __init__(self, backend: TftpBackend) -> None:
        self.backend = backend

    def __call__(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return Response(405, b"method not allowed")
        name = request.path.lstrip("/")
        if TFTP_FILE.match(name):
            content = self.backend.tftp_file(name)
            if content is not None:
                kind = "text/xml" if name.endswith(".xml") else "application/octet-stream"
                return Response(200, content, kind)
        return Response(404, b"File not found")


def tftp_http_server(
    backend: TftpBackend, *, name: str, host: str, port: int = 6970, faults: FaceFaults | None = None
) -> HttpFaceServer:
    return HttpFaceServer(
        name=name, host=host, port=port, routes=[Route("/", TftpHttpFace(backend))], faults=faults
    )
