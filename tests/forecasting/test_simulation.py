"""The period simulation: exact expected values, consistent roll-ups, determinism, new business."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from revcast.forecasting.engine.forecast import NewBusiness, simulate, uniforms

EMPTY_CLOSED = pd.DataFrame({"opportunity_id": pd.Series(dtype="int64"), "owner": pd.Series(dtype=object),
                             "amount": pd.Series(dtype=float), "team": pd.Series(dtype=object)})


def _scored(n: int = 400, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "opportunity_id": np.arange(1, n + 1),
        "owner": rng.choice(["ann", "bob", "cy", "di"], n),
        "amount": rng.integers(1, 50, n) * 1000.0,
        "p": rng.uniform(0, 1, n),
    })
    frame["team"] = frame["owner"].map({"ann": "east", "bob": "east", "cy": "west", "di": "west"})
    return frame


def _no_new() -> NewBusiness:
    return NewBusiness(pool=EMPTY_CLOSED.copy(), counts=[], q_won=0.0)


def test_uniforms_depend_only_on_seed_key_and_draw():
    a = uniforms(7, np.array([5, 9, 11]), 100)
    b = uniforms(7, np.array([11, 5]), 100)
    assert np.array_equal(a[2], b[0]) and np.array_equal(a[0], b[1])
    assert not np.array_equal(a, uniforms(8, np.array([5, 9, 11]), 100))
    big = uniforms(0, np.arange(2000), 500)
    assert big.min() >= 0 and big.max() < 1 and abs(big.mean() - 0.5) < 0.005


def test_expected_is_exact_and_draws_match_it():
    scored = _scored()
    closed = pd.DataFrame({"opportunity_id": [900], "owner": ["ann"], "amount": [5000.0], "team": ["east"]})
    out = simulate(scored, _no_new(), closed, draws=4000, seed=3)["total"]
    expected_open = float((scored["p"] * scored["amount"]).sum())
    assert out["open_expected"] == pytest.approx(expected_open)
    assert out["closed"] == 5000.0 and out["expected"] == pytest.approx(expected_open + 5000.0)
    sd = float(np.sqrt((scored["p"] * (1 - scored["p"]) * scored["amount"] ** 2).sum()))
    assert abs(out["p50"] - out["expected"]) < 0.1 * sd
    # 80% of a near-normal sum lies within ±1.2816 sd
    assert out["p90"] - out["p10"] == pytest.approx(2 * 1.2816 * sd, rel=0.06)


def test_rollups_are_consistent_and_scopes_agree():
    scored = _scored()
    whole = simulate(scored, _no_new(), EMPTY_CLOSED, by="team", draws=1000, seed=5)
    for group in whole["groups"]:
        alone = simulate(scored[scored["team"] == group["key"]], _no_new(), EMPTY_CLOSED, draws=1000, seed=5)
        # a team simulated alone sees exactly the draws it has inside the company run
        assert alone["total"]["p10"] == group["p10"] and alone["total"]["p90"] == group["p90"]
    assert sum(g["expected"] for g in whole["groups"]) == pytest.approx(whole["total"]["expected"])
    again = simulate(scored, _no_new(), EMPTY_CLOSED, by="team", draws=1000, seed=5)
    assert again == whole


def test_certain_deals_and_dispersion():
    scored = pd.DataFrame({"opportunity_id": [1, 2, 3], "owner": ["a"] * 3, "amount": [100.0, 200.0, 400.0],
                           "p": [1.0, 0.0, 1.0]})
    out = simulate(scored, _no_new(), EMPTY_CLOSED, draws=200)["total"]
    assert out["p10"] == out["p50"] == out["p90"] == out["expected"] == 500.0
    half = _scored(n=300)
    half["p"] = 0.3
    calm = simulate(half, _no_new(), EMPTY_CLOSED, draws=3000, seed=1)["total"]
    wild = simulate(half, _no_new(), EMPTY_CLOSED, draws=3000, seed=1, dispersion=0.09)["total"]
    assert wild["p90"] - wild["p10"] > 1.5 * (calm["p90"] - calm["p10"])
    assert wild["expected"] == calm["expected"]


def test_new_business_expectation_and_scope():
    pool = pd.DataFrame({"opportunity_id": [1, 2, 3, 4], "owner": ["ann", "ann", "bob", "cy"],
                         "amount": [1000.0, 3000.0, 2000.0, 2000.0], "team": ["east", "east", "east", "west"]})
    new = NewBusiness(pool=pool, counts=[40, 60, 50], q_won=0.2)
    # 50 deals created on average, 20% won inside the period, mean amount 2000
    assert new.expected_share() == pytest.approx(50 * 0.2 * 2000)
    empty = pd.DataFrame(columns=["opportunity_id", "owner", "amount", "p", "team"])
    out = simulate(empty, new, EMPTY_CLOSED, by="team", draws=4000, seed=2)
    assert out["total"]["new_expected"] == pytest.approx(20000.0)
    groups = {g["key"]: g for g in out["groups"]}
    assert groups["east"]["new_expected"] == pytest.approx(50 * 0.2 * 6000 / 4)
    assert abs(out["total"]["p50"] - 20000) < 3000  # the draws centre on the expectation
    west = simulate(empty, new, EMPTY_CLOSED, draws=4000, seed=2, new_scope=(pool["team"] == "west").to_numpy())
    assert west["total"]["p90"] == groups["west"]["p90"]
    assert NewBusiness.from_dict(new.to_dict()).expected_share() == new.expected_share()
