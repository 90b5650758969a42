"""Periods, and the Kaplan–Meier timing model against survival computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from revcast.forecasting.engine.asof import Tables
from revcast.forecasting.engine.periods import PeriodError, parse_period, period_of, periods_between
from revcast.forecasting.engine.timing import Curve, TimingModel

STAGES = pd.DataFrame(
    [("Open", 10, "open", 20), ("Won", 90, "won", 100), ("Lost", 99, "lost", 0)],
    columns=["name", "order", "type", "probability"],
)


def test_period_names_and_bounds():
    q = parse_period("2017-Q4")
    assert (q.kind, q.label) == ("quarter", "2017-Q4")
    assert q.start == pd.Timestamp("2017-10-01", tz="UTC") and q.end == pd.Timestamp("2018-01-01", tz="UTC")
    m = parse_period("2017-02")
    assert m.end - m.start == pd.Timedelta(days=28) and m.mid == pd.Timestamp("2017-02-15", tz="UTC")
    assert period_of("2017-12-31 23:59", "quarter").label == "2017-Q4"
    assert q.shift(-4).label == "2016-Q4" and m.shift(11).label == "2018-01"
    assert [p.label for p in periods_between("quarter", "2017-02-10", "2017-08-01")] == [
        "2017-Q1", "2017-Q2", "2017-Q3"]
    for bad in ("2017-13", "2017-Q5", "Q4 2017", ""):
        with pytest.raises(PeriodError):
            parse_period(bad)
    with pytest.raises(PeriodError):
        period_of("2017-01-01", "week")


def test_kaplan_meier_by_hand():
    # durations 1, 2, 2 (censored), 3, 5 (censored); won: the closes at 1 and 3
    curve = Curve.fit(np.array([1, 2, 2, 3, 5]), np.array([1, 1, 0, 1, 0]), np.array([1, 0, 0, 1, 0]))
    # S(1) = 4/5; S(2) = 4/5 * 3/4 (four at risk, one close); S(3) = 0.6 * 1/2 (two at risk)
    assert curve.at(np.array([0.5, 1, 2, 2.5, 3, 10])).tolist() == pytest.approx([1, 0.8, 0.6, 0.6, 0.3, 0.3])
    # still open after 1 day: closes within the next 2 days with (S(1) - S(3)) / S(1)
    assert curve.close_between(np.array([1.0]), np.array([0.0]), np.array([2.0]))[0] == pytest.approx(0.5 / 0.8)
    # won incidence (Aalen–Johansen): 1/5 at day 1, then S(2) * 1/2 = 0.3 more at day 3
    assert curve.won_by(np.array([0.5, 1, 2, 3, 9])).tolist() == pytest.approx([0, 0.2, 0.2, 0.5, 0.5])
    empty = Curve.fit(np.array([4.0]), np.array([0]))
    assert empty.at(np.array([100.0]))[0] == 1.0 and empty.close_between(
        np.array([1.0]), np.array([0.0]), np.array([5.0]))[0] == 0.0


def _history(rows):
    frame = pd.DataFrame(rows, columns=["opportunity_id", "field", "old_value", "new_value", "changed_at"])
    frame["changed_at"] = pd.to_datetime(frame["changed_at"], utc=True)
    return frame


def test_timing_model_uses_only_what_was_known():
    rows = []
    # five deals created on Jan 1; closes after 10, 20 (lost), 30 days; two still open at t
    for i, close in enumerate([10, 20, 30, None, None], start=1):
        rows.append((i, "stage", None, "Open", "2017-01-01"))
        if close is not None:
            when = pd.Timestamp("2017-01-01") + pd.Timedelta(days=close)
            rows.append((i, "stage", "Open", "Lost" if close == 20 else "Won", when))
    rows.append((4, "stage", "Open", "Won", "2017-03-01"))  # after t: unknown at t
    history = _history(rows)
    tables = Tables(history, pd.DataFrame({"opportunity_id": [], "occurred_at": []}), STAGES)
    t = pd.Timestamp("2017-02-10", tz="UTC")  # 40 days after creation
    model = TimingModel.fit(tables, t, min_events=3)
    # by hand: events at 10, 20, 30 with 5, 4, 3 at risk; deals 4 and 5 censored at 40
    assert model.by_age.at(np.array([35.0]))[0] == pytest.approx(4 / 5 * 3 / 4 * 2 / 3)
    assert "Open" in model.by_stage
    feats = pd.DataFrame({"stage": ["Open"], "age_days": [40.0], "days_in_stage": [40.0]})
    # nothing ever closed after 30 days: an open deal of 40 days is not expected to close
    assert model.prob_close_between(feats, t, t + pd.Timedelta(days=30))[0] == 0.0
    young = pd.DataFrame({"stage": ["Open"], "age_days": [5.0], "days_in_stage": [5.0]})
    # from day 5 to day 25: closes at 10 and 20 -> (1 - 0.6) / 1
    got = model.prob_close_between(young, t, t + pd.Timedelta(days=20))[0]
    assert got == pytest.approx(1 - 4 / 5 * 3 / 4)
    # a window that starts later only counts the part after it starts
    later = model.prob_close_between(young, t + pd.Timedelta(days=10), t + pd.Timedelta(days=20))[0]
    assert later == pytest.approx((4 / 5 - 4 / 5 * 3 / 4) / 1)
    # changing what happens after t changes nothing
    moved = history.copy()
    moved.loc[moved["changed_at"] > t, "changed_at"] = pd.Timestamp("2017-02-11", tz="UTC")
    again = TimingModel.fit(Tables(moved, tables.activities, STAGES), t, min_events=3)
    assert np.array_equal(again.by_age.survival, model.by_age.survival)
