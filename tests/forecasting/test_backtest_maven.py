"""The backtest on the Maven demo data: every figure but revcast's own forecast is recomputed here from the
raw CSV files with pandas (what was won in each period, the weighted pipeline known at its start, the
seasonal-naive basis), and the summary from the period rows. The acceptance relations are checked on top.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from revcast.forecasting.adapter import load_tables
from revcast.forecasting.engine.backtest import backtest
from tests.reporting.expected import MAVEN_DIR

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    deals = pd.read_csv(MAVEN_DIR / "sales_pipeline.csv", parse_dates=["engage_date", "close_date"])
    prices = pd.read_csv(MAVEN_DIR / "products.csv").set_index("product")["sales_price"]
    deals["list_price"] = deals["product"].replace({"GTXPro": "GTX Pro"}).map(prices).astype(float)
    return deals


@pytest.fixture(scope="module")
def results(maven_import, django_db_blocker) -> dict[str, dict]:
    with django_db_blocker.unblock():
        tables = load_tables(None)
    return {kind: backtest(tables, kind, "start", seed=0) for kind in ("month", "quarter")}


def _won(raw: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> float:
    won = raw[(raw["deal_stage"] == "Won") & (raw["close_date"] >= start) & (raw["close_date"] < end)]
    return float(won["close_value"].sum())


def _bounds(label: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    p = pd.Period(label.replace("-Q", "Q"), freq="Q" if "Q" in label else "M")
    return p.start_time, (p + 1).start_time


@pytest.mark.parametrize("kind", ["month", "quarter"])
def test_backtest_figures_match_the_raw_data(raw, results, kind):
    result = results[kind]
    labels = [r["period"] for r in result["periods"]]
    # the default range: from the first period that starts after the first close (2017-03-01) to the last
    assert labels == (
        [f"2017-{m:02d}" for m in range(4, 13)] if kind == "month" else ["2017-Q2", "2017-Q3", "2017-Q4"]
    )
    first_won_period = pd.Period("2017-03", freq="M" if kind == "month" else "Q")
    for row in result["periods"]:
        start, end = _bounds(row["period"])
        assert row["as_of"] == start.tz_localize("UTC").isoformat()
        assert row["actual"] == pytest.approx(_won(raw, start, end), abs=0.005)
        # known at the start: engaged on or before it, not closed by then; 40 % of the list price each
        open_deals = raw[raw["engage_date"].notna() & (raw["engage_date"] <= start)
                         & (raw["close_date"].isna() | (raw["close_date"] > start))]
        assert row["weighted_pipeline"] == pytest.approx(0.4 * open_deals["list_price"].sum(), abs=0.01)
        period = pd.Period(start, freq="M" if kind == "month" else "Q")
        basis = period - (12 if kind == "month" else 4)
        if basis < first_won_period:
            basis = period - 1
        assert row["seasonal_naive_from"] == str(basis).replace("Q", "-Q")
        assert row["seasonal_naive"] == pytest.approx(_won(raw, basis.start_time, (basis + 1).start_time), abs=0.005)
        assert row["inside"] == (row["p10"] <= row["actual"] <= row["p90"])
        assert row["p10"] <= row["p50"] <= row["p90"]
        assert row["error_pct"] == pytest.approx((row["forecast"] - row["actual"]) / row["actual"], abs=1e-4)


@pytest.mark.parametrize("kind", ["month", "quarter"])
def test_backtest_summary_is_computed_from_the_rows(results, kind):
    rows = results[kind]["periods"]
    summary = results[kind]["summary"]
    for key, name in (("forecast", "revcast"), ("weighted_pipeline", "weighted_pipeline"),
                      ("seasonal_naive", "seasonal_naive")):
        rel = np.array([(r[key] - r["actual"]) / r["actual"] for r in rows])
        assert summary[name]["mape"] == pytest.approx(np.abs(rel).mean(), abs=1e-4)
        assert summary[name]["bias"] == pytest.approx(rel.mean(), abs=1e-4)
    assert summary["revcast"]["coverage"] == pytest.approx(np.mean([r["inside"] for r in rows]), abs=1e-4)


@pytest.mark.parametrize("kind", ["month", "quarter"])
def test_backtest_beats_both_baselines(results, kind):
    summary = results[kind]["summary"]
    assert summary["revcast"]["mape"] < summary["weighted_pipeline"]["mape"]
    assert summary["revcast"]["mape"] < summary["seasonal_naive"]["mape"]
