"""The one way providers make SOAP clients (zeep) for CUCM, and the one place zeep errors are translated.

Called by ``providers.cucm_axl`` (AXL), ``providers.cucm_serviceability`` (ControlCenterServices,
RisPort70) and, through them, by ``providers.dhcp.cucm``. What it holds:

- ``CucmEndpoint``: where one node's HTTPS services are (cluster, node, host, port, TLS settings, the
  cluster's CUCM version, an optional user-supplied AXL toolkit WSDL). ``from_cluster`` builds it from
  the desired-state model; ``label`` ("cucm-pub (10.0.0.1:8443)") is what every message shows.
- ``open_session``: a verified ``providers.transports.http`` session for an endpoint; the password
  reference is resolved (``reconciler.config.secrets.resolve``) only here, at connect time, and never logged.
- ``make_soap_client``: a zeep service proxy over that session. The WSDL is our bundled subset
  (``providers/wsdl``) loaded from disk — for AXL with the namespace and ``SOAPAction`` version rewritten
  to the cluster's ``major.minor`` — or, for AXL, the user's Cisco toolkit ``AXLAPI.wsdl`` (the YAML's
  ``axl_wsdl``; its relative imports load from its directory). The binding is always bound to the node's
  own URL (never the WSDL's ``soap:address``). A plugin fills in ``SOAPAction: "CUCM:DB ver=V op"``
  when a WSDL leaves it empty.
- ``soap_errors``: a context manager around each call that maps zeep/requests failures to
  ``reconciler.errors``: HTTP 401 → ``AuthenticationError``; 503 → ``TemporaryError``;
  AXL fault → ``RemoteFaultError(code=axlcode)`` with the fault text; the RisPort70 allowance fault →
  ``TemporaryError`` with a delay (recognised by its faultcode ``Server.RateControl`` or its text).
  Connection-level failures (refused, reset, a TLS handshake cut off
  by the peer, timeouts, certificate/pin mismatch) are classified once, by ``providers.transports.http``
  (``SafeSession`` / ``translate_request_error``); this module passes them through unchanged.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import zeep
import zeep.exceptions
import zeep.plugins
from pydantic import SecretStr
from zeep.transports import Transport

from providers.transports.http import DEFAULT_TIMEOUT, SafeSession, make_session, translate_request_error
from reconciler.config.secrets import resolve
from reconciler.errors import (
    AuthenticationError,
    ConfigError,
    PermanentError,
    ProviderError,
    RemoteFaultError,
    TemporaryError,
)

__all__ = [
    "AXL_WSDL_VERSION",
    "CucmEndpoint",
    "SoapService",
    "axl_version_tag",
    "fault_code",
    "make_soap_client",
    "open_session",
    "soap_errors",
]

AXL_WSDL_VERSION = "14.0"  # the version written in providers/wsdl/AXLAPI.wsdl
_WSDL_DIR = Path(__file__).resolve().parents[1] / "wsdl"  # providers/wsdl, the package data
# CUCM's own text reads "Exceeded allowed rate for Reatime information" (sic); the faultcode
# ``ns1:Server.RateControl`` identifies the fault whatever the text says (docs/cucm-interfaces.md)
_RIS_RATE = re.compile(r"(?:exceeded allowed rate|allowed device queries|rate for rea?l?time)", re.I)
_RATE_CODE = re.compile(r"(?:^|[:.])Server\.RateControl$")
_PER_MINUTE = re.compile(r"(\d+)\s+requests?\s+per\s+minute", re.I)


class SoapService(enum.Enum):
    """The CUCM SOAP services we use: (bundled WSDL, binding QName, URL path)."""

    AXL = ("AXLAPI.wsdl", "{http://www.cisco.com/AXLAPIService/}AXLAPIBinding", "/axl/")
    CONTROL_CENTER = (
        "ControlCenterServices.wsdl",
        "{http://schemas.cisco.com/ast/soap}ControlCenterServicesBinding",
        "/controlcenterservice2/services/ControlCenterServices",
    )
    RISPORT = (
        "RISService70.wsdl",
        "{http://schemas.cisco.com/ast/soap}RisBinding",
        "/realtimeservice2/services/RISService70",
    )

    @property
    def wsdl_file(self) -> str:
        return self.value[0]

    @property
    def binding(self) -> str:
        return self.value[1]

    @property
    def path(self) -> str:
        return self.value[2]


def axl_version_tag(version: object) -> str:
    """``"14.0.1.11900-132"`` → ``"14.0"`` (the AXL schema version a cluster speaks)."""
    match = re.match(r"^\s*(\d+)\.(\d+)", str(version))
    if match is None:
        raise ConfigError(f"{version!r} is not a CUCM version", hint="use e.g. '14.0.1.11900-132'")
    return f"{match.group(1)}.{match.group(2)}"


@dataclass(frozen=True, slots=True, kw_only=True)
class CucmEndpoint:
    """One node's HTTPS endpoint (AXL, serviceability) with how to verify it. Holds no secret."""

    cluster: str
    node: str
    host: str
    port: int = 8443
    version: str = "14.0"
    ca_bundle: Path | None = None
    pin_sha256: str | None = None
    insecure: bool = False
    axl_wsdl: Path | None = None

    @property
    def label(self) -> str:
        """How messages name this endpoint: ``cucm-pub (10.0.0.1:8443)``."""
        return f"{self.node} ({self.host}:{self.port})"

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}"

    @classmethod
    def from_cluster(cls, cluster: Any, node: Any | None = None) -> CucmEndpoint:
        """From a ``schemas.cluster.Cluster`` (and one of its nodes; default the publisher)."""
        chosen = node if node is not None else cluster.publisher
        tls = cluster.tls
        return cls(
            cluster=str(cluster.name),
            node=str(chosen.name),
            host=str(chosen.host),
            port=int(cluster.port(chosen, "https")),
            version=str(cluster.version),
            ca_bundle=Path(tls.ca_bundle) if tls.ca_bundle is not None else None,
            pin_sha256=tls.pin_sha256,
            insecure=bool(tls.insecure),
            axl_wsdl=Path(cluster.axl_wsdl) if cluster.axl_wsdl is not None else None,
        )


