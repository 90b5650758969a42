"""What was known at a date: exact values on a small history, and no leakage from after t."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from revcast.forecasting.engine.asof import Tables, snapshot, state_at

STAGES = pd.DataFrame(
    [("Prospecting", 10, "open", 10), ("Engaging", 20, "open", 40), ("Won", 90, "won", 100), ("Lost", 99, "lost", 0)],
    columns=["name", "order", "type", "probability"],
)


def _ts(day: str) -> pd.Timestamp:
    return pd.Timestamp(day, tz="UTC")


def _history(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["opportunity_id", "field", "old_value", "new_value", "changed_at"])
    frame["changed_at"] = pd.to_datetime(frame["changed_at"], utc=True)
    return frame


SMALL = _history(
    [
        (1, "stage", None, "Prospecting", "2017-01-01"),
        (1, "owner", None, "ann", "2017-01-01"),
        (1, "amount", None, "100.00", "2017-01-01"),
        (1, "expected_close_on", None, "2017-03-01", "2017-01-01"),
        (1, "stage", "Prospecting", "Engaging", "2017-01-11"),
        (1, "expected_close_on", "2017-03-01", "2017-04-01", "2017-02-01"),
        (1, "expected_close_on", "2017-04-01", "2017-05-01", "2017-02-15"),
        (1, "amount", "100.00", "150.00", "2017-02-20"),
        (1, "stage", "Engaging", "Won", "2017-06-01"),  # after t: must not be seen
        (2, "stage", None, "Engaging", "2016-12-01"),
        (2, "owner", None, "ann", "2016-12-01"),
        (2, "stage", "Engaging", "Won", "2017-01-20"),
        (3, "stage", None, "Engaging", "2016-12-01"),
        (3, "owner", None, "ann", "2016-12-01"),
        (3, "stage", "Engaging", "Lost", "2017-02-01"),
        (4, "stage", None, "Prospecting", "2017-04-01"),  # created after t: unknown at t
        (4, "owner", None, "ann", "2017-04-01"),
    ]
)
ACTS = pd.DataFrame({"opportunity_id": [1, 1, 1], "occurred_at": pd.to_datetime(
    ["2017-01-05", "2017-02-25", "2017-03-10"], utc=True)})
T = _ts("2017-03-01")


def test_state_and_features_at_t():
    snap = snapshot(Tables(SMALL, ACTS, STAGES), T).set_index("opportunity_id")
    assert list(snap.index) == [1]  # 2 and 3 closed before t, 4 did not exist yet
    deal = snap.loc[1]
    assert deal["stage"] == "Engaging" and deal["stage_order"] == 20 and deal["stage_probability"] == 40
    assert deal["amount"] == 150.0
    assert deal["expected_close_on"] == pd.Timestamp("2017-05-01")
    assert deal["close_date_pushes"] == 2
    assert deal["age_days"] == 59.0  # 2017-01-01 -> 2017-03-01
    assert deal["days_in_stage"] == 49.0  # entered Engaging 2017-01-11
    assert deal["days_to_expected_close"] == 61.0
    assert deal["activity_count"] == 2 and deal["activities_last_30d"] == 1
    assert deal["days_since_activity"] == 4.0  # 2017-02-25
    assert (deal["owner_won_before"], deal["owner_closed_before"]) == (1, 2)
    assert deal["owner_win_rate_before"] == 0.5


def test_state_at_before_anything_is_empty():
    assert state_at(SMALL, "2016-01-01").empty


def _perturb_after(tables: Tables, t: pd.Timestamp, seed: int = 7) -> Tables:
    """Change every history row and activity dated after t, and add new ones after t."""
    rng = np.random.default_rng(seed)
    history = tables.history.copy()
    later = history["changed_at"] > t
    history.loc[later, "new_value"] = [f"{v}x" if isinstance(v, str) else "1" for v in history.loc[later, "new_value"]]
    history.loc[later, "changed_at"] = history.loc[later, "changed_at"] + pd.to_timedelta(
        rng.integers(0, 30, later.sum()), unit="D")
    ids = history["opportunity_id"].unique()[:50]
    extra = pd.DataFrame({"opportunity_id": ids, "field": "stage", "old_value": "Engaging", "new_value": "Won",
                          "changed_at": t + pd.Timedelta(seconds=1)})
    activities = pd.concat([
        tables.activities,
        pd.DataFrame({"opportunity_id": ids, "occurred_at": t + pd.Timedelta(hours=1)}),
    ], ignore_index=True)
    return Tables(pd.concat([history, extra], ignore_index=True), activities, tables.stages, tables.deals)


def test_nothing_after_t_leaks_small():
    before = snapshot(Tables(SMALL, ACTS, STAGES), T)
    after = snapshot(_perturb_after(Tables(SMALL, ACTS, STAGES), T), T)
    pd.testing.assert_frame_equal(before, after)


@pytest.mark.parametrize("day", ["2017-03-15", "2017-06-01", "2017-09-30"])
def test_nothing_after_t_leaks_on_the_maven_history(maven, day):
    from revcast.forecasting.adapter import load_tables

    tables = load_tables()
    t = _ts(day)
    before = snapshot(tables, t)
    assert len(before) > 100
    after = snapshot(_perturb_after(tables, t), t)
    pd.testing.assert_frame_equal(before, after)


def test_open_deals_at_t_match_the_raw_data(maven):
    """Deals open on 2017-06-01 per the raw CSV: engaged on or before, and not closed before that day."""
    import csv

    from revcast.forecasting.adapter import load_tables
    from tests.conftest import MAVEN_DIR

    with (MAVEN_DIR / "sales_pipeline.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    day = "2017-06-01"
    expected = {r["opportunity_id"] for r in rows
                if r["engage_date"] and r["engage_date"] <= day and (not r["close_date"] or r["close_date"] > day)}
    from revcast.pipeline.models import Opportunity

    snap = snapshot(load_tables(), _ts(day))
    got = set(Opportunity.objects.filter(pk__in=snap["opportunity_id"].tolist()).values_list("external_id", flat=True))
    assert got == expected
