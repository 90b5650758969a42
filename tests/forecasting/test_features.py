"""Features at each deal's own time: exact values, agreement with a plain per-date computation, no leakage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from revcast.forecasting.engine import synthetic
from revcast.forecasting.engine.asof import Tables, closures_before, snapshot, state_at
from revcast.forecasting.engine.features import features_at, outcomes, training_frame
from tests.forecasting.test_asof import ACTS, SMALL, STAGES, _history, _perturb_after, _ts


def _times(pairs: dict[int, str]) -> pd.Series:
    return pd.Series([_ts(d) for d in pairs.values()], index=list(pairs))


def test_each_deal_at_its_own_time():
    feats = features_at(Tables(SMALL, ACTS, STAGES), _times(
        {1: "2017-03-01", 2: "2017-01-10", 3: "2017-01-25", 4: "2017-03-01"})).set_index("opportunity_id")
    assert list(feats.index) == [1, 2, 3]  # 4 does not exist yet on 2017-03-01
    one, two, three = feats.loc[1], feats.loc[2], feats.loc[3]
    assert (one["amount"], one["close_date_pushes"], one["days_in_stage"]) == (150.0, 2, 49.0)
    assert (one["owner_won_before"], one["owner_closed_before"]) == (1, 2)  # 2 won 01-20, 3 lost 02-01
    assert two["stage"] == "Engaging" and two["age_days"] == 40.0  # 2016-12-01 -> 2017-01-10
    assert (two["owner_won_before"], two["owner_closed_before"]) == (0, 0)
    assert np.isnan(two["owner_win_rate_before"])
    assert (three["owner_won_before"], three["owner_closed_before"], three["owner_win_rate_before"]) == (1, 1, 1.0)
    assert three["activity_count"] == 0 and np.isnan(three["days_since_activity"])


def test_a_reclosed_deal_counts_once_with_its_latest_outcome():
    history = _history([
        (1, "stage", None, "Engaging", "2017-01-01"), (1, "owner", None, "ann", "2017-01-01"),
        (1, "stage", "Engaging", "Lost", "2017-01-10"),
        (1, "stage", "Lost", "Engaging", "2017-01-20"),
        (1, "owner", "ann", "bob", "2017-01-21"),
        (1, "stage", "Engaging", "Won", "2017-02-01"),
        (2, "stage", None, "Prospecting", "2017-01-01"), (2, "owner", None, "ann", "2017-01-01"),
        (3, "stage", None, "Prospecting", "2017-01-01"), (3, "owner", None, "bob", "2017-01-01"),
    ])
    tables = Tables(history, ACTS.iloc[:0], STAGES)
    feats = features_at(tables, _times({2: "2017-01-15", 3: "2017-01-15"})).set_index("opportunity_id")
    assert (feats.loc[2, "owner_won_before"], feats.loc[2, "owner_closed_before"]) == (0, 1)  # ann: lost
    assert feats.loc[3, "owner_closed_before"] == 0
    # reopened on 01-20: the loss still stands (latest closure); after 02-01 the win replaces it, for bob
    feats = features_at(tables, _times({2: "2017-02-02", 3: "2017-02-02"})).set_index("opportunity_id")
    assert (feats.loc[2, "owner_won_before"], feats.loc[2, "owner_closed_before"]) == (0, 0)
    assert (feats.loc[3, "owner_won_before"], feats.loc[3, "owner_closed_before"]) == (1, 1)
    # the deal itself is open between its two closures
    assert 1 in set(features_at(tables, _times({1: "2017-01-25"}))["opportunity_id"])
    assert 1 not in set(features_at(tables, _times({1: "2017-01-15"}))["opportunity_id"])


def _reference(tables: Tables, t: pd.Timestamp) -> pd.DataFrame:
    """The features at one date, from the plain per-date helpers and pandas (no as-of joins)."""
    state = state_at(tables.history, t).set_index("opportunity_id")
    types = tables.stages.set_index("name")["type"]
    state = state[state["stage"].map(types) == "open"].copy()
    state["age_days"] = (t - state["created_at"]) / pd.Timedelta(days=1)
    acts = tables.activities[tables.activities["occurred_at"] <= t]
    state["activity_count"] = acts.groupby("opportunity_id").size().reindex(state.index).fillna(0).astype(int)
    closed = closures_before(tables.history, tables.stages, t)
    closed["owner"] = closed["opportunity_id"].map(state_at(tables.history, t).set_index("opportunity_id")["owner"])
    by_owner = closed.groupby("owner")["won"].agg(["sum", "count"])
    state["owner_won_before"] = state["owner"].map(by_owner["sum"]).fillna(0).astype(int)
    state["owner_closed_before"] = state["owner"].map(by_owner["count"]).fillna(0).astype(int)
    return state


def test_per_deal_times_agree_with_plain_per_date_computation():
    tables = synthetic.generate(3000, 400, seed=3)
    dates = [_ts("2021-03-01"), _ts("2022-01-15"), _ts("2022-12-20")]
    ids = tables.history["opportunity_id"].unique()
    rng = np.random.default_rng(0)
    times = pd.Series(np.array(dates, dtype=object)[rng.integers(0, 3, len(ids))], index=ids)
    got = features_at(tables, times).set_index("opportunity_id")
    expected = []
    for t in dates:
        ref = _reference(tables, t)
        expected.append(ref[ref.index.isin(times.index[times == t])])
    ref = pd.concat(expected).sort_index()
    assert len(ref) > 150
    assert list(got.index) == list(ref.index)
    for col in ["stage", "owner", "close_date_pushes", "activity_count", "owner_won_before", "owner_closed_before"]:
        assert got[col].tolist() == ref[col].tolist(), col
    np.testing.assert_allclose(got["amount"], ref["amount"])
    np.testing.assert_allclose(got["age_days"], ref["age_days"])
    custom = tables.deals.set_index("opportunity_id").loc[got.index, "custom.lead_source"]
    assert got["custom.lead_source"].tolist() == custom.tolist()


def test_snapshot_is_features_at_with_one_time():
    tables = synthetic.generate(1500, 200, seed=4)
    t = _ts("2022-11-01")
    ids = tables.history["opportunity_id"].unique()
    pd.testing.assert_frame_equal(snapshot(tables, t), features_at(tables, pd.Series(t, index=ids)))


def test_nothing_after_each_deals_time_leaks():
    tables = synthetic.generate(2000, 300, seed=5)
    ids = tables.history["opportunity_id"].unique()
    rng = np.random.default_rng(1)
    start = _ts("2022-01-01")
    times = pd.Series([start + pd.Timedelta(days=int(d)) for d in rng.integers(0, 120, len(ids))], index=ids)
    before = features_at(tables, times)
    after = features_at(_perturb_after(tables, times.max()), times)
    pd.testing.assert_frame_equal(before, after)
    # one deal at its own (earlier) time: changing everything after that time leaves its row unchanged
    deal = int(before["opportunity_id"].iloc[0])
    alone = pd.Series([times[deal]], index=[deal])
    pd.testing.assert_frame_equal(features_at(tables, alone),
                                  features_at(_perturb_after(tables, times[deal], seed=2), alone))


def test_outcomes_from_the_history():
    out = outcomes(Tables(SMALL, ACTS, STAGES)).set_index("opportunity_id")
    assert out.loc[1, "closed_at"] == _ts("2017-06-01") and out.loc[1, "won"] == 1.0
    assert out.loc[3, "closed_at"] == _ts("2017-02-01") and out.loc[3, "won"] == 0.0
    assert pd.isna(out.loc[4, "closed_at"]) and np.isnan(out.loc[4, "won"])
    assert out.loc[2, "created_at"] == _ts("2016-12-01")


def test_training_rows_sit_inside_each_deals_open_life():
    tables = synthetic.generate(1500, 200, seed=6)
    cutoff = _ts("2022-06-01")
    frame = training_frame(tables, cutoff, samples_per_deal=2, seed=1)
    truth = outcomes(tables).set_index("opportunity_id")
    closed_before = truth[truth["closed_at"] < cutoff]
    assert set(frame["opportunity_id"]) <= set(closed_before.index)
    assert frame["opportunity_id"].nunique() > 0.9 * len(closed_before)
    rows = truth.loc[frame["opportunity_id"]]
    assert (frame["as_of"].to_numpy() >= rows["created_at"].to_numpy()).all()
    assert (frame["as_of"].to_numpy() < rows["closed_at"].to_numpy()).all()
    assert frame["won"].tolist() == rows["won"].astype(int).tolist()
    assert frame["weight"].mean() == pytest.approx(1.0)
    duration = (rows["closed_at"] - rows["created_at"]).dt.total_seconds().to_numpy()
    np.testing.assert_allclose(frame["weight"], duration / duration.mean())
    # the features of a row are those of features_at at that row's time
    row = frame.iloc[7]
    single = features_at(tables, pd.Series([row["as_of"]], index=[row["opportunity_id"]])).iloc[0]
    assert single["stage"] == row["stage"] and single["age_days"] == row["age_days"]
    # deterministic for a seed, different for another; capped rows
    pd.testing.assert_frame_equal(frame, training_frame(tables, cutoff, samples_per_deal=2, seed=1))
    assert not frame["as_of"].equals(training_frame(tables, cutoff, samples_per_deal=2, seed=2)["as_of"])
    assert len(training_frame(tables, cutoff, max_rows=300)) <= 300


def test_training_rows_ignore_everything_after_the_cutoff():
    tables = synthetic.generate(1500, 200, seed=7)
    cutoff = _ts("2022-06-01")
    pd.testing.assert_frame_equal(training_frame(tables, cutoff), training_frame(_perturb_after(tables, cutoff), cutoff))
