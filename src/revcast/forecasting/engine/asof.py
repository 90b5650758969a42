"""What was known at a date: the state of every deal at time ``t``, rebuilt from field history.

Nothing dated after ``t`` is used: a history row counts when ``changed_at <= t``, an activity when
``occurred_at <= t``, a closed deal feeds a win rate when it closed (entered a won/lost stage) before
``t``. Changing anything dated after ``t`` leaves every value of ``snapshot(t)`` unchanged.

Input frames (column names are the contract with the adapter):

- ``history``: opportunity_id, field, old_value, new_value, changed_at (aware UTC timestamps). Each deal's
  creation rows (old_value null) give its initial stage, amount, owner, expected close date.
- ``activities``: opportunity_id, occurred_at.
- ``stages``: name, order, type (open/won/lost), probability.
- ``deals`` (optional extra columns known from the start, e.g. account_id, product, custom fields):
  opportunity_id plus any static columns; they are joined as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

TRACKED = ("stage", "amount", "expected_close_on", "owner", "forecast_category")


@dataclass(frozen=True)
class Tables:
    history: pd.DataFrame
    activities: pd.DataFrame
    stages: pd.DataFrame
    deals: pd.DataFrame | None = None
    # Derived frames computed once per set of tables (see engine.events); never part of equality.
    cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def _as_time(t: pd.Timestamp | str) -> pd.Timestamp:
    ts = pd.Timestamp(t)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def state_at(history: pd.DataFrame, t: pd.Timestamp | str) -> pd.DataFrame:
    """One row per deal that existed at ``t``: the last value of each tracked field at ``t``, plus
    ``created_at`` (first history row), ``stage_since`` (when the current stage was entered) and
    ``close_date_pushes`` (how often the expected close date moved later)."""
    t = _as_time(t)
    known = history[history["changed_at"] <= t]
    if known.empty:
        return pd.DataFrame(columns=["opportunity_id", *TRACKED, "created_at", "stage_since", "close_date_pushes"])
    known = known.sort_values(["opportunity_id", "changed_at"], kind="stable")
    last = known.groupby(["opportunity_id", "field"], sort=False).tail(1)
    state = last.pivot(index="opportunity_id", columns="field", values="new_value")
    state = state.reindex(columns=list(TRACKED))
    state["created_at"] = known.groupby("opportunity_id")["changed_at"].min()
    stage_rows = last[last["field"] == "stage"].set_index("opportunity_id")["changed_at"]
    state["stage_since"] = stage_rows
    closes = known[(known["field"] == "expected_close_on") & known["old_value"].notna() & known["new_value"].notna()]
    pushed = closes[pd.to_datetime(closes["new_value"]) > pd.to_datetime(closes["old_value"])]
    state["close_date_pushes"] = pushed.groupby("opportunity_id").size()
    state["close_date_pushes"] = state["close_date_pushes"].fillna(0).astype(int)
    state["amount"] = pd.to_numeric(state["amount"], errors="coerce")
    state["expected_close_on"] = pd.to_datetime(state["expected_close_on"], errors="coerce")
    return state.reset_index()


def closing_changes(history: pd.DataFrame, stages: pd.DataFrame) -> pd.DataFrame:
    """Every change into a won or lost stage: opportunity_id, closed_at, won — sorted by time."""
    types = stages.set_index("name")["type"]
    rows = history.loc[history["field"] == "stage", ["opportunity_id", "new_value", "changed_at"]]
    kind = rows["new_value"].map(types)
    rows, kind = rows[kind.isin(["won", "lost"])], kind[kind.isin(["won", "lost"])]
    return pd.DataFrame({
        "opportunity_id": rows["opportunity_id"].to_numpy(),
        "closed_at": rows["changed_at"].to_numpy(),
        "won": (kind == "won").to_numpy(),
    }).sort_values(["closed_at", "opportunity_id"], kind="stable").reset_index(drop=True)


def last_closures(changes: pd.DataFrame, t: pd.Timestamp | str) -> pd.DataFrame:
    """From ``closing_changes``: each deal's last change into a won or lost stage strictly before ``t``."""
    rows = changes[changes["closed_at"] < _as_time(t)]
    return rows.drop_duplicates("opportunity_id", keep="last").reset_index(drop=True)


def closures_before(history: pd.DataFrame, stages: pd.DataFrame, t: pd.Timestamp | str) -> pd.DataFrame:
    """Deals that entered a won or lost stage strictly before ``t``: opportunity_id, closed_at, won."""
    return last_closures(closing_changes(history, stages), t)


def snapshot(tables: Tables, t: pd.Timestamp | str) -> pd.DataFrame:
    """The deals open at ``t`` with everything known about them then (features for the models).

    Columns: opportunity_id, stage, stage_order, stage_probability, amount, expected_close_on, owner,
    forecast_category, age_days, days_in_stage, close_date_pushes, days_to_expected_close,
    activity_count, activities_last_30d, days_since_activity, owner_win_rate_before (and counts),
    account_win_rate_before (and counts, when ``deals`` has account_id), plus the static deal columns.

    It is ``features.features_at`` with every deal at the same time ``t`` (one implementation, so a
    snapshot and the win model's training rows are computed alike).
    """
    from revcast.forecasting.engine.features import features_at

    ids = pd.Index(tables.history["opportunity_id"].unique())
    return features_at(tables, pd.Series(_as_time(t), index=ids))


def empty_like_nan(frame: pd.DataFrame) -> pd.DataFrame:
    """Frames compared in tests: NaN and None are the same 'unknown'."""
    return frame.replace({None: np.nan})
