"""Backtest: replay the forecast at the start (or middle) of each past period with only what was known
then, and compare it with what was won, beside two baselines.

- **revcast**: the full method (win model trained at the as-of time, timing, new business, simulation).
- **weighted pipeline**: closed so far + Σ amount × stage probability over the deals open at the as-of time
  whose expected close date falls in the period or is unknown (a deal without a close date is counted, as
  the pipeline report lists it).
- **seasonal naive**: what was won in the same period one cycle earlier (a year: 12 months, 4 quarters, 1 year);
  when the history does not reach back a whole cycle, the previous period (plain naive), and the period
  row says which period it used.

MAPE and bias are fractions: mean |forecast − actual| / actual and mean (forecast − actual) / actual over
the periods with a non-zero actual; coverage is the share of those periods whose actual lies inside
revcast's P10–P90 range.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from revcast.forecasting.engine import events
from revcast.forecasting.engine.asof import Tables, _as_time, snapshot
from revcast.forecasting.engine.forecast import DRAWS, WinScorer, forecast_period, won_between
from revcast.forecasting.engine.periods import CALENDAR, FiscalCalendar, Period, period_of, periods_between

CYCLE = {"month": 12, "quarter": 4, "year": 1}


def default_range(tables: Tables, kind: str,
                  calendar: FiscalCalendar = CALENDAR) -> tuple[pd.Timestamp, pd.Timestamp]:
    """From the first period that starts after the first recorded close (there is something to learn
    from), to the last period that ended by the last recorded close."""
    closed = events.closing_rows(tables)
    if closed.empty:
        raise ValueError("no deal has closed yet: there is nothing to backtest against")
    first, last = closed["closed_at"].min(), closed["closed_at"].max()
    start = period_of(first, kind, calendar).shift(1)
    end = period_of(last, kind, calendar)
    if end.end > last + pd.Timedelta(days=1):
        end = end.shift(-1)
    return start.start, end.start


def actual(tables: Tables, period: Period) -> float:
    return float(won_between(tables, period.start, period.end, period.end).amount.sum())


def weighted_pipeline(tables: Tables, as_of: pd.Timestamp, period: Period) -> float:
    snap = snapshot(tables, as_of)
    close = snap["expected_close_on"]
    if hasattr(close.dt, "tz") and close.dt.tz is None:
        close = close.dt.tz_localize("UTC")
    inside = close.isna() | ((close >= period.start) & (close < period.end))
    open_part = (snap.loc[inside, "amount"].fillna(0.0) * snap.loc[inside, "stage_probability"] / 100.0).sum()
    closed = won_between(tables, period.start, as_of, as_of).amount.sum() if as_of > period.start else 0.0
    return float(open_part + closed)


def backtest(
    tables: Tables,
    period: str = "month",
    at: str = "start",
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
    *,
    seed: int = 0,
    draws: int = DRAWS,
    train: Callable[[Tables, pd.Timestamp, int], WinScorer] | None = None,
    calendar: FiscalCalendar = CALENDAR,
) -> dict[str, Any]:
    """The issue's JSON shape: ``{"periods": [...], "summary": {"revcast": {mape, bias, coverage},
    "weighted_pipeline": {mape, bias}, "seasonal_naive": {mape, bias}}}``. ``train`` builds the win model
    known at an as-of time (default: ``winmodel.train``); the periods are those of ``calendar``."""
    if at not in ("start", "mid"):
        raise ValueError(f"at {at!r}: expected start or mid")
    if train is None:
        from revcast.forecasting.engine import winmodel

        def train(tables: Tables, cutoff: pd.Timestamp, seed: int) -> WinScorer:
            return winmodel.train(tables, cutoff, seed=seed)

    lo, hi = default_range(tables, period, calendar)
    lo = _as_time(start) if start is not None else lo
    hi = _as_time(end) if end is not None else hi
    won = events.closing_rows(tables)
    first_won = period_of(won.loc[won["won"], "closed_at"].min(), period, calendar).start
    rows: list[dict[str, Any]] = []
    actuals: dict[str, float] = {}
    for p in periods_between(period, lo, hi, calendar):
        as_of = p.start if at == "start" else p.mid
        model = train(tables, as_of, seed)
        fc = forecast_period(tables, as_of, p.start, p.end, win_model=model, seed=seed, draws=draws)
        act = actual(tables, p)
        basis = p.shift(-CYCLE[period])
        if basis.start < first_won:
            basis = p.shift(-1)
        if basis.label not in actuals:
            actuals[basis.label] = actual(tables, basis)
        tot = fc.totals
        rows.append({
            "period": p.label,
            "as_of": as_of.isoformat(),
            "model": getattr(model, "kind", type(model).__name__),
            "forecast": round(tot["expected"], 2),
            "p10": round(tot["p10"], 2),
            "p50": round(tot["p50"], 2),
            "p90": round(tot["p90"], 2),
            "closed": round(tot["closed"], 2),
            "open_expected": round(tot["open_expected"], 2),
            "new_expected": round(tot["new_expected"], 2),
            "actual": round(act, 2),
            "error_pct": None if act == 0 else round((tot["expected"] - act) / act, 4),
            "inside": bool(tot["p10"] <= act <= tot["p90"]),
            "weighted_pipeline": round(weighted_pipeline(tables, as_of, p), 2),
            "seasonal_naive": round(actuals[basis.label], 2),
            "seasonal_naive_from": basis.label,
            "notes": fc.notes,
        })
    return {"period": period, "at": at, "seed": seed, "draws": draws, "periods": rows, "summary": summarize(rows)}


def _errors(rows: list[dict[str, Any]], key: str) -> dict[str, float | None]:
    scored = [r for r in rows if r["actual"]]
    if not scored:
        return {"mape": None, "bias": None}
    rel = np.array([(r[key] - r["actual"]) / r["actual"] for r in scored])
    return {"mape": round(float(np.abs(rel).mean()), 4), "bias": round(float(rel.mean()), 4)}


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    scored = [r for r in rows if r["actual"]]
    revcast = _errors(rows, "forecast")
    revcast["coverage"] = round(float(np.mean([r["inside"] for r in scored])), 4) if scored else None
    return {
        "revcast": revcast,
        "weighted_pipeline": _errors(rows, "weighted_pipeline"),
        "seasonal_naive": _errors(rows, "seasonal_naive"),
        "periods": len(rows),
        "scored_periods": len(scored),
    }