def open_session(
    endpoint: CucmEndpoint,
    *,
    user: str,
    password: SecretStr | Any,
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
) -> SafeSession:
    """A verified session for ``endpoint`` with HTTP basic auth. ``password`` is a ``SecretStr`` (from
    ``reconciler.config.secrets.resolve``) or a ``SecretRef`` resolved here, at the last moment."""
    if not isinstance(password, SecretStr):
        password = resolve(password)
    return make_session(
        endpoint=endpoint.label,
        ca_bundle=endpoint.ca_bundle,
        pin_sha256=endpoint.pin_sha256,
        insecure=endpoint.insecure,
        auth=(user, password.get_secret_value()),
        timeout=timeout,
    )


class _SoapActionPlugin(zeep.plugins.Plugin):
    """Fills an empty ``SOAPAction`` with the AXL form ``"CUCM:DB ver=<v> <operation>"``."""

    def __init__(self, version: str) -> None:
        self.version = version

    def egress(
        self, envelope: Any, http_headers: dict[str, str], operation: Any, binding_options: Any
    ) -> Any:
        current = http_headers.get("SOAPAction", "").strip().strip('"')
        if not current:
            http_headers["SOAPAction"] = f'"CUCM:DB ver={self.version} {operation.name}"'
        return envelope, http_headers


class _WsdlTransport(Transport):
    """A zeep transport that serves in-memory documents for given paths (our rewritten WSDL), and
    turns an HTTP error answered with a non-XML page (a servlet's "internal server error") into
    zeep's ``TransportError``: zeep's lenient parser would make it ``None`` and fail with an
    ``AttributeError`` that looks like a missing operation."""

    def post_xml(self, address: str, envelope: Any, headers: Any) -> Any:
        response = super().post_xml(address, envelope, headers)  # type: ignore[no-untyped-call]
        body = response.content or b""
        if response.status_code >= 400 and not body.lstrip().startswith(b"<"):
            raise zeep.exceptions.TransportError(  # type: ignore[no-untyped-call]
                f"HTTP {response.status_code}: {body[:120].decode('utf-8', 'replace')}",
                status_code=response.status_code,
                content=body,
            )
        return response

    def __init__(self, *, documents: dict[str, bytes], **kwargs: Any) -> None:
        super().__init__(**kwargs)  # type: ignore[no-untyped-call]
        self._documents = documents

    def load(self, url: str) -> bytes:
        content = self._documents.get(url)
        return content if content is not None else bytes(super().load(url))  # type: ignore[no-untyped-call]


def _bundled(service: SoapService, version: str | None) -> tuple[str, bytes]:
    path = _WSDL_DIR / service.wsdl_file
    text = path.read_text(encoding="utf-8")
    if service is SoapService.AXL and version is not None:
        text = text.replace(f"AXL/API/{AXL_WSDL_VERSION}", f"AXL/API/{version}").replace(
            f"ver={AXL_WSDL_VERSION} ", f"ver={version} "
        )
    return str(path), text.encode("utf-8")


