"""Pure parsers of CUCM ``admin:`` CLI output and the reports they return (docs/cucm-domain.md#admin-cli).

No I/O: each function takes the text a command printed (as ``providers.cucm_cli.session.CliSession.run``
returns it) and returns frozen dataclasses. Called by ``providers.cucm_cli.session`` (``CliSession``'s
command methods, which re-export everything here) and by unit tests on output variants the lab does not
produce.

- ``clean_output``: strip ANSI/VT100 escapes, pager prompts, CRs and backspace erasures from raw shell
  output; ``count_pager_prompts`` says how many pager prompts a raw stream holds (each wants a key);
- ``find_failure``: the documented failure text in a command's output (``No valid command entered`` …);
- ``parse_cert_list`` → ``CertListing``s: both ``show cert list`` forms (one ``unit/file: description``
  line per certificate, or the ``Unit:``/``Name:`` blocks of older releases);
- ``parse_cert_detail`` → ``CertDetail``: ``show cert own|trust NAME`` (PEM when printed, serial, names);
- ``parse_service_list`` → ``ServiceLine``s: ``utils service list`` / restart progress lines;
- ``parse_sql_table`` → rows: a ``run sql`` table sized by its ``====`` rule (``NULL`` → ``None``);
- ``parse_trust_file_report`` → ``TrustFileReport``: the header facts of ``show itl`` / ``show ctl``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "CertDetail",
    "CertListing",
    "ServiceLine",
    "TrustFileReport",
    "clean_output",
    "count_pager_prompts",
    "find_failure",
    "parse_cert_detail",
    "parse_cert_list",
    "parse_service_list",
    "parse_sql_table",
    "parse_trust_file_report",
]

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[@-Z\\-_]")
# The pager prompt (§2.1, later evidence): ``ESC[1mPress <enter> for 1 line, <space> for one page, or <q> to
# quitESC[0mESC[K`` with NO newline after it: the next row, or the ``admin:`` prompt, follows at once. Older
# and other pagers: ``--More--``; ``file view``'s ``options: q=quit, n=next, ...`` line.
_PAGER_TEXT = re.compile(
    r"Press <enter> for 1 line, <space> for one page, or <q> to quit"
    r"|--More--|options: q=quit[^\r\n:]*:?[ \t]*",
    re.IGNORECASE,
)
# Every documented failure text (§2, later evidence): a command printing one of these did not work.
_FAILURE = re.compile(
    r"^\s*(Executed command unsuccessfully|No valid command entered|Invalid command|Syntax error|"
    r"Error executing)",
    re.MULTILINE | re.IGNORECASE,
)
_SERVICE = re.compile(r"^(?P<name>\S.*?)\[(?P<status>[A-Z ]+)\](?:\s+(?P<reason>.*))?$")


@dataclass(frozen=True, slots=True)
class CertListing:
    """One line of ``show cert list own|trust``: ``<unit>/<filename>: <description>``."""

    unit: str
    filename: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class CertDetail:
    """``show cert own|trust NAME``: the PEM when printed, else the identifying fields. ``serial`` reads
    the printed serial as hex; ``serial_text`` is the print itself (hex or decimal: not documented)."""

    pem: str | None
    serial: int | None
    subject: str
    issuer: str
    not_after: str
    serial_text: str = ""


@dataclass(frozen=True, slots=True)
class ServiceLine:
    """``Cisco Tftp[STARTED]`` / ``Cisco CallManager[STOPPED]  Service Not Activated``."""

    name: str
    status: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class TrustFileReport:
    """``show itl`` / ``show ctl``: the raw text plus the header facts (absent file: ``present=False``)."""

    raw: str
    present: bool
    length: int | None
    md5: str | None
    sha1: str | None


def clean_output(text: str) -> str:
    """Strip ANSI escapes, pager prompts, CRs and backspace erasures; normalise line ends to ``\\n``.

    Byte-exact about the pager: its prompt is cut out without eating what follows it, so the row after
    a page break keeps its place and an ``admin:`` written right after the prompt is a line of its own."""
    text = _ANSI.sub("", text)
    text = _PAGER_TEXT.sub("", text).replace("\x08 \x08", "").replace("\x08", "")
    return text.replace("\r\n", "\n").replace("\r", "")


def find_failure(text: str) -> str | None:
    """The failure part of a command's cleaned output (from the first documented failure text), or None."""
    found = _FAILURE.search(text)
    return " ".join(text[found.start() :].split()) if found else None


def count_pager_prompts(text: str) -> int:
    """How many pager prompts raw ``text`` holds (ANSI escapes ignored): each one waits for a key."""
    return len(_PAGER_TEXT.findall(_ANSI.sub("", text)))


