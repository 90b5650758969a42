"""What the pipeline-changes and slipped-deals pages show, as template context.

Three pages share one form and one set of query parameters (so a view can be bookmarked, and the tabs keep the
period): ``period`` (a fiscal quarter ``2017-Q4`` or a month ``2017-11``; default the newest quarter holding the
user's deals), ``start`` / ``end`` (the first and last day compared), the report filters ``region``, ``team``,
``owner``, ``product``, ``stage``; on the deals page ``category`` (one category of the waterfall, or
``unchanged``) and ``all=1``; on the slipped-deals page ``as_of`` and ``status`` (open, all), its period being
optional (only the deals pushed out of it).

The numbers come from one call of the report runner (``reporting.registry.run_report`` with
``ReportParams(user=…)``, so ``core.visibility`` holds), read from the query string by ``web.reports.parse_request``
like the export route does: a download holds the numbers of the page. Nothing here reads the database except
through the runners and ``web.widgets`` (the periods and filter values the user may see).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.paginator import Paginator
from django.http import QueryDict
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from revcast.core import fiscal
from revcast.reporting.changes import CATEGORIES, FLOWS, INFLOWS
from revcast.reporting.params import ReportError
from revcast.reporting.registry import run_report
from revcast.reporting.result import ReportResult
from revcast.reporting.runners.pipeline_changes import CATEGORY_LABELS, UNCHANGED
from revcast.web import charts, widgets
from revcast.web.changes_charts import Bar, waterfall_chart
from revcast.web.charts import exact
from revcast.web.context import REPORT_LABELS
from revcast.web.reports import ReportRequest, filter_widgets, parse_request
from revcast.web.templatetags.revcast_i18n import stage_labels

WATERFALL, DEALS, SLIPPED = "pipeline-changes", "pipeline-changes-deals", "slipped-deals"
PAGES = (WATERFALL, DEALS, SLIPPED)
DEAL_CATEGORIES = (*CATEGORIES, "unchanged")  # the deals page's category filter (start/end: in that pipeline)
PER_PAGE = 100
# The query parameters each page keeps when another one links to it (besides the filters).
CARRIED = {WATERFALL: ("period", "start", "end"), DEALS: ("period", "start", "end", "all", "category"),
           SLIPPED: ("period", "as_of", "status")}


@dataclass
class PageRequest:
    """One page's parameters, read and checked; ``errors`` (translated) stop the report from running."""

    name: str
    req: ReportRequest
    period: Any = None  # a core.fiscal Period, or None (slipped deals without a period; an unreadable period)
    period_text: str = ""  # the period as asked for (shown again in the picker when it cannot be read)
    category: str = ""
    page: str = "1"
    errors: list[str] = field(default_factory=list)
    choices: list[str] = field(default_factory=list)  # the user's fiscal quarters, newest first

    def value(self, key: str) -> str:
        """A parameter as the page uses it (what the form shows and the links carry)."""
        if key == "period":
            return self.period.label if self.period is not None else ""
        if key == "category":
            return self.category
        return self.req.options.get(key, "")

    def params(self, keys: tuple[str, ...]) -> list[tuple[str, str]]:
        pairs = [(k, self.value(k)) for k in keys]
        pairs += [(dim, v) for dim, values in self.req.where.items() for v in values]
        return [(k, v) for k, v in pairs if v]


def _date_error(text: str) -> str:
    return _("%(value)s is not a date (YYYY-MM-DD).") % {"value": text}


def default_period(choices: list[str]) -> str:
    """The newest fiscal quarter holding the user's deals (not after today), else the current one."""
    current = fiscal.current_period("quarter")
    for label in choices:
        if fiscal.parse_period(label).start <= current.start:
            return label
    return current.label


