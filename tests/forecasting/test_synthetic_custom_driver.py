"""The model uses custom fields without code changes: a custom picklist that truly drives the outcome is
found and ranked first, under any field name, and only when it really drives the outcome."""

from __future__ import annotations

import numpy as np
import pandas as pd

from revcast.forecasting.engine import synthetic
from revcast.forecasting.engine.asof import Tables, snapshot
from revcast.forecasting.engine.features import outcomes
from revcast.forecasting.engine.winmodel import WinModel, train

CUTOFF = pd.Timestamp("2023-01-01", tz="UTC")


def _renamed(tables: Tables, new: str) -> Tables:
    """A custom field key the engine has never seen."""
    assert tables.deals is not None
    return Tables(tables.history, tables.activities, tables.stages,
                  tables.deals.rename(columns={"custom.lead_source": new}))


def _factor_importance(model: WinModel, feats: pd.DataFrame) -> pd.Series:
    """Mean |points| per factor across the open deals (every factor of every deal)."""
    rows = [(f["feature"], abs(f["points"])) for deal in model.factors(feats, top=100) for f in deal]
    return pd.DataFrame(rows, columns=["feature", "points"]).groupby("feature")["points"].sum() / len(feats)


def test_the_synthetic_driver_really_drives_the_outcome():
    tables = synthetic.generate(6000, 100, seed=21)
    out = outcomes(tables).merge(tables.deals, on="opportunity_id").dropna(subset=["won"])
    rates = out.groupby("custom.lead_source")["won"].mean()
    assert rates["Partner"] - rates["Outbound"] > 0.4
    noise = out.groupby("custom.tier")["won"].mean()
    assert noise.max() - noise.min() < 0.1


def test_a_driving_custom_picklist_is_ranked_first():
    key = "custom.how_they_found_us"
    tables = _renamed(synthetic.generate(8000, 800, seed=22, custom_driver=True), key)
    model = train(tables, CUTOFF, seed=0)
    assert model.kind == "lightgbm" and model.card["beats_base_rate"]
    assert model.card["feature_importance"][0]["feature"] == key
    feats = snapshot(tables, CUTOFF)
    importance = _factor_importance(model, feats).sort_values(ascending=False)
    assert importance.index[0] == key
    # each deal's own factor for the field points the way the field drives: Partner up, Outbound down
    by_value: dict[str, list[float]] = {"Partner": [], "Outbound": []}
    for value, deal in zip(feats[key], model.factors(feats, top=100), strict=True):
        if value in by_value:
            by_value[value].extend(f["points"] for f in deal if f["feature"] == key)
    assert np.mean(by_value["Partner"]) > 3 and np.mean(by_value["Outbound"]) < -3


def test_without_the_driver_the_picklist_is_not_ranked_first():
    key = "custom.how_they_found_us"
    tables = _renamed(synthetic.generate(8000, 800, seed=22, custom_driver=False), key)
    model = train(tables, CUTOFF, seed=0)
    ranked = [row["feature"] for row in model.card["feature_importance"]]
    assert ranked[0] != key
    if model.kind == "lightgbm":
        assert _factor_importance(model, snapshot(tables, CUTOFF)).idxmax() != key
