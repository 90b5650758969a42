"""Forecast periods of a fiscal calendar: months ``2017-11``, fiscal quarters ``2017-Q4``, fiscal years ``FY2017``.

A **fiscal calendar** (``FiscalCalendar``) is the month its year starts in and how its years are named. With a
year starting in April and named by the year it ends in (``named_by="end"``), April 2016 to March 2017 is
``FY2017`` and its quarters are ``2017-Q1`` (April to June 2016) to ``2017-Q4`` (January to March 2017); named
by the year it starts in (``named_by="start"``), the same year is ``FY2016``. A year starting in January is the
calendar year under either rule. Months are always calendar months (``2017-11`` is November 2017).

A period is half-open in time: it starts at 00:00 UTC on its first day and ends at 00:00 UTC on the first
day of the next period. A ``Period`` carries its calendar, so that ``label`` and ``shift`` use it; periods are
compared by their dates and kind only.

The calendar arithmetic itself (``FiscalCalendar``) works on plain (year, month) numbers, so that it serves any
year; ``Period`` holds pandas timestamps and so spans the years pandas can hold (1677 to 2262).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

KINDS = ("month", "quarter", "year")
MONTHS = {"month": 1, "quarter": 3, "year": 12}  # length of a period of each kind, in months
NAMED_BY = ("end", "start")
FORMS = "a month like 2017-11 or a quarter like 2017-Q4, or a fiscal year like FY2017"
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE)
_YEAR = re.compile(r"^FY(\d{4})$", re.IGNORECASE)


class PeriodError(ValueError):
    """A period name or kind that cannot be read."""


def check_kind(kind: str) -> int:
    """The length in months of a period of ``kind``; PeriodError naming the kinds when it is none of them."""
    if kind not in MONTHS:
        raise PeriodError(f"period kind {kind!r}: expected one of {', '.join(KINDS)}")
    return MONTHS[kind]


@dataclass(frozen=True)
class FiscalCalendar:
    """The month a fiscal year starts in (1 = January) and whether it is named by the calendar year it ends in
    (``end``) or starts in (``start``). All methods take and return plain (year, month) numbers."""

    start_month: int = 1
    named_by: str = "end"

    def __post_init__(self) -> None:
        month = self.start_month
        if isinstance(month, bool) or not isinstance(month, int) or not 1 <= month <= 12:
            raise ValueError(f"fiscal year start month {month!r}: expected a month number from 1 (January) "
                             f"to 12 (December)")
        if self.named_by not in NAMED_BY:
            raise ValueError(f"fiscal years named by {self.named_by!r}: expected end (FY2017 ends in 2017) or "
                             f"start (FY2017 starts in 2017)")

    @property
    def is_calendar_year(self) -> bool:
        """The fiscal year is the calendar year (it starts in January)."""
        return self.start_month == 1

    @property
    def _name_offset(self) -> int:
        """A fiscal year's name minus the calendar year of its first month."""
        return 1 if self.named_by == "end" and self.start_month != 1 else 0

    def first_month(self, kind: str, year: int, month: int) -> tuple[int, int]:
        """(year, month) of the first month of the period of ``kind`` holding the month (year, month)."""
        length = check_kind(kind)
        total = year * 12 + month - 1
        first = total - (total - (self.start_month - 1)) % length
        return first // 12, first % 12 + 1

    def fiscal_year(self, year: int, month: int) -> int:
        """The name (number) of the fiscal year holding the month (year, month)."""
        return self.first_month("year", year, month)[0] + self._name_offset

    def fiscal_quarter(self, year: int, month: int) -> tuple[int, int]:
        """(fiscal year, quarter 1–4) holding the month (year, month)."""
        return self.fiscal_year(year, month), (month - self.start_month) % 12 // 3 + 1

    def year_start(self, fiscal_year: int) -> tuple[int, int]:
        """(year, month) of the first month of fiscal year ``fiscal_year``."""
        return fiscal_year - self._name_offset, self.start_month

    def quarter_start(self, fiscal_year: int, quarter: int) -> tuple[int, int]:
        """(year, month) of the first month of quarter ``quarter`` (1–4) of fiscal year ``fiscal_year``."""
        if not 1 <= quarter <= 4:
            raise PeriodError(f"quarter {quarter!r}: expected 1 to 4")
        year, month = self.year_start(fiscal_year)
        total = year * 12 + month - 1 + 3 * (quarter - 1)
        return total // 12, total % 12 + 1

    def label(self, kind: str, year: int, month: int) -> str:
        """The name of the period of ``kind`` holding the month (year, month): ``2017-11``, ``2017-Q4``,
        ``FY2017``."""
        check_kind(kind)
        if kind == "month":
            return f"{year}-{month:02d}"
        if kind == "quarter":
            fiscal_year, quarter = self.fiscal_quarter(year, month)
            return f"{fiscal_year}-Q{quarter}"
        return f"FY{self.fiscal_year(year, month)}"

    def parse(self, label: str) -> tuple[str, int, int]:
        """(kind, year, month of its first month) of a period name; PeriodError naming the accepted forms."""
        text = label.strip()
        if m := _QUARTER.match(text):
            return ("quarter", *self.quarter_start(int(m[1]), int(m[2])))
        if m := _YEAR.match(text):
            return ("year", *self.year_start(int(m[1])))
        if (m := _MONTH.match(text)) and 1 <= int(m[2]) <= 12:
            return "month", int(m[1]), int(m[2])
        raise PeriodError(f"period {label!r}: expected {FORMS}")


