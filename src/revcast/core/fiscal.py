"""The installation's fiscal calendar, and the one place Django-side code reads, names and bounds periods.

The calendar comes from the settings ``REVCAST_FISCAL_YEAR_START_MONTH`` (1–12, default 1) and
``REVCAST_FISCAL_YEAR_NAMED_BY`` (``end`` or ``start``, default ``end``); its arithmetic lives in the
forecasting engine (``forecasting.engine.periods``, pure Python), which this module hands the configured
calendar. Period names: ``2017-11`` is a calendar month, ``2017-Q4`` fiscal quarter 4 of fiscal year 2017,
``FY2017`` fiscal year 2017. Reports keep the bare year (``2017``) as the label of their ``year`` dimension
while fiscal years are calendar years, so that existing exports and filters keep working (ADR 0021).

Forecasts use ``parse_period``/``period_of`` (engine ``Period`` objects, pandas timestamps: years 1677–2262);
reports use ``report_label``/``period_bounds`` (plain dates: years 1–9998).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeAlias

import pandas as pd
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from revcast.forecasting.engine import periods as engine
from revcast.forecasting.engine.periods import KINDS, FiscalCalendar, Period, PeriodError

__all__ = [
    "KINDS", "FiscalCalendar", "Period", "PeriodError", "PeriodRef", "calendar", "current_period", "kind_of", "label_of",
    "parse_period", "period_bounds", "period_of", "period_ref", "periods_between", "quarter_label", "report_label", "year_label",
]

DayOrTime: TypeAlias = dt.date | dt.datetime | pd.Timestamp | str

# Report labels are read leniently, as the reports always did (``2017-3`` is March 2017).
_MONTH = re.compile(r"^(\d{1,4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{1,4})-Q([1-4])$", re.IGNORECASE)
_YEAR = re.compile(r"^(FY)?(\d{1,4})$", re.IGNORECASE)


def calendar() -> FiscalCalendar:
    """The fiscal calendar of the settings (Django caches settings it has read; ``override_settings`` applies)."""
    return _calendar(*_settings())


def _settings() -> tuple[int, str]:
    return settings.REVCAST_FISCAL_YEAR_START_MONTH, settings.REVCAST_FISCAL_YEAR_NAMED_BY


@lru_cache(maxsize=16)
def _calendar(start_month: int, named_by: str) -> FiscalCalendar:
    try:
        return FiscalCalendar(start_month, named_by)
    except ValueError as exc:
        raise ImproperlyConfigured(f"REVCAST_FISCAL_YEAR_START_MONTH / REVCAST_FISCAL_YEAR_NAMED_BY: {exc}") from None


# ---------------------------------------------------------------- engine periods (forecasts)


def _instant(value: DayOrTime) -> pd.Timestamp | str:
    """A date is its first instant in UTC; times and text are left to the engine (naive means UTC)."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return pd.Timestamp(value.year, value.month, value.day, tz="UTC")
    return pd.Timestamp(value) if isinstance(value, dt.datetime) else value


def parse_period(label: str) -> Period:
    """``2017-11``, ``2017-Q4`` or ``FY2017`` (any case) in the configured calendar; PeriodError (a ValueError)
    naming the accepted forms; ValueError/OverflowError for years pandas cannot hold."""
    return engine.parse_period(label, calendar())


@dataclass(frozen=True)
class PeriodRef:
    """A period by name with its first day and the day after its last (plain dates)."""

    label: str
    start: dt.date
    end: dt.date  # exclusive


def period_ref(label: str) -> PeriodRef:
    """``parse_period`` as plain dates; the same errors."""
    p = parse_period(str(label))
    return PeriodRef(p.label, p.start.date(), p.end.date())


def period_of(day_or_time: DayOrTime, kind: str) -> Period:
    """The month, fiscal quarter or fiscal year (``kind``) holding a date (its UTC day) or an instant."""
    return engine.period_of(_instant(day_or_time), kind, calendar())


