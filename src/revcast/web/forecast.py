"""The forecast pages: ``/forecast/`` (a stored run seen through the user's scope), ``/forecast/backtest/``
and ``/forecast/model/``, and the POST endpoints that start a run or a backtest.

Thin views: a user's share of a run comes from ``forecasting.selectors.scope_forecast`` (re-simulated over the
deals the user may see), the deal lists from ``web.forecast_data`` (through ``core.visibility``), runs and
backtests are made by ``forecasting.services``. Query parameters: ``period`` (2017-Q4, 2017-11), ``run`` (a
run id of that period, default the one with the latest as-of time), ``by`` (owner, team, region, product:
the slices of the range chart); on the backtest page ``kind`` (quarter, month) and ``at`` (start, mid); on
the model page ``version``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from revcast.forecasting import selectors, services
from revcast.forecasting.models import ForecastRun, Source
from revcast.forecasting.selectors import SLICES, ForecastError
from revcast.web import charts, forecast_charts, forecast_data
from revcast.web.forecast_forms import BacktestRunForm, ForecastRunForm
from revcast.web.forecast_model import model_context
from revcast.web.templatetags.revcast_i18n import value_labels

SLICE_LABELS = {
    "team": gettext_lazy("Team"), "region": gettext_lazy("Region"), "owner": gettext_lazy("Owner"),
    "product": gettext_lazy("Product"),
}
DEFAULT_BY = "team"
MOVE_LABELS = {
    "new": gettext_lazy("new"), "removed": gettext_lazy("no longer open"), "changed": gettext_lazy("changed"),
}


def _int(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isdigit() else None


def _forecast_url(run: ForecastRun) -> str:
    return reverse("forecast") + "?" + urlencode({"period": run.period, "run": run.pk})


# ---------------------------------------------------------------- /forecast/


def _slices(scope: dict[str, Any], by: str) -> forecast_charts.Chart:
    groups = sorted(scope["groups"], key=lambda g: (-g["expected"], str(g["key"])))
    shown = value_labels(by)
    names = [shown.get(g["key"], g["key"]) if g["key"] is not None else _("(none)") for g in groups]
    urls = [charts.list_url([("status", "open"), (by, g["key"])]) if g["key"] is not None else None
            for g in groups]
    return forecast_charts.range_chart(groups, names, urls, str(SLICE_LABELS[by]))


def _headline(scope: dict[str, Any]) -> dict[str, str]:
    total = scope["total"]
    return {key: forecast_charts.money(total.get(key)) for key in (
        "expected", "p10", "p50", "p90", "closed", "open_expected", "new_expected")}


def _contributor_rows(run: ForecastRun, user: Any, open_expected: float) -> list[dict[str, Any]]:
    rows = []
    for deal in forecast_data.contributors(run, user):
        opp = deal.opportunity
        rows.append({
            "id": deal.opportunity_id,
            "url": charts.detail_url(deal.opportunity_id),
            "name": str(opp),
            "account": opp.account.name if opp.account_id else "",
            "owner": deal.owner_username,
            "stage": deal.stage,
            "amount": forecast_charts.money(deal.amount),
            "p_win": forecast_charts.percent(deal.p_win),
            "p_timing": forecast_charts.percent(deal.p_timing),
            "p": forecast_charts.percent(deal.p),
            "expected": forecast_charts.money(deal.expected),
            "share": forecast_charts.percent(float(deal.expected) / open_expected) if open_expected else "–",
        })
    return rows


def _mover_rows(moves: forecast_data.Movers) -> list[dict[str, Any]]:
    rows = []
    for move in moves.moves:
        rows.append({
            "id": move.opportunity_id,
            "url": charts.detail_url(move.opportunity_id),
            "name": move.name,
            "owner": move.owner,
            "status": move.status,
            "status_label": MOVE_LABELS[move.status],
            "before": forecast_charts.money(move.expected_before) if move.before else "–",
            "after": forecast_charts.money(move.expected_after) if move.after else "–",
            "p_before": forecast_charts.percent(move.before.p) if move.before else "–",
            "p_after": forecast_charts.percent(move.after.p) if move.after else "–",
            "change": _signed(move.change),
            "up": move.change > 0,
        })
    return rows


def _signed(value: Decimal | float) -> str:
    text = forecast_charts.money(abs(value))
    return f"+{text}" if value > 0 else (f"−{text}" if value < 0 else text)


def _forecast_context(request: HttpRequest, form: ForecastRunForm | None = None) -> dict[str, Any]:
    user = request.user
    period = (request.GET.get("period") or "").strip().upper()
    default_by = DEFAULT_BY if forecast_data.sees_company(user) else "owner"
    by = request.GET.get("by") or default_by
    errors: list[str] = []
    if by not in SLICES:
        errors.append(_("Unknown breakdown %(by)s.") % {"by": by})
        by = default_by
    periods = forecast_data.periods_with_runs()
    if period and period not in periods:
        errors.append(_("No forecast of %(period)s is stored yet.") % {"period": period})
        period = ""
    run = forecast_data.find_run(period or None, _int(request.GET.get("run")))
    can_run = forecast_data.can_run_forecast(user)
    context: dict[str, Any] = {
        "errors": errors,
        "periods": periods,
        "by": by,
        "slices": [(name, SLICE_LABELS[name]) for name in SLICES],
        "run": run,
        "can_run": can_run,
        "run_form": form if form is not None else (
            ForecastRunForm(initial={"period": run.period if run else period}) if can_run else None),
    }
    if run is None:
        return context
    scope = selectors.scope_forecast(run, user, by)
    open_expected = float(scope["total"].get("open_expected") or 0.0)
    moves = forecast_data.movers(run, user)
    context.update(
        period=run.period,
        runs=forecast_data.runs_of(run.period),
        scope=scope,
        sees_company=scope["scope"] == "all",
        headline=_headline(scope),
        chart=_slices(scope, by),
        contributors=_contributor_rows(run, user, open_expected),
        movers=moves,
        mover_rows=_mover_rows(moves),
        movers_change=_signed(moves.total_change),
        notes=[str(n) for n in (run.totals or {}).get("notes", [])],
        model=run.model,
        last_day=run.period_end - dt.timedelta(days=1),
    )
    return context


@login_required
@require_GET
def forecast_page(request: HttpRequest) -> HttpResponse:
    return render(request, "web/forecast/forecast.html", _forecast_context(request))


@login_required
@require_POST
def forecast_run(request: HttpRequest) -> HttpResponse:
    """Run and store a forecast of a period as of a date (managers and admins), then show it."""
    if not forecast_data.can_run_forecast(request.user):
        raise PermissionDenied

    def done(run: Any) -> HttpResponse:
        messages.success(request, _("Forecast of %(period)s as of %(as_of)s stored.")
                         % {"period": run.period, "as_of": run.as_of.strftime("%Y-%m-%d %H:%M")})
        return redirect(_forecast_url(run))

    return _run_and_store(request, ForecastRunForm(request.POST), services.run_forecast, done,
                          "web/forecast/forecast.html", _forecast_context)


def _run_and_store(request: HttpRequest, form: Any, service: Callable[..., Any],
                   done: Callable[[Any], HttpResponse], page: str,
                   context: Callable[[HttpRequest, Any], dict[str, Any]]) -> HttpResponse:
    """A valid form runs ``service`` (which stores what it made) and ``done`` answers with it; a bad form,
    or a run the engine refuses, shows ``page`` again with the reason (400)."""
    if form.is_valid():
        try:
            result = service(source=Source.WEB, created_by=request.user, **form.service_values())
        except (ForecastError, ValueError) as exc:
            form.add_error(None, str(exc))
        else:
            return done(result)
    return render(request, page, context(request, form), status=400)


# ---------------------------------------------------------------- /forecast/backtest/


def _best_sentence(summary: dict[str, Any]) -> str:
    methods = [("revcast", "revcast"), ("weighted_pipeline", _("the weighted pipeline")),
               ("seasonal_naive", _("the seasonal naive forecast"))]
    scored = [(summary.get(key, {}).get("mape"), name) for key, name in methods]
    scored = [(mape, name) for mape, name in scored if mape is not None]
    if not scored:
        return _("No period had revenue to compare with: no method can be rated.")
    best_mape, best = min(scored, key=lambda s: s[0])
    return _("%(method)s was the most accurate: its forecasts missed the actual by %(mape)s on average.") % {
        "method": best[:1].upper() + best[1:], "mape": forecast_charts.percent(best_mape)}


def _coverage_sentence(periods: list[dict[str, Any]]) -> str:
    scored = [p for p in periods if p.get("actual")]
    inside = sum(1 for p in scored if p.get("inside"))
    return _("The actual fell inside revcast's P10–P90 range in %(inside)d of %(n)d periods; a well-calibrated "
             "range holds it in about 8 of 10.") % {"inside": inside, "n": len(scored)}


def _period_rows(periods: list[dict[str, Any]], relative: bool) -> list[dict[str, Any]]:
    def amount(p: dict[str, Any], key: str) -> str:
        if relative:
            value = p.get(key)
            return forecast_charts.percent(float(value) / p["actual"]) if value is not None and p.get("actual") else "–"
        return forecast_charts.money(p.get(key))

    rows = []
    for p in periods:
        rows.append({
            "period": p.get("period"),
            "as_of": forecast_data.as_date(p.get("as_of")),
            "model": p.get("model", ""),
            "forecast": amount(p, "forecast"), "p10": amount(p, "p10"), "p90": amount(p, "p90"),
            "actual": amount(p, "actual"),
            "error": forecast_charts.percent(p["error_pct"]) if p.get("error_pct") is not None else "–",
            "inside": bool(p.get("inside")),
            "scored": bool(p.get("actual")),
            "weighted_pipeline": amount(p, "weighted_pipeline"),
            "seasonal_naive": amount(p, "seasonal_naive"),
            "seasonal_naive_from": p.get("seasonal_naive_from", ""),
        })
    return rows


def _summary_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    names = {"revcast": "revcast", "weighted_pipeline": _("Weighted pipeline"),
             "seasonal_naive": _("Seasonal naive")}
    rows = []
    best = min((summary.get(k, {}).get("mape") for k in names if summary.get(k, {}).get("mape") is not None),
               default=None)
    for key, name in names.items():
        figures = summary.get(key, {})
        mape = figures.get("mape")
        rows.append({
            "key": key, "name": name,
            "mape": forecast_charts.percent(mape), "bias": forecast_charts.percent(figures.get("bias")),
            "coverage": forecast_charts.percent(figures["coverage"]) if figures.get("coverage") is not None else "–",
            "best": mape is not None and mape == best,
        })
    return rows


def _backtest_context(request: HttpRequest, form: BacktestRunForm | None = None) -> dict[str, Any]:
    kind = request.GET.get("kind") or None
    at = request.GET.get("at") or None
    choices = forecast_data.backtest_choices()
    backtest = forecast_data.find_backtest(kind, at)
    relative = not forecast_data.sees_company(request.user)
    can_run = forecast_data.can_run_backtest(request.user)
    context: dict[str, Any] = {
        "choices": choices,
        "kind": backtest.period_kind if backtest else kind,
        "at": backtest.at if backtest else at,
        "backtest": backtest,
        "relative": relative,
        "can_run": can_run,
        "run_form": form if form is not None else (BacktestRunForm() if can_run else None),
        "kind_labels": {"quarter": _("Quarters"), "month": _("Months")},
        "at_labels": {"start": _("at the start"), "mid": _("in the middle")},
    }
    if backtest is None:
        return context
    result = backtest.result or {}
    periods = list(result.get("periods") or [])
    summary = result.get("summary") or {}
    context.update(
        periods=_period_rows(periods, relative),
        summary=_summary_rows(summary),
        best=_best_sentence(summary),
        coverage=_coverage_sentence(periods),
        chart=forecast_charts.backtest_chart(periods, relative=relative),
        has_periods=bool(periods),
    )
    return context


@login_required
@require_GET
def backtest_page(request: HttpRequest) -> HttpResponse:
    return render(request, "web/forecast/backtest.html", _backtest_context(request))


@login_required
@require_POST
def backtest_run(request: HttpRequest) -> HttpResponse:
    """Run and store a backtest (admins): one forecast per past period, each with a model trained then."""
    if not forecast_data.can_run_backtest(request.user):
        raise PermissionDenied

    def done(backtest: Any) -> HttpResponse:
        messages.success(request, _("Backtest stored."))
        return redirect(reverse("forecast-backtest") + "?" + urlencode({"kind": backtest.period_kind,
                                                                        "at": backtest.at}))

    return _run_and_store(request, BacktestRunForm(request.POST), services.run_backtest, done,
                          "web/forecast/backtest.html", _backtest_context)


# ---------------------------------------------------------------- /forecast/model/


@login_required
@require_GET
def model_page(request: HttpRequest) -> HttpResponse:
    version = forecast_data.find_model(_int(request.GET.get("version")))
    return render(request, "web/forecast/model.html", model_context(version))