def parse_cert_list(text: str) -> tuple[CertListing, ...]:
    """Both shapes of ``show cert list``: ``unit/file.pem: description`` lines, or blocks of
    ``Unit:``/``Name:``/``Type:``/``Issuer:`` lines (older releases, §2.2)."""
    out: list[CertListing] = []
    block: dict[str, str] = {}

    def flush() -> None:
        if "unit" in block and "name" in block:
            name = block["name"]
            filename = name.split("/", 1)[1] if "/" in name else name
            out.append(CertListing(block["unit"], filename, block.get("description", "")))
        block.clear()

    for raw in text.splitlines():
        line = raw.strip()
        single = re.match(r"^([^/\s:]+)/([^\s:/]+):\s*(.*)$", line)
        if single:
            flush()
            out.append(CertListing(single.group(1), single.group(2), single.group(3).strip()))
            continue
        key = re.match(r"^(Unit|Name|Type|Issuer|Expires|Description)\s*:\s*(.*)$", line, re.IGNORECASE)
        if key:
            field_name = key.group(1).lower()
            if field_name == "unit" and "unit" in block:
                flush()
            block[field_name] = key.group(2).strip()
        elif not line:
            flush()
    flush()
    return tuple(out)


def _hex(text: str) -> int | None:
    """``0x1A:2B`` → 26 * 256 + 43; None when no hex digit is left (``0x``, ``:``)."""
    digits = text.lower().removeprefix("0x").replace(":", "")
    return int(digits, 16) if digits else None


def parse_cert_detail(text: str) -> CertDetail:
    """The PEM block (if printed) and ``Serial Number:``/``Subject Name:``/``Issuer Name:``/``To:``; the
    names stay as printed (``CN=X, OU=Y`` or ``CN=X;OU=Y``): compare them with ``same_dn``."""
    pem = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", text, re.S)
    serial = re.search(r"Serial Number:\s*((?:0x)?[0-9A-Fa-f:]+)", text)
    subject = re.search(r"Subject Name:\s*(.*)", text)
    issuer = re.search(r"Issuer Name:\s*(.*)", text)
    until = re.search(r"^\s*To:\s*(.*)$", text, re.M)
    return CertDetail(
        pem=pem.group(0) + "\n" if pem else None,
        serial=_hex(serial.group(1)) if serial else None,
        subject=subject.group(1).strip() if subject else "",
        issuer=issuer.group(1).strip() if issuer else "",
        not_after=until.group(1).strip() if until else "",
        serial_text=serial.group(1) if serial else "",
    )


def parse_service_list(text: str) -> tuple[ServiceLine, ...]:
    """Every ``<Service Name>[STATUS]  reason`` line; other lines (headers, trailers) are skipped."""
    out = []
    for raw in text.splitlines():
        match = _SERVICE.match(raw.strip())
        if match:
            out.append(
                ServiceLine(match["name"].strip(), match["status"].strip(), (match["reason"] or "").strip())
            )
    return tuple(out)


def parse_sql_table(text: str) -> tuple[dict[str, str | None], ...]:
    """A ``run sql`` table: header, a ``==== ===`` rule giving the column spans, rows; ``NULL`` → None."""
    lines = text.splitlines()
    rule_at = next((i for i, line in enumerate(lines) if re.fullmatch(r"\s*=+(\s+=+)*\s*", line)), None)
    if rule_at is None or rule_at == 0:
        return ()
    spans = [m.span() for m in re.finditer(r"=+", lines[rule_at])]
    header = lines[rule_at - 1]

    def cells(line: str) -> list[str]:
        values = []
        for index, (start, end) in enumerate(spans):
            stop = spans[index + 1][0] if index + 1 < len(spans) else len(line)
            values.append(line[start : max(end, stop)].strip())
        return values

    names = cells(header)
    rows = []
    for line in lines[rule_at + 1 :]:
        if not line.strip():
            continue
        rows.append({n: (None if v == "NULL" else v) for n, v in zip(names, cells(line), strict=True)})
    return tuple(rows)


def parse_trust_file_report(text: str) -> TrustFileReport:
    """Header facts of ``show itl``/``show ctl`` (§2.7); the body stays raw."""
    length = re.search(r"Length of (?:CTL|ITL) file:\s*(\d+)", text, re.IGNORECASE)
    md5 = re.search(r"([0-9a-f]{32})\s*\(MD5\)", text, re.IGNORECASE)
    sha1 = re.search(r"([0-9a-f]{40})\s*\(SHA1\)", text, re.IGNORECASE)
    size = int(length.group(1)) if length else None
    return TrustFileReport(
        raw=text,
        present=bool(size) and "not found" not in text.lower(),
        length=size,
        md5=md5.group(1).lower() if md5 else None,
        sha1=sha1.group(1).lower() if sha1 else None,
    )
