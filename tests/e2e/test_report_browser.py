"""The change-request report (``plan --html``, ``show --html``, ``drift --html``) of a plan of the real
lab, opened in a real headless Chromium (``tests.browser``).

One small lab (3 phones per scope) on a leased loopback prefix serves the whole module: ``plan -o --html``,
``show --html`` and ``drift --html`` run against it through the CLI, then the lab is stopped and the
pages are checked in the browser (they hold no script; their CSP forbids scripts and loads): the
summary, the SVG graph whose every edge carries its rule id, one forecast table per wave matching the
plan document, the steps with reversibility, rollback readiness, diagnostics, fingerprint and creation
time; the graph and forecast tables are really laid out (non-zero size); the page prints to PDF; and the
checker itself fails when the graph or the forecast tables are taken out of the page.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lxml.html
import pytest

from reconciler.plan.document import Plan
from reconciler.render.html import plan_page
from reconciler.render.html.sections import fingerprint_digest
from tests.browser import Chromium, drift_problems, report_problems
from tests.e2e.labdoc import lab_data
from tests.e2e.labrun import raise_ris_allowance, running_lab
from tests.loopback import Loopback

pytestmark = pytest.mark.lab


@dataclass(frozen=True, slots=True)
class Pages:
    plan_json: Path
    plan_html: Path
    show_html: Path
    drift_html: Path


@pytest.fixture(scope="module")
def chromium() -> Chromium:
    return Chromium.find()


@pytest.fixture(scope="module")
def pages(
    tmp_path_factory: pytest.TempPathFactory, chromium: Chromium, loopback: Loopback
) -> Iterator[Pages]:
    workdir = tmp_path_factory.mktemp("report")
    with running_lab(workdir, loopback=loopback, spec={"base": "default", "phones_per_scope": 3}) as lab:
        lab.write(lab_data(lab_dir=lab.lab_dir, prefix=lab.prefix, reset_every_wave=True, gate_deadline="30s",
                           ris_queries_per_minute=60))  # fmt: skip
        raise_ris_allowance(lab.yaml)
        plan = lab.run("plan", "lab.yaml", "-o", "plan.json", "--html", "plan.html")
        assert plan.returncode == 0, plan.stdout + plan.stderr
        show = lab.run("show", "plan.json", "--html", "show.html")
        assert show.returncode == 0, show.stdout + show.stderr
        drift = lab.run("drift", "lab.yaml", "--html", "drift.html")
        assert drift.returncode == 0, drift.stdout + drift.stderr
    yield Pages(workdir / "plan.json", workdir / "plan.html", workdir / "show.html", workdir / "drift.html")


def _doc(pages: Pages) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(pages.plan_json.read_text())
    return data


def test_plan_report_holds_every_part_in_the_browser(chromium: Chromium, pages: Pages) -> None:
    dom = chromium.dump_dom(pages.plan_html)
    assert report_problems(dom) == []
    doc, page = _doc(pages), lxml.html.fromstring(dom)
    # the graph: one drawn edge per recorded edge pair, labelled with the rules of the plan's edges
    labels = {e.get("data-rule") for e in page.xpath("//section[@id='graph']//*[@class='edge']")}
    rules = {r for label in labels for r in label.split(", ")}
    assert rules == {e["rule"] for e in doc["edges"]}
    assert {"R7", "R8", "R12", "R13"} <= rules
    # per wave: the forecast table shows the plan document's numbers
    for f in doc["forecast"]:
        table = page.xpath(f"//table[@class='forecast'][@data-wave='{f['wave']}']")[0]
        cells = [td.text_content().strip() for td in table.xpath(".//tbody//td")]
        assert cells[:4] == [
            str(f["phones"]),
            str(f["already_on_target"]),
            str(f["move"]),
            str(f["stranded"]),
        ]
    # every step is listed, in order, with a reversibility cell
    rows = page.xpath("//section[@id='steps']//tbody/tr")
    assert [r.xpath("./td[2]")[0].text_content() for r in rows] == [s["address"] for s in doc["steps"]]
    assert all(r.xpath("./td[@class='reversibility']") for r in rows)
    # identity of the plan: creation time and the fingerprint's digest
    assert page.xpath("//section[@id='summary']//time/@datetime") == [doc["created_at"]]
    assert fingerprint_digest(Plan.from_dict(doc)) in page.xpath("string(//section[@id='summary'])")
    diagnostics = page.xpath("//section[@id='diagnostics']//li")
    assert len(diagnostics) == len(doc["diagnostics"])


def test_show_writes_the_same_page_as_plan(pages: Pages) -> None:
    assert pages.show_html.read_bytes() == pages.plan_html.read_bytes()


def test_graph_and_forecast_tables_are_laid_out(chromium: Chromium, pages: Pages) -> None:
    sizes = chromium.measure(pages.plan_html)
    assert sizes["svg"]["width"] > 200 and sizes["svg"]["height"] > 200, sizes
    assert sizes["edges"] > 0 and sizes["visible_rule_labels"] == sizes["edges"], sizes
    assert len(sizes["forecast_tables"]) == len(_doc(pages)["forecast"]) > 0
    assert all(t["width"] > 100 and t["height"] > 20 for t in sizes["forecast_tables"]), sizes
    assert sizes["document_width"] <= 1280, "the page must not scroll sideways"


def test_screenshot_and_print(chromium: Chromium, pages: Pages, tmp_path: Path) -> None:
    png, pdf = tmp_path / "plan.png", tmp_path / "plan.pdf"
    chromium.screenshot(pages.plan_html, png, width=1280, height=1400)
    head = png.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", head[16:24]) == (1280, 1400)
    chromium.print_pdf(pages.plan_html, pdf)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes())) >= 2


def test_checker_fails_when_the_graph_or_the_forecast_is_missing(
    chromium: Chromium, pages: Pages, tmp_path: Path
) -> None:
    text = pages.plan_html.read_text()
    no_graph = tmp_path / "no-graph.html"
    no_graph.write_text(re.sub(r"<svg\b.*?</svg>", "", text, count=1, flags=re.DOTALL))
    assert "missing: dependency graph (inline SVG)" in report_problems(chromium.dump_dom(no_graph))
    no_forecast = tmp_path / "no-forecast.html"
    no_forecast.write_text(re.sub(r'<table class="forecast".*?</table>', "", text, flags=re.DOTALL))
    problems = report_problems(chromium.dump_dom(no_forecast))
    waves = [f["wave"] for f in _doc(pages)["forecast"]]
    assert [p for p in problems if p.startswith("missing: forecast table")] == [
        f"missing: forecast table of wave {w}" for w in waves
    ]
    unlabelled = tmp_path / "unlabelled.html"
    unlabelled.write_text(re.sub(r'<text [^>]*class="rule">[^<]*</text>', "", text))
    assert any("lacks a rule id" in p for p in report_problems(chromium.dump_dom(unlabelled)))


def test_drift_report(chromium: Chromium, pages: Pages) -> None:
    dom = chromium.dump_dom(pages.drift_html)
    assert drift_problems(dom) == []
    page = lxml.html.fromstring(dom)
    assert page.xpath("//section[@id='diagnostics']//li"), "the lab before any apply has drifted (R4)"
    assert not page.xpath("//script")


def test_hostile_names_stay_text_and_scripts_are_refused(
    chromium: Chromium, pages: Pages, tmp_path: Path
) -> None:
    """Names from YAML, live systems or certificates become text in the browser, never elements; and the
    page's Content-Security-Policy stops a script even if one were in the page."""
    hostile = '<script>document.title="owned"</script><img src=x onerror=alert(1)>'
    doc = _doc(pages)
    doc["desired"]["path"] = hostile
    doc["steps"][0]["reason"] = hostile
    doc["forecast"][0]["wave"] = hostile
    page_file = tmp_path / "hostile.html"
    page_file.write_text(plan_page(Plan.from_dict(doc)))
    page = lxml.html.fromstring(chromium.dump_dom(page_file))
    assert not page.xpath("//script") and not page.xpath("//img")
    assert hostile in page.xpath("string(//section[@id='steps'])")
    assert page.xpath("string(//title)").startswith("Change request")
    injected = tmp_path / "injected.html"
    injected.write_text(
        page_file.read_text().replace("</body>", "<script>document.title='ran'</script></body>")
    )
    assert lxml.html.fromstring(chromium.dump_dom(injected)).xpath("string(//title)") != "ran"
    unprotected = tmp_path / "unprotected.html"  # the control: without the policy the same script runs
    unprotected.write_text(
        re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", injected.read_text())
    )
    assert lxml.html.fromstring(chromium.dump_dom(unprotected)).xpath("string(//title)") == "ran"
