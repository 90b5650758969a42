"""The web app in a real Chromium: login, dashboard charts, drill-down, editing on a phone, logout."""

from __future__ import annotations

import csv
import re

import pytest

from tests.conftest import MAVEN_DIR

pytestmark = pytest.mark.e2e

CHART_IDS = ["chart-pipeline", "chart-funnel", "chart-bookings", "chart-winrate-owner", "chart-winrate-product"]

# Centre of data item ``index`` of series 0 of an ECharts instance, in page coordinates.
ITEM_CENTRE_JS = """([id, index]) => {
  const chart = window.revcastCharts[id];
  const layout = chart.getModel().getSeriesByIndex(0).getData().getItemLayout(index);
  let x, y;
  if (layout && layout.points) {            // funnel series: polygon
    x = layout.points.reduce((s, p) => s + p[0], 0) / layout.points.length;
    y = layout.points.reduce((s, p) => s + p[1], 0) / layout.points.length;
  } else {                                  // bar series: rectangle
    x = layout.x + layout.width / 2;
    y = layout.y + layout.height / 2;
  }
  const box = chart.getDom().getBoundingClientRect();
  return [box.left + x, box.top + y];
}"""


def _csv(name: str) -> list[dict[str, str]]:
    with (MAVEN_DIR / name).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _team_of(manager: str) -> set[str]:
    return {r["sales_agent"] for r in _csv("sales_teams.csv") if r["manager"] == manager}


def _result_count(s) -> int:
    return int(re.sub(r"[^\d]", "", s.page.inner_text("#result-count")))


def _wait_for_charts(s) -> None:
    for chart_id in CHART_IDS:
        s.page.wait_for_selector(f"#{chart_id}[data-ready='1']", timeout=15000)


@pytest.mark.parametrize("username", ["darcel.schlecht", "melvin.marxen"])
def test_dashboard_renders_its_charts_without_console_errors(session_factory, username):
    s = session_factory()
    s.login(username)
    s.goto("/")
    _wait_for_charts(s)
    drawn = s.page.evaluate("ids => ids.filter(id => window.revcastCharts[id] && !window.revcastCharts[id].isDisposed())",
                            CHART_IDS)
    assert drawn == CHART_IDS
    assert s.errors == []


def test_a_funnel_bar_drills_into_the_matching_list(session_factory):
    team = _team_of("Melvin Marxen")
    expected = sum(1 for r in _csv("sales_pipeline.csv") if r["sales_agent"] in team and r["engage_date"])
    s = session_factory()
    s.login("melvin.marxen")
    s.goto("/")
    _wait_for_charts(s)
    categories = s.page.evaluate("() => window.revcastCharts['chart-funnel'].getOption().series[0].data"
                                 ".map(d => d.name)")
    index = categories.index("Engaging") if "Engaging" in categories else s.page.evaluate(
        "() => window.revcastCharts['chart-funnel'].getOption().yAxis[0].data.indexOf('Engaging')"
    )
    x, y = s.page.evaluate(ITEM_CENTRE_JS, ["chart-funnel", index])
    with s.page.expect_navigation():
        s.page.mouse.click(x, y)
    assert "/opportunities/" in s.page.url and "reached=Engaging" in s.page.url
    assert _result_count(s) == expected
    assert s.errors == []


@pytest.mark.parametrize(("username", "expected"), [("darcel.schlecht", 747), ("melvin.marxen", 1929), ("admin", 8800)])
def test_the_list_shows_exactly_what_the_user_may_see(session_factory, username, expected):
    rows = _csv("sales_pipeline.csv")
    if username == "darcel.schlecht":
        assert sum(r["sales_agent"] == "Darcel Schlecht" for r in rows) == expected
    elif username == "melvin.marxen":
        assert sum(r["sales_agent"] in _team_of("Melvin Marxen") for r in rows) == expected
    else:
        assert len(rows) == expected
    s = session_factory()
    s.login(username)
    s.goto("/opportunities/")
    assert _result_count(s) == expected


def test_an_opportunity_is_edited_on_a_phone(session_factory):
    s = session_factory(viewport={"width": 390, "height": 844})
    s.login("darcel.schlecht")
    s.goto("/opportunities/?status=open&stage=Engaging")
    s.page.locator("table a[href^='/opportunities/']").first.click()
    s.page.wait_for_url(re.compile(r"/opportunities/\d+/$"))
    detail_url = s.page.url
    s.goto(detail_url.removeprefix(s.base_url) + "edit/")
    assert s.page.evaluate("() => document.documentElement.scrollWidth") <= 390
    s.page.fill("#id_amount", "12345.67")
    s.page.fill("#id_expected_close_on", "2018-03-31")
    s.page.click("#save")
    s.page.wait_for_url(detail_url)
    body = s.page.inner_text("main")
    assert "12,345.67" in body
    assert "2018-03-31" in body or "Mar" in body
    assert s.errors == []


def test_logout_returns_to_the_login_page(session_factory):
    s = session_factory()
    s.login("darcel.schlecht")
    s.goto("/")
    s.page.click("#user-menu")
    s.page.click("#logout")
    s.page.wait_for_url(re.compile(r"/login/"))
    s.goto("/opportunities/")
    assert "/login/" in s.page.url