def read(query: QueryDict, name: str, user: Any) -> PageRequest:
    """The page's parameters out of the query string, each unreadable one named in a message."""
    query = query.copy()
    query.pop("by", None)  # these pages show the whole waterfall; --by is the CLI's and the API's
    req = parse_request(name, query, set())
    page = PageRequest(name, req, errors=req.errors, page=query.get("page", "1"))
    page.choices = [label for label in widgets.period_choices(user) if fiscal.kind_of(label) == "quarter"]
    text = page.period_text = query.get("period", "").strip()
    if text:
        try:
            page.period = fiscal.parse_period(text)
        except (ValueError, OverflowError):  # unreadable (PeriodError), or a year pandas cannot hold
            page.errors.append(_("Unknown period %(period)s: use a quarter (2017-Q4), a month (2017-11) or a "
                                 "fiscal year (FY2017).") % {"period": text})
    days: dict[str, dt.date] = {}
    for key in ("start", "end", "as_of"):
        day = req.options.get(key, "")
        if day:
            try:
                days[key] = dt.date.fromisoformat(day)
            except ValueError:
                page.errors.append(_date_error(day))
    if not text and name != SLIPPED:  # as the report does: the quarter holding the start, else the newest one
        page.period = (fiscal.period_of(days["start"], "quarter") if "start" in days
                       else fiscal.parse_period(default_period(page.choices)))
    req.options.pop("period", None)
    if page.period is not None:
        req.options["period"] = page.period.label
    if name == DEALS:
        # The page lists every deal and filters itself (its category counts need them all); its download passes
        # the category on to the report.
        req.options.pop("category", None)
        category = query.get("category", "").strip()
        if category in DEAL_CATEGORIES:
            page.category = category
            if category in ("start", "end"):  # every deal of that pipeline, moved or not
                req.options["all"] = "1"
        elif category:
            page.errors.append(_("Unknown value %(value)s for %(option)s.") % {"value": category,
                                                                                "option": "category"})
    return page


def run(page: PageRequest, user: Any) -> ReportResult | None:
    """The report for the page, through ``core.visibility``; None (and a message) when it cannot run."""
    if page.errors:
        return None
    try:
        return run_report(page.name, page.req.params(user))
    except ReportError as exc:
        page.errors.append(str(exc))
        return None


# ---------------------------------------------------------------- shared by the three pages


def page_url(name: str, pairs: list[tuple[str, str]]) -> str:
    query = urlencode(pairs)
    return reverse("report", args=[name]) + (f"?{query}" if query else "")


def export_links(page: PageRequest, names: tuple[str, ...]) -> list[tuple[str, list[tuple[str, str]]]]:
    """(report title, [(format, URL)]) of the downloads of a page: the export route, with the page's parameters."""
    out = []
    for name in names:
        query = urlencode(page.params(CARRIED[name]))
        out.append((str(REPORT_LABELS[name]), [
            (fmt, reverse("report-export", args=[name, fmt]) + (f"?{query}" if query else ""))
            for fmt in ("csv", "xlsx")]))
    return out


def _period_options(page: PageRequest) -> dict[str, Any]:
    """The period picker: the user's fiscal quarters (and the one shown), and the months of the quarter shown."""
    quarters = list(page.choices)
    current = fiscal.current_period("quarter").label
    selected = page.period
    quarter = fiscal.period_of(selected.start, "quarter") if selected is not None else None
    for label in (current, quarter.label if quarter is not None else None):
        if label and label not in quarters:
            quarters.append(label)
    quarters.sort(key=lambda label: fiscal.parse_period(label).start, reverse=True)
    months = []
    if quarter is not None:
        first = fiscal.period_of(quarter.start, "month")
        months = [first.shift(i).label for i in range(3)]
    label = selected.label if selected is not None else page.period_text
    return {
        "quarters": quarters, "months": months, "selected": label,
        "extra": label if label and label not in quarters and label not in months else "",
        "previous": selected.shift(-1).label if selected is not None else "",
        "next": selected.shift(1).label if selected is not None else "",
    }


def common(page: PageRequest, user: Any, result: ReportResult | None) -> dict[str, Any]:
    name = page.name
    carried = {n: page_url(n, page.params(CARRIED[n] if n != SLIPPED else ("period",))) for n in PAGES}
    meta = result.meta if result is not None else {}
    return {
        "name": name,
        "title": REPORT_LABELS[name],
        "page": page,
        "reports": [(n, REPORT_LABELS[n], carried.get(n) or reverse("report", args=[n]), n == name)
                    for n in REPORT_LABELS],
        "periods": _period_options(page),
        "values": {k: page.value(k) for k in ("start", "end", "as_of", "status", "all", "category")},
        "filters": filter_widgets(widgets.filter_choices(user), page.req.where),
        "errors": page.errors,
        "result": result,
        "warnings": meta.get("warnings", []),
        "currency": meta.get("currency", ""),
    }


