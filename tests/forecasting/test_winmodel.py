"""The win model: fallbacks with hand-computed numbers, determinism, storage, leakage, the model card."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from revcast.forecasting.engine import synthetic
from revcast.forecasting.engine.asof import Tables, snapshot
from revcast.forecasting.engine.explain import describe, label, points
from revcast.forecasting.engine.winmodel import NO_SIGNAL, WinModel, ece, train
from tests.forecasting.test_asof import _history, _perturb_after, _ts

STAGES3 = pd.DataFrame(
    [("Prospecting", 10, "open", 10), ("Engaging", 20, "open", 40), ("Negotiation", 30, "open", 70),
     ("Won", 90, "won", 100), ("Lost", 99, "lost", 0)],
    columns=["name", "order", "type", "probability"],
)
NO_ACTS = pd.DataFrame({"opportunity_id": pd.Series(dtype="int64"), "occurred_at": pd.Series(dtype="datetime64[ns, UTC]")})


def _deals(paths: list[tuple[list[str], str]]) -> Tables:
    """One deal per (open stages visited, outcome), created 2020-01-01, a stage a week, closed after."""
    rows = []
    for i, (visited, outcome) in enumerate(paths, start=1):
        day = pd.Timestamp("2020-01-01")
        rows.append((i, "owner", None, "ann", day))
        previous = None
        for stage in visited:
            rows.append((i, "stage", previous, stage, day))
            previous, day = stage, day + pd.Timedelta(days=7)
        if outcome:
            rows.append((i, "stage", previous, outcome, day))
    return Tables(_history(rows), NO_ACTS, STAGES3)


def _open_frame(stages: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"stage": stages, "stage_probability": [10.0 if s == "Prospecting" else 40.0 for s in stages]})


def test_no_closed_deal_serves_the_stage_table():
    model = train(_deals([(["Prospecting"], ""), (["Prospecting", "Engaging"], "")]), "2021-01-01")
    assert model.kind == "stage_table"
    assert model.predict(_open_frame(["Prospecting", "Engaging"])).tolist() == [0.1, 0.4]
    assert "stage table" in model.card["verdict"]
    assert model.factors(_open_frame(["Engaging"])) == [[]]


def test_short_history_serves_stage_conversion_with_the_base_rate_for_thin_stages():
    # every deal spends 7 days in each open stage it visits, then closes.
    # 15 deals closed from Prospecting (3 won); 30 went on to Engaging (21 won, 9 lost);
    # 5 more reached Negotiation (all won): Prospecting 50 deals x 7 days, 29 won; Engaging 35 x 7 days,
    # 26 won; Negotiation 5 deals (< 30: no rate of its own).
    # base rate, each deal counted for its open days: (3x7 + 21x14 + 5x21) / (15x7 + 30x14 + 5x21) = 420/630
    paths = ([(["Prospecting"], "Won")] * 3 + [(["Prospecting"], "Lost")] * 12
             + [(["Prospecting", "Engaging"], "Won")] * 21 + [(["Prospecting", "Engaging"], "Lost")] * 9
             + [(["Prospecting", "Engaging", "Negotiation"], "Won")] * 5)
    model = train(_deals(paths), "2021-01-01")
    assert model.kind == "stage_rates"
    assert model.base_rate == pytest.approx(420 / 630)
    assert model.stage_rates == pytest.approx({"Prospecting": 29 / 50, "Engaging": 26 / 35})
    got = model.predict(_open_frame(["Prospecting", "Engaging", "Negotiation"]))
    np.testing.assert_allclose(got, [29 / 50, 26 / 35, 420 / 630])
    assert "only 29 won and 21 lost" in model.card["verdict"]
    [[factor]] = model.factors(_open_frame(["Engaging"]))
    assert factor["feature"] == "stage" and factor["points"] == pytest.approx((26 / 35 - 420 / 630) * 100, abs=0.01)
    assert factor["rate"] == pytest.approx(26 / 35, abs=1e-4)
    assert describe(factor) == "stage Engaging (74% won before): +8 pts"


def test_stage_conversion_counts_each_deal_for_its_days_in_the_stage():
    # two deals won after 21 days in Prospecting, 28 lost after 7 days there: (2x21) / (2x21 + 28x7)
    rows = []
    for i in range(30):
        won = i < 2
        rows += [(i, "owner", None, "ann", "2020-01-01"), (i, "stage", None, "Prospecting", "2020-01-01"),
                 (i, "stage", "Prospecting", "Won" if won else "Lost", "2020-01-22" if won else "2020-01-08")]
    model = train(Tables(_history(rows), NO_ACTS, STAGES3), "2021-01-01")
    assert model.stage_rates == pytest.approx({"Prospecting": 42 / (42 + 196)})


def test_few_closed_deals_and_no_full_stage_serve_the_base_rate():
    model = train(_deals([(["Prospecting"], "Won")] * 4 + [(["Prospecting"], "Lost")] * 6), "2021-01-01")
    assert model.kind == "base_rate"
    # 4 won and 6 lost, each open for 7 days
    assert model.predict(_open_frame(["Prospecting", "Engaging"])).tolist() == pytest.approx([0.4, 0.4])


def test_deals_closed_after_the_cutoff_do_not_count():
    paths = [(["Prospecting"], "Won")] * 4 + [(["Prospecting"], "Lost")] * 6
    model = train(_deals(paths), "2020-01-05")  # every deal closes on 2020-01-08
    assert model.kind == "stage_table"


@pytest.fixture(scope="module")
def synthetic_tables() -> Tables:
    return synthetic.generate(6000, 600, seed=11)


@pytest.fixture(scope="module")
def trained(synthetic_tables) -> WinModel:
    return train(synthetic_tables, "2023-01-01", seed=3)


CUTOFF = _ts("2023-01-01")


def _without_time(card: dict) -> dict:
    return {k: v for k, v in card.items() if k != "trained_at"}


def test_lightgbm_model_card(trained):
    card = trained.card
    assert trained.kind == "lightgbm" and card["beats_base_rate"] is True
    assert card["auc"] > 0.7 and card["brier"] < card["base_rate_brier"]
    assert card["ece"] < 0.05
    assert card["calibration"]["method"] in {"isotonic", "sigmoid"}
    assert len(card["calibration_table"]) == 10
    assert sum(row["n"] for row in card["calibration_table"]) == card["data"]["holdout"]["rows"]
    split = card["split"]
    assert split["train_from"] < split["train_to"] < split["holdout_from"] <= split["holdout_to"]
    assert split["train_from"] <= split["validation_from"] < split["validation_to"] < split["holdout_from"]
    sizes = card["data"]
    assert sizes["train"]["deals"] + sizes["validation"]["deals"] + sizes["holdout"]["deals"] <= sizes["closed_deals"]
    assert 1 <= len(card["feature_importance"]) <= 15
    assert "beats the overall win rate" in card["verdict"]
    json.dumps(card)  # JSON-able
    # outcome-encoding inputs are never model columns
    assert not {"owner", "opportunity_id", "expected_close_on", "won", "closed_at", "account_id"} & set(trained.columns)
    assert "closed" not in trained.categories["forecast_category"]


def test_card_ece_matches_its_calibration_table(trained):
    table = trained.card["calibration_table"]
    total = sum(row["weight"] for row in table)
    expected = sum(row["weight"] / total * abs(row["mean_predicted"] - row["observed"]) for row in table if row["n"])
    assert trained.card["ece"] == pytest.approx(expected, abs=1e-6)
    # and the ECE formula on a hand-made case: two bins, |0.15-0.5| x 1/2 + |0.95-1| x 1/2
    assert ece(np.array([0, 1, 1, 1]), np.array([0.12, 0.18, 0.95, 0.95])) == pytest.approx(0.5 * 0.35 + 0.5 * 0.05)


def test_predictions_are_calibrated_probabilities_in_row_order(trained, synthetic_tables):
    feats = snapshot(synthetic_tables, CUTOFF)
    p = trained.predict(feats)
    assert p.shape == (len(feats),) and ((p > 0) & (p < 1)).all()
    reversed_rows = feats.iloc[::-1]
    np.testing.assert_array_equal(trained.predict(reversed_rows), p[::-1])


def test_factors_sum_to_the_move_from_the_average_deal(trained, synthetic_tables):
    feats = snapshot(synthetic_tables, CUTOFF).head(50)
    p = trained.predict(feats)
    everything = trained.factors(feats, top=100)
    for row, pi in zip(everything, p, strict=True):
        assert sum(f["points"] for f in row) == pytest.approx((pi - trained.factor_base) * 100, abs=0.05)
    top = trained.factors(feats, top=5)
    assert all(len(row) == 5 for row in top)
    sizes = [abs(f["points"]) for f in top[0]]
    assert sizes == sorted(sizes, reverse=True)
    json.dumps(top)


def test_round_trip_through_json_gives_identical_predictions(trained, synthetic_tables):
    stored = json.loads(json.dumps(trained.to_dict()))
    again = WinModel.from_dict(stored)
    feats = snapshot(synthetic_tables, CUTOFF)
    np.testing.assert_array_equal(again.predict(feats), trained.predict(feats))
    assert again.factors(feats.head(20)) == trained.factors(feats.head(20))
    assert again.card == trained.card and again.kind == trained.kind


def test_training_is_deterministic_for_a_seed(trained, synthetic_tables):
    again = train(synthetic_tables, CUTOFF, seed=3)
    feats = snapshot(synthetic_tables, CUTOFF)
    np.testing.assert_array_equal(again.predict(feats), trained.predict(feats))
    assert _without_time(again.card) == _without_time(trained.card)


def test_nothing_after_the_cutoff_changes_the_model_or_its_predictions(trained, synthetic_tables):
    later = _perturb_after(synthetic_tables, CUTOFF)
    again = train(later, CUTOFF, seed=3)
    before, after = snapshot(synthetic_tables, CUTOFF), snapshot(later, CUTOFF)
    pd.testing.assert_frame_equal(before, after)
    np.testing.assert_array_equal(again.predict(after), trained.predict(before))
    assert _without_time(again.card) == _without_time(trained.card)


def test_no_signal_falls_back_to_stage_rates_and_says_so():
    tables = synthetic.generate(4000, 200, seed=12, custom_driver=False)
    history = tables.history.copy()
    closing = (history["field"] == "stage") & history["new_value"].isin(["Won", "Lost"])
    rng = np.random.default_rng(0)
    history.loc[closing, "new_value"] = np.where(rng.random(int(closing.sum())) < 0.4, "Won", "Lost")
    # pushes, activities and stage paths followed the old outcomes: make them say nothing either
    history = history[history["field"] != "expected_close_on"]
    history = history[~((history["field"] == "stage") & history["new_value"].isin(["Qualify", "Proposal"]))]
    history.loc[(history["field"] == "stage") & history["old_value"].notna(), "old_value"] = "Prospecting"
    noise = Tables(history, tables.activities.iloc[:0], tables.stages, tables.deals[["opportunity_id", "custom.tier"]])
    model = train(noise, CUTOFF)
    assert model.kind == "stage_rates"
    assert model.card["beats_base_rate"] is False
    assert model.card["verdict"] == NO_SIGNAL
    assert model.card["auc"] is not None and "brier" in model.card  # the LightGBM figures stay on record
    feats = snapshot(noise, CUTOFF)
    np.testing.assert_allclose(model.predict(feats), model.stage_rates["Prospecting"])


def test_words_for_factors():
    assert describe({"feature": "close_date_pushes", "value": 3, "points": -12.3}) == "close date pushed 3 times: −12 pts"
    assert describe({"feature": "product", "value": "GTX Pro", "points": 4.2}) == "product GTX Pro: +4 pts"
    assert describe({"feature": "custom.lead_source", "value": "Partner", "points": 9}) == (
        "custom.lead_source = Partner: +9 pts")
    assert label("days_since_activity", 45.2) == "no activity for 45 days"
    assert label("owner_win_rate_before", 0.58) == "owner's win rate 58%"
    assert label("owner_win_rate_before", None) == "owner has no closed deals yet"
    assert label("stage", "Engaging") == "stage Engaging"
    assert label("days_to_expected_close", -5.0) == "expected close date passed 5 days ago"
    assert points(0.4) == "+0.4 pts" and points(-0.4) == "−0.4 pts" and points(-12.6) == "−13 pts"


@pytest.mark.django_db
def test_maven_model_card_on_a_time_based_holdout(maven):
    from revcast.forecasting.adapter import load_tables

    tables = load_tables()
    model = train(tables, "2018-01-01")
    card = model.card
    assert card["split"]["holdout_from"] >= "2017-10-01"  # the newest closes
    assert card["data"]["holdout"]["deals"] > 500
    assert isinstance(card["beats_base_rate"], bool)
    assert card["served_holdout"]["ece"] < 0.05  # the probabilities shown are calibrated on the hold-out
    assert card["auc"] is not None and card["ece"] is not None  # LightGBM's own figures, for the record
    if card["beats_base_rate"]:
        assert model.kind == "lightgbm" and card["brier"] < card["base_rate_brier"]
    else:
        assert model.kind == "stage_rates" and card["verdict"] == NO_SIGNAL
    # the history through the adapter must not give the outcome away (won deals' amounts, close dates)
    assert card["auc"] < 0.75
