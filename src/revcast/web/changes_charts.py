"""The waterfall chart of the pipeline-changes page, an ECharts option built in Python like ``web.charts`` (ADR 0010).

A classic waterfall from two stacked bar series: an invisible one that lifts each bar to where the running total
stands, and the visible one. The start and the end stand on the axis; an inflow (new, pulled in, increased) rises
from the running total, an outflow (decreased, pushed out, pulled out, won, lost) hangs down from it. Inflows come
before outflows and the waterfall reconciles, so the running total never drops below the end (nor below zero).

Every visible bar carries its amount (``value``, to the cent, as the table shows it), its deal count, the text of
its tooltip (``tip``: see ``static/revcast/app.js``) and its drill-down ``url`` (the deals behind it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from revcast.reporting.changes import INFLOWS
from revcast.web.charts import (
    Chart,
    _bar,
    _item,
    _option,
    _value_axis,
    base_option,
    chart_number,
    format_value,
)

TOTAL_COLOR, IN_COLOR, OUT_COLOR = "#5470c6", "#3ba272", "#ee6666"


@dataclass(frozen=True)
class Bar:
    """One row of the waterfall as the page shows it."""

    category: str  # start, new, ..., end
    label: str  # the category's label in the active language
    deals: int
    amount: Decimal
    url: str | None = None

    @property
    def kind(self) -> str:
        """``total`` (start, end), ``in`` or ``out``: how the bar stands and its sign in the identity."""
        if self.category in ("start", "end"):
            return "total"
        return "in" if self.category in INFLOWS else "out"


def floors(bars: Sequence[Bar]) -> list[Decimal]:
    """Where each bar starts: 0 for the start and the end, the running total before an inflow, the running total
    after an outflow."""
    out: list[Decimal] = []
    running = Decimal(0)
    for bar in bars:
        if bar.kind == "total":
            out.append(Decimal(0))
            running = bar.amount
        elif bar.kind == "in":
            out.append(running)
            running += bar.amount
        else:
            running -= bar.amount
            out.append(running)
    return out


def waterfall_chart(bars: Sequence[Bar], currency: str) -> Chart:
    names = [bar.label for bar in bars]
    colors = {"total": TOTAL_COLOR, "in": IN_COLOR, "out": OUT_COLOR}
    lifts, visible = [], []
    for bar, floor in zip(bars, floors(bars), strict=True):
        lifts.append(_item(bar.label, chart_number(floor, "money"), None, tip=""))
        text = format_value(bar.amount, "money")
        tip = ngettext("%(category)s: %(amount)s (%(deals)s deal)", "%(category)s: %(amount)s (%(deals)s deals)",
                       bar.deals) % {"category": bar.label, "amount": text, "deals": format_value(bar.deals, "integer")}
        visible.append(_item(bar.label, chart_number(bar.amount, "money"), bar.url, category=bar.category,
                             deals=bar.deals, tip=tip, itemStyle={"color": colors[bar.kind]},
                             label={"formatter": f"{bar.amount:,.0f}"}))
    series = [
        _bar("", lifts, stack="waterfall", silent=True, itemStyle={"color": "transparent"},
             emphasis={"disabled": True}),
        _bar(_("Amount"), visible, stack="waterfall", label={"show": True, "position": "top"}),
    ]
    axis = _value_axis(_("Amount (%(currency)s)") % {"currency": currency} if currency else _("Amount"))
    option = _option(names, series, axis, legend=False,
                     tooltip={"trigger": "axis", "axisPointer": {"type": "shadow"}, "rcTip": True})
    # The amounts over the bars would run into each other on a phone: shown from a tablet's width up.
    option["media"].append({"query": {"maxWidth": 720}, "option": {"series": [{}, {"label": {"show": False}}]}})
    base_option(option)["grid"]["top"] = 36
    return Chart("chart-waterfall", option)

