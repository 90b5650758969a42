"""Forecasts in a fiscal calendar: a fiscal year or quarter through the services, the CLI, the form and the API,
and the backtest's periods — dates and amounts checked against the raw Maven CSV."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from django.core.management import call_command
from django.test import override_settings

from revcast.forecasting import selectors, services
from revcast.forecasting.models import ForecastRun
from tests.forecasting import support as F

APRIL = {"REVCAST_FISCAL_YEAR_START_MONTH": 4, "REVCAST_FISCAL_YEAR_NAMED_BY": "end"}


@override_settings(**APRIL)
def test_a_fiscal_year_is_forecast_and_stored(stored, db):
    run = services.run_forecast(period="fy2018", as_of=F.AS_OF, draws=200)
    run = ForecastRun.objects.get(pk=run.pk)  # as stored: the model's choices are not checked on save
    assert (run.period, run.period_kind, str(run.period_start), str(run.period_end)) == (
        "FY2018", "year", "2017-04-01", "2018-04-01")
    # Won from 1 April 2017 (the fiscal year's start) up to the as-of time, from the CSV.
    assert run.totals["closed"] == pytest.approx(float(F.won_between("2017-04-01", F.WON_BEFORE)), abs=0.01)
    assert run.totals["p10"] <= run.totals["p50"] <= run.totals["p90"]
    assert run.totals["expected"] > run.totals["closed"]
    assert selectors.latest_run("FY2018") == run


@override_settings(**APRIL)
def test_kinds_resolve_to_the_fiscal_periods_holding_as_of(stored, db):
    as_of = services.parse_time(F.AS_OF)
    assert services.resolve_period("quarter", as_of).label == "2018-Q3"
    assert services.resolve_period(None, as_of).label == "2018-Q3"
    assert services.resolve_period("year", as_of).label == "FY2018"
    assert services.resolve_period("month", as_of).label == "2017-11"
    run = services.run_forecast(as_of=F.AS_OF, draws=200)
    assert (run.period, run.period_kind, str(run.period_start), str(run.period_end)) == (
        "2018-Q3", "quarter", "2017-10-01", "2018-01-01")
    # Fiscal 2018-Q3 is calendar Q4 2017: the same deals closed so far as the stored calendar-quarter run.
    calendar_run = ForecastRun.objects.get(pk=stored.run_id)
    assert calendar_run.period == "2017-Q4"
    assert run.totals["closed"] == pytest.approx(calendar_run.totals["closed"], abs=0.01)
    with pytest.raises(selectors.ForecastError, match="fiscal year like FY2017"):
        services.run_forecast(period="2018", as_of=F.AS_OF, draws=200)


@override_settings(**APRIL)
def test_the_cli_runs_a_fiscal_year(stored, db):
    out = io.StringIO()
    call_command("forecast", "run", "--period", "FY2018", "--as-of", F.AS_OF, "--draws", "200", "--format",
                 "json", stdout=out)
    body = json.loads(out.getvalue())
    assert (body["run"]["period"], body["run"]["period_start"], body["run"]["period_end"]) == (
        "FY2018", "2017-04-01", "2018-04-01")


@override_settings(**APRIL)
def test_the_form_and_the_api_read_fiscal_names(stored, db):
    from rest_framework.test import APIClient

    from revcast.org.models import User
    from revcast.web.forecast_forms import ForecastRunForm

    form = ForecastRunForm(data={"period": "fy2018"})
    assert form.is_valid() and form.cleaned_data["period"] == "FY2018"
    bad = ForecastRunForm(data={"period": "2018"})
    assert not bad.is_valid() and "fiscal year (FY2017)" in str(bad.errors["period"])

    run = services.run_forecast(period="FY2018", as_of=F.AS_OF, draws=200)
    client = APIClient()
    client.force_authenticate(User.objects.create(username="fiscal.admin", role=User.Role.ADMIN))
    body = client.get("/api/forecast/periods/", {"period": "fy2018"}).json()
    assert (body["run"], body["period"], body["period_start"]) == (run.pk, "FY2018", "2017-04-01")
    wrong = client.get("/api/forecast/periods/", {"period": "2018"})
    assert wrong.status_code == 400 and "FY2017" in json.dumps(wrong.json())

    from django.test import Client

    browser = Client()
    browser.force_login(User.objects.get(username="fiscal.admin"))
    page = browser.get("/forecast/", {"period": "fy2018"})
    assert page.status_code == 200 and page.context["run"].pk == run.pk


class HalfChance:
    """A win model that gives every deal the same chance: the backtest's periods are what is tested here."""

    kind = "constant"

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        return np.full(len(features), 0.5)


def test_the_backtest_replays_fiscal_quarters(stored, db):
    from revcast.forecasting.adapter import load_tables
    from revcast.forecasting.engine.backtest import backtest
    from revcast.forecasting.engine.periods import FiscalCalendar

    # Fiscal years from February: quarters Feb–Apr, May–Jul, Aug–Oct, Nov–Jan. The Maven closes run from
    # 1 March to 31 December 2017: the first quarter after the first close is May–Jul (2018-Q2), the last one
    # over by the last close is Aug–Oct (2018-Q3).
    result = backtest(load_tables(None), "quarter", "start", seed=0, draws=100,
                      train=lambda tables, cutoff, seed: HalfChance(), calendar=FiscalCalendar(2, "end"))
    rows = result["periods"]
    assert [r["period"] for r in rows] == ["2018-Q2", "2018-Q3"]
    assert [r["as_of"][:10] for r in rows] == ["2017-05-01", "2017-08-01"]
    assert [r["actual"] for r in rows] == pytest.approx(
        [float(F.won_between("2017-05-01", "2017-08-01")), float(F.won_between("2017-08-01", "2017-11-01"))],
        abs=0.005)
    # Seasonal naive: a year earlier had no wins, so the previous fiscal quarter (Feb–Apr, then May–Jul).
    assert [r["seasonal_naive_from"] for r in rows] == ["2018-Q1", "2018-Q2"]
    assert rows[1]["seasonal_naive"] == pytest.approx(rows[0]["actual"], abs=0.005)
