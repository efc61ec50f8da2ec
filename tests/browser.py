"""A real headless Chromium for tests of the HTML report, and the checker of what a report must hold.

Used by tests/e2e/test_report_browser.py. ``Chromium`` runs Debian's ``chromium`` (installed by
``scripts/install-system-deps``; ``require_tool`` skips locally when it is missing, fails under
``RECONCILER_REQUIRE_TOOLS=1``) as root-safe and offline: ``--headless --no-sandbox``, no GPU, no QUIC, no
background networking, component updates or sync, and a fresh ``--user-data-dir`` per run.

* ``dump_dom`` loads a page and returns the DOM as the browser built it;
* ``screenshot`` / ``print_pdf`` render it;
* ``measure`` loads a copy of the page with a small probe script appended (the report itself has none)
  that writes the laid-out size of the key elements into the DOM, so a test knows they were drawn, not
  only parsed;
* ``report_problems(dom)`` lists what a plan report lacks: summary, the SVG graph with rule-labelled
  edges, one forecast table per wave, the steps with reversibility, rollback, diagnostics, fingerprint
  and creation time. An empty list means the report is complete.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lxml.html

from tests.conftest import require_tool

__all__ = ["RULE_ID", "Chromium", "drift_problems", "report_problems"]

RULE_ID = re.compile(r"^(R\d{1,2}|depends_on)(, (R\d{1,2}|depends_on))*$")
_CSP = re.compile(r'<meta http-equiv="Content-Security-Policy"[^>]*>')
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
TIMEOUT = 90.0

_PROBE = """<script>
(function () {
  function box(el) { if (!el) return null; var r = el.getBoundingClientRect();
    return {width: Math.round(r.width), height: Math.round(r.height)}; }
  var out = {
    svg: box(document.querySelector('#graph svg')),
    edges: document.querySelectorAll('#graph svg g.edge').length,
    visible_rule_labels: Array.prototype.filter.call(document.querySelectorAll('#graph svg text.rule'),
      function (t) { return t.getBBox().width > 0; }).length,
    forecast_tables: Array.prototype.map.call(document.querySelectorAll('table.forecast'), box),
    document_width: document.documentElement.scrollWidth
  };
  var pre = document.createElement('pre'); pre.id = 'probe-result'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>"""


@dataclass(frozen=True, slots=True)
class Chromium:
    """The ``chromium`` executable; each call starts a fresh browser and waits for it to exit."""

    path: str

    @classmethod
    def find(cls) -> Chromium:
        return cls(require_tool("chromium", reason="chromium is not installed (scripts/install-system-deps)"))

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        with tempfile.TemporaryDirectory(prefix="reconciler-chromium-") as profile:
            result = subprocess.run(
                [self.path, *FLAGS, f"--user-data-dir={profile}", *args],
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
                check=False,
            )
        assert result.returncode == 0, f"chromium failed ({result.returncode}): {result.stderr[-2000:]}"
        return result

    def dump_dom(self, page: Path) -> str:
        # (``--blink-settings=scriptEnabled=false`` would also stop --dump-dom itself; the report holds
        # no script and its Content-Security-Policy forbids any, which ``report_problems`` checks)
        dom = self._run("--dump-dom", page.resolve().as_uri()).stdout
        assert dom.strip(), f"chromium dumped an empty DOM for {page}"
        return dom

    def screenshot(self, page: Path, png: Path, *, width: int = 1280, height: int = 1600) -> None:
        self._run(f"--window-size={width},{height}", f"--screenshot={png}", page.resolve().as_uri())
        assert png.is_file() and png.stat().st_size > 0, f"no screenshot written to {png}"

    def print_pdf(self, page: Path, pdf: Path) -> None:
        self._run("--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.resolve().as_uri())
        assert pdf.is_file() and pdf.read_bytes().startswith(b"%PDF"), f"no PDF written to {pdf}"

    def measure(self, page: Path, *, width: int = 1280) -> dict[str, Any]:
        """Laid-out sizes of the graph and the forecast tables (a probe runs in a copy of the page)."""
        probe = page.with_name(page.stem + ".probe.html")
        # the report forbids every script by its Content-Security-Policy: the probe's copy drops it
        text = _CSP.sub("", page.read_text(), count=1)
        probe.write_text(text.replace("</body>", _PROBE + "</body>", 1))
        dom = self._run(f"--window-size={width},1000", "--dump-dom", probe.resolve().as_uri()).stdout
        found = lxml.html.fromstring(dom).xpath("//pre[@id='probe-result']/text()")
        assert found, "the probe did not run: " + dom[-500:]
        result: dict[str, Any] = json.loads(found[0])
        return result


def _has_class(cls: str) -> str:
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {cls} ')"


def report_problems(dom: str) -> list[str]:
    """What the plan report in ``dom`` (as a browser built it) is missing; ``[]`` when complete."""
    doc = lxml.html.fromstring(dom)
    problems: list[str] = []

    def one(xpath: str, what: str) -> Any:
        found = doc.xpath(xpath)
        if not found:
            problems.append(f"missing: {what}")
            return None
        return found[0]

    one("//section[@id='summary']//*[" + _has_class("verdict") + "]", "summary with a verdict")
    one("//section[@id='summary']//table[" + _has_class("counts") + "]", "summary counts")
    one("//section[@id='summary']//time[@datetime]", "creation time")
    one("//section[@id='fingerprint']", "fingerprint section")
    svg = one("//section[@id='graph']//*[local-name()='svg']", "dependency graph (inline SVG)")
    if svg is not None:
        edges = svg.xpath(".//*[local-name()='g'][" + _has_class("edge") + "]")
        nodes = svg.xpath(".//*[local-name()='g'][" + _has_class("node") + "]")
        if not nodes:
            problems.append("missing: graph nodes")
        if not edges:
            problems.append("missing: graph edges")
        for edge in edges:
            label = "".join(edge.xpath(".//*[local-name()='text'][" + _has_class("rule") + "]//text()"))
            if not RULE_ID.match(label) or edge.get("data-rule") != label:
                problems.append(
                    f"graph edge {edge.get('data-from')} -> {edge.get('data-to')} lacks a rule id"
                )
    waves = doc.xpath("//section[@id='waves']//article[" + _has_class("wave") + "]")
    if not waves:
        problems.append("missing: waves")
    for wave in waves:
        name = wave.get("data-wave")
        table = wave.xpath(".//table[" + _has_class("forecast") + "]")
        if not table:
            problems.append(f"missing: forecast table of wave {name}")
            continue
        head = [t.text_content().strip() for t in table[0].xpath(".//th")]
        for column in ("phones", "move", "stranded", "unknown"):
            if column not in head:
                problems.append(f"forecast table of wave {name} lacks the {column} column")
        for fact in ("Gate", "On failure", "Window", "Cost estimate"):
            if not wave.xpath(f".//dt[normalize-space()='{fact}']"):
                problems.append(f"wave {name} lacks {fact}")
    steps = one("//section[@id='steps']//table", "steps table")
    if steps is not None and "reversibility" not in [t.text_content() for t in steps.xpath(".//th")]:
        problems.append("steps table lacks reversibility")
    one("//section[@id='rollback']", "rollback readiness")
    one("//section[@id='diagnostics']", "diagnostics section")
    if doc.xpath("//script"):
        problems.append("the report holds a script")
    csp = doc.xpath("//meta[@http-equiv='Content-Security-Policy']/@content")
    if not csp or "default-src 'none'" not in csp[0] or "script-src" in csp[0]:
        problems.append("the report does not forbid scripts and network loads (Content-Security-Policy)")
    for attr in ("src", "href"):
        for el in doc.xpath(f"//*[@{attr}]"):
            problems.append(f"external reference: <{el.tag} {attr}={el.get(attr)!r}>")
    return problems


def drift_problems(dom: str) -> list[str]:
    """What a drift report lacks: summary, findings (each with a fix), changes outside reconciler."""
    doc = lxml.html.fromstring(dom)
    problems = [
        f"missing: {what}"
        for xpath, what in (
            ("//section[@id='summary']//*[" + _has_class("verdict") + "]", "summary with a verdict"),
            ("//section[@id='diagnostics']", "findings"),
            ("//section[@id='outside']", "changes outside reconciler"),
        )
        if not doc.xpath(xpath)
    ]
    for finding in doc.xpath("//li[" + _has_class("diagnostic") + "]"):
        if finding.get("class", "").split()[-1] != "info" and not finding.xpath(
            ".//*[" + _has_class("fix") + "]"
        ):
            problems.append("a finding without a fix: " + finding.text_content()[:120])
    return problems
