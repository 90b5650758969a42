"""The configured fiscal calendar (``core.fiscal``): settings, validation at start-up, and the Django-side readers
of period names — against dates written out by hand."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from revcast.core import fiscal
from revcast.forecasting.engine.periods import FiscalCalendar, PeriodError
from revcast.reporting import dimensions
from revcast.reporting.params import ReportError

ROOT = Path(__file__).resolve().parents[2]
APRIL = {"REVCAST_FISCAL_YEAR_START_MONTH": 4, "REVCAST_FISCAL_YEAR_NAMED_BY": "end"}
APRIL_START = {"REVCAST_FISCAL_YEAR_START_MONTH": 4, "REVCAST_FISCAL_YEAR_NAMED_BY": "start"}


def test_the_default_calendar_is_the_calendar_year():
    assert fiscal.calendar() == FiscalCalendar(1, "end")
    assert fiscal.calendar().is_calendar_year


def test_the_calendar_follows_the_settings():
    with override_settings(**APRIL):
        assert fiscal.calendar() == FiscalCalendar(4, "end")
    with override_settings(**APRIL_START):
        assert fiscal.calendar() == FiscalCalendar(4, "start")
    with override_settings(REVCAST_FISCAL_YEAR_START_MONTH=13), pytest.raises(ImproperlyConfigured, match="13"):
        fiscal.calendar()
    with override_settings(REVCAST_FISCAL_YEAR_NAMED_BY="middle"), pytest.raises(ImproperlyConfigured,
                                                                                    match="'middle'"):
        fiscal.calendar()


def _start_up(**env: str) -> subprocess.CompletedProcess[str]:
    """Start Django (``django.setup()``) in a fresh process with these environment variables."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("REVCAST_FISCAL")}
    environ.update(env, DJANGO_SETTINGS_MODULE="revcast.settings")
    code = ("import django; django.setup(); from revcast.core import fiscal; c = fiscal.calendar(); "
            "print(c.start_month, c.named_by)")
    return subprocess.run([sys.executable, "-c", code], env=environ, cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)


def test_settings_are_read_from_the_environment_and_bad_values_stop_the_start():
    good = _start_up(REVCAST_FISCAL_YEAR_START_MONTH="7", REVCAST_FISCAL_YEAR_NAMED_BY="START")
    assert good.returncode == 0, good.stderr
    assert good.stdout.split() == ["7", "start"]
    for env, message in [
        ({"REVCAST_FISCAL_YEAR_START_MONTH": "13"}, "REVCAST_FISCAL_YEAR_START_MONTH='13': expected the number of "
                                                    "the month the fiscal year starts in, from 1 (January) to 12"),
        ({"REVCAST_FISCAL_YEAR_START_MONTH": "April"}, "REVCAST_FISCAL_YEAR_START_MONTH='April'"),
        ({"REVCAST_FISCAL_YEAR_NAMED_BY": "ending"}, "REVCAST_FISCAL_YEAR_NAMED_BY='ending': expected end"),
    ]:
        bad = _start_up(**env)
        assert bad.returncode != 0
        assert "ImproperlyConfigured" in bad.stderr and message in bad.stderr


# ---------------------------------------------------------------- engine periods in the configured calendar


@override_settings(**APRIL)
def test_parse_period_and_period_of_use_the_settings():
    q = fiscal.parse_period("2018-q1")
    assert (q.label, q.start, q.end) == ("2018-Q1", pd.Timestamp("2017-04-01", tz="UTC"),
                                         pd.Timestamp("2017-07-01", tz="UTC"))
    assert fiscal.parse_period("fy2018").label == "FY2018"
    assert fiscal.period_of(dt.date(2017, 4, 15), "quarter").label == "2018-Q1"
    assert fiscal.period_of(dt.date(2017, 3, 31), "year").label == "FY2017"
    # An instant is placed by its UTC day: 1 April 2017 00:30 in Shanghai is still 31 March in UTC.
    shanghai = dt.timezone(dt.timedelta(hours=8))
    assert fiscal.period_of(dt.datetime(2017, 4, 1, 0, 30, tzinfo=shanghai), "quarter").label == "2017-Q4"
    assert fiscal.period_of("2017-04-01", "quarter").label == "2018-Q1"
    assert [p.label for p in fiscal.periods_between("quarter", dt.date(2017, 2, 1), dt.date(2017, 7, 1))] == [
        "2017-Q4", "2018-Q1", "2018-Q2"]
    with pytest.raises(PeriodError, match="FY2017"):
        fiscal.parse_period("2017")


