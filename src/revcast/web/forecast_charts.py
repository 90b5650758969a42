"""ECharts options of the forecast pages, built in Python like ``web.charts`` (ADR 0010).

- the range chart: per slice, a bar for the expected value and a box from P10 to P90 with a line at P50
  (a boxplot whose whiskers coincide with the box);
- the backtest chart: actual (bars), revcast's forecast (line) inside its P10–P90 band (stacked areas), and
  the two baselines (dashed lines); for people who see only part of the company, every value relative to
  the actual (100 = what was won), so that no company-wide amount is shown to them;
- the calibration chart of a win model (mean predicted against observed win rate per bin) and its feature
  importance.

Each data item may carry a ``tip`` (the text ``static/revcast/app.js`` shows for it in the tooltip, when the
option's tooltip has ``rcTip``): a range's P10, P50 and P90 in words rather than the box's five numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from revcast.web.charts import Chart, _bar, _item, _line, _option, _percent_axis, _value_axis, base_option

RANGE_COLOR = "#1f3b63"
BAND_COLOR = "rgba(84, 112, 198, 0.18)"


@dataclass
class SizedChart(Chart):
    """A chart whose height is given (a horizontal bar chart grows with its rows)."""

    fixed_height: int = 0

    @property
    def height(self) -> int:
        return self.fixed_height or super().height


def money(value: Any) -> str:
    """A forecast amount as shown: whole currency units with thousands separators (forecasts are not cents)."""
    if value is None:
        return "–"
    return f"{float(value):,.0f}"


def percent(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    return f"{float(value) * 100:.{digits}f} %"


def _tip_tooltip() -> dict[str, Any]:
    return {"trigger": "axis", "axisPointer": {"type": "shadow"}, "rcTip": True}


# ---------------------------------------------------------------- forecast range by slice


def range_chart(groups: Sequence[dict[str, Any]], names: Sequence[str], urls: Sequence[str | None],
                dimension: str) -> Chart:
    """Expected value (bar) and the P10–P90 range with its P50 (box) of each slice.

    ``names`` are the slices' labels as shown, ``urls`` their drill-down (the slice's open deals)."""
    expected_name, range_name = _("Expected"), _("P10–P90 range")
    bars, boxes, rows = [], [], []
    for group, name, url in zip(groups, names, urls, strict=True):
        exp, p10, p50, p90 = (round(float(group[k])) for k in ("expected", "p10", "p50", "p90"))
        bars.append(_item(name, exp, url, tip=_("Expected: %(value)s") % {"value": money(exp)}))
        boxes.append(_item(name, [p10, p10, p50, p90, p90], url, tip=_("P10 %(p10)s · P50 %(p50)s · P90 %(p90)s")
                           % {"p10": money(p10), "p50": money(p50), "p90": money(p90)}))
        rows.append({"url": url, "cells": [name, *(money(group[k]) for k in (
            "expected", "p10", "p50", "p90", "closed", "open_expected", "new_expected"))]})
    series = [
        _bar(expected_name, bars, itemStyle={"color": "#8fb3e8"}),
        {"name": range_name, "type": "boxplot", "data": boxes, "boxWidth": [6, 22],
         "itemStyle": {"color": "rgba(255,255,255,0)", "borderColor": RANGE_COLOR, "borderWidth": 2}},
    ]
    option = _option(list(names), series, _value_axis(_("Amount")), legend=True, tooltip=_tip_tooltip())
    columns = [dimension, _("Expected"), "P10", "P50", "P90", _("Closed so far"), _("Open deals, expected"),
               _("New business, expected")]
    return Chart("chart-forecast-range", option, columns, rows)


# ---------------------------------------------------------------- backtest


def _relative(value: Any, actual: Any) -> float | None:
    if value is None or not actual:
        return None
    return round(float(value) / float(actual) * 100, 1)


def backtest_chart(periods: Sequence[dict[str, Any]], *, relative: bool) -> Chart:
    """Actual against revcast's forecast, its P10–P90 band and the two baselines, one category per period."""
    labels = [str(p["period"]) for p in periods]

    def value(p: dict[str, Any], key: str) -> float | None:
        if relative:
            return _relative(p.get(key), p.get("actual"))
        return None if p.get(key) is None else round(float(p[key]))

    def shown(v: float | None) -> str:
        if v is None:
            return "–"
        return f"{v:.1f} %" if relative else money(v)

    forecast_name, band_name, actual_name = _("revcast forecast"), _("P10–P90 range"), _("Actual")
    wp_name, sn_name = _("Weighted pipeline"), _("Seasonal naive")
    lows, widths, actuals, forecasts, weighted, naive = [], [], [], [], [], []
    for p, label in zip(periods, labels, strict=True):
        lo, hi = value(p, "p10"), value(p, "p90")
        lows.append(_item(label, lo, None, tip=_("P10–P90: %(low)s – %(high)s") % {"low": shown(lo), "high": shown(hi)}))
        widths.append(_item(label, None if lo is None or hi is None else round(hi - lo, 1), None, tip=""))
        act = value(p, "actual")
        actuals.append(_item(label, act, None, tip=_("Actual: %(value)s") % {"value": shown(act)}))
        for key, out, name in (("forecast", forecasts, forecast_name), ("weighted_pipeline", weighted, wp_name),
                               ("seasonal_naive", naive, sn_name)):
            v = value(p, key)
            out.append(_item(label, v, None, tip=_("%(name)s: %(value)s") % {"name": name, "value": shown(v)}))
    band = {"lineStyle": {"opacity": 0}, "symbol": "none", "stack": "band", "silent": True}
    series = [
        _bar(actual_name, actuals, itemStyle={"color": "#9aa5b1"}),
        {**_line(band_name, lows), **band, "legendHoverLink": False, "itemStyle": {"color": BAND_COLOR}},
        {**_line(band_name, widths), **band, "areaStyle": {"color": BAND_COLOR}, "itemStyle": {"color": BAND_COLOR}},
        _line(forecast_name, forecasts, itemStyle={"color": RANGE_COLOR}, lineStyle={"width": 3}),
        _line(wp_name, weighted, itemStyle={"color": "#d08a2e"}, lineStyle={"type": "dashed"}),
        _line(sn_name, naive, itemStyle={"color": "#4f9d69"}, lineStyle={"type": "dashed"}),
    ]
    axis = _value_axis(_("Percent of actual") if relative else _("Amount"))
    option = _option(labels, series, axis, legend=True, tooltip=_tip_tooltip())
    base_option(option)["legend"]["data"] = [actual_name, forecast_name, band_name, wp_name, sn_name]
    return Chart("chart-backtest", option)


