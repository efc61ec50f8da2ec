"""``TftpHttpClient``: the ITL/CTL files a CUCM TFTP node serves over HTTP port 6970, decoded.

Used (through ``reconciler.wiring``) to read the trust lists phones will download (R1, R4: every target
TFTP node must serve valid files) and by ``reconciler inspect``. Facts (docs/cucm-domain.md#tftp-itl-and-ctl):
phones fetch ``CTLSEP<MAC>.tlv`` then ``ITLSEP<MAC>.tlv`` over HTTP 6970 (then TFTP); the cluster files are
``ITLFile.tlv`` and ``CTLFile.tlv``. Plain HTTP, no credentials (as on CUCM); the session still comes from
``providers.transports.http.make_session`` (timeouts, error mapping, ``trust_env`` off).

- ``fetch(name)`` → bytes, or ``None`` when the node does not have the file (HTTP 404; a non-secure
  cluster has no CTL); a node that refuses or drops the connection raises ``UnreachableError`` naming
  the node (``endpoint`` = its label) and the Cisco Tftp fix, however the session reported it;
- ``trust_file(name)`` → ``reconciler.cucm.tlv.TlvFile`` decoded with ``reconciler.cucm.tlv.parse``; a
  malformed file raises ``TlvError`` whose message names the node, the file and the byte offset;
- ``cluster_files()`` / ``phone_files(mac)`` fetch the pair (CTL first, as a phone does).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Self

import requests

from providers.transports.http import check_status, make_session, translate_request_error
from reconciler.cucm import tlv
from reconciler.errors import ProviderError, RemoteFaultError, TlvError, UnreachableError

__all__ = ["TftpHttpClient", "TrustFiles", "phone_file_names"]

_MAC = re.compile(r"^(?:SEP)?([0-9A-F]{12})$")
_NAME = re.compile(
    r"^(?:ITLFile\.tlv|CTLFile\.tlv|(?:ITL|CTL)SEP[0-9A-F]{12}\.tlv|SEP[0-9A-F]{12}\.cnf\.xml)$"
)


def phone_file_names(mac: str) -> tuple[str, str]:
    """``("CTLSEP<MAC>.tlv", "ITLSEP<MAC>.tlv")`` for a MAC (``001122334455``, ``00:11:…``, ``SEP…``)."""
    match = _MAC.match(re.sub(r"[:.\-\s]", "", mac.strip().upper()))
    if match is None:
        raise ValueError(f"{mac!r} is not a phone MAC address (12 hex digits, optionally SEP-prefixed)")
    return f"CTLSEP{match.group(1)}.tlv", f"ITLSEP{match.group(1)}.tlv"


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustFiles:
    """The CTL and ITL one node serves under the given names (``None`` = not served)."""

    node: str
    ctl_name: str
    itl_name: str
    ctl: tlv.TlvFile | None
    itl: tlv.TlvFile | None


class TftpHttpClient:
    """HTTP 6970 of one TFTP node. ``session`` defaults to a ``make_session`` for the node."""

    def __init__(
        self, *, node: str, host: str, port: int = 6970, session: requests.Session | None = None
    ) -> None:
        self.node = node
        self.host, self.port = host, port
        self.label = f"{node} ({host}:{port})"
        self._session = session or make_session(endpoint=self.label)

    @classmethod
    def for_node(cls, cluster: object, node: object) -> TftpHttpClient:
        """For ``node`` of a ``schemas.cluster.Cluster`` (port ``tftp_http``, default 6970)."""
        port = int(cluster.port(node, "tftp_http"))  # type: ignore[attr-defined]
        return cls(node=str(node.name), host=str(node.host), port=port)  # type: ignore[attr-defined]

    def fetch(self, name: str) -> bytes | None:
        """The raw file, ``None`` on HTTP 404. Only the TFTP file names CUCM serves are asked for."""
        if not _NAME.match(name):
            raise ValueError(f"{name!r} is not an ITL/CTL/config file name a CUCM TFTP node serves")
        host = f"[{self.host}]" if ":" in self.host else self.host
        try:
            response = self._session.get(f"http://{host}:{self.port}/{name}")
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            raise self._node_error(translate_request_error(exc, endpoint=self.label), name) from exc
        except UnreachableError as exc:
            raise self._node_error(exc, name) from exc
        if response.status_code == 404:
            return None
        check_status(response, endpoint=self.label)
        return bytes(response.content)

    def _node_error(self, error: ProviderError, name: str) -> ProviderError:
        """``error`` (from ``providers.transports.http``), as a node-level unreachable with the TFTP fix."""
        if not isinstance(error, UnreachableError):
            return error  # timeouts stay TemporaryError
        return UnreachableError(
            f"TFTP node {error.message} (fetching {name})",
            endpoint=self.label,
            hint=f"check that the Cisco Tftp service runs on {self.node} and that it serves "
            f"HTTP on {self.host}:{self.port}",
        )

    def trust_file(self, name: str) -> tlv.TlvFile | None:
        """``name`` decoded; ``TlvError`` naming the node, the file and the byte offset if malformed."""
        data = self.fetch(name)
        if data is None:
            return None
        if not data:
            raise TlvError(
                f"{name} served by {self.label} is empty",
                offset=0,
                hint=f"regenerate the file on {self.node} (restart Cisco Tftp; 'utils ctl update CTLFile')",
            )
        try:
            return tlv.parse(data)
        except TlvError as exc:
            raise TlvError(
                f"{name} served by {self.label}: {exc.reason}",
                offset=exc.offset,
                hint=f"compare with 'show itl' / 'show ctl' on {self.node}; regenerate it if broken there",
            ) from exc
        except ValueError as exc:  # any other decoding failure is a malformation too
            raise TlvError(f"{name} served by {self.label}: {exc}", offset=0) from exc

    def cluster_files(self) -> TrustFiles:
        """``CTLFile.tlv`` (absent on a non-secure cluster) and ``ITLFile.tlv``."""
        return self._pair("CTLFile.tlv", "ITLFile.tlv")

    def phone_files(self, mac: str) -> TrustFiles:
        """What a phone with ``mac`` downloads: ``CTLSEP<MAC>.tlv`` then ``ITLSEP<MAC>.tlv``."""
        ctl_name, itl_name = phone_file_names(mac)
        return self._pair(ctl_name, itl_name)

    def _pair(self, ctl_name: str, itl_name: str) -> TrustFiles:
        ctl = self.trust_file(ctl_name)
        itl = self.trust_file(itl_name)
        if (ctl is not None and ctl.kind == "ITL") or (itl is not None and itl.kind == "CTL"):
            raise RemoteFaultError(
                f"{self.label} serves swapped trust files ({ctl_name}/{itl_name})", endpoint=self.label
            )
        return TrustFiles(node=self.node, ctl_name=ctl_name, itl_name=itl_name, ctl=ctl, itl=itl)

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
