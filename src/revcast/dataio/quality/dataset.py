"""What the quality engine assesses: one data frame per object, plus what the rules need around them.

Both inputs end up in this shape: the revcast database (``db_frames``) and source data before an import
(``source_frames``). The engine (``engine``, ``checks``) sees only these classes and never asks where the data
came from, so it is plain pandas and runs the same rules over both.

A table's columns are target field names (``name``, ``industry``, ``owner``...). Columns whose name starts
with ``_`` identify a record and are not fields: ``_file`` and ``_line`` for a source row, ``_pk`` for a
database row, ``_label`` for a human-readable name of the record.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class StageInfo:
    name: str
    order: int
    type: str  # open | won | lost
    required_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class GovernedValue:
    code: str
    label_en: str
    label_zh: str = ""

    def names(self) -> tuple[str, ...]:
        """Every spelling that counts as this value: the code and both labels."""
        return tuple(n for n in (self.code, self.label_en, self.label_zh) if n)


@dataclass
class Table:
    """The records of one object.

    ``refs``: field -> (object, attribute) the field's values name, e.g. ``owner -> ("user", "full_name")``.
    ``fixes``: field -> {raw value: value the mapping turns it into} (sources only), so that a finding can
    say the mapping already corrects it. ``fills``: field -> how the mapping fills the field when the source
    leaves it empty (a fallback or a default). ``source_columns``: field -> the source column it is read from.
    ``type_errors``: field -> {row index: reason} for source values the import could not convert. A source
    line that could not be read at all has its reason in the ``_error`` column and no values.
    """

    object: str
    frame: pd.DataFrame
    refs: dict[str, tuple[str, str]] = field(default_factory=dict)
    fixes: dict[str, dict[str, Any]] = field(default_factory=dict)
    fills: dict[str, str] = field(default_factory=dict)
    source_columns: dict[str, str] = field(default_factory=dict)
    type_errors: dict[str, dict[Any, str]] = field(default_factory=dict)
    type_checked: dict[str, int] = field(default_factory=dict)  # field -> non-empty source values converted
    null_values: dict[str, list[str]] = field(default_factory=dict)  # field -> source values read as empty

    @property
    def fields(self) -> list[str]:
        return [c for c in self.frame.columns if not str(c).startswith("_")]

    @property
    def readable(self) -> pd.DataFrame:
        """The rows that could be read at all (source lines with a wrong number of fields are not)."""
        if "_error" not in self.frame.columns:
            return self.frame
        return self.frame[self.frame["_error"].isna()]

    def mapped(self, column: str) -> pd.Series:
        """The column as the import would store it: raw values with the mapping's value map applied."""
        values = self.frame[column]
        fixes = self.fixes.get(column)
        if not fixes:
            return values
        return values.map(lambda v: fixes.get(str(v), v) if v is not None and v == v else v)


@dataclass
class Dataset:
    """Everything one assessment reads. ``kind`` is ``database`` or ``source``."""

    kind: str
    tables: dict[str, Table]
    stages: list[StageInfo] = field(default_factory=list)
    governed: dict[str, list[GovernedValue]] = field(default_factory=dict)
    # (object, attribute) -> the values that exist, for references (source rows plus the database).
    lookups: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    as_of: dt.date | None = None
    notes: list[str] = field(default_factory=list)
    description: str = ""

    def last_date(self) -> dt.date | None:
        """The latest business date anywhere in the data: the default as-of date of staleness rules."""
        latest: pd.Timestamp | None = None
        for table in self.tables.values():
            for column in table.fields:
                series = table.frame[column]
                if not len(series) or not _is_date_column(series):
                    continue
                top = pd.to_datetime(series, errors="coerce").max()
                if pd.notna(top) and (latest is None or top > latest):
                    latest = top
        return None if latest is None else latest.date()


def _is_date_column(series: pd.Series) -> bool:
    if pd.api.types.is_datetime64_any_dtype(series):
        return True
    sample = series.dropna()
    if sample.empty:
        return False
    first = sample.iloc[0]
    return isinstance(first, dt.date) and not isinstance(first, dt.datetime)