# ---------------------------------------------------------------- model card


def calibration_chart(table: Sequence[dict[str, Any]]) -> Chart:
    """Observed win rate against the mean predicted probability of each bin, beside the diagonal."""
    points = []
    for row in table:
        predicted, observed, n = row.get("mean_predicted"), row.get("observed"), row.get("n", 0)
        if predicted is None or observed is None or not n:
            continue
        x, y = round(float(predicted) * 100, 1), round(float(observed) * 100, 1)
        tip = _("predicted %(predicted)s, observed %(observed)s (%(n)s deals)") % {
            "predicted": f"{x:.1f} %", "observed": f"{y:.1f} %", "n": f"{int(n):,}"}
        points.append({"value": [x, y], "tip": tip})
    option: dict[str, Any] = {
        "animation": False,
        "tooltip": {"trigger": "item", "rcTip": True},
        "legend": {"top": 0},
        "grid": {"left": 8, "right": 24, "top": 40, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "value", "min": 0, "max": 100, "name": _("Predicted (%)"), "nameLocation": "middle",
                  "nameGap": 26, "axisLabel": {"formatter": "{value} %"}},
        "yAxis": _percent_axis(_("Observed win rate (%)")),
        "series": [
            {"name": _("Perfect calibration"), "type": "line", "data": [[0, 0], [100, 100]], "symbol": "none",
             "silent": True, "lineStyle": {"type": "dashed", "color": "#9aa5b1"}},
            {"name": _("Model"), "type": "line", "data": points, "symbolSize": 9,
             "itemStyle": {"color": RANGE_COLOR}},
        ],
    }
    rows = [{"cells": [percent(r.get("mean_predicted")), percent(r.get("observed")), f"{int(r.get('n', 0)):,}"]}
            for r in table]
    return SizedChart("chart-calibration", option, [_("Predicted"), _("Observed"), _("Deals")], rows,
                      fixed_height=320)


def importance_chart(features: Sequence[tuple[str, float]]) -> Chart:
    """Feature importance (share of the model's total gain), largest at the top."""
    names = [name for name, _share in features][::-1]
    values = [round(float(share) * 100, 1) for _name, share in features][::-1]
    option: dict[str, Any] = {
        "animation": False,
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "grid": {"left": 8, "right": 24, "top": 8, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "value", "axisLabel": {"formatter": "{value} %"}},
        "yAxis": {"type": "category", "data": names, "axisLabel": {"width": 180, "overflow": "truncate"}},
        "series": [{"name": _("Share of importance"), "type": "bar", "data": values, "barMaxWidth": 22,
                    "itemStyle": {"color": RANGE_COLOR}}],
    }
    rows = [{"cells": [name, f"{share * 100:.1f} %"]} for name, share in features]
    return SizedChart("chart-importance", option, [_("Feature"), _("Share of importance")], rows,
                      fixed_height=max(160, 28 * len(features) + 24))

