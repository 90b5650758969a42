"""Forecast periods: calendar months and quarters, named ``2017-11`` and ``2017-Q4``.

A period is half-open in time: it starts at 00:00 UTC on its first day and ends at 00:00 UTC on the first
day of the next period. (Fiscal calendars, with a year starting in another month, arrive with the
collaborative forecast; the names stay the same.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

KINDS = ("month", "quarter")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE)


class PeriodError(ValueError):
    """A period name or kind that cannot be read."""


@dataclass(frozen=True, order=True)
class Period:
    start: pd.Timestamp
    end: pd.Timestamp  # exclusive
    kind: str

    @property
    def label(self) -> str:
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return f"{self.start.year}-{self.start.month:02d}"

    @property
    def mid(self) -> pd.Timestamp:
        """The first moment of the period's middle day (day 16 of a month, day 46 of a quarter)."""
        return self.start + (self.end - self.start) / 2

    def shift(self, n: int) -> Period:
        months = n * (3 if self.kind == "quarter" else 1)
        return period_of(self.start + pd.DateOffset(months=months), self.kind)

    def __str__(self) -> str:
        return self.label


def _utc(t: pd.Timestamp | str) -> pd.Timestamp:
    ts = pd.Timestamp(t)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def period_of(t: pd.Timestamp | str, kind: str) -> Period:
    """The month or quarter containing ``t``."""
    if kind not in KINDS:
        raise PeriodError(f"period kind {kind!r}: expected one of {', '.join(KINDS)}")
    ts = _utc(t)
    month = ts.month if kind == "month" else 3 * ((ts.month - 1) // 3) + 1
    start = pd.Timestamp(year=ts.year, month=month, day=1, tz="UTC")
    end = start + pd.DateOffset(months=1 if kind == "month" else 3)
    return Period(start=start, end=end, kind=kind)


def parse_period(label: str) -> Period:
    """``2017-11`` is a month, ``2017-Q4`` a quarter."""
    text = label.strip()
    if m := _QUARTER.match(text):
        return period_of(pd.Timestamp(year=int(m[1]), month=3 * int(m[2]) - 2, day=1), "quarter")
    if (m := _MONTH.match(text)) and 1 <= int(m[2]) <= 12:
        return period_of(pd.Timestamp(year=int(m[1]), month=int(m[2]), day=1), "month")
    raise PeriodError(f"period {label!r}: expected a month like 2017-11 or a quarter like 2017-Q4")


def periods_between(kind: str, start: pd.Timestamp | str, end: pd.Timestamp | str) -> list[Period]:
    """Every period of ``kind`` that starts on or after ``start``'s period and on or before ``end``."""
    first = period_of(start, kind)
    last = period_of(end, kind)
    out = [first]
    while out[-1] < last:
        out.append(out[-1].shift(1))
    return out
