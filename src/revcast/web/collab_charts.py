"""ECharts option of the accuracy page, built in Python like ``web.charts`` and ``web.forecast_charts`` (ADR 0010):
the error of each source's call (reps as submitted, managers after adjustments, the AI's P50) by week of the
closed period, one line per source, with the same values as a table under it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from revcast.web.charts import Chart, _item, _line, _option, _value_axis
from revcast.web.forecast_charts import percent

SOURCE_LABELS = {"rep": gettext_lazy("Reps"), "manager": gettext_lazy("Managers"), "ai": gettext_lazy("AI (P50)")}
SOURCE_COLORS = {"rep": "#d08a2e", "manager": "#1f3b63", "ai": "#4f9d69"}


def week_label(row: dict[str, Any]) -> str:
    """``W3 · 10-16``: the week of the period and its Monday."""
    return f"W{row['week_index']} · {row['week']:%m-%d}"


def error_chart(summary: Sequence[dict[str, Any]]) -> Chart:
    """Error (|forecast − actual| / actual, in percent) by week, one line per source; a week without a measure
    (nothing won, or no call that week) is a gap."""
    weeks = sorted({(r["week_index"], r["week"]) for r in summary})
    labels = [week_label({"week_index": i, "week": w}) for i, w in weeks]
    by_key = {(r["source"], r["week_index"]): r for r in summary}
    sources = [s for s in SOURCE_LABELS if any(r["source"] == s for r in summary)]
    series = []
    rows = []
    for source in sources:
        name = str(SOURCE_LABELS[source])
        data = []
        for (index, _week), label in zip(weeks, labels, strict=True):
            row = by_key.get((source, index))
            error = None if row is None or row["error"] is None else round(float(row["error"]) * 100, 1)
            data.append(_item(label, error, None, tip=_("%(source)s: error %(error)s") % {
                "source": name, "error": percent(row["error"]) if row is not None else "–"}))
        series.append(_line(name, data, itemStyle={"color": SOURCE_COLORS[source]}, connectNulls=False))
    for (index, _week), label in zip(weeks, labels, strict=True):
        cells = [label]
        for source in sources:
            row = by_key.get((source, index))
            cells.append(percent(row["error"]) if row is not None else "–")
        rows.append({"cells": cells})
    axis = _value_axis(_("Error (%)"), min=0, axisLabel={"formatter": "{value} %"})
    option = _option(labels, series, axis, legend=True, tooltip={"trigger": "axis", "rcTip": True})
    columns = [_("Week"), *(str(SOURCE_LABELS[s]) for s in sources)]
    return Chart("chart-accuracy-error", option, columns, rows)
