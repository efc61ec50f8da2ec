"""The HTML report without a browser: every part present, hostile names escaped, the same bytes for the
same plan, "not in this plan" for fields a plan does not carry (and the one seam lighting them up when
it does), the layered layout, recorded edges with rule ids, and the ``--html`` options of the CLI."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reconciler.cli import app
from reconciler.commands.wiring import use_estate_factory
from reconciler.diagnostics import Diagnostic, Severity, SourcePosition
from reconciler.model import Action, Address, Change
from reconciler.plan import document
from reconciler.plan.document import Plan, PlanEdge, PlanStep, StrandedGroup
from reconciler.render.html import plan_page
from reconciler.render.html.graph_svg import NO_RULE, graph_svg
from reconciler.render.html.layout import layered_layout
from reconciler.render.html.markup import Markup, el
from reconciler.render.html.seam import NOT_IN_PLAN, OPTIONAL_FIELDS, optional
from tests.unit.fake_estate import FakeEstate, desired_yaml, make_world

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _step(
    address: str,
    action: Action,
    *,
    rule: str,
    wave: str | None = None,
    after: object = None,
    deps: tuple[str, ...] = (),
) -> PlanStep:
    return PlanStep(
        change=Change(
            address=Address.parse(address), action=action, after=after, reason=f"why {HOSTILE}", rule=rule
        ),
        provider="p",
        endpoint="e",
        wave=wave,
        depends_on=tuple(Address.parse(d) for d in deps),
    )


def _plan(**changes: object) -> Plan:
    cert = f"trust.old.CallManager-trust.{HOSTILE}"
    steps = (
        _step(cert, Action.CREATE, rule="R4", after={"subject": f"CN={HOSTILE}"}),
        _step("tvs.old.pub", Action.RUN, rule="R8", deps=(cert,)),
        _step("option150.router.scope-a", Action.UPDATE, rule="R12", wave="w1", deps=("tvs.old.pub",)),
        _step(
            "gate.w1",
            Action.RUN,
            rule="R13",
            wave="w1",
            deps=("option150.router.scope-a",),
            after={"phones": 8, "scopes": ["scope-a"], "min_registered_share": 0.95, "deadline_seconds": 600},
        ),
    )
    edges = (
        PlanEdge(before=cert, after="tvs.old.pub", rule="R7", reason=f"replicated {HOSTILE}"),
        PlanEdge(before="tvs.old.pub", after="option150.router.scope-a", rule="R12", reason="trust first"),
        PlanEdge(before="option150.router.scope-a", after="gate.w1", rule="R13", reason="verify"),
    )
    forecast = (
        document.WaveForecast(
            wave="w1",
            scopes=("scope-a",),
            phones=8,
            already=1,
            move=5,
            stranded=(StrandedGroup(rule="R5", reason=f"no SAST {HOSTILE}", phones=2, examples=(HOSTILE,)),),
        ),
    )
    diag = Diagnostic(
        severity=Severity.ERROR,
        summary=f"bad {HOSTILE}",
        rule="R5",
        detail=HOSTILE,
        position=SourcePosition(f"{HOSTILE}.yaml", 3, 7),
        fix=f"fix {HOSTILE}",
    )
    base = Plan(
        plan_id="0123456789abcdef",
        created_at="2025-01-02T03:04:05Z",
        desired_path=f"{HOSTILE}.yaml",
        desired_sha256="ab" * 32,
        state_lineage=None,
        state_serial=0,
        steps=steps,
        edges=edges,
        diagnostics=(diag,),
        forecast=forecast,
        fingerprint={f"store/{HOSTILE}": "cd" * 32},
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_markup_escapes_text_and_attributes() -> None:
    out = el("td", HOSTILE, title='"><b>', data_rule=HOSTILE)
    assert "<script" not in out and "<img" not in out and "<b>" not in out
    assert out.count("&lt;script&gt;") == 2 and "&quot;&gt;&lt;b&gt;" in out
    assert el("p", Markup("<b>ok</b>")) == "<p><b>ok</b></p>"


def test_hostile_names_never_become_markup() -> None:
    page = plan_page(_plan())
    assert "<script" not in page and "<img" not in page and "onerror=alert(1)>" not in page
    assert page.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;") >= 8
    # the only tags in the page are the renderer's own
    tags = set(re.findall(r"<([a-zA-Z][a-zA-Z0-9]*)", page))
    assert tags <= {
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "header",
        "h1",
        "h2",
        "h3",
        "h4",
        "p",
        "main",
        "section",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "caption",
        "dl",
        "dt",
        "dd",
        "code",
        "time",
        "span",
        "div",
        "svg",
        "defs",
        "marker",
        "path",
        "g",
        "rect",
        "text",
        "tspan",
        "ul",
        "ol",
        "li",
        "article",
        "strong",
        "footer",
    }


def test_every_section_is_present_and_nothing_is_loaded() -> None:
    page = plan_page(_plan())
    for section in (
        "summary",
        "graph",
        "waves",
        "steps",
        "rollback",
        "diagnostics",
        "outside",
        "fingerprint",
    ):
        assert f'<section id="{section}">' in page
    assert '<table class="forecast" data-wave="w1">' in page
    assert '<time datetime="2025-01-02T03:04:05Z">' in page
    assert "default-src &#x27;none&#x27;" in page and "<script" not in page
    assert not re.search(r'\s(src|href)\s*=\s*"', page) and "url(http" not in page and "@import" not in page


def test_same_plan_same_bytes() -> None:
    assert plan_page(_plan()) == plan_page(_plan())


def test_forecast_gate_and_causes() -> None:
    page = plan_page(_plan())
    row = re.search(r'<table class="forecast" data-wave="w1">.*?<tbody>(.*?)</tbody>', page, re.S)
    assert row is not None
    assert re.findall(r"<td>(\d+)</td>", row.group(1)) == ["8", "1", "5", "2"]
    assert "at least 95% of 8 phone(s) Registered on the target within 10 min [R13]" in page
    assert "2 phone(s) [R5]: no SAST &lt;script&gt;" in page


def test_fields_the_plan_lacks_say_so() -> None:
    page = plan_page(_plan())
    wave = re.search(r'<article class="wave" data-wave="w1">(.*?)</article>', page, re.S)
    assert wave is not None
    for fact in ("On failure", "Window", "Cost estimate"):
        assert re.search(
            rf"<dt>{fact}</dt><dd><span class=\"not-in-plan\">not in this plan</span>", wave.group(1)
        )
    assert page.count('<td class="reversibility"><span class="not-in-plan">not in this plan</span></td>') == 4


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class WaveForecast(document.WaveForecast):
    """A forecast as later plans will carry it (the seam reads these names)."""

    on_failure: str = "revert"
    window: object = None
    cost: object = None


def test_the_seam_lights_up_fields_when_the_plan_carries_them() -> None:
    f = _plan().forecast[0]
    richer = WaveForecast(
        **{k.name: getattr(f, k.name) for k in dataclasses.fields(f) if k.name not in ("unknown", "cost")},
        unknown=(document.UnknownGroup(missing="TFTP unreadable [R1]", phones=3),),
        on_failure="revert",
        window={"start": "22:00", "duration": "4h"},
        cost={"total_seconds": 840},
    )
    assert optional(richer, "on_failure") == "revert" and optional(f, "on_failure") is NOT_IN_PLAN
    assert optional(None, "cost") is NOT_IN_PLAN
    page = plan_page(_plan(forecast=(richer,)))
    wave = re.search(r'<article class="wave" data-wave="w1">(.*?)</article>', page, re.S)
    assert wave is not None
    assert '<td class="unknown"><span>3</span></td>' in wave.group(1)
    assert "<dt>On failure</dt><dd><span>revert</span></dd>" in wave.group(1)
    assert "start: 22:00; duration: 4h" in wave.group(1) and "total_seconds: 840" in wave.group(1)
    assert "3 phone(s): TFTP unreadable [R1]" in wave.group(1)
    # a plan of today's planner carries the unknown phones: they are shown, never "not in this plan"
    assert optional(f, "unknown") == 0 and optional(f, "unknown_groups") == ()
    assert {f.owner for f in OPTIONAL_FIELDS.values()} == {"WaveForecast", "PlanStep"}


def test_graph_edges_carry_rule_ids_and_reasons() -> None:
    svg = graph_svg(_plan())
    rules = re.findall(r'<g class="edge" data-rule="([^"]+)"', svg)
    assert rules == ["R7", "R12", "R13"]
    assert re.findall(r'<text [^>]*class="rule">([^<]+)</text>', svg) == rules
    assert "replicated &lt;script&gt;" in svg  # the reason, in the edge's title


def test_old_plans_without_edges_say_the_rule_is_not_recorded() -> None:
    svg = graph_svg(_plan(edges=()))
    assert re.findall(r'data-rule="([^"]+)"', svg) == [NO_RULE] * 3


def test_many_interchangeable_siblings_are_one_box_listing_them() -> None:
    scopes = [f"option150.router.s{i}" for i in range(12)]
    steps = (
        _step("tvs.old.pub", Action.RUN, rule="R8"),
        *(_step(s, Action.UPDATE, rule="R12", wave="w1", deps=("tvs.old.pub",)) for s in scopes),
        _step("gate.w1", Action.RUN, rule="R13", wave="w1", deps=tuple(scopes)),
    )
    edges = (
        *(PlanEdge(before="tvs.old.pub", after=s, rule="R12", reason="r") for s in scopes),
        *(PlanEdge(before=s, after="gate.w1", rule="R13", reason="r") for s in scopes),
    )
    svg = graph_svg(_plan(steps=steps, edges=edges))
    assert svg.count('<g class="node ') == 3 and 'data-members="12"' in svg
    assert "option150 × 12" in svg and "… and 4 more" in svg
    assert re.findall(r'data-rule="([^"]+)"', svg) == ["R12", "R13"]


def test_layout_is_layered_without_overlaps() -> None:
    nodes = ["a", "b", "c", "d", "e"]
    edges = [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d"), ("a", "e"), ("d", "e")]
    layout = layered_layout(nodes=nodes, edges=edges, widths=dict.fromkeys(nodes, 80.0))
    layers = {n: b.layer for n, b in layout.boxes.items()}
    assert layers == {"a": 0, "b": 1, "c": 1, "d": 2, "e": 3}
    assert all(layout.boxes[b].y < layout.boxes[a].y for b, a in edges)
    long = next(r for r in layout.routes if (r.before, r.after) == ("a", "e"))
    assert len(long.points) == 4  # bends in the two layers it crosses
    boxes = list(layout.boxes.values())
    for i, p in enumerate(boxes):
        for q in boxes[i + 1 :]:
            assert (
                p.x + p.width <= q.x or q.x + q.width <= p.x or p.y + p.height <= q.y or q.y + q.height <= p.y
            )
    assert layered_layout(nodes=nodes, edges=edges, widths=dict.fromkeys(nodes, 80.0)) == layout


def test_plan_document_round_trips_edges_and_reads_plans_without_them() -> None:
    plan = _plan()
    again = Plan.from_json(plan.to_json())
    assert again.edges == plan.edges
    data = plan.to_dict()
    del data["edges"]
    assert Plan.from_dict(data).edges == ()


@pytest.fixture
def world_yaml(tmp_path: Path) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(desired_yaml())
    return path


def test_cli_plan_show_and_drift_write_reports(tmp_path: Path, world_yaml: Path) -> None:
    world, runner = make_world(), CliRunner()
    state = ["--state-dir", str(tmp_path / "st")]
    with use_estate_factory(lambda _s: FakeEstate(world)):
        planned = runner.invoke(
            app,
            [
                "plan",
                str(world_yaml),
                "-o",
                str(tmp_path / "p.json"),
                "--html",
                str(tmp_path / "p.html"),
                *state,
            ],
        )
        drift = runner.invoke(app, ["drift", str(world_yaml), "--html", str(tmp_path / "d.html"), *state])
    assert planned.exit_code == 0, planned.output
    assert drift.exit_code == 0, drift.output
    shown = runner.invoke(app, ["show", str(tmp_path / "p.json"), "--html", str(tmp_path / "s.html")])
    assert shown.exit_code == 0, shown.output
    page = (tmp_path / "p.html").read_text()
    assert page == (tmp_path / "s.html").read_text()
    saved = Plan.from_json((tmp_path / "p.json").read_bytes())
    assert {e.rule for e in saved.edges} >= {"R7", "R8", "R12", "R13"}
    assert all(
        str(d) in {e.before for e in saved.edges if e.after == str(s.address)}
        for s in saved.steps
        for d in s.depends_on
    )
    assert page.count('<table class="forecast"') == len(saved.forecast) == 2
    drift_page = (tmp_path / "d.html").read_text()
    assert '<section id="diagnostics">' in drift_page and "<h2>Findings</h2>" in drift_page


def test_cli_html_to_an_unwritable_place_fails_and_writes_nothing(tmp_path: Path, world_yaml: Path) -> None:
    plan = _plan(diagnostics=())
    (tmp_path / "p.json").write_text(plan.to_json())
    target = tmp_path / "missing-dir" / "p.html"
    result = CliRunner().invoke(app, ["show", str(tmp_path / "p.json"), "--html", str(target)])
    assert result.exit_code == 1 and "cannot write" in result.output
    assert not target.parent.exists()
