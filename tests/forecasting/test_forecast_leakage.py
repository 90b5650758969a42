"""The period forecast at t: nothing dated after t changes it, and it is the same for the same seed."""

from __future__ import annotations

import pandas as pd
import pytest

from revcast.forecasting.engine import synthetic
from revcast.forecasting.engine.backtest import backtest
from revcast.forecasting.engine.forecast import forecast_period
from revcast.forecasting.engine.periods import parse_period
from tests.forecasting.test_asof import _perturb_after

T = pd.Timestamp("2022-07-01", tz="UTC")
PERIOD = parse_period("2022-Q3")


@pytest.fixture(scope="module")
def tables():
    return synthetic.generate(5000, 500, seed=21)


def _same(a, b) -> None:
    assert a.totals == b.totals and a.dispersion == b.dispersion and a.notes == b.notes
    pd.testing.assert_frame_equal(a.deals, b.deals)
    pd.testing.assert_frame_equal(a.closed, b.closed)
    assert a.new_business.to_dict() == b.new_business.to_dict()


def test_nothing_after_t_changes_the_forecast(tables):
    before = forecast_period(tables, T, PERIOD.start, PERIOD.end, seed=4, by=("team",))
    after = forecast_period(_perturb_after(tables, T), T, PERIOD.start, PERIOD.end, seed=4, by=("team",))
    assert len(before.deals) > 100 and before.totals["expected"] > 0
    _same(before, after)
    assert before.groups == after.groups


def test_the_forecast_is_deterministic_for_a_seed(tables):
    first = forecast_period(tables, T, PERIOD.start, PERIOD.end, seed=9)
    again = forecast_period(synthetic.generate(5000, 500, seed=21), T, PERIOD.start, PERIOD.end, seed=9)
    _same(first, again)
    other = forecast_period(tables, T, PERIOD.start, PERIOD.end, seed=10)
    assert other.totals["p10"] != first.totals["p10"]  # the seed does drive the draws


def test_the_backtest_is_deterministic_for_a_seed(tables):
    a = backtest(tables, "quarter", "start", "2022-04-01", "2022-07-01", seed=2, draws=500)
    b = backtest(tables, "quarter", "start", "2022-04-01", "2022-07-01", seed=2, draws=500)
    assert a == b and [r["period"] for r in a["periods"]] == ["2022-Q2", "2022-Q3"]
