"""Small helpers over pandas series shared by the checks: emptiness, dates, numbers, fuzzy matches.

Plain pandas and rapidfuzz, no Django.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd
from rapidfuzz import fuzz, process

from revcast.dataio.normalize import nfkc_casefold


def is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and value != value:
        return True
    if value is pd.NaT:
        return True
    return isinstance(value, str) and not value.strip()


def empty_mask(series: pd.Series) -> pd.Series:
    return series.map(is_empty).astype(bool)


def as_dates(series: pd.Series) -> pd.Series:
    """Dates (as pandas timestamps, NaT where not a date). Python dates, datetimes and ISO text are read."""

    def one(value: Any) -> Any:
        if is_empty(value):
            return pd.NaT
        if isinstance(value, dt.datetime):
            return pd.Timestamp(value.replace(tzinfo=None) if value.tzinfo else value).normalize()
        if isinstance(value, dt.date):
            return pd.Timestamp(value)
        try:
            return pd.Timestamp(str(value)).normalize()
        except (ValueError, TypeError):
            return pd.NaT

    return pd.to_datetime(series.map(one), errors="coerce")


def as_numbers(series: pd.Series) -> pd.Series:
    def one(value: Any) -> float:
        if is_empty(value) or isinstance(value, bool):
            return float("nan")
        if isinstance(value, int | float | Decimal):
            return float(value)
        try:
            return float(Decimal(str(value).strip().replace(",", "")))
        except (InvalidOperation, ValueError):
            return float("nan")

    return series.map(one).astype(float)


def looks_like_dates(series: pd.Series) -> bool:
    sample = series[~empty_mask(series)]
    if sample.empty:
        return False
    first = sample.iloc[0]
    return isinstance(first, dt.date | pd.Timestamp)


def shown(value: Any) -> Any:
    """A value as examples show it (JSON-friendly)."""
    if is_empty(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def text_of(value: Any) -> str:
    """A value in a message: dates as ISO, whole floats without '.0' (a year read back from a frame)."""
    value = shown(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def fold(text: str) -> str:
    return nfkc_casefold(text).strip()


class FuzzyIndex:
    """Matches a value against a list of names (e.g. every spelling of a governed value)."""

    def __init__(self, names: Iterable[tuple[str, Any]]) -> None:
        pairs = [(fold(n), owner) for n, owner in names if n]
        self.choices = [p[0] for p in pairs]
        self.owners = [p[1] for p in pairs]

    def best(self, value: str, threshold: float) -> tuple[Any, float] | None:
        """The closest name's owner when its similarity (rapidfuzz ratio, 0-100) reaches ``threshold``."""
        if not self.choices:
            return None
        found = process.extractOne(fold(value), self.choices, scorer=fuzz.ratio, score_cutoff=threshold)
        if found is None:
            return None
        return self.owners[found[2]], float(found[1])

    def closest(self, value: str, limit: int = 2, cutoff: float = 80) -> list[Any]:
        """Up to ``limit`` owners whose names contain the value's words or resemble it (WRatio)."""
        if not self.choices:
            return []
        folded = fold(value)
        found = process.extract(
            folded, self.choices, scorer=fuzz.WRatio, limit=limit * 4, score_cutoff=cutoff
        )
        # WRatio finds names that contain the value's words ('Korea' in 'South Korea'); plain similarity
        # then puts the closest spelling first ('Chnia': 'China' before 'Switzerland').
        found.sort(key=lambda item: (-fuzz.ratio(folded, item[0]), -item[1]))
        owners: list[Any] = []
        for _, _, i in found:
            if self.owners[i] not in owners:
                owners.append(self.owners[i])
        return owners[:limit]
