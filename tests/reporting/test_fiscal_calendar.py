"""Reports in a fiscal calendar: the quarter and year dimensions label and filter by fiscal quarter and fiscal year.

The expectations are pandas' own fiscal periods over the raw Maven files (``Period`` with ``Q-MAR``: quarters of
a year ending in March, ``qyear`` the calendar year it ends in), not revcast's calendar code.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest
from django.test import override_settings

from revcast.reporting.params import ReportError
from revcast.reporting.registry import run_report
from tests.reporting import expected as E
from tests.reporting.support import assert_mapping, assert_rows, column_names

pytestmark = pytest.mark.usefixtures("maven")

APRIL = {"REVCAST_FISCAL_YEAR_START_MONTH": 4, "REVCAST_FISCAL_YEAR_NAMED_BY": "end"}
PANDAS_YEAR_END = {1: "DEC", 4: "MAR", 7: "JUN", 10: "SEP"}  # pandas names a fiscal year by its last month


def fiscal_labels(days: pd.Series, start_month: int, named_by: str, kind: str) -> pd.Series:
    """pandas' fiscal quarter (``2018-Q1``) or year (``FY2018``) of each date; None where there is none."""
    periods = days.dt.to_period(f"Q-{PANDAS_YEAR_END[start_month]}")
    shift = 1 if named_by == "start" and start_month != 1 else 0  # qyear is the year the fiscal year ends in

    def label(p: pd.Period) -> str | None:
        if pd.isna(p):
            return None
        return f"{p.qyear - shift}-Q{p.quarter}" if kind == "quarter" else f"FY{p.qyear - shift}"

    return periods.map(label).astype(object)


def with_labels(df: pd.DataFrame, start_month: int, named_by: str = "end") -> pd.DataFrame:
    return df.assign(
        fiscal_quarter=fiscal_labels(df["closed_on"], start_month, named_by, "quarter"),
        fiscal_year=fiscal_labels(df["closed_on"], start_month, named_by, "year"),
    )


@override_settings(**APRIL)
def test_a_quarter_grouping_with_april_puts_15_april_2017_in_2018_q1():
    df = with_labels(E.deals(), 4)
    won_that_day = df[(df["stage"] == "Won") & (df["closed_on"] == pd.Timestamp("2017-04-15"))]
    assert len(won_that_day) > 0 and set(won_that_day["fiscal_quarter"]) == {"2018-Q1"}

    day = run_report("bookings", by=["quarter"], date_from="2017-04-15", date_to="2017-04-15")
    assert day.rows == [["2018-Q1", len(won_that_day), E.money(int(won_that_day["amount"].sum()))]]

    result = run_report("bookings", by=["quarter"])
    assert column_names(result) == ["quarter", "count", "amount"]
    exp = E.bookings(df, ["fiscal_quarter"])
    assert_rows(result.rows, exp["rows"])
    assert_mapping(result.meta["totals"], exp["totals"])
    # The Maven closes run from March to December 2017: fiscal 2017-Q4 (one month of it) to 2018-Q3.
    assert [r[0] for r in result.rows] == ["2017-Q4", "2018-Q1", "2018-Q2", "2018-Q3"]
    assert sum(r[2] for r in result.rows) == result.meta["totals"]["amount"] == Decimal("10005534.00")


@override_settings(**APRIL)
def test_years_are_fiscal_years_with_april():
    df = with_labels(E.deals(), 4)
    result = run_report("bookings", by=["year", "region"])
    assert_rows(result.rows, E.bookings(df, ["fiscal_year", "region"])["rows"])
    assert sorted({r[0] for r in result.rows}) == ["FY2017", "FY2018"]

    win_rate = run_report("win-rate", by=["owner", "quarter"])
    assert_rows(win_rate.rows, E.win_rate(df, ["owner", "fiscal_quarter"])["rows"])


@override_settings(**APRIL)
def test_filters_by_fiscal_quarter_and_year():
    df = with_labels(E.deals(), 4)
    q1 = run_report("bookings", by=["month"], where=["quarter=2018-Q1"])
    assert [r[0] for r in q1.rows] == ["2017-04", "2017-05", "2017-06"]
    assert_rows(q1.rows, E.bookings(df[df["fiscal_quarter"] == "2018-Q1"], ["month"])["rows"])

    fy = run_report("bookings", by=["quarter"], where=["year=fy2017"])
    assert_rows(fy.rows, E.bookings(df[df["fiscal_year"] == "FY2017"], ["fiscal_quarter"])["rows"])
    assert E.in_period(df, "closed_on", "2016-04-01", "2017-03-31")["fiscal_year"].dropna().eq("FY2017").all()

    with pytest.raises(ReportError, match="write FY2017 for the fiscal year 2016-04-01 to 2017-03-31"):
        run_report("bookings", where=["year=2017"])


@override_settings(REVCAST_FISCAL_YEAR_START_MONTH=7, REVCAST_FISCAL_YEAR_NAMED_BY="start")
def test_named_by_start_with_july():
    df = with_labels(E.deals(), 7, "start")
    assert set(df.loc[df["closed_on"] == pd.Timestamp("2017-07-03"), "fiscal_quarter"]) == {"2017-Q1"}
    result = run_report("bookings", by=["quarter"])
    assert_rows(result.rows, E.bookings(df, ["fiscal_quarter"])["rows"])
    assert [r[0] for r in result.rows] == ["2016-Q3", "2016-Q4", "2017-Q1", "2017-Q2"]
    year = run_report("bookings", by=["year"])
    assert_rows(year.rows, E.bookings(df, ["fiscal_year"])["rows"])


def test_calendar_years_keep_their_bare_labels():
    result = run_report("bookings", by=["year"])
    assert [r[0] for r in result.rows] == ["2017"]
    fy = run_report("bookings", by=["quarter"], where=["year=FY2017"])
    assert fy.rows == run_report("bookings", by=["quarter"], where=["year=2017"]).rows
    assert [r[0] for r in fy.rows] == ["2017-Q1", "2017-Q2", "2017-Q3", "2017-Q4"]


@override_settings(**APRIL)
def test_the_dashboard_period_picker_and_the_list_filter_use_fiscal_periods(user_named):
    from revcast.pipeline.filters import OpportunityFilter
    from revcast.pipeline.models import Opportunity
    from revcast.web import widgets

    darcel = user_named("darcel.schlecht")
    choices = widgets.period_choices(darcel)
    # Darcel's deals run from October 2016 (fiscal 2017-Q3) to December 2017 (fiscal 2018-Q3).
    assert choices == ["FY2018", "2018-Q3", "2018-Q2", "2018-Q1", "FY2017", "2017-Q4", "2017-Q3"]
    period = widgets.parse_period("fy2018")
    assert (period.label, period.start, period.end) == ("FY2018", dt.date(2017, 4, 1), dt.date(2018, 3, 31))
    q = widgets.parse_period("2018-q1")
    assert (q.start, q.end) == (dt.date(2017, 4, 1), dt.date(2017, 6, 30))

    df = with_labels(E.deals(), 4)
    listed = OpportunityFilter({"period": "2018-Q1"}, queryset=Opportunity.objects.all()).qs
    assert listed.count() == int((df["fiscal_quarter"] == "2018-Q1").sum()) > 0
