"""One page per core report (``/reports/<name>/``) and its CSV / Excel export.

Every parameter lives in the query string, so a report view can be bookmarked and shared:
``by`` (one or two dimensions), ``from`` / ``to`` (the report's own date, inclusive), the report's options
(``cohort`` for the funnel, ``start`` for the sales cycle; free-text ones such as ``period`` for pipeline changes
and slipped deals, whose pages are ``web.changes``), filters ``region``, ``team``, ``owner``,
``product``, ``stage`` (repeatable: OR), and ``measure`` (the column the chart shows). The export URL takes
the same query string and runs the same report, so the file holds the same numbers as the page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, QueryDict
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from revcast.reporting import export
from revcast.reporting.params import ReportError, ReportParams
from revcast.reporting.registry import REPORTS, run_report
from revcast.reporting.result import ReportResult
from revcast.web import charts, widgets
from revcast.web.context import REPORT_LABELS
from revcast.web.dashboard import is_partial
from revcast.web.templatetags.revcast_i18n import value_labels

MAX_BY = 2
DESCRIPTIONS = {
    "pipeline": gettext_lazy("Open deals: count, amount and probability-weighted amount. "
                             "The period applies to the expected close date."),
    "funnel": gettext_lazy("A cohort of deals (created or engaged in the period): how many reached each stage, "
                           "and the conversion between stages."),
    "win-rate": gettext_lazy("Closed deals: won, lost and won / (won + lost). "
                             "The period applies to the close date."),
    "bookings": gettext_lazy("Won deals: count and amount. The period applies to the close date."),
    "sales-cycle": gettext_lazy("Days from engaged (or created) to close for won and lost deals: "
                                "mean, median and 90th percentile. The period applies to the close date."),
}
OPTION_LABELS = {
    "cohort": gettext_lazy("Cohort date"),
    "start": gettext_lazy("Cycle starts at"),
}
OPTION_VALUE_LABELS = {"created": gettext_lazy("Created date"), "engaged": gettext_lazy("Engaged date")}
FILTER_LABELS = {
    "region": gettext_lazy("Region"), "team": gettext_lazy("Team"), "owner": gettext_lazy("Owner"),
    "product": gettext_lazy("Product"), "stage": gettext_lazy("Stage"),
}
TOTAL_LABELS = {
    "cohort": gettext_lazy("Deals in the cohort"), "won": gettext_lazy("Won"), "lost": gettext_lazy("Lost"),
    "win_rate": gettext_lazy("Win rate"),
}


@dataclass
class ReportRequest:
    """The report parameters read from a query string, with a message for each value left out."""

    name: str
    by: list[str] = field(default_factory=list)
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    options: dict[str, str] = field(default_factory=dict)
    where: dict[str, list[str]] = field(default_factory=dict)
    measure: str = ""
    errors: list[str] = field(default_factory=list)

    def params(self, user: Any) -> ReportParams:
        return ReportParams(by=list(self.by), date_from=self.date_from, date_to=self.date_to,
                            where={k: list(v) for k, v in self.where.items()}, user=user,
                            options=dict(self.options))


def allowed_dimensions(name: str, choices: list[tuple[str, str]]) -> list[tuple[str, str]]:
    # The funnel is by stage already.
    return [(n, label) for n, label in choices if not (name == "funnel" and n == "stage")]


def parse_request(name: str, query: QueryDict, dimension_names: set[str]) -> ReportRequest:
    runner = REPORTS[name]
    req = ReportRequest(name)
    if "by" in query:
        for value in query.getlist("by"):
            value = value.strip()
            if not value or value in req.by:
                continue
            if value not in dimension_names:
                req.errors.append(_("Unknown dimension %(name)s.") % {"name": value})
            elif len(req.by) >= MAX_BY:
                req.errors.append(_("At most two dimensions; %(name)s was left out.") % {"name": value})
            else:
                req.by.append(value)
    else:
        req.by = list(runner.default_by)
    for key, attr in (("from", "date_from"), ("to", "date_to")):
        text = query.get(key, "").strip()
        if text:
            try:
                setattr(req, attr, dt.date.fromisoformat(text))
            except ValueError:
                req.errors.append(_("%(value)s is not a date (YYYY-MM-DD).") % {"value": text})
    if req.date_from and req.date_to and req.date_from > req.date_to:
        req.errors.append(_("The start date is after the end date; the period was left out."))
        req.date_from = req.date_to = None
    for key, allowed in runner.options.items():
        value = query.get(key, "").strip()
        if value in allowed:
            req.options[key] = value
        elif value:
            req.errors.append(_("Unknown value %(value)s for %(option)s.") % {"value": value, "option": key})
    for key in runner.free_options:  # options taking any text (a period, a date): the report checks them
        value = query.get(key, "").strip()
        if value:
            req.options[key] = value
    for dim in widgets.FILTER_DIMENSIONS:
        values = [v.strip() for v in query.getlist(dim) if v.strip()]
        if values:
            req.where[dim] = list(dict.fromkeys(values))
    req.measure = query.get("measure", "").strip()
    return req


def _run(request: HttpRequest, name: str) -> tuple[ReportRequest, ReportResult | None, list[tuple[str, str]]]:
    if name not in REPORTS or name not in REPORT_LABELS:
        raise Http404
    dims = allowed_dimensions(name, widgets.dimension_choices())
    req = parse_request(name, request.GET, {n for n, _label in dims})
    try:
        result = run_report(name, req.params(request.user))
    except ReportError as exc:
        req.errors.append(str(exc))
        result = None
    return req, result, dims


# ---------------------------------------------------------------- presentation


def _cell(value: Any, column: Any, labels: dict[str, dict[Any, str]] | None = None) -> dict[str, Any]:
    """A table cell: the value formatted, a dimension value shown with its label (``labels``: see
    ``revcast_i18n.value_labels``)."""
    numeric = column.type in charts.MEASURE_TYPES
    if column.type == "string":
        if value is None:
            text = _("(none)")
        elif column.name == "outcome" and value in charts.OUTCOMES:
            text = _(charts.OUTCOMES[value])
        else:
            text = (labels or {}).get(column.name, {}).get(value, str(value))
    else:
        text = charts.format_value(value, column.type)
    return {"text": text, "numeric": numeric}


def _totals(result: ReportResult) -> dict[str, Any]:
    """Totals as footer rows aligned with the columns, or as labelled items (the funnel's cohort)."""
    totals = result.meta.get("totals") or {}
    columns = result.columns
    measures = [c for c in columns if c.type in charts.MEASURE_TYPES]
    if measures and all(c.name in totals for c in measures):
        cells = [{"text": "", "numeric": False} for _c in columns]
        cells[0] = {"text": _("Total"), "numeric": False}
        for i, c in enumerate(columns):
            if c.name in totals:
                cells[i] = _cell(totals[c.name], c)
        return {"rows": [cells], "items": []}
    if "outcome" in [c.name for c in columns]:  # sales cycle: one total per outcome
        rows = []
        for outcome, values in totals.items():
            cells = [{"text": "", "numeric": False} for _c in columns]
            cells[0] = {"text": _("Total"), "numeric": False}
            for i, c in enumerate(columns):
                if c.name == "outcome":
                    cells[i] = _cell(outcome, c)
                    if i == 0:  # no dimension column to hold the word "Total"
                        cells[i]["text"] = " · ".join([_("Total"), cells[i]["text"]])
                elif c.name in values:
                    cells[i] = _cell(values[c.name], c)
            rows.append(cells)
        return {"rows": rows, "items": []}
    items = []
    for key, value in totals.items():
        kind = "percent" if key == "win_rate" else "integer"
        items.append((TOTAL_LABELS.get(key, key), charts.format_value(value, kind)))
    return {"rows": [], "items": items}


def _query_without(query: QueryDict, *keys: str) -> str:
    return urlencode([(k, v) for k, values in query.lists() if k not in keys for v in values if v != ""])


def column_headers(result: ReportResult, dims: list[tuple[str, str]]) -> list[str]:
    """The column headers shown for a result (and written to its Excel export), in the active language."""
    dim_labels = dict(dims)
    return [
        charts.label(dim_labels.get(c.name) or c.label) if c.name in result.meta["by"] else charts.label(c.label)
        for c in result.columns
    ]


def _value_labels(dims: Any) -> dict[str, dict[Any, str]]:
    """{dimension: {stored value: label shown}} for the dimensions whose values have labels."""
    labels = {dim: value_labels(dim) for dim in dict.fromkeys(dims)}
    return {dim: mapping for dim, mapping in labels.items() if mapping}


def filter_widgets(
    choices: dict[str, list[Any]], where: dict[str, list[Any]], shown: dict[str, dict[Any, str]] | None = None
) -> list[tuple[str, Any, list[Any], list[Any], list[tuple[Any, str]]]]:
    """The report filters' selects (web/reports/_filters.html): (dimension, label, stored values, selected
    values, [(value, label shown)]) for each dimension of ``choices`` (``widgets.filter_choices``)."""
    if shown is None:
        shown = _value_labels(choices)
    return [(dim, FILTER_LABELS[dim], values, where.get(dim, []), [(v, shown.get(dim, {}).get(v, v)) for v in values])
            for dim, values in choices.items()]


def _context(request: HttpRequest, name: str, req: ReportRequest, result: ReportResult | None,
             dims: list[tuple[str, str]]) -> dict[str, Any]:
    title = REPORT_LABELS.get(name, name)
    choices = widgets.filter_choices(request.user)
    shown = _value_labels([*choices, *req.where, *(result.meta["by"] if result is not None else [])])
    context: dict[str, Any] = {
        "name": name,
        "title": title,
        "description": DESCRIPTIONS.get(name, ""),
        "req": req,
        "result": result,
        "dimensions": [(n, charts.label(label)) for n, label in dims],
        "by_slots": [req.by[i] if i < len(req.by) else "" for i in range(MAX_BY)],
        "options": [
            (key, OPTION_LABELS.get(key, key), [(v, OPTION_VALUE_LABELS.get(v, v)) for v in allowed],
             req.options.get(key, allowed[0]))
            for key, allowed in REPORTS[name].options.items()
        ],
        "filters": filter_widgets(choices, req.where, shown),
        "reports": [(n, REPORT_LABELS[n]) for n in REPORTS if n in REPORT_LABELS],
        "where_summary": [(FILTER_LABELS.get(dim, dim), ", ".join(shown.get(dim, {}).get(v, v) for v in values))
                          for dim, values in req.where.items()],
        "errors": req.errors,
        "query": _query_without(request.GET),
    }
    if result is None:
        return context
    measures = charts.measure_columns(result)
    measure = req.measure if req.measure in [c.name for c in measures] else charts.MAIN_MEASURE[name]
    if req.by != result.meta["by"]:
        context["by_slots"] = [*result.meta["by"], "", ""][:MAX_BY]
    urls = [charts.row_url(name, result, row) for row in result.rows]
    headers = column_headers(result, dims)
    context.update({
        "measure": measure,
        "measures": [(c.name, charts.label(c.label)) for c in measures],
        "headers": [{"text": h, "numeric": c.type in charts.MEASURE_TYPES}
                    for h, c in zip(headers, result.columns, strict=True)],
        "rows": [{"cells": [_cell(v, c, shown) for v, c in zip(row, result.columns, strict=True)], "url": url}
                 for row, url in zip(result.rows, urls, strict=True)],
        "totals": _totals(result),
        "chart": (charts.report_chart(name, result, measure, urls, str(title), _("(none)"), shown)
                  if result.rows else None),
        "missing_start": result.meta.get("missing_start"),
        "warnings": result.meta.get("warnings", []),
        "currency": result.meta.get("currency", ""),
    })
    return context


@login_required
@require_GET
def report(request: HttpRequest, name: str) -> HttpResponse:
    req, result, dims = _run(request, name)
    context = _context(request, name, req, result, dims)
    partial = is_partial(request)
    template = "web/reports/_body.html" if partial else "web/reports/report.html"
    # A full page for parameters the report refused is a bad request; an htmx swap still shows the message.
    status = 400 if result is None and not partial else 200
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


EXPORT_TYPES = {"csv": "text/csv; charset=utf-8",
                "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@login_required
@require_GET
def report_export(request: HttpRequest, name: str, fmt: str) -> HttpResponse:
    if fmt not in EXPORT_TYPES:
        raise Http404
    req, result, dims = _run(request, name)
    if result is None:
        return HttpResponseBadRequest("\n".join(req.errors), content_type="text/plain; charset=utf-8")
    by = "-by-" + "-".join(d.replace(".", "_") for d in result.meta["by"]) if result.meta["by"] else ""
    return download(result, fmt, f"revcast-{name}{by}", column_headers(result, dims))


def download(result: ReportResult, fmt: str, stem: str, headers: list[str]) -> HttpResponse:
    """A report as a CSV or Excel attachment named ``<stem>-<today>.<fmt>``."""
    # UTF-8 with a byte-order mark, so that Excel reads non-ASCII names (Chinese) right.
    body = export.to_csv(result).encode("utf-8-sig") if fmt == "csv" else export.to_xlsx(result, headers)
    response = HttpResponse(body, content_type=EXPORT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{stem}-{timezone.localdate().isoformat()}.{fmt}"'
    return response
