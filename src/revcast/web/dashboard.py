"""The home dashboard: the user's pipeline, funnel, bookings, win rates, top and stale deals.

Thin: the numbers come from ``web.widgets`` (reporting runners and pipeline selectors), the charts from
``web.charts``. ``?period=`` (FY2017, 2017-Q3, 2017-03: a fiscal year or quarter of ``core.fiscal``, or a
month; a bare 2017 while fiscal years are calendar years) applies to the funnel cohort, bookings and win
rates; ``?cohort=created|engaged`` picks the funnel's cohort date; ``?stale_days=N`` overrides
``settings.REVCAST_STALE_DAYS``. An htmx request gets only the widgets (``_body.html``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from revcast.reporting.params import ReportError
from revcast.web import charts, widgets
from revcast.web.templatetags.revcast_i18n import stage_label

MAX_STALE_DAYS = 3650


def is_partial(request: HttpRequest) -> bool:
    """An htmx swap (not a history restore, which needs the whole page)."""
    htmx = getattr(request, "htmx", None)
    if htmx is None or not htmx:
        return False
    return not htmx.history_restore_request and not htmx.boosted


def _state(request: HttpRequest) -> tuple[dict[str, Any], list[str]]:
    errors: list[str] = []
    try:
        period = widgets.parse_period(request.GET.get("period"))
    except ReportError:
        errors.append(_("Unknown period %(period)s: use a fiscal year (FY2017), a quarter (2017-Q3) or a month "
                        "(2017-03).")
                      % {"period": request.GET.get("period")})
        period = widgets.Period()
    cohort = request.GET.get("cohort") or widgets.FUNNEL_COHORTS[0]
    if cohort not in widgets.FUNNEL_COHORTS:
        errors.append(_("Unknown funnel cohort %(cohort)s.") % {"cohort": cohort})
        cohort = widgets.FUNNEL_COHORTS[0]
    stale_days = settings.REVCAST_STALE_DAYS
    text = request.GET.get("stale_days", "").strip()
    if text:
        if text.isdigit() and 1 <= int(text) <= MAX_STALE_DAYS:
            stale_days = int(text)
        else:
            errors.append(_("Stale days must be a whole number from 1 to %(max)d.") % {"max": MAX_STALE_DAYS})
    return {"period": period, "cohort": cohort, "stale_days": stale_days}, errors


def _kpi_links(data: widgets.Dashboard) -> dict[str, str]:
    period = data.period
    closed = charts.bounds_params("closed", period.start, period.end)
    stale = [("stale", "1")]
    if data.stale_days != settings.REVCAST_STALE_DAYS:
        stale.append(("stale_days", str(data.stale_days)))
    return {
        "pipeline": charts.list_url([("status", "open")]),
        "bookings": charts.list_url([("status", "won"), *closed]),
        "win_rate": charts.list_url([("status", "closed"), *closed]),
        "stale": charts.list_url(stale),
    }


def _deal_rows(deals: list[Any], *, stale: bool = False) -> list[dict[str, Any]]:
    rows = []
    for opp in deals:
        row = {
            "id": opp.pk,
            "url": charts.detail_url(opp.pk),
            "name": str(opp),
            "account": opp.account.name if opp.account_id else "",
            "owner": opp.owner.username,
            "stage": stage_label(opp.stage),
            "amount": charts.format_value(opp.amount, "money"),
        }
        if stale:
            touched = getattr(opp, "last_touch_at", None)
            row["last_touch"] = touched.date() if touched and touched.year > 1970 else None
        rows.append(row)
    return rows


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    state, errors = _state(request)
    data = widgets.dashboard(request.user, **state)
    period = data.period
    dashboard_charts = {
        "pipeline": charts.pipeline_chart(data.pipeline),
        "funnel": charts.funnel_chart(data.funnel, data.cohort, period.start, period.end),
        "bookings": charts.bookings_chart(data.bookings.months),
        "winrate_owner": charts.win_rate_chart(data.win_rate_owner, "owner", period.start, period.end),
        "winrate_product": charts.win_rate_chart(data.win_rate_product, "product", period.start, period.end),
    }
    choices = list(data.period_choices)
    if period.label and period.label not in choices:
        choices.insert(0, period.label)
    context = {
        "data": data,
        "errors": errors,
        "charts": dashboard_charts,
        "kpis": {
            "pipeline_amount": charts.format_value(data.kpis["pipeline_amount"], "money"),
            "pipeline_count": charts.format_value(data.kpis["pipeline_count"], "integer"),
            "bookings_amount": charts.format_value(data.kpis["bookings_amount"], "money"),
            "bookings_count": charts.format_value(data.kpis["bookings_count"], "integer"),
            "win_rate": charts.format_value(data.kpis["win_rate"], "percent"),
            "closed": charts.format_value(data.kpis["closed"], "integer"),
            "stale_count": charts.format_value(data.kpis["stale_count"], "integer"),
        },
        "kpi_links": _kpi_links(data),
        "top_deals": _deal_rows(data.top_deals),
        "stale_deals": _deal_rows(data.stale_deals, stale=True),
        "period_choices": choices,
        "cohorts": [("created", _("Created date")), ("engaged", _("Engaged date"))],
        "currency": data.pipeline.meta.get("currency", ""),
    }
    template = "web/dashboard/_body.html" if is_partial(request) else "web/dashboard/home.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response
