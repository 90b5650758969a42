"""Periods of a fiscal calendar (``forecasting.engine.periods``), against plain date arithmetic done here.

The expectations are computed by walking the calendar month by month from the first day of the fiscal year
(``expected_periods``), never by calling the code under test.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from revcast.forecasting.engine.periods import (
    CALENDAR,
    KINDS,
    FiscalCalendar,
    Period,
    PeriodError,
    parse_period,
    period_of,
    periods_between,
)

START_MONTHS = (1, 2, 4, 7, 10, 12)
CALENDARS = [FiscalCalendar(m, n) for m in START_MONTHS for n in ("end", "start")]
# Pandas timestamps hold the years 1677 to 2262; stay clear of both ends, shifts included.
DAYS = st.dates(min_value=dt.date(1700, 1, 1), max_value=dt.date(2200, 12, 31))
calendars = st.sampled_from(CALENDARS)
kinds = st.sampled_from(KINDS)


def next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=31)).replace(day=1)


def expected_periods(day: dt.date, start_month: int, named_by: str) -> dict[str, tuple[str, dt.date, dt.date]]:
    """{kind: (label, first day, first day after)} of the periods holding ``day``, by walking the months."""
    first = dt.date(day.year, start_month, 1)
    if first > day:
        first = dt.date(day.year - 1, start_month, 1)
    months = [first]
    while len(months) < 13:  # the 12 months of the fiscal year and the first day of the next one
        months.append(next_month(months[-1]))
    index = max(i for i in range(12) if months[i] <= day)
    quarter = index // 3
    last_day = months[12] - dt.timedelta(days=1)
    name = last_day.year if named_by == "end" else first.year
    return {
        "month": (f"{months[index].year}-{months[index].month:02d}", months[index], months[index + 1]),
        "quarter": (f"{name}-Q{quarter + 1}", months[3 * quarter], months[3 * quarter + 3]),
        "year": (f"FY{name}", months[0], months[12]),
    }


def utc(day: dt.date) -> pd.Timestamp:
    return pd.Timestamp(day.year, day.month, day.day, tz="UTC")


# ---------------------------------------------------------------- examples


@pytest.mark.parametrize(("start_month", "named_by", "day", "quarter", "year"), [
    (1, "end", "2017-04-15", "2017-Q2", "FY2017"),
    (1, "start", "2017-04-15", "2017-Q2", "FY2017"),  # with January both rules give the calendar year
    (4, "end", "2017-04-15", "2018-Q1", "FY2018"),  # April 2017 to March 2018 ends in 2018
    (4, "end", "2017-03-31", "2017-Q4", "FY2017"),
    (4, "start", "2017-04-15", "2017-Q1", "FY2017"),
    (4, "start", "2017-03-31", "2016-Q4", "FY2016"),
    (7, "end", "2017-06-30", "2017-Q4", "FY2017"),
    (7, "end", "2017-07-01", "2018-Q1", "FY2018"),
    (10, "end", "2016-10-01", "2017-Q1", "FY2017"),  # the US federal year
    (10, "start", "2016-12-31", "2016-Q1", "FY2016"),
    (12, "end", "2016-12-01", "2017-Q1", "FY2017"),
    (12, "end", "2017-11-30", "2017-Q4", "FY2017"),
    (12, "start", "2017-02-28", "2016-Q1", "FY2016"),
    (2, "start", "2017-01-31", "2016-Q4", "FY2016"),
    (2, "end", "2017-02-01", "2018-Q1", "FY2018"),
])
def test_named_examples(start_month, named_by, day, quarter, year):
    calendar = FiscalCalendar(start_month, named_by)
    assert period_of(day, "quarter", calendar).label == quarter
    assert period_of(day, "year", calendar).label == year
    assert period_of(day, "month", calendar).label == day[:7]  # months are always calendar months


def test_fiscal_year_2017_starting_in_april():
    end = parse_period("FY2017", FiscalCalendar(4, "end"))
    assert (end.kind, end.start, end.end) == ("year", pd.Timestamp("2016-04-01", tz="UTC"),
                                              pd.Timestamp("2017-04-01", tz="UTC"))
    start = parse_period("fy2017", FiscalCalendar(4, "start"))
    assert (start.start, start.end, start.label) == (pd.Timestamp("2017-04-01", tz="UTC"),
                                                     pd.Timestamp("2018-04-01", tz="UTC"), "FY2017")
    q4 = parse_period("2017-q4", FiscalCalendar(4, "end"))
    assert (q4.label, q4.start, q4.end) == ("2017-Q4", pd.Timestamp("2017-01-01", tz="UTC"),
                                            pd.Timestamp("2017-04-01", tz="UTC"))


def test_the_default_calendar_keeps_the_calendar_periods():
    assert FiscalCalendar(1, "end") == CALENDAR
    q = parse_period("2017-Q4")
    assert (q.start, q.end) == (pd.Timestamp("2017-10-01", tz="UTC"), pd.Timestamp("2018-01-01", tz="UTC"))
    assert q.calendar is CALENDAR
    year = parse_period("FY2017")
    assert (year.start, year.end) == (pd.Timestamp("2017-01-01", tz="UTC"), pd.Timestamp("2018-01-01", tz="UTC"))
    assert [p.label for p in periods_between("year", "2016-05-01", "2018-01-01")] == ["FY2016", "FY2017", "FY2018"]


def test_shift_crosses_fiscal_year_boundaries():
    calendar = FiscalCalendar(4, "end")
    q = parse_period("2017-Q4", calendar)  # January to March 2017
    assert [q.shift(n).label for n in (-4, -1, 1, 2, 5)] == ["2016-Q4", "2017-Q3", "2018-Q1", "2018-Q2", "2019-Q1"]
    assert q.shift(1).start == pd.Timestamp("2017-04-01", tz="UTC")
    assert q.shift(1).calendar is calendar  # the calendar travels with the period
    year = parse_period("FY2017", calendar)
    assert year.shift(1).label == "FY2018" and year.shift(1).start == pd.Timestamp("2017-04-01", tz="UTC")
    month = parse_period("2017-03", calendar)
    assert month.shift(1).label == "2017-04" and month.shift(-3).label == "2016-12"


def test_periods_between_in_a_fiscal_calendar():
    calendar = FiscalCalendar(7, "end")
    assert [p.label for p in periods_between("quarter", "2017-05-10", "2017-12-31", calendar)] == [
        "2017-Q4", "2018-Q1", "2018-Q2"]
    assert [p.label for p in periods_between("year", "2016-07-01", "2018-06-30", calendar)] == ["FY2017", "FY2018"]


def test_the_calendar_is_not_part_of_a_periods_identity():
    a = parse_period("2017-Q1", FiscalCalendar(1, "end"))
    b = parse_period("2017-Q1", FiscalCalendar(1, "start"))
    assert a == b and hash(a) == hash(b) and not a < b
    assert Period(a.start, a.end, a.kind) == a  # the default calendar
    c = parse_period("2017-Q1", FiscalCalendar(4, "end"))  # a different quarter (April to June 2016)
    assert c != a and c < a


@pytest.mark.parametrize("bad", ["2017-13", "2017-Q5", "Q4 2017", "", "2017", "FY17", "FY 2017", "2017-Q0", "17-11"])
def test_bad_names_are_refused_naming_the_forms(bad):
    with pytest.raises(PeriodError) as info:
        parse_period(bad, FiscalCalendar(4))
    message = str(info.value)
    assert repr(bad) in message
    assert all(form in message for form in ("2017-11", "2017-Q4", "FY2017"))


def test_bad_kinds_and_calendars():
    with pytest.raises(PeriodError, match="'week': expected one of month, quarter, year"):
        period_of("2017-01-01", "week")
    for month in (0, 13, "4", True, 4.0):
        with pytest.raises(ValueError, match="expected a month number from 1"):
            FiscalCalendar(month)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'middle': expected end"):
        FiscalCalendar(4, "middle")


# ---------------------------------------------------------------- properties


@settings(max_examples=300, deadline=None)
@given(day=DAYS, calendar=calendars)
def test_every_day_lies_in_the_periods_computed_by_hand(day, calendar):
    expected = expected_periods(day, calendar.start_month, calendar.named_by)
    for kind in KINDS:
        period = period_of(day, kind, calendar)
        label, first, after = expected[kind]
        assert (period.label, period.start, period.end, period.kind) == (label, utc(first), utc(after), kind)


@settings(max_examples=200, deadline=None)
@given(day=DAYS, calendar=calendars, kind=kinds)
def test_every_day_lies_in_exactly_one_period_of_each_kind(day, calendar, kind):
    period = period_of(day, kind, calendar)
    assert period.start <= utc(day) < period.end
    # The periods tile time: the neighbours end where this one starts and start where it ends, so no other
    # period of the kind holds the day.
    assert period.shift(-1).end == period.start and period.shift(1).start == period.end
    assert period_of(period.start, kind, calendar) == period
    assert period_of(period.end - pd.Timedelta(microseconds=1), kind, calendar) == period


@settings(max_examples=150, deadline=None)
@given(day=DAYS, calendar=calendars)
def test_a_year_is_four_quarters_is_twelve_months(day, calendar):
    year = period_of(day, "year", calendar)
    last_day = year.end - pd.Timedelta(days=1)
    quarters = periods_between("quarter", year.start, last_day, calendar)
    months = periods_between("month", year.start, last_day, calendar)
    assert len(quarters) == 4 and len(months) == 12
    assert quarters[0].start == months[0].start == year.start and quarters[-1].end == months[-1].end == year.end
    fiscal_year = year.label.removeprefix("FY")
    assert [q.label for q in quarters] == [f"{fiscal_year}-Q{i}" for i in range(1, 5)]
    for q in quarters:
        assert [m.start for m in months if q.start <= m.start < q.end] == [
            m.start for m in periods_between("month", q.start, q.end - pd.Timedelta(days=1), calendar)]


@settings(max_examples=200, deadline=None)
@given(day=DAYS, calendar=calendars, kind=kinds, n=st.integers(min_value=-40, max_value=40))
def test_shift_there_and_back_is_the_identity(day, calendar, kind, n):
    period = period_of(day, kind, calendar)
    there = period.shift(n)
    assert there.shift(-n) == period and there.shift(-n).label == period.label
    # ... and moves by whole periods: n months, 3n months or 12n months.
    months = (there.start.year - period.start.year) * 12 + there.start.month - period.start.month
    assert months == n * {"month": 1, "quarter": 3, "year": 12}[kind]


@settings(max_examples=200, deadline=None)
@given(day=DAYS, calendar=calendars, kind=kinds)
def test_label_parse_label_is_the_identity(day, calendar, kind):
    period = period_of(day, kind, calendar)
    again = parse_period(period.label, calendar)
    assert again == period and again.label == period.label and again.kind == kind
    assert parse_period(period.label.lower(), calendar) == period


@settings(max_examples=100, deadline=None)
@given(day=DAYS, start_month=st.sampled_from(START_MONTHS))
def test_the_naming_rules_differ_by_one_year_except_in_january(day, start_month):
    end = period_of(day, "year", FiscalCalendar(start_month, "end"))
    start = period_of(day, "year", FiscalCalendar(start_month, "start"))
    assert (end.start, end.end) == (start.start, start.end)
    gap = int(end.label[2:]) - int(start.label[2:])
    assert gap == (0 if start_month == 1 else 1)
    assert int(start.label[2:]) == end.start.year  # "start": the calendar year the fiscal year starts in
    assert int(end.label[2:]) == (end.end - pd.Timedelta(days=1)).year  # "end": the year it ends in