CALENDAR = FiscalCalendar()


@dataclass(frozen=True, order=True)
class Period:
    start: pd.Timestamp
    end: pd.Timestamp  # exclusive
    kind: str
    calendar: FiscalCalendar = field(default=CALENDAR, compare=False, repr=False)

    @property
    def label(self) -> str:
        return self.calendar.label(self.kind, self.start.year, self.start.month)

    @property
    def mid(self) -> pd.Timestamp:
        """The first moment of the period's middle day (day 16 of a month, day 46 of a quarter)."""
        return self.start + (self.end - self.start) / 2

    def shift(self, n: int) -> Period:
        """The period ``n`` periods of the same kind later (earlier when ``n`` is negative)."""
        months = n * MONTHS[self.kind]
        return period_of(self.start + pd.DateOffset(months=months), self.kind, self.calendar)

    def __str__(self) -> str:
        return self.label


def _utc(t: pd.Timestamp | str) -> pd.Timestamp:
    ts = pd.Timestamp(t)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def period_of(t: pd.Timestamp | str, kind: str, calendar: FiscalCalendar = CALENDAR) -> Period:
    """The month, fiscal quarter or fiscal year containing ``t``."""
    length = check_kind(kind)
    ts = _utc(t)
    year, month = calendar.first_month(kind, ts.year, ts.month)
    start = pd.Timestamp(year=year, month=month, day=1, tz="UTC")
    return Period(start=start, end=start + pd.DateOffset(months=length), kind=kind, calendar=calendar)


def parse_period(label: str, calendar: FiscalCalendar = CALENDAR) -> Period:
    """``2017-11`` is a month, ``2017-Q4`` a fiscal quarter, ``FY2017`` a fiscal year (any case)."""
    kind, year, month = calendar.parse(label)
    return period_of(pd.Timestamp(year=year, month=month, day=1), kind, calendar)


def periods_between(kind: str, start: pd.Timestamp | str, end: pd.Timestamp | str,
                    calendar: FiscalCalendar = CALENDAR) -> list[Period]:
    """Every period of ``kind`` that starts on or after ``start``'s period and on or before ``end``."""
    first = period_of(start, kind, calendar)
    last = period_of(end, kind, calendar)
    out = [first]
    while out[-1] < last:
        out.append(out[-1].shift(1))
    return out
