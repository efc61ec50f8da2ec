"""Recorded wire answers as case files, and the one loader for them.

A case is ``tests/cases/<kind>/<case>.yaml``: a leading ``#`` comment block saying where the shape comes
from (required: a case without it is refused), then a YAML document with what was sent, what came back on
the wire (``answer`` or ``answers``, the HTTP body as the server sends it) and ``expected``: what the
product's parser or mapper must make of it. Two more forms keep bytes that YAML would not: a screen
(``<case>.txt``: ``# shape: ...`` and ``# expect: <JSON>`` header lines ended by ``# ---``, then the body
byte for byte, ANSI escapes and CRs included) and a JSON document (``<case>.json`` with ``_shape`` and its
fields; ``expected`` is the document itself unless it has an ``expected`` key). The kind is the directory
name; ``tests/unit/test_wire_cases.py`` holds one check per kind (``@checks("<kind>")``) and runs every case
of every kind, so a new kind is a new directory plus one check function there.

``CannedAnswers`` is the in-process far side for those checks: a ``requests`` adapter answering each request
with the next recorded body and keeping the request bodies, so the product's real client (zeep with the
bundled WSDL, or the Kea backend) parses exactly the recorded bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import yaml
from requests.adapters import HTTPAdapter

__all__ = ["CASES_DIR", "CannedAnswers", "CaseFileError", "WireCase", "all_cases", "kinds", "load_case"]

CASES_DIR = Path(__file__).resolve().parent / "cases"


class CaseFileError(ValueError):
    """A case file that is not a case (no header, not a mapping, no ``expected``)."""


@dataclass(frozen=True, slots=True)
class WireCase:
    kind: str
    name: str
    path: Path
    header: str  # the leading comment block: where the shape comes from
    doc: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def expected(self) -> Any:
        return self.doc["expected"]

    def answers(self) -> list[str]:
        """The recorded bodies in order (``answer`` for one, ``answers`` for a sequence)."""
        if "answers" in self.doc:
            return [str(a) for a in self.doc["answers"]]
        return [str(self.doc["answer"])]


def load_case(path: Path) -> WireCase:
    if path.suffix == ".txt":
        return _screen_case(path)
    if path.suffix == ".json":
        return _json_case(path)
    text = path.read_text(encoding="utf-8")
    header_lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        header_lines.append(line.lstrip("#").strip())
    header = " ".join(part for part in header_lines if part)
    if not header:
        raise CaseFileError(f"{path}: a case starts with a '#' header saying where its shape comes from")
    doc = yaml.safe_load(text)
    if not isinstance(doc, dict) or "expected" not in doc:
        raise CaseFileError(f"{path}: a case is a mapping with an 'expected' key")
    if "answer" not in doc and "answers" not in doc:
        raise CaseFileError(f"{path}: a case records 'answer' (one body) or 'answers' (a sequence)")
    return WireCase(kind=path.parent.name, name=path.stem, path=path, header=header, doc=doc)


def _screen_case(path: Path) -> WireCase:
    raw = path.read_bytes().decode("utf-8")
    head, sep, body = raw.partition("# ---\n")
    if not sep:
        raise CaseFileError(f"{path}: a screen case ends its header with a '# ---' line")
    lines = [line.removeprefix("# ") for line in head.splitlines()]
    if not lines or not lines[0].startswith("shape: "):
        raise CaseFileError(f"{path}: a screen case starts with '# shape: ...' (where its shape comes from)")
    expect = [line.removeprefix("expect: ") for line in lines if line.startswith("expect: ")]
    if len(expect) != 1:
        raise CaseFileError(f"{path}: a screen case has one '# expect: <JSON>' line")
    header = " ".join(line.strip() for line in lines if not line.startswith("expect: "))
    doc = {"expected": json.loads(expect[0]), "answer": body}
    return WireCase(kind=path.parent.name, name=path.stem, path=path, header=header, doc=doc)


def _json_case(path: Path) -> WireCase:
    doc = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or not str(doc.get("_shape", "")).strip():
        raise CaseFileError(
            f"{path}: a JSON case is an object whose '_shape' says where its shape comes from"
        )
    doc.setdefault("expected", {k: v for k, v in doc.items() if k != "_shape"})
    return WireCase(kind=path.parent.name, name=path.stem, path=path, header=str(doc["_shape"]), doc=doc)


def all_cases(root: Path = CASES_DIR) -> list[WireCase]:
    """Every case of every kind, sorted by kind and name."""
    paths = (p for p in root.glob("*/*") if p.suffix in {".yaml", ".txt", ".json"})
    return [load_case(p) for p in sorted(paths)]


def kinds(root: Path = CASES_DIR) -> set[str]:
    return {p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))}


class CannedAnswers(HTTPAdapter):
    """Answers request N with body N (HTTP 200 unless ``status``); ``requests`` keeps what was sent."""

    def __init__(self, bodies: Iterable[str], *, content_type: str, status: int = 200) -> None:
        super().__init__()
        self._bodies = list(bodies)
        self._content_type = content_type
        self._status = status
        self.requests: list[bytes] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        body = request.body or b""
        self.requests.append(body.encode() if isinstance(body, str) else body)
        if len(self.requests) > len(self._bodies):
            raise AssertionError(f"request {len(self.requests)} has no recorded answer: {body!r:.300}")
        response = requests.Response()
        response.status_code = self._status
        response._content = self._bodies[len(self.requests) - 1].encode("utf-8")
        response.headers["Content-Type"] = self._content_type
        response.url = request.url or ""
        response.request = request
        response.encoding = "utf-8"
        return response

    def session(self) -> requests.Session:
        """A session whose every request this adapter answers."""
        session = requests.Session()
        session.trust_env = False
        session.mount("https://", self)
        session.mount("http://", self)
        return session
