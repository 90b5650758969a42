"""Writes of the forecasting app: train a win model, run and store a forecast, run and store a backtest.

Forecasts and models are made company-wide, as the system (``load_tables(None)``): a stored run is a
snapshot of everything, and a user's share of it is read through ``selectors.scope_forecast``. Each write is
one transaction: a run is stored with all its deal rows, or not at all.

A forecast made as of a past time must not use a model that learnt from what happened after that time: when
the active model's cutoff is later than ``as_of``, a model is trained with the cutoff ``as_of`` and stored as
an inactive version (reused by later runs with the same cutoff and seed).
"""

from __future__ import annotations

import datetime as dt
import math
import time
from decimal import Decimal
from typing import Any

import pandas as pd
from django.db import transaction
from django.utils import timezone

from revcast.core import fiscal
from revcast.core.fiscal import KINDS, Period, PeriodError
from revcast.forecasting import selectors
from revcast.forecasting.adapter import load_tables
from revcast.forecasting.engine import backtest as engine_backtest
from revcast.forecasting.engine import explain, winmodel
from revcast.forecasting.engine import forecast as engine_forecast
from revcast.forecasting.engine.asof import Tables, snapshot
from revcast.forecasting.models import BacktestRun, DealForecast, ForecastRun, WinModelVersion
from revcast.forecasting.selectors import (
    SLICES,
    ForecastError,
    active_model,
    deal_score,
    latest_run,
    scope_forecast,
)

# The reads (active_model, latest_run, scope_forecast, deal_score) live in selectors; they are named here too,
# so that callers find the whole forecasting interface in one module.
__all__ = [
    "ForecastError", "active_model", "deal_score", "latest_run", "model_for", "nightly", "parse_time",
    "resolve_period", "run_backtest", "run_forecast", "scope_forecast", "train_model",
]

CENT = Decimal("0.01")
MAX_DRAWS = 10_000  # memory grows with deals x draws
# Backtests replay months and quarters; a fiscal year can be forecast, but replaying years needs years of history.
BACKTEST_KINDS = ("month", "quarter")
TOP_FACTORS = 5


# ---------------------------------------------------------------- parsing


def parse_time(value: Any, *, name: str = "as_of") -> pd.Timestamp:
    """A date (``2017-10-01``: 00:00 UTC) or an ISO timestamp, as an aware UTC time; None means now."""
    if value is None or value == "":
        return pd.Timestamp(timezone.now()).tz_convert("UTC")
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ForecastError(f"{name} {value!r}: expected a date like 2017-10-01 or a time like "
                            f"2017-10-01T12:00:00Z") from exc
    if pd.isna(ts):
        raise ForecastError(f"{name} {value!r}: expected a date or a time")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def resolve_period(period: str | None, as_of: pd.Timestamp) -> Period:
    """A period label of the fiscal calendar (``2017-Q4``, ``2017-11``, ``FY2017``) or a kind (``month``,
    ``quarter``, ``year``: the one containing ``as_of``); None: the fiscal quarter containing ``as_of``."""
    text = (period or "quarter").strip()
    try:
        if text.lower() in KINDS:
            return fiscal.period_of(as_of, text.lower())
        return fiscal.parse_period(text)
    except PeriodError as exc:
        raise ForecastError(str(exc)) from exc
    except (ValueError, OverflowError) as exc:  # a year pandas cannot hold (before 1678 or after 2261)
        raise ForecastError(f"period {text!r}: out of range ({exc})") from exc


def _data(tables: Tables) -> Tables:
    if tables.history.empty:
        raise ForecastError("no data: there are no opportunities with field history to learn from "
                            "(import data first, e.g. `revcast demo --no-serve`)")
    return tables


# ---------------------------------------------------------------- win models


def _store_model(model: winmodel.WinModel, *, cutoff: pd.Timestamp, seed: int, activate: bool, source: str,
                 created_by: Any) -> WinModelVersion:
    with transaction.atomic():
        if activate:
            # Lock the active row, so that two trainings finishing together activate one after the other.
            list(WinModelVersion.objects.select_for_update().filter(is_active=True))
            WinModelVersion.objects.filter(is_active=True).update(is_active=False)
        return WinModelVersion.objects.create(
            cutoff=cutoff.to_pydatetime(), kind=model.kind, seed=seed, card=model.card, payload=model.to_dict(),
            is_active=activate, source=source, created_by=created_by,
        )


