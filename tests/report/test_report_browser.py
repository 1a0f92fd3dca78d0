"""The HTML report in headless Chromium, offline: charts draw, filters change them,
hostile names and messages stay text, and the page asks the network for nothing.

Chromium is Debian's (/usr/bin/chromium, installed by scripts/ensure-chromium):
playwright's own browser download cannot work here (no network).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from typer.testing import CliRunner

from conftest import (
    GROUP_NAME,
    HOSTILE_PURPOSE,
    IMG_NAME,
    IMG_TEXT,
    POSITIONED_PLAYBOOK,
    RICH_NAME,
    SCRIPT_NAME,
    SCRIPT_TEXT,
    Hostile,
    positioned_copy,
)
from shequn.analytics.context import build_context
from shequn.analytics.source import duckdb_log
from shequn.cli import app
from shequn.report import assemble, build_report, render_html
from shequn.report.collect import MetricInfo, ctx_meta, metric_infos

CHROMIUM = "/usr/bin/chromium"
#: the page is served at this address by the test itself (route.fulfill); .invalid never resolves
URL = "http://report.invalid/report.html"
REAL = (
    "activity.weekly",
    "activity.concentration",
    "hours.heatmap",
    "hours.weekly",
    "hours.windows",
    "retention.cohorts",
    "lurkers.summary",
)


def _stubs(members: list[str]) -> tuple[dict[str, pa.Table], dict[str, MetricInfo]]:
    """Stand-ins for metrics other parts of shequn compute, shaped as agreed."""
    a, b, c, d = members[:4]
    week = datetime(2024, 1, 22)
    tables = {
        "conversation.edges": pa.table(
            {
                "group": ["*"] * 4,
                "source": [a, b, c, d],
                "target": [b, c, a, a],
                "weight": [5, 3, 2, 1],
                "kind": ["reply"] * 4,
            }
        ),
        "conversation.threads": pa.table(
            {"group": ["*", "*"], "starter": [a, b], "text": [IMG_TEXT, SCRIPT_TEXT]}
        ),
        "conversation.response": pa.table(
            {
                "group": ["*"],
                "week": [week],
                "questions": [14],
                "answered": [2],
                "unanswered": [12],
                "median_response_seconds": [600.0],
            }
        ),
        "kols.ranking": pa.table(
            {"group": ["*"] * 3, "member": [a, b, c], "score": [0.9, 0.5, 0.2], "rank": [1, 2, 3]}
        ),
        "roles.mix": pa.table(
            {"group": ["*"] * 3, "role": ["kol", "connector", "lurker"], "members": [1, 2, 5]}
        ),
        "topics.terms": pa.table({"group": ["*"], "term": [IMG_TEXT], "count": [7]}),
    }
    infos = {n: MetricInfo(n, f"Stub {n}", f"What {n} means (stand-in).") for n in tables}
    return tables, infos


@pytest.fixture(scope="module")
def page_html(hostile: Hostile) -> str:
    ctx = build_context(duckdb_log(hostile.store))
    report = build_report(ctx, REAL)
    tables, infos = _stubs(report.explorer["members"])
    full = assemble(
        ctx_meta(ctx), {**report.results, **tables}, {**metric_infos(), **infos}, report.explorer
    )
    return render_html(full)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()


class Visit:
    """A page loaded with every request but the report's own refused and recorded."""

    def __init__(self, browser: Browser, html: str) -> None:
        #: every request the page made (a CSP-refused one too), and those that reached
        #: the network layer (here: the route, which refuses them)
        self.requests: list[str] = []
        self.routed: list[str] = []
        self.failures: dict[str, str | None] = {}
        self.problems: list[str] = []
        self.page: Page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.page.on("request", self._request)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.problems.append(f"pageerror: {exc}"))
        self.page.on("requestfailed", lambda r: self.failures.__setitem__(r.url, r.failure))
        self.page.route("**/*", self._route)
        self.html = html
        self.page.goto(URL)
        self.page.wait_for_function("window.shequnReport !== undefined")

    def _request(self, request: Any) -> None:
        if request.url != URL:
            self.requests.append(request.url)

    def _console(self, message: Any) -> None:
        if message.type in ("error", "warning"):
            self.problems.append(f"{message.type}: {message.text}")

    def _route(self, route: Any) -> None:
        if route.request.url == URL:
            route.fulfill(body=self.html, content_type="text/html; charset=utf-8")
        else:
            self.routed.append(route.request.url)
            route.abort()

    def js(self, expression: str, arg: Any = None) -> Any:
        return self.page.evaluate(expression, arg)

    def tab(self, name: str) -> None:
        self.page.click(f"#tabs button[data-tab={name}]")

    def chart(self, chart_id: str) -> Any:
        return self.js("id => window.shequnReport.chartData(id)", chart_id)


