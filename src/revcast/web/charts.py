"""ECharts options built in Python from report results, each data item carrying its drill-down URL.

A chart is rendered as ``<div class="rc-chart" id="ID" data-chart="ID-data">`` plus
``{{ chart.option|json_script:"ID-data" }}``; static/revcast/app.js draws it and, on a click, follows the
data item's ``url``: the opportunity list (``opportunity-list``) filtered with the parameters of
``revcast.pipeline.filters.OpportunityFilter`` to exactly the deals behind the bar. Every chart also
comes with a small data table (the same values and links) for keyboards, screen readers and no-JS use.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from revcast.reporting.dimensions import TIME, period_bounds
from revcast.reporting.result import ReportResult
from revcast.web.templatetags.revcast_i18n import stage_labels

# Labels from revcast.reporting (dimension and column labels, report titles) are English text marked there with
# ``gettext_noop``, so that the API, CLI and JSON keep one language; pages show ``gettext(label)`` (``label``).
# Report values that are words, not data: the sales-cycle outcome.
OUTCOMES = {"won": gettext_noop("Won"), "lost": gettext_noop("Lost")}

# Opportunity-list parameters (OpportunityFilter) for report dimensions; other dimensions cannot drill.
FILTERABLE = ("owner", "team", "region", "product", "series", "stage", "account", "industry", "forecast_category")
# The opportunity-list date filter for each report date: ``<prefix>_from`` / ``<prefix>_to``.
DATE_PARAM = {"closed_on": "closed", "created_on": "created", "engaged_on": "engaged", "expected_close_on": "expected"}
REPORT_STATUS = {"pipeline": "open", "bookings": "won", "win-rate": "closed", "sales-cycle": "closed"}
# The measure a report chart shows unless another is chosen.
MAIN_MEASURE = {
    "pipeline": "amount", "funnel": "reached", "win-rate": "win_rate", "bookings": "amount",
    "sales-cycle": "median_days",
}
MEASURE_TYPES = ("integer", "number", "money", "percent", "days")
MANY_CATEGORIES = 40  # beyond this a report chart gets a zoom slider


def label(text: str) -> str:
    """A label from reporting, translated for the page."""
    return _(text) if text else text


# ---------------------------------------------------------------- formatting and URLs


def format_value(value: Any, kind: str) -> str:
    """Table text: money with 2 decimals and thousands separators, percent, integer, days."""
    if value is None:
        return "–"
    if kind == "money":
        return f"{Decimal(value):,.2f}"
    if kind == "percent":
        return f"{value * 100:.1f} %"
    if kind == "integer":
        return f"{value:,}"
    if kind in ("days", "number"):
        return f"{value:,.2f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def exact(value: Any) -> str:
    """An amount with its cents, as text (``data-value``, for tests and scripts); empty when there is none."""
    return "" if value is None else format(Decimal(value).quantize(Decimal("0.01")), "f")


def list_url(params: Iterable[tuple[str, Any]]) -> str:
    """The opportunity list filtered by ``params`` (pairs; repeated names mean OR)."""
    query = urlencode([(k, str(v)) for k, v in params if v not in (None, "")])
    base = reverse("opportunity-list")
    return f"{base}?{query}" if query else base


def detail_url(pk: int) -> str:
    return reverse("opportunity-detail", args=[pk])


def bounds_params(prefix: str, start: dt.date | None, end: dt.date | None) -> list[tuple[str, Any]]:
    return [(f"{prefix}_from", start and start.isoformat()), (f"{prefix}_to", end and end.isoformat())]


def chart_number(value: Any, kind: str) -> Any:
    """A value for the chart: money as a float to the cent, percent as 0..100, counts as ints."""
    if value is None:
        return None
    if kind == "percent":
        return round(float(value) * 100, 2)
    if isinstance(value, Decimal) or kind in ("money", "days", "number"):
        return round(float(value), 2)
    return value


# ---------------------------------------------------------------- chart + table


@dataclass
class Chart:
    """An ECharts option and the same data as a table (cells already formatted, one URL per row)."""

    id: str
    option: dict[str, Any]
    columns: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def data_id(self) -> str:
        return f"{self.id}-data"

    @property
    def height(self) -> int:
        """Pixels: taller when many categories need rotated axis labels."""
        axis = base_option(self.option).get("xAxis") or {}
        axis = axis[0] if isinstance(axis, list) else axis
        return 280 if len(axis.get("data", [])) <= 6 else 360

    @property
    def urls(self) -> list[str]:
        """Every data item's drill-down URL (all series), in order."""
        series = base_option(self.option).get("series", [])
        return [item["url"] for s in series for item in s["data"] if item and "url" in item]