def train_model(*, cutoff: Any = None, seed: int = 0, activate: bool = True, source: str = "cli",
                created_by: Any = None, tables: Tables | None = None) -> WinModelVersion:
    """Train the win model on everything known before ``cutoff`` (default now), store it and (by default) make it
    the active one. The card says how good it is; a model that does not beat the base rate serves stage rates."""
    t = parse_time(cutoff, name="cutoff")
    tables = _data(tables if tables is not None else load_tables(None))
    model = winmodel.train(tables, t, seed=seed)
    return _store_model(model, cutoff=t, seed=seed, activate=activate, source=source, created_by=created_by)


def model_for(as_of: pd.Timestamp, *, seed: int, tables: Tables, source: str, created_by: Any) -> WinModelVersion:
    """The model a forecast as of ``as_of`` uses: the active one unless it learnt from later data (see above)."""
    active = selectors.active_version()
    if active is not None and pd.Timestamp(active.cutoff) <= as_of:
        return active
    same = WinModelVersion.objects.filter(cutoff=as_of.to_pydatetime(), seed=seed).order_by("-id").first()
    if same is not None:
        return same
    model = winmodel.train(tables, as_of, seed=seed)
    return _store_model(model, cutoff=as_of, seed=seed, activate=active is None, source=source,
                        created_by=created_by)


# ---------------------------------------------------------------- forecasts


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _money(value: float) -> Decimal:
    return Decimal(repr(float(value))).quantize(CENT)


def _factors(model: winmodel.WinModel, features: pd.DataFrame) -> dict[int, list[dict[str, Any]]]:
    """The top factors of each deal's win probability, with their words, by opportunity id."""
    if features.empty:
        return {}
    out: dict[int, list[dict[str, Any]]] = {}
    for opp_id, factors in zip(features["opportunity_id"].tolist(), model.factors(features, top=TOP_FACTORS),
                               strict=True):
        out[int(opp_id)] = [
            {"feature": str(f["feature"]), "value": _jsonable(f.get("value")), "points": float(f["points"]),
             "text": explain.describe(f)}
            for f in factors
        ]
    return out


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, pd.Timestamp | dt.date):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return _jsonable(value.item())
    return str(value)


