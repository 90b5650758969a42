"""Derived event tables, computed once per ``Tables`` and reused by every as-of question asked of them.

The forecast asks many questions of one history (the timing model, closed and won deals in windows, the
replayed periods of the range): sorting ten million history rows each time would dominate its cost. These
helpers keep the small derived frames in ``tables.cache``: the closing stage changes, each deal's creation
time, and the history rows of amount and owner (the values a won deal is counted with). Every function that
takes a time still uses only rows dated at or before it.
"""

from __future__ import annotations

import pandas as pd

from revcast.forecasting.engine import asof
from revcast.forecasting.engine.asof import Tables, _as_time


def closing_rows(tables: Tables) -> pd.DataFrame:
    """Every change into a won or lost stage: opportunity_id, closed_at, won — sorted by time."""
    if "closing_rows" not in tables.cache:
        tables.cache["closing_rows"] = asof.closing_changes(tables.history, tables.stages)
    return tables.cache["closing_rows"]


def closures_before(tables: Tables, t: pd.Timestamp | str) -> pd.DataFrame:
    """``asof.closures_before`` from the cached closing changes."""
    return asof.last_closures(closing_rows(tables), t)


def created_at(tables: Tables) -> pd.Series:
    """Each deal's creation time (its first history row), indexed by opportunity_id."""
    if "created_at" not in tables.cache:
        tables.cache["created_at"] = tables.history.groupby("opportunity_id")["changed_at"].min()
    return tables.cache["created_at"]


def value_rows(tables: Tables, field: str) -> pd.DataFrame:
    """The history rows of one field, sorted by deal and time: opportunity_id, new_value, changed_at."""
    key = f"rows:{field}"
    if key not in tables.cache:
        h = tables.history
        rows = h.loc[h["field"] == field, ["opportunity_id", "new_value", "changed_at"]]
        tables.cache[key] = rows.sort_values(["opportunity_id", "changed_at"], kind="stable").reset_index(drop=True)
    return tables.cache[key]


def values_at(tables: Tables, field: str, ids: pd.Index | list, t: pd.Timestamp | str) -> pd.Series:
    """The value of ``field`` of the deals ``ids`` at ``t`` (last change dated at or before it)."""
    rows = value_rows(tables, field)
    rows = rows[rows["opportunity_id"].isin(ids) & (rows["changed_at"] <= _as_time(t))]
    return rows.drop_duplicates("opportunity_id", keep="last").set_index("opportunity_id")["new_value"]