def test_current_period():
    assert fiscal.current_period("quarter", dt.date(2017, 11, 15)).label == "2017-Q4"
    with override_settings(**APRIL):
        assert fiscal.current_period("quarter", dt.date(2017, 11, 15)).label == "2018-Q3"
        assert fiscal.current_period("year", dt.date(2017, 11, 15)).label == "FY2018"
        before = dt.datetime.now(dt.UTC).date()
        now = fiscal.current_period("month")
        after = dt.datetime.now(dt.UTC).date()
        assert now.label in {f"{d.year}-{d.month:02d}" for d in (before, after)}  # the UTC day, at midnight too
    with override_settings(**APRIL_START):
        assert fiscal.current_period("year", dt.date(2017, 11, 15)).label == "FY2017"


# ---------------------------------------------------------------- labels and bounds of report periods


@pytest.mark.parametrize(("settings_", "day", "month", "quarter", "year", "report_year"), [
    ({}, dt.date(2017, 4, 15), "2017-04", "2017-Q2", "FY2017", "2017"),
    (APRIL, dt.date(2017, 4, 15), "2017-04", "2018-Q1", "FY2018", "FY2018"),
    (APRIL, dt.date(2017, 3, 31), "2017-03", "2017-Q4", "FY2017", "FY2017"),
    (APRIL_START, dt.date(2017, 4, 15), "2017-04", "2017-Q1", "FY2017", "FY2017"),
    ({"REVCAST_FISCAL_YEAR_START_MONTH": 10}, dt.date(2016, 12, 31), "2016-12", "2017-Q1", "FY2017", "FY2017"),
])
def test_labels_of_dates(settings_, day, month, quarter, year, report_year):
    with override_settings(**settings_):
        assert fiscal.label_of(day, "month") == month
        assert fiscal.quarter_label(day) == fiscal.label_of(day, "quarter") == quarter
        assert fiscal.year_label(day) == fiscal.label_of(day, "year") == year
        assert fiscal.report_label(day, "quarter") == quarter
        assert fiscal.report_label(day, "year") == report_year
        assert dimensions.get("year").label_value(day) == report_year
        assert dimensions.get("quarter").label_value(day) == quarter
        assert dimensions.get("month").label_value(day) == month


def test_kind_of():
    assert [fiscal.kind_of(x) for x in ("FY2017", "fy2017", "2017", "2017-Q4", "2017-q4", "2017-11")] == [
        "year", "year", "year", "quarter", "quarter", "month"]


def test_period_bounds_with_calendar_years_keep_the_bare_year():
    assert fiscal.period_bounds("year", "2017") == (dt.date(2017, 1, 1), dt.date(2018, 1, 1))
    assert fiscal.period_bounds("year", "fy2017") == (dt.date(2017, 1, 1), dt.date(2018, 1, 1))
    assert fiscal.period_bounds("quarter", "2017-Q4") == (dt.date(2017, 10, 1), dt.date(2018, 1, 1))
    assert fiscal.period_bounds("month", "2017-3") == (dt.date(2017, 3, 1), dt.date(2017, 4, 1))
    assert fiscal.period_bounds("month", "2017-12") == (dt.date(2017, 12, 1), dt.date(2018, 1, 1))
    # Reports take dates pandas cannot hold.
    assert fiscal.period_bounds("year", "2500") == (dt.date(2500, 1, 1), dt.date(2501, 1, 1))


@override_settings(**APRIL)
def test_period_bounds_in_a_fiscal_calendar():
    assert fiscal.period_bounds("quarter", "2018-Q1") == (dt.date(2017, 4, 1), dt.date(2017, 7, 1))
    assert fiscal.period_bounds("quarter", "2017-q4") == (dt.date(2017, 1, 1), dt.date(2017, 4, 1))
    assert fiscal.period_bounds("year", "FY2018") == (dt.date(2017, 4, 1), dt.date(2018, 4, 1))
    assert fiscal.period_bounds("month", "2017-04") == (dt.date(2017, 4, 1), dt.date(2017, 5, 1))
    # A bare year is ambiguous when the fiscal year is not the calendar year: refused, saying what to write.
    with pytest.raises(PeriodError, match=r"year '2018': .* write FY2018 for the fiscal year 2017-04-01 to "
                                          r"2018-03-31"):
        fiscal.period_bounds("year", "2018")


@pytest.mark.parametrize(("kind", "label", "message"), [
    ("quarter", "2017-03", "quarter '2017-03': expected e.g. 2017-Q1, 2017-03 or FY2017"),
    ("month", "2017-Q1", "month '2017-Q1': expected e.g."),
    ("month", "2017-13", "month '2017-13': expected e.g."),
    ("year", "FY", "year 'FY': expected e.g."),
    ("year", "9999", "year '9999': outside the supported dates (years 1 to 9998)"),
    ("week", "2017-W01", "'week': expected one of month, quarter, year"),
])
def test_period_bounds_errors(kind, label, message):
    with pytest.raises(PeriodError) as info:
        fiscal.period_bounds(kind, label)
    assert message in str(info.value)
    with pytest.raises(ReportError) as report_info:
        dimensions.period_bounds(kind, label)
    assert message in str(report_info.value)