def make_soap_client(
    *,
    service: SoapService,
    endpoint: CucmEndpoint,
    session: requests.Session,
    wsdl: Path | None = None,
) -> Any:
    """A zeep service proxy for ``service`` on ``endpoint`` over ``session``.

    ``wsdl`` (AXL only) is a user-supplied Cisco toolkit ``AXLAPI.wsdl``; without it the bundled subset
    is used with the cluster's AXL version. Loading happens from disk: no request reaches the node.
    """
    version = axl_version_tag(endpoint.version)
    documents: dict[str, bytes] = {}
    if wsdl is not None and service is SoapService.AXL:
        location = str(Path(wsdl).expanduser().resolve())
        if not Path(location).is_file():
            raise ConfigError(
                f"axl_wsdl {location} for cluster {endpoint.cluster} does not exist",
                hint="point axl_wsdl at AXLAPI.wsdl of the Cisco AXL Toolkit (with AXLSoap.xsd beside it), "
                "or remove it to use the built-in subset",
            )
    else:
        location, content = _bundled(service, version)
        documents[location] = content
    transport = _WsdlTransport(documents=documents, session=session)
    # strict=False: a real node may answer with tags our WSDL subset does not declare (full getX answers)
    settings = zeep.Settings(strict=False, xml_huge_tree=False, forbid_external=True)
    try:
        client = zeep.Client(  # type: ignore[no-untyped-call]
            location, transport=transport, settings=settings, plugins=[_SoapActionPlugin(version)]
        )
    except (zeep.exceptions.Error, OSError, ValueError) as exc:
        raise ConfigError(
            f"cannot load the {service.name} WSDL {location}: {exc}",
            hint="check axl_wsdl (the toolkit's AXLAPI.wsdl needs AXLSoap.xsd and AXLEnums.xsd beside it)",
        ) from exc
    try:
        return client.create_service(service.binding, endpoint.base_url + service.path)  # type: ignore[no-untyped-call]
    except (zeep.exceptions.Error, ValueError, KeyError) as exc:
        raise ConfigError(
            f"the {service.name} WSDL {location} has no binding {service.binding}: {exc}",
            hint="use the AXLAPI.wsdl of the Cisco AXL Toolkit, unmodified",
        ) from exc


def fault_code(fault: zeep.exceptions.Fault) -> str | None:
    """The ``axlcode`` of an AXL fault (``detail/axlError/axlcode``), else ``None``."""
    detail = fault.detail
    if detail is None:
        return None
    for el in detail.iter():
        if isinstance(el.tag, str) and el.tag.rsplit("}", 1)[-1] == "axlcode":
            return (el.text or "").strip() or None
    return None


@contextmanager
def soap_errors(
    *, endpoint: CucmEndpoint, operation: str, service: str = "AXL", fault_delay: float | None = None
) -> Iterator[None]:
    """Translate everything a zeep call can raise into ``reconciler.errors`` (raised ``from`` it).

    ``fault_delay`` is the retry hint for a RisPort70 allowance fault when the fault text gives none.
    """
    where = endpoint.label
    what = f"{service} {operation} on {where}"
    try:
        yield
    except (
        AuthenticationError
    ) as exc:  # HTTP 401, mapped by providers.transports.http: name the setting to fix
        raise AuthenticationError(
            exc.message,
            endpoint=where,
            hint=f"check credentials.axl (user, password reference) of cluster {endpoint.cluster}",
        ) from exc
    except ProviderError:
        raise  # already mapped by providers.transports.http (503, TLS, timeouts, unreachable)
    except zeep.exceptions.Fault as exc:
        text = (exc.message or "").strip()
        if _RIS_RATE.search(text) or _RATE_CODE.search(str(exc.code or "").strip()):
            per_minute = _PER_MINUTE.search(text)
            delay = (
                60.0 / int(per_minute.group(1)) if per_minute and int(per_minute.group(1)) else fault_delay
            )
            raise TemporaryError(
                f"{what}: RisPort70 query allowance exhausted ({text})",
                endpoint=where,
                delay=delay,
                hint="other RisPort70 clients share 'Allowed Device Queries Per Minute'; retried",
            ) from exc
        code = fault_code(exc) or (str(exc.code) if exc.code else None)
        suffix = f" (axlcode {code})" if fault_code(exc) else ""
        raise RemoteFaultError(f"{what} failed: {text}{suffix}", endpoint=where, code=code) from exc
    except zeep.exceptions.TransportError as exc:
        status = int(exc.status_code or 0)
        if status == 401:
            raise AuthenticationError(
                f"{where} rejected the credentials (HTTP 401)",
                endpoint=where,
                hint=f"check credentials.axl of cluster {endpoint.cluster}",
            ) from exc
        if status == 503 or status >= 500:
            raise TemporaryError(f"{what}: HTTP {status}", endpoint=where) from exc
        raise RemoteFaultError(
            f"{what}: HTTP {status}",
            endpoint=where,
            code=str(status),
            hint=f"check that port {endpoint.port} of {endpoint.host} serves CUCM {service}",
        ) from exc
    except (zeep.exceptions.XMLSyntaxError, zeep.exceptions.XMLParseError) as exc:
        raise RemoteFaultError(
            f"{what}: the answer is not a SOAP message ({exc})",
            endpoint=where,
            hint=f"check that port {endpoint.port} of {endpoint.host} serves CUCM {service}",
        ) from exc
    except (zeep.exceptions.ValidationError, zeep.exceptions.LookupError, TypeError) as exc:
        raise PermanentError(
            f"{what}: request does not match the WSDL: {exc}",
            endpoint=where,
            hint="with a user-supplied axl_wsdl, check it is the toolkit of this CUCM release",
        ) from exc
    except AttributeError as exc:
        raise PermanentError(
            f"{what}: the WSDL has no operation {operation}",
            endpoint=where,
            hint="use the built-in WSDL (remove axl_wsdl) or the toolkit of this release",
        ) from exc
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
        # only from a session not made by providers.transports.http; classified by the same function
        raise translate_request_error(
            exc, endpoint=where, tls_hint=f"check ca_bundle or pin_sha256 of cluster {endpoint.cluster}"
        ) from exc