@pytest.fixture
def visit(browser: Browser, page_html: str) -> Iterator[Visit]:
    v = Visit(browser, page_html)
    yield v
    v.page.close()


PAINTED = """node => {
  const canvas = node.querySelector('canvas');
  if (!canvas) return null;
  const box = canvas.getBoundingClientRect();
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
  return {width: box.width, height: box.height, painted: painted};
}"""


def test_every_tab_draws_its_charts_offline(visit: Visit) -> None:
    tabs = visit.js("[...document.querySelectorAll('#tabs button')].map(b => b.dataset.tab)")
    for expected in ("overview", "activity", "retention", "hours", "conversation", "kols"):
        assert expected in tabs
    assert "growth" not in tabs  # no growth metric given: omitted, with a note
    assert "growth.k_factor" in visit.page.inner_text("#omitted")
    drawn = 0
    for name in tabs:
        visit.tab(name)
        charts = visit.page.query_selector_all(f"#tab-{name} [data-chart-id]")
        for chart in charts:
            shown = chart.evaluate(PAINTED)
            assert shown is not None, (name, chart.get_attribute("data-chart-id"))
            assert shown["width"] > 100 and shown["height"] > 100, shown
            assert shown["painted"] > 1000, (name, chart.get_attribute("data-chart-id"))
            drawn += 1
    ids = set(visit.js("window.shequnReport.charts()"))
    assert {"overview-weekly", "activity-weekly", "hours-heatmap"} <= ids
    assert {"metric-conversation.edges", "metric-retention.cohorts"} <= ids  # graph, cohorts
    assert drawn >= 8
    assert visit.requests == [] and visit.routed == []
    assert visit.problems == []
    assert visit.js("window.__pwned") is None


def test_tooltips_explain_each_metric(visit: Visit) -> None:
    visit.tab("activity")
    block = visit.page.query_selector("[data-metric='activity.weekly']")
    assert block is not None
    title = block.query_selector(".info").get_attribute("title")  # type: ignore[union-attr]
    assert title is not None and title.startswith("Per local week: messages")
    header = block.query_selector("th").get_attribute("title")  # type: ignore[union-attr]
    assert header is not None and "Per local week" in header


def _messages(visit: Visit) -> list[int]:
    data = visit.chart("activity-weekly")
    return list(data["series"][0]["data"])


def test_filters_change_the_charts(visit: Visit) -> None:
    visit.tab("activity")
    everything = visit.chart("activity-weekly")
    assert len(everything["x"]) == 5 and sum(everything["series"][0]["data"]) > 0

    visit.page.select_option("#filter-from", "2")
    later = visit.chart("activity-weekly")
    assert later["x"] == everything["x"][2:]
    assert later["series"][0]["data"] == everything["series"][0]["data"][2:]

    visit.page.click("#filter-reset")
    visit.page.select_option("#filter-group", "whatsapp/Makers A")
    one_group = _messages(visit)
    assert sum(one_group) < sum(everything["series"][0]["data"])

    visit.page.click("#filter-reset")
    member = visit.js("document.querySelector('#filter-member').options[1].value")
    visit.page.select_option("#filter-member", member)
    theirs = _messages(visit)
    assert 0 < sum(theirs) < sum(everything["series"][0]["data"])
    # the member's own count, straight from the embedded data
    expected = visit.js(
        """m => {
          const d = JSON.parse(document.getElementById('shequn-data').textContent).explorer;
          let n = 0;
          d.cube.m.forEach((x, i) => { if (x === m) n += d.cube.n[i]; });
          return n; }""",
        int(member),
    )
    assert sum(theirs) == expected

    visit.tab("hours")
    heat = visit.chart("hours-heatmap")["series"][0]["data"]
    assert sum(cell[2] for cell in heat) == expected  # the heat map follows the member too
    assert visit.page.inner_text("#filter-summary").startswith("All groups · ")
    assert visit.problems == [] and visit.requests == [] and visit.routed == []


