"""The forecast pages in a real Chromium against ``revcast serve`` on the demo database (which holds the demo's
forecasts of 2017-Q4 and 2017-10 and its backtests): a manager opens the forecast, its range chart draws, a
contributing deal leads to its page with the win probability and its factors, and the backtest chart draws."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.e2e

MANAGER = "melvin.marxen"

TOOLTIP_JS = """([id, series, index]) => {
  const chart = window.revcastCharts[id];
  chart.dispatchAction({type: "showTip", seriesIndex: series, dataIndex: index});
  const tip = Array.from(chart.getDom().querySelectorAll("div")).find(d => d.style.position === "absolute"
      && d.innerText.includes("P50"));
  return tip ? tip.innerText : "";
}"""


def test_a_manager_follows_the_forecast_to_a_deal_and_the_backtest(session_factory):
    s = session_factory()
    s.login(MANAGER)
    s.page.click("#nav-forecast")
    s.page.wait_for_url(re.compile(r"/forecast/$"))
    s.page.wait_for_selector("#chart-forecast-range[data-ready='1']", timeout=15000)
    drawn = s.page.evaluate("""() => {
      const option = window.revcastCharts["chart-forecast-range"].getOption();
      return {types: option.series.map(x => x.type), owners: option.xAxis[0].data};
    }""")
    assert drawn["types"] == ["bar", "boxplot"]
    assert MANAGER not in drawn["owners"] and len(drawn["owners"]) >= 2  # his reps, by owner (a manager's default)
    tip = s.page.evaluate(TOOLTIP_JS, ["chart-forecast-range", 1, 0])
    assert re.search(r"P10 [\d,]+ · P50 [\d,]+ · P90 [\d,]+", tip), tip

    first = s.page.locator("#contributors tbody tr").first
    deal_id = first.get_attribute("data-id")
    first.locator("a").first.click()
    s.page.wait_for_url(re.compile(rf"/opportunities/{deal_id}/$"))
    panel = s.page.locator("#win-probability")
    assert re.search(r"\d+\.\d %", panel.locator("#score-p-win").inner_text())
    factors = panel.locator("#score-factors li")
    assert factors.count() >= 1 and factors.first.inner_text().strip()

    s.goto("/forecast/backtest/")
    s.page.wait_for_selector("#chart-backtest[data-ready='1']", timeout=15000)
    series = s.page.evaluate("() => window.revcastCharts['chart-backtest'].getOption().series.length")
    assert series == 6  # actual, the band (two stacked areas), revcast, weighted pipeline, seasonal naive
    assert s.page.locator("#periods-table tbody tr").count() >= 1
    assert s.page.locator("#relative-note").count() == 1  # a manager sees the backtest relative to the actual
    assert s.errors == []