def category_text(key: str) -> str:
    """``increased+won`` as the page shows it: the categories' labels in the active language."""
    if key == "unchanged" or not key:
        return str(UNCHANGED)
    return " + ".join(str(CATEGORY_LABELS.get(c, c)) for c in key.split("+"))


def _window(meta: dict[str, Any]) -> dict[str, Any]:
    window = meta.get("window") or {}
    return {k: window.get(k) for k in ("period", "period_first", "period_last", "start", "end")}


# ---------------------------------------------------------------- the waterfall


def deals_url(page: PageRequest, category: str) -> str:
    return page_url(DEALS, [*page.params(("period", "start", "end")), ("category", category)])


def waterfall_context(page: PageRequest, user: Any, result: ReportResult | None) -> dict[str, Any]:
    context = common(page, user, result)
    context["downloads"] = export_links(page, (WATERFALL, DEALS))
    if result is None:
        return context
    names = [c.name for c in result.columns]
    i_cat, i_deals, i_amount = (names.index(n) for n in ("category", "deals", "amount"))
    bars = [Bar(row[i_cat], str(CATEGORY_LABELS[row[i_cat]]), row[i_deals], row[i_amount],
                deals_url(page, row[i_cat])) for row in result.rows]
    meta = result.meta
    signs = {"total": "", "in": "+", "out": "−"}
    rows = [{"category": b.category, "label": b.label, "sign": signs[b.kind], "deals": b.deals,
             "deals_text": charts.format_value(b.deals, "integer"), "amount": exact(b.amount),
             "amount_text": charts.format_value(b.amount, "money"), "url": b.url, "kind": b.kind} for b in bars]
    by_key = {r["category"]: r for r in rows}
    terms = [by_key["start"], *(by_key[c] for c in FLOWS)]
    context.update({
        "chart": waterfall_chart(bars, context["currency"]),
        "headers": [charts.label(result.columns[i].label) for i in (i_cat, i_deals, i_amount)],
        "rows": rows,
        "terms": [{"sign": "" if i == 0 else ("+" if t["category"] in INFLOWS else "−"), "label": t["label"],
                   "amount": t["amount_text"]} for i, t in enumerate(terms)],
        "end_term": by_key["end"],
        "identity": meta.get("identity", ""),
        "reconciles": bool(meta.get("reconciles")),
        "difference": charts.format_value(meta.get("difference", 0), "money"),
        "change": {"text": charts.format_value(meta["totals"]["change"], "money"),
                   "value": exact(meta["totals"]["change"])},
        "notes": [charts.label(n) for n in meta.get("notes", [])],
        "window": _window(meta),
        # Nothing in the pipeline at either end, yet deals won or lost: they entered and left when they closed.
        "only_closings": not by_key["start"]["deals"] and not by_key["end"]["deals"]
        and bool(by_key["won"]["deals"] or by_key["lost"]["deals"]),
    })
    return context


# ---------------------------------------------------------------- the deals behind it


def _pages(page: PageRequest, rows: list[Any]) -> Any:
    return Paginator(rows, PER_PAGE).get_page(page.page)