def test_hostile_names_and_messages_stay_text(visit: Visit) -> None:
    for name in ("overview", "activity", "conversation", "topics", "kols", "members"):
        if visit.page.query_selector(f"#tabs button[data-tab={name}]"):
            visit.tab(name)
    # every tab's text, hidden ones included (the JSON block is left out: it is escaped)
    text = visit.js("document.querySelector('#sections').textContent")
    for hostile in (IMG_NAME, SCRIPT_NAME, RICH_NAME, IMG_TEXT, GROUP_NAME.split(" ", 1)[1]):
        assert hostile in text, hostile
    assert SCRIPT_TEXT.split("\u2028")[0] in text
    options = visit.js("[...document.querySelectorAll('#filter-member option')].map(o => o.text)")
    assert IMG_NAME in options and SCRIPT_NAME in options
    # the graph's tooltip names members: shown as text, not markup
    visit.tab("conversation")
    visit.js(
        """() => {
          const chart = window.shequnReport.instance('metric-conversation.edges');
          const nodes = chart.getOption().series[0].data;
          nodes.forEach((n, i) =>
            chart.dispatchAction({type: 'showTip', seriesIndex: 0, dataIndex: i})); }"""
    )
    tip = visit.page.inner_text("[data-chart-id='metric-conversation.edges']")
    assert any(name in tip for name in (IMG_NAME, SCRIPT_NAME, RICH_NAME, "Ann", "Bob")), tip
    assert visit.js("document.querySelectorAll('img, b').length") == 0
    assert visit.js("window.__pwned") is None
    assert visit.problems == [] and visit.requests == [] and visit.routed == []


def test_the_page_forbids_remote_loads(visit: Visit) -> None:
    csp = visit.js("document.querySelector('meta[http-equiv=\"Content-Security-Policy\"]').content")
    assert "default-src 'none'" in csp and "connect-src 'none'" in csp
    assert not re.search(r"https?:|\*", csp)
    outcome = visit.js(
        """async () => {
             const img = new Image(); img.src = 'http://example.invalid/pixel.png';
             const s = document.createElement('script'); s.src = 'http://example.invalid/x.js';
             document.body.appendChild(s);
             try { await fetch('http://example.invalid/data'); return 'fetched'; }
             catch (e) { return 'blocked'; } }"""
    )
    assert outcome == "blocked"
    visit.page.wait_for_timeout(300)
    # refused by the policy in the browser: none reached the network
    assert visit.routed == []
    for url in ("http://example.invalid/pixel.png", "http://example.invalid/x.js"):
        assert visit.failures.get(url) == "csp", visit.failures
    assert any("Content Security Policy" in p for p in visit.problems)


def test_report_out_html_from_the_command_line(hostile: Hostile, tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    result = CliRunner().invoke(
        app,
        [
            "report",
            "--store",
            str(hostile.store),
            "--metric",
            "activity.weekly",
            "--out",
            str(target),
        ],
    )
    assert result.exit_code == 0, result.output
    html = target.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and '<meta charset="utf-8">' in html
    # hostile text only ever inside the JSON block, with < > & escaped
    for raw in ("<img src=x", "window.__pwned=2</script>", "<b onmouseover"):
        assert raw not in html
    assert html.count("<script") == 3 and html.count("</script>") == 3
    assert not re.search(r"""(src|href)=["']?https?:""", html)


def _page_of(store: Path, folder: Path) -> str:
    target = folder / "page.html"
    args = ["report", "--community", "makers", "--metric", "activity.weekly"]
    result = CliRunner().invoke(app, [*args, "--store", str(store), "--out", str(target)])
    assert result.exit_code == 0, result.output
    return target.read_text(encoding="utf-8")


def test_the_positioning_box_shows_hostile_text_as_text(
    browser: Browser, hostile: Hostile, tmp_path: Path
) -> None:
    store = positioned_copy(hostile, tmp_path, POSITIONED_PLAYBOOK)
    visit = Visit(browser, _page_of(store, tmp_path))
    try:
        box = visit.js(
            """() => [...document.querySelectorAll('#positioning p')].map(p => p.textContent)"""
        )
        masked = HOSTILE_PURPOSE.replace("+49 170 1234567", "+49 ••• •••••67")
        assert box == [
            f"What it is for: {masked}",
            "Who it is for: hobby makers <b>and</b> students",
            "Topics: 3D printing, electronics",
            "Goals: a weekly show-and-tell; answers within a day",
        ]
        # at the top: inside the header, before the filters and the tabs
        assert visit.js("document.querySelector('header #positioning') !== null")
        assert visit.js("document.querySelector('#positioning').getBoundingClientRect().height") > 0
        assert visit.js("document.querySelectorAll('script').length") == 3
        assert visit.js("document.querySelectorAll('#positioning *').length") == 10
        assert visit.js("window.__pwned") is None
        assert visit.problems == [] and visit.requests == [] and visit.routed == []
    finally:
        visit.page.close()


def test_no_positioning_box_without_a_playbook(
    browser: Browser, hostile: Hostile, tmp_path: Path
) -> None:
    store = positioned_copy(hostile, tmp_path, None)
    visit = Visit(browser, _page_of(store, tmp_path))
    try:
        assert visit.js("document.querySelector('#positioning')") is None
        assert visit.js("document.querySelector('header').textContent.trim()").startswith(
            "shequn report: makers"
        )
    finally:
        visit.page.close()