def _item(name: str, value: Any, url: str | None, **extra: Any) -> dict[str, Any]:
    """A data item: its category ``name``, ``value`` and drill-down ``url`` (followed by app.js on a click)."""
    item: dict[str, Any] = {"name": name, "value": value}
    if url:
        item["url"] = url
    item.update(extra)
    return item


def _category_axis(categories: Sequence[str], **extra: Any) -> dict[str, Any]:
    rotate = 0 if len(categories) <= 6 else (40 if len(categories) <= 12 else 65)
    return {"type": "category", "data": list(categories),
            "axisLabel": {"interval": 0, "rotate": rotate, "hideOverlap": False}, **extra}


def responsive(option: dict[str, Any]) -> dict[str, Any]:
    """Wrap ``option`` with an ECharts media query: on a narrow container (a phone) category labels
    longer than a few characters are turned so that they do not run into each other."""
    axes = option["xAxis"] if isinstance(option["xAxis"], list) else [option["xAxis"]]
    narrow = []
    for axis in axes:
        data = [str(c) for c in axis.get("data", [])]
        rotate = axis["axisLabel"]["rotate"]
        if len(data) > 1 and sum(len(c) for c in data) > 16:
            rotate = max(rotate, 40)
        if len(data) > 4 and max(len(c) for c in data) > 8:
            rotate = max(rotate, 65)
        narrow.append({"axisLabel": {"rotate": rotate}})
    return {
        "baseOption": option,
        "media": [{"query": {"maxWidth": 560},
                   "option": {"xAxis": narrow if isinstance(option["xAxis"], list) else narrow[0]}}],
    }


def base_option(option: dict[str, Any]) -> dict[str, Any]:
    """The option without its media queries (what ``responsive`` wrapped)."""
    return option.get("baseOption", option)