def deals_context(page: PageRequest, user: Any, result: ReportResult | None) -> dict[str, Any]:
    context = common(page, user, result)
    context["downloads"] = export_links(page, (DEALS, WATERFALL))
    context["categories"] = [(c, str(CATEGORY_LABELS[c])) for c in CATEGORIES] + [("unchanged", str(UNCHANGED))]
    if result is None:
        return context
    names = [c.name for c in result.columns]
    col = {n: names.index(n) for n in names}
    all_rows = result.rows
    counts = {c: 0 for c in (*FLOWS, "unchanged")}
    for row in all_rows:
        for c in row[col["category"]].split("+"):
            counts[c] = counts.get(c, 0) + 1
    if page.category in ("start", "end"):
        key = "in_start" if page.category == "start" else "in_end"
        rows = [r for r in all_rows if r[col[key]]]
    elif page.category:
        rows = [r for r in all_rows if page.category in r[col["category"]].split("+")]
    else:
        rows = all_rows
    shown = stage_labels()
    page_obj = _pages(page, rows)
    listed = []
    for row in page_obj.object_list:
        pk = row[col["opportunity_id"]]
        listed.append({
            "id": pk, "url": charts.detail_url(pk), "deal": row[col["deal"]], "owner": row[col["owner"]] or "",
            "account": row[col["account"]] or "", "category": row[col["category"]],
            "category_text": category_text(row[col["category"]]),
            "in_start": row[col["in_start"]], "in_end": row[col["in_end"]],
            **{k: {"text": charts.format_value(row[col[k]], "money"), "value": exact(row[col[k]])}
               for k in ("amount_start", "amount_end", "amount_change")},
            "close_start": _day(row[col["close_start"]]), "close_end": _day(row[col["close_end"]]),
            "stage_start": shown.get(row[col["stage_start"]], row[col["stage_start"]] or ""),
            "stage_end": shown.get(row[col["stage_end"]], row[col["stage_end"]] or ""),
            "pushes_window": row[col["pushes_window"]], "pushes_total": row[col["pushes_total"]],
        })
    base = page.params(("period", "start", "end", "all"))
    context.update({
        "headers": {c.name: charts.label(c.label) for c in result.columns},
        "rows": listed,
        "page_obj": page_obj,
        "count": len(rows),
        "chips": [(c, category_text(c), counts.get(c, 0), page_url(DEALS, [*base, ("category", c)]))
                  for c in (*FLOWS, "unchanged") if counts.get(c)],
        "all_url": page_url(DEALS, base),
        "waterfall_url": page_url(WATERFALL, page.params(("period", "start", "end"))),
        "waterfall_label": REPORT_LABELS[WATERFALL],
        "window": _window(result.meta),
    })
    return context


def _day(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else ""


# ---------------------------------------------------------------- slipped deals


def slipped_context(page: PageRequest, user: Any, result: ReportResult | None) -> dict[str, Any]:
    context = common(page, user, result)
    context["downloads"] = export_links(page, (SLIPPED,))
    context["statuses"] = [("open", _("Open")), ("all", _("Any"))]
    if result is None:
        return context
    names = [c.name for c in result.columns]
    col = {n: names.index(n) for n in names}
    shown = stage_labels()
    page_obj = _pages(page, result.rows)
    listed = []
    for row in page_obj.object_list:
        pk = row[col["opportunity_id"]]
        listed.append({
            "id": pk, "url": charts.detail_url(pk), "deal": row[col["deal"]], "owner": row[col["owner"]] or "",
            "account": row[col["account"]] or "", "stage": shown.get(row[col["stage"]], row[col["stage"]] or ""),
            "amount": {"text": charts.format_value(row[col["amount"]], "money"), "value": exact(row[col["amount"]])},
            "original_close": _day(row[col["original_close"]]), "current_close": _day(row[col["current_close"]]),
            "days_slipped": row[col["days_slipped"]], "pushes": row[col["pushes"]],
        })
    totals = result.meta.get("totals") or {}
    mean = totals.get("mean_days_slipped")
    context.update({
        "headers": {c.name: charts.label(c.label) for c in result.columns},
        "rows": listed,
        "page_obj": page_obj,
        "count": len(result.rows),
        "total": {"text": charts.format_value(totals.get("amount"), "money"), "value": exact(totals.get("amount"))},
        "mean_days": charts.format_value(mean, "number") if mean is not None else "–",
        "as_of": result.meta.get("as_of"),
        "notes": [charts.label(n) for n in result.meta.get("notes", [])],
        "all_periods_url": page_url(SLIPPED, [(k, v) for k, v in page.params(CARRIED[SLIPPED]) if k != "period"]),
    })
    return context