def current_period(kind: str, today: dt.date | None = None) -> Period:
    """The period of ``kind`` holding ``today`` (default: today's date in UTC, as periods are UTC days)."""
    return period_of(today if today is not None else timezone.now().astimezone(dt.UTC).date(), kind)


def periods_between(kind: str, start: DayOrTime, end: DayOrTime) -> list[Period]:
    """Every period of ``kind`` from the one holding ``start`` to the one holding ``end``."""
    return engine.periods_between(kind, _instant(start), _instant(end), calendar())


# ---------------------------------------------------------------- labels and bounds of dates (reports)


def _utc_day(day: dt.date) -> dt.date:
    if isinstance(day, dt.datetime):
        return (day.astimezone(dt.UTC) if day.tzinfo is not None else day).date()
    return day


def label_of(day: dt.date, kind: str) -> str:
    """The canonical name of the period of ``kind`` holding ``day``: ``2017-11``, ``2017-Q4``, ``FY2017``."""
    day = _utc_day(day)
    return calendar().label(kind, day.year, day.month)


def quarter_label(day: dt.date) -> str:
    """``2017-Q4``: the fiscal quarter holding ``day``."""
    return label_of(day, "quarter")


def year_label(day: dt.date) -> str:
    """``FY2017``: the fiscal year holding ``day``."""
    return label_of(day, "year")


def report_label(day: dt.date, kind: str) -> str:
    """The label of a report's time dimension: ``label_of``, except that while fiscal years are calendar years
    a year keeps its bare number (``2017``), as reports and their exports always showed it. Called for every
    grouped row of a report, so remembered per day."""
    return _report_label(_utc_day(day), kind, *_settings())


@lru_cache(maxsize=65536)
def _report_label(day: dt.date, kind: str, start_month: int, named_by: str) -> str:
    cal = _calendar(start_month, named_by)
    if kind == "year" and cal.is_calendar_year:
        return str(day.year)
    return cal.label(kind, day.year, day.month)


def kind_of(label: str) -> str:
    """The kind a period name spells: ``year`` (``FY2017``, ``2017``), ``quarter`` (``2017-Q4``) or ``month``."""
    text = label.strip().upper()
    if "-Q" in text:
        return "quarter"
    if text.startswith("FY") or text.isdigit():
        return "year"
    return "month"


def period_bounds(kind: str, label: str) -> tuple[dt.date, dt.date]:
    """The first day of the period ``label`` of ``kind`` and the first day after it, in the configured calendar:
    months ``2017-03``, fiscal quarters ``2017-Q1``, fiscal years ``FY2017`` — and the bare year ``2017`` while
    fiscal years are calendar years (with another start month a bare year is ambiguous, and refused).
    PeriodError with the accepted forms, or when the period lies outside the years 1 to 9998."""
    length = engine.check_kind(kind)
    cal = calendar()
    text = label.strip()
    start: tuple[int, int] | None = None
    if kind == "month" and (m := _MONTH.match(text)) and 1 <= int(m[2]) <= 12:
        start = (int(m[1]), int(m[2]))
    elif kind == "quarter" and (m := _QUARTER.match(text)):
        start = cal.quarter_start(int(m[1]), int(m[2]))
    elif kind == "year" and (m := _YEAR.match(text)):
        start = cal.year_start(int(m[2]))
        if not m[1] and not cal.is_calendar_year:
            named = f"FY{int(m[2])}"
            first_day, day_after = period_bounds("year", named)
            raise PeriodError(f"year {label!r}: fiscal years do not start in January here; write {named} for the "
                              f"fiscal year {first_day} to {day_after - dt.timedelta(days=1)}")
    if start is None:
        raise PeriodError(f"{kind} {label!r}: expected e.g. 2017-Q1, 2017-03 or FY2017"
                          + (" (or 2017)" if cal.is_calendar_year else ""))
    year, month = start
    following = year * 12 + month - 1 + length  # the month after the period, counted from year 0
    try:
        return dt.date(year, month, 1), dt.date(following // 12, following % 12 + 1, 1)
    except ValueError:
        raise PeriodError(f"{kind} {label!r}: outside the supported dates (years 1 to 9998)") from None
