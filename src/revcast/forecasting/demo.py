"""Forecasts for the demo: a trained model, the quarter (2017-Q4 with calendar years) and the month (2017-10)
holding 1 October 2017, as of that day, monthly and quarterly backtests, so that the forecast pages and
endpoints have content right after ``revcast demo``.

Idempotent: what the demo made before is kept (a second ``revcast demo`` adds nothing and takes no time).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pandas as pd

from revcast.core import fiscal
from revcast.forecasting import selectors, services
from revcast.forecasting.adapter import load_tables
from revcast.forecasting.engine.asof import Tables
from revcast.forecasting.models import BacktestRun, ForecastRun, WinModelVersion

AS_OF = "2017-10-01"
PERIOD_KINDS = ("quarter", "month")  # the periods of the fiscal calendar holding AS_OF
BACKTESTS = ("month", "quarter")


@dataclass
class DemoForecasts:
    model: WinModelVersion
    runs: list[ForecastRun]
    backtests: list[BacktestRun]
    seconds: float
    made: list[str] = field(default_factory=list)  # what this call made (empty when all was there already)


def end_of_data() -> pd.Timestamp:
    """Just after the last recorded change: the model learns from every deal that closed."""
    from django.db.models import Max

    from revcast.pipeline.models import OpportunityFieldHistory

    last = OpportunityFieldHistory.objects.aggregate(last=Max("changed_at"))["last"]
    if last is None:
        raise selectors.ForecastError("no data: import the demo data first")
    return pd.Timestamp(last).tz_convert("UTC") + pd.Timedelta(seconds=1)


def load_demo_forecasts() -> DemoForecasts:
    started = time.monotonic()
    made: list[str] = []
    loaded: list[Tables] = []

    def tables() -> Tables:  # read the data once, and only if something is to be made
        if not loaded:
            loaded.append(load_tables(None))
        return loaded[0]

    model = selectors.active_version()
    if model is None:
        model = services.train_model(cutoff=end_of_data(), source="demo", tables=tables())
        made.append(f"model #{model.pk}")
    as_of = services.parse_time(AS_OF)
    runs = []
    for period in (fiscal.period_of(as_of, kind).label for kind in PERIOD_KINDS):
        run = ForecastRun.objects.filter(period=period, as_of=as_of.to_pydatetime()).order_by("-id").first()
        if run is None:
            run = services.run_forecast(period=period, as_of=as_of, source="demo", tables=tables())
            made.append(f"forecast {period}")
        runs.append(run)
    backtests = []
    for kind in BACKTESTS:
        backtest = selectors.latest_backtest(kind)
        if backtest is None:
            backtest = services.run_backtest(kind, "start", source="demo", tables=tables())
            made.append(f"{kind}ly backtest")
        backtests.append(backtest)
    return DemoForecasts(model=model, runs=runs, backtests=backtests, seconds=time.monotonic() - started,
                         made=made)