def _records(frame: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    present = [c for c in columns if c in frame.columns]
    return [{k: _jsonable(v) for k, v in row.items()} for row in frame[present].to_dict(orient="records")]


def run_forecast(*, period: str | None = None, as_of: Any = None, seed: int = 0, draws: int = 2000,
                 source: str = "cli", created_by: Any = None, tables: Tables | None = None) -> ForecastRun:
    """Forecast a period company-wide as of ``as_of`` (default now; period default: the quarter containing
    ``as_of``) and store the snapshot: totals, slices, one row per open deal with its factors, and the
    new-business and closed-deal inputs that ``selectors.scope_forecast`` re-simulates a user's share from."""
    if not 1 <= draws <= MAX_DRAWS:
        raise ForecastError(f"draws {draws}: expected 1 to {MAX_DRAWS}")
    t = parse_time(as_of)
    target = resolve_period(period, t)
    started = time.monotonic()
    tables = _data(tables if tables is not None else load_tables(None))
    version = model_for(t, seed=seed, tables=tables, source=source, created_by=created_by)
    model = selectors.load_model(version)
    result = engine_forecast.forecast_period(
        tables, t, target.start, target.end, win_model=model, seed=seed, draws=draws, by=SLICES
    )
    features = result.features if result.features is not None else snapshot(tables, t)
    factors = _factors(model, features)
    deals = result.deals
    rows = [
        DealForecast(
            opportunity_id=int(d["opportunity_id"]),
            owner_username=_text(d.get("owner")),
            stage=_text(d.get("stage")),
            team=_text(d.get("team")),
            region=_text(d.get("region")),
            product=_text(d.get("product")),
            amount=_money(d["amount"]),
            p_win=float(d["p_win"]),
            p_timing=float(d["p_timing"]),
            p=float(d["p"]),
            expected=_money(d["expected"]),
            factors=factors.get(int(d["opportunity_id"]), []),
        )
        for d in deals.to_dict(orient="records")
    ]
    by_slice = {name: {str(g["key"]): {k: v for k, v in g.items() if k != "key"} for g in groups}
                for name, groups in result.groups.items()}
    with transaction.atomic():
        run = ForecastRun.objects.create(
            as_of=t.to_pydatetime(),
            period=target.label,
            period_kind=target.kind,
            period_start=target.start.date(),
            period_end=target.end.date(),
            model=version,
            seed=seed,
            draws=draws,
            dispersion=float(result.dispersion),
            totals={**result.totals, "notes": list(result.notes)},
            by_slice=by_slice,
            new_business=result.new_business.to_dict(),
            closed={"deals": _records(result.closed, ["opportunity_id", "owner", "amount", *SLICES[1:],
                                                      "closed_at"])},
            deal_count=len(rows),
            duration_ms=int((time.monotonic() - started) * 1000),
            source=source,
            created_by=created_by,
        )
        for row in rows:
            row.run = run
        DealForecast.objects.bulk_create(rows, batch_size=1000)
    return run


# ---------------------------------------------------------------- backtests


def run_backtest(period_kind: str = "quarter", at: str = "start", start: Any = None, end: Any = None, *,
                 seed: int = 0, source: str = "cli", created_by: Any = None,
                 tables: Tables | None = None) -> BacktestRun:
    """Backtest the forecast over past periods of ``period_kind`` (forecast at each period's start or middle with
    a model trained then, compared with what was won) and store the result. ``start``/``end`` (dates) choose the
    periods; by default every period with closed deals before it and a known outcome. ``start``/``end`` of the
    stored run are the first day of the first period and the first day after the last one."""
    if period_kind not in BACKTEST_KINDS:
        raise ForecastError(f"period {period_kind!r}: expected one of {', '.join(BACKTEST_KINDS)}")
    if at not in ("start", "mid"):
        raise ForecastError(f"at {at!r}: expected start or mid")
    first = parse_time(start, name="from") if start not in (None, "") else None
    last = parse_time(end, name="to") if end not in (None, "") else None
    if first is not None and last is not None and last < first:
        raise ForecastError(f"from {first.date()} is after to {last.date()}")
    started = time.monotonic()
    tables = _data(tables if tables is not None else load_tables(None))
    try:
        result = engine_backtest.backtest(tables, period_kind, at, first, last, seed=seed,
                                          calendar=fiscal.calendar())
    except PeriodError as exc:
        raise ForecastError(str(exc)) from exc
    except ValueError as exc:  # the engine's words for data it cannot backtest (e.g. nothing closed yet)
        raise ForecastError(f"cannot backtest: {exc}") from exc
    periods = [fiscal.parse_period(row["period"]) for row in result.get("periods", [])]
    if periods:
        span = (periods[0].start.date(), periods[-1].end.date())
    else:
        today = timezone.now().date()
        span = (first.date() if first is not None else today, last.date() if last is not None else today)
    with transaction.atomic():
        return BacktestRun.objects.create(
            period_kind=period_kind, at=at, start=span[0], end=span[1], seed=seed, result=result,
            duration_ms=int((time.monotonic() - started) * 1000), source=source, created_by=created_by,
        )


# ---------------------------------------------------------------- the nightly job


def nightly(*, now: Any = None, seed: int = 0, source: str = "nightly") -> dict[str, Any]:
    """Retrain the win model, forecast the current month and quarter, and take the week's snapshot of their
    forecast calls when the week has none yet: what the nightly task does."""
    t = parse_time(now)
    tables = load_tables(None)  # read once: the model and both forecasts use the same data
    version = train_model(cutoff=t, seed=seed, source=source, tables=tables)
    runs = [run_forecast(period=kind, as_of=t, seed=seed, source=source, tables=tables)
            for kind in ("month", "quarter")]
    from revcast.forecasting.collab.snapshots import weekly_snapshots

    snapshots = weekly_snapshots([r.period for r in runs], at=t.to_pydatetime())
    return {"model": version.pk, "verdict": version.verdict, "runs": {r.period: r.pk for r in runs},
            "snapshots": snapshots}