def _option(categories: Sequence[str], series: list[dict[str, Any]], y_axis: Any, *, legend: bool,
            tooltip: dict[str, Any] | None = None) -> dict[str, Any]:
    option: dict[str, Any] = {
        "animation": False,
        "tooltip": tooltip or {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "grid": {"left": 8, "right": 8, "top": 60 if legend else 28, "bottom": 8, "containLabel": True},
        "xAxis": _category_axis(categories),
        "yAxis": y_axis,
        "series": series,
    }
    if legend:
        option["legend"] = {"top": 0, "type": "scroll"}
    return responsive(option)


def _bar(name: str, data: list[Any], **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": "bar", "data": data, "barMaxWidth": 56, "emphasis": {"focus": "series"}, **extra}


def _line(name: str, data: list[Any], **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": "line", "data": data, "symbol": "circle", "symbolSize": 8, **extra}


def _value_axis(name: str, **extra: Any) -> dict[str, Any]:
    # Names start at the axis and run right, so a long one is not cut off at the chart's left edge.
    return {"type": "value", "name": name, "nameTextStyle": {"align": "left"}, **extra}


def _percent_axis(name: str) -> dict[str, Any]:
    return _value_axis(name, min=0, max=100, axisLabel={"formatter": "{value} %"})


# ---------------------------------------------------------------- dashboard charts


def pipeline_chart(result: ReportResult) -> Chart:
    """Open pipeline by stage: deal count (left grid) and amount (right grid)."""
    i_stage, i_count, i_amount = (result.column_index(n) for n in ("stage", "count", "amount"))
    names = [row[i_stage] for row in result.rows]
    urls = [list_url([("status", "open"), ("stage", s)]) for s in names]  # links use the stored names
    shown = stage_labels()
    stages = [shown.get(s, s) for s in names]  # the chart and its table show the labels
    counts = [row[i_count] for row in result.rows]
    amounts = [row[i_amount] for row in result.rows]
    # Two grids side by side, one series each: every bar sits at its own category's centre.
    currency = result.meta.get("currency", "")
    option = {
        "animation": False,
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "grid": [
            {"left": 8, "right": "52%", "top": 28, "bottom": 8, "containLabel": True},
            {"left": "52%", "right": 8, "top": 28, "bottom": 8, "containLabel": True},
        ],
        "xAxis": [_category_axis(stages, gridIndex=0), _category_axis(stages, gridIndex=1)],
        "yAxis": [
            _value_axis(_("Opportunities"), gridIndex=0),
            _value_axis(_("Amount (%(currency)s)") % {"currency": currency} if currency else _("Amount"),
                        gridIndex=1),
        ],
        "series": [
            _bar(_("Opportunities"), [_item(s, n, u) for s, n, u in zip(stages, counts, urls, strict=True)],
                 xAxisIndex=0, yAxisIndex=0),
            _bar(_("Amount"), [_item(s, chart_number(a, "money"), u)
                                 for s, a, u in zip(stages, amounts, urls, strict=True)],
                 xAxisIndex=1, yAxisIndex=1),
        ],
    }
    option = responsive(option)
    rows = [
        {"cells": [s, format_value(n, "integer"), format_value(a, "money")], "url": u}
        for s, n, a, u in zip(stages, counts, amounts, urls, strict=True)
    ]
    return Chart("chart-pipeline", option, [_("Stage"), _("Opportunities"), _("Amount")], rows)


def funnel_chart(result: ReportResult, cohort: str, start: dt.date | None, end: dt.date | None) -> Chart:
    """Deals of the cohort that reached each stage; the bar label shows the conversion from the previous stage."""
    i_stage, i_reached, i_conv = (result.column_index(n) for n in ("stage", "reached", "conversion"))
    period = bounds_params(cohort, start, end)
    shown = stage_labels()
    data, rows, stages = [], [], []
    for row in result.rows:
        name, reached, conversion = row[i_stage], row[i_reached], row[i_conv]
        url = list_url([("reached", name), *period])
        stage = shown.get(name, name)
        text = format_value(reached, "integer")
        if conversion is not None:
            text += f" ({format_value(conversion, 'percent')})"
        stages.append(stage)
        data.append(_item(stage, reached, url, conversion=conversion, label={"show": True, "formatter": text}))
        rows.append({"cells": [stage, format_value(reached, "integer"), format_value(conversion, "percent")],
                     "url": url})
    option = _option(stages, [_bar(_("Reached"), data, label={"show": True, "position": "top"})],
                     _value_axis(_("Deals")), legend=False)
    return Chart("chart-funnel", option, [_("Stage"), _("Reached"), _("Conversion from previous stage")], rows)


def bookings_chart(months: Sequence[Any]) -> Chart:
    """Won amount per month, next to the same month of the previous quarter and of the previous year."""
    def url(month: str) -> str:
        return list_url([("status", "won"), ("period", month)])

    labels = [m.month for m in months]
    # This period as bars; the comparisons as lines with markers, so every bar sits at its month's centre.
    series = [
        _bar(_("This period"), [_item(m.month, chart_number(m.amount, "money"), url(m.month), month=m.month, count=m.count)
                                for m in months]),
        _line(_("Previous quarter"), [_item(m.month, chart_number(m.prev_quarter_amount, "money"),
                                            url(m.prev_quarter_month),
                                            month=m.prev_quarter_month, count=m.prev_quarter_count) for m in months]),
        _line(_("Previous year"), [_item(m.month, chart_number(m.prev_year_amount, "money"),
                                         url(m.prev_year_month),
                                         month=m.prev_year_month, count=m.prev_year_count) for m in months]),
    ]
    option = _option(labels, series, _value_axis(_("Won amount")), legend=True)
    rows = [
        {"cells": [m.month, format_value(m.count, "integer"), format_value(m.amount, "money"),
                   format_value(m.prev_quarter_amount, "money"), format_value(m.prev_year_amount, "money")],
         "url": url(m.month)}
        for m in months
    ]
    return Chart("chart-bookings", option,
                 [_("Month"), _("Won deals"), _("Won amount"), _("Previous quarter"), _("Previous year")], rows)


def win_rate_chart(result: ReportResult, dim: str, start: dt.date | None, end: dt.date | None) -> Chart:
    """Won / (won + lost) per owner or product, on a 0-100 % axis."""
    i_dim, i_won, i_lost, i_rate = (result.column_index(n) for n in (dim, "won", "lost", "win_rate"))
    period = bounds_params("closed", start, end)
    names, data, rows = [], [], []
    for row in result.rows:
        name = row[i_dim]
        url = list_url([("status", "closed"), (dim, name), *period]) if name is not None else None
        names.append(name if name is not None else _("(none)"))
        data.append(_item(names[-1], chart_number(row[i_rate], "percent"), url, won=row[i_won], lost=row[i_lost]))
        rows.append({"cells": [names[-1], format_value(row[i_won], "integer"), format_value(row[i_lost], "integer"),
                               format_value(row[i_rate], "percent")], "url": url})
    option = _option(names, [_bar(_("Win rate"), data)], _percent_axis(_("Win rate")), legend=False,
                     tooltip={"trigger": "item", "formatter": "{b}: {c} %"})
    header = _("Owner") if dim == "owner" else _("Product")
    return Chart(f"chart-winrate-{dim}", option, [header, _("Won"), _("Lost"), _("Win rate")], rows)


# ---------------------------------------------------------------- report pages


def row_url(report: str, result: ReportResult, row: Sequence[Any]) -> str | None:
    """The opportunity list holding exactly the deals behind one report row, or None when the filters
    of the list cannot express it (a dimension without a list filter, an empty group value)."""
    meta = result.meta
    names = [c.name for c in result.columns]
    by: list[str] = list(meta.get("by", []))
    date_field = meta.get("date_field") or "closed_on"
    start: dt.date | None = _as_date(meta.get("from"))
    end: dt.date | None = _as_date(meta.get("to"))
    params: list[tuple[str, Any]] = []
    if report == "funnel":
        params.append(("reached", row[names.index("stage")]))
    elif report == "sales-cycle":
        params.append(("status", row[names.index("outcome")]))
    else:
        params.append(("status", REPORT_STATUS[report]))
    for dim in by:
        value = row[names.index(dim)]
        if value is None:
            return None
        if dim in TIME:
            first, after = period_bounds(dim, value)
            start, end = _narrow(start, end, first, after)
        elif dim in FILTERABLE or dim.startswith("custom."):
            params.append((dim, value))
        else:
            return None
    for dim, values in (meta.get("where") or {}).items():
        if dim in by:
            continue  # the row's own value is the narrower one
        if "" in values or not (dim in FILTERABLE or dim.startswith("custom.") or dim in TIME):
            return None
        if dim in TIME:
            if len(values) != 1:
                return None
            first, after = period_bounds(dim, values[0])
            start, end = _narrow(start, end, first, after)
        else:
            params.extend((dim, v) for v in values)
    if start and end and start > end:
        return None
    return list_url([*params, *bounds_params(DATE_PARAM.get(date_field, "closed"), start, end)])


def _as_date(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _narrow(start: dt.date | None, end: dt.date | None, first: dt.date, after: dt.date) -> tuple[dt.date, dt.date]:
    last = after - dt.timedelta(days=1)
    return (max(start, first) if start else first), (min(end, last) if end else last)


def measure_columns(result: ReportResult) -> list[Any]:
    return [c for c in result.columns if c.type in MEASURE_TYPES]


def category_columns(report: str, result: ReportResult) -> list[str]:
    """String columns in chart order: the first is the x axis, the rest make the series."""
    names = [c.name for c in result.columns if c.type == "string"]
    if report == "funnel" and "stage" in names:
        names.remove("stage")
        names.insert(0, "stage")
    return names


def report_chart(report: str, result: ReportResult, measure: str, urls: Sequence[str | None],
                 title: str, none_label: str, value_labels: dict[str, dict[Any, str]] | None = None) -> Chart:
    """Bar chart of ``measure`` by the first dimension, one series per value of the other dimensions.

    ``value_labels`` maps a dimension to {stored value: label shown} (stage labels in Chinese ...)."""
    i_measure = result.column_index(measure)
    column = result.columns[i_measure]
    dims = [result.column_index(n) for n in category_columns(report, result)]
    value_labels = value_labels or {}

    def text(value: Any, name: str) -> str:
        if value is None:
            return none_label
        if name == "outcome" and value in OUTCOMES:
            return _(OUTCOMES[value])
        return value_labels.get(name, {}).get(value, str(value))

    categories: list[str] = []
    series_names: list[str] = []
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    for row, url in zip(result.rows, urls, strict=True):
        x = text(row[dims[0]], result.columns[dims[0]].name) if dims else title
        s = " · ".join(text(row[i], result.columns[i].name) for i in dims[1:]) or label(column.label)
        if x not in categories:
            categories.append(x)
        if s not in series_names:
            series_names.append(s)
        cells[(x, s)] = _item(x, chart_number(row[i_measure], column.type), url)
    series = [_bar(s, [cells.get((x, s)) for x in categories]) for s in series_names]
    y_axis = (_percent_axis(label(column.label)) if column.type == "percent"
              else _value_axis(label(column.label)))
    option = _option(categories, series, y_axis, legend=len(series) > 1)
    if len(categories) > MANY_CATEGORIES:
        base_option(option)["dataZoom"] = [{"type": "inside"}, {"type": "slider", "bottom": 0}]
        base_option(option)["grid"]["bottom"] = 40
    return Chart("chart-report", option)
