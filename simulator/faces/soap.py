"""SOAP 1.1 document/literal machinery (lxml) shared by the AXL, ControlCenterServices and RisPort70 faces.

``SoapService`` turns an HTTP ``Request`` into a call of the operation named by the Body's first child
(matched by local name, so a request in any AXL version namespace reaches the same handler), serialises the
returned element in a SOAP envelope, renders ``SoapFault`` as a SOAP 1.1 Fault with HTTP 500 and
``HttpStatusError`` as a bare HTTP status (503 throttle, 400), and serves the WSDL at ``?wsdl`` with the
service address rewritten to the node's own address. Parsing is lenient about the namespace of children
(Cisco's toolkit sends unqualified children, serviceability clients qualified ones).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping
from importlib import resources
from typing import Any

from lxml import etree

from simulator.faces.https import Request, Response

__all__ = [
    "SOAPENV",
    "HttpStatusError",
    "SoapFault",
    "SoapService",
    "child",
    "child_text",
    "children",
    "envelope",
    "load_wsdl",
    "local",
    "sub",
]

_LOG = logging.getLogger("simulator.faces.soap")
SOAPENV = "http://schemas.xmlsoap.org/soap/envelope/"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True, huge_tree=False)
_ADDRESS = re.compile(r'(<(?:\w+:)?address\s+location=")[^"]*(")')

Operation = Callable[[etree._Element, Request], etree._Element]


class SoapFault(Exception):  # noqa: N818 - the SOAP term of art
    """A SOAP 1.1 Fault: ``code`` is "Client" or "Server" (written ``soapenv:<code>``), or a qualified
    ``prefix:Name`` whose prefix ``code_namespace`` declares; ``detail`` children go under <detail>."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "Server",
        detail: etree._Element | None = None,
        code_namespace: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.detail = detail
        self.code_namespace = code_namespace


class HttpStatusError(Exception):
    """Answer with a bare HTTP status (e.g. the AXL write throttle's 503) instead of a SOAP envelope."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


def local(el: etree._Element) -> str:
    return str(etree.QName(el).localname)


def children(el: etree._Element | None, name: str) -> Iterator[etree._Element]:
    if el is None:
        return
    for item in el:
        if isinstance(item.tag, str) and local(item) == name:
            yield item


def child(el: etree._Element | None, name: str) -> etree._Element | None:
    return next(children(el, name), None)


def child_text(el: etree._Element | None, name: str) -> str | None:
    """Text of the first child called ``name`` (any namespace); ``None`` if absent or nil."""
    found = child(el, name)
    if found is None or found.get("{http://www.w3.org/2001/XMLSchema-instance}nil") == "true":
        return None
    return (found.text or "").strip()


def sub(parent: etree._Element, name: str, text: Any = None, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, name, attrs)
    if text is not None:
        el.text = ("true" if text else "false") if isinstance(text, bool) else str(text)
    return el


def envelope(body_child: etree._Element) -> bytes:
    env = etree.Element(f"{{{SOAPENV}}}Envelope", nsmap={"soapenv": SOAPENV})
    etree.SubElement(env, f"{{{SOAPENV}}}Body").append(body_child)
    return bytes(etree.tostring(env, xml_declaration=True, encoding="utf-8"))


def _fault_body(fault: SoapFault) -> bytes:
    el = etree.Element(f"{{{SOAPENV}}}Fault")
    if ":" in fault.code and fault.code_namespace is not None:
        prefix = fault.code.split(":", 1)[0]
        code = etree.SubElement(el, "faultcode", nsmap={prefix: fault.code_namespace})
        code.text = fault.code
    else:
        sub(el, "faultcode", f"soapenv:{fault.code}")
    sub(el, "faultstring", fault.message)
    if fault.detail is not None:
        sub(el, "detail").append(fault.detail)
    return envelope(el)


def load_wsdl(filename: str) -> str:
    """Text of a WSDL shipped in ``simulator/faces/wsdl``."""
    return resources.files("simulator.faces").joinpath("wsdl", filename).read_text(encoding="utf-8")


class SoapService:
    """One SOAP endpoint: operations by local name, WSDL served at ``?wsdl``."""

    def __init__(
        self,
        *,
        name: str,
        wsdl: str,
        operations: Mapping[str, Operation],
        rewrite_wsdl: Callable[[str], str] | None = None,
    ) -> None:
        self.name = name
        self.operations = dict(operations)
        self._wsdl = rewrite_wsdl(wsdl) if rewrite_wsdl else wsdl

    def wsdl_for(self, request: Request) -> bytes:
        address = request.base_url + request.path
        return _ADDRESS.sub(lambda m: f"{m.group(1)}{address}{m.group(2)}", self._wsdl).encode()

    def __call__(self, request: Request) -> Response:
        if request.method in ("GET", "HEAD"):
            if "wsdl" in {k.lower() for k in request.query}:
                return Response(200, self.wsdl_for(request), "text/xml;charset=utf-8")
            return Response(200, f"{self.name}: SOAP endpoint, WSDL at ?wsdl".encode())
        if request.method != "POST":
            return Response(405, b"method not allowed")
        try:
            op = self._operation_element(request.body)
            handler = self.operations.get(local(op))
            if handler is None:
                raise SoapFault(f"No such operation '{local(op)}'", code="Client")
            body = envelope(handler(op, request))
            return Response(200, body, "text/xml;charset=utf-8")
        except SoapFault as fault:
            return Response(500, _fault_body(fault), "text/xml;charset=utf-8")
        except HttpStatusError as exc:
            return Response(exc.status, exc.text.encode(), "text/html;charset=utf-8")

    @staticmethod
    def _operation_element(payload: bytes) -> etree._Element:
        try:
            root = etree.fromstring(payload, _PARSER)
        except etree.XMLSyntaxError as exc:
            raise SoapFault(f"Malformed request: {exc}", code="Client") from exc
        body = root.find(f"{{{SOAPENV}}}Body")
        ops = [el for el in body if isinstance(el.tag, str)] if body is not None else []
        if not ops:
            raise SoapFault("The request has no SOAP 1.1 Body element", code="Client")
        return ops[0]
