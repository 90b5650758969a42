"""A synthetic deal history in the adapter's format, with a known cause of winning.

Used by tests (does the model find a custom field that truly drives the outcome? does nothing leak?)
and by ``bench/forecast.py`` at 1M closed + 100k open deals, so everything is vectorised numpy.

The story: deals start in Prospecting, move through Qualify and Proposal, and end Won or Lost. Winners
pass every stage; losers drop out after one of them. The outcome is drawn from a logistic model whose
strongest term is the custom picklist ``custom.lead_source`` (when ``custom_driver``), with weak terms
for product, owner skill, and close-date pushes (losers get pushed more often). ``custom.tier`` and
``custom.employees`` are noise. History values are text, as the adapter gives them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from revcast.forecasting.engine.asof import Tables

STAGES = pd.DataFrame(
    [("Prospecting", 10, "open", 10), ("Qualify", 20, "open", 30), ("Proposal", 30, "open", 60),
     ("Won", 90, "won", 100), ("Lost", 99, "lost", 0)],
    columns=["name", "order", "type", "probability"],
)
STAGE_NAMES = np.array(STAGES["name"].tolist(), dtype=object)
WON, LOST = 3, 4
LEAD_SOURCES = np.array(["Partner", "Referral", "Web", "Event", "Outbound"], dtype=object)
LEAD_EFFECT = np.array([1.6, 0.8, 0.0, -0.8, -1.6])  # log-odds: the driver
PRODUCTS = np.array(["GTX Basic", "GTX Pro", "MG Special", "MG Advanced", "GTK 500"], dtype=object)
SERIES = np.array(["GTX", "GTX", "MG", "MG", "GTK"], dtype=object)
PRODUCT_EFFECT = np.array([0.1, -0.1, 0.15, -0.15, 0.0])
TEAMS = np.array(["Central A", "Central B", "East A", "East B", "West A", "West B"], dtype=object)
REGIONS = np.array(["Central", "Central", "East", "East", "West", "West"], dtype=object)
TIERS = np.array(["Tier 1", "Tier 2", "Tier 3"], dtype=object)
START = pd.Timestamp("2020-01-01", tz="UTC")
SPAN_DAYS = 3 * 365
DAY_NS = 86_400 * 10**9


def _cumcount(counts: np.ndarray) -> np.ndarray:
    """0, 1, ... within each block of a ``np.repeat(..., counts)`` layout."""
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(counts.sum()) - starts


def _dates(ns: np.ndarray) -> np.ndarray:
    return ns.astype("datetime64[ns]").astype("datetime64[D]").astype(str).astype(object)


def _utc(ns: np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(ns.astype("datetime64[ns]")).tz_localize("UTC")


def generate(n_closed: int, n_open: int, *, seed: int = 0, custom_driver: bool = True) -> Tables:
    """``n_closed`` deals closed before "now" (``START`` + 3 years) and ``n_open`` deals open at it."""
    rng = np.random.default_rng(seed)
    n = n_closed + n_open
    ids = np.arange(1, n + 1, dtype=np.int64)
    is_open = np.arange(n) >= n_closed
    now = START.value + SPAN_DAYS * DAY_NS

    n_owners = max(20, n // 5000)
    owner_team = rng.integers(0, len(TEAMS), n_owners)
    owner_skill = rng.normal(0.0, 0.2, n_owners)
    owner = rng.integers(0, n_owners, n)
    owner_names = np.array([f"rep.{i:05d}" for i in range(n_owners)], dtype=object)
    lead = rng.choice(len(LEAD_SOURCES), n, p=[0.15, 0.15, 0.3, 0.2, 0.2])
    product = rng.integers(0, len(PRODUCTS), n)
    pushes = np.where(is_open, rng.poisson(0.8, n), 0)

    # duration and outcome of closed deals; open deals are somewhere in their life at "now"
    duration = (5 + rng.gamma(2.0, 25.0, n)) * DAY_NS
    created = np.where(is_open, now - rng.random(n) * 150 * DAY_NS,
                       START.value + rng.random(n) * (SPAN_DAYS * DAY_NS - duration))
    created = (created // 10**9 * 10**9).astype(np.int64)
    end = np.where(is_open, now, created + duration).astype(np.int64)
    logit = -0.3 + (LEAD_EFFECT[lead] if custom_driver else 0.0) + PRODUCT_EFFECT[product] + owner_skill[owner]
    won = ~is_open & (rng.random(n) < 1 / (1 + np.exp(-logit)))
    closed_pushes = rng.poisson(np.where(won, 0.6, 1.0))
    pushes = np.where(is_open, pushes, closed_pushes)

    # stages: open stages visited 0..last, then the closing stage for closed deals
    last_open = np.where(won, 2, rng.choice(3, n, p=[0.35, 0.35, 0.3]))
    fractions = np.sort(rng.random((n, 2)) * 0.9 + 0.05, axis=1)
    steps = last_open + 1 + (~is_open)
    deal = np.repeat(np.arange(n), steps)
    step = _cumcount(steps)
    closing = step > last_open[deal]
    stage_idx = np.where(closing, np.where(won[deal], WON, LOST), step)
    frac = np.where(step == 0, 0.0, fractions[deal, np.clip(step - 1, 0, 1)])
    stage_at = np.where(closing, end[deal], created[deal] + frac * (end[deal] - created[deal])).astype(np.int64)
    prev_stage = np.where(step == 0, -1, np.where(closing, last_open[deal], step - 1))
    prev_names = STAGE_NAMES[np.maximum(prev_stage, 0)]
    prev_names[prev_stage < 0] = None
    stage_rows = (deal, "stage", prev_names, STAGE_NAMES[stage_idx], stage_at)

    # expected close date: set at creation, pushed later ``pushes`` times before the deal's end
    close_steps = pushes + 1
    c_deal = np.repeat(np.arange(n), close_steps)
    c_step = _cumcount(close_steps)
    first_close = created + (20 + rng.random(n) * 70) * DAY_NS
    moves = 14 + rng.integers(0, 31, c_deal.size)  # days
    moves[c_step == 0] = 0
    running = np.cumsum(moves)
    pushed_days = running - np.repeat(running[np.cumsum(close_steps) - close_steps], close_steps)
    value_ns = first_close[c_deal] + pushed_days * DAY_NS
    push_frac = np.where(c_step == 0, 0.0, rng.random(c_deal.size) * 0.98 + 0.01)
    close_at = (created[c_deal] + push_frac * (end[c_deal] - created[c_deal])).astype(np.int64)
    order = np.lexsort((close_at, c_deal))  # pushes in time order within each deal
    close_at = close_at[order]
    values = _dates(value_ns.astype(np.int64))
    old = np.empty(values.size, dtype=object)
    old[1:] = values[:-1]
    old[c_step == 0] = None
    close_rows = (c_deal, "expected_close_on", old, values, close_at)

    amount = np.round(np.exp(rng.normal(8.0, 1.0, n)), 2)
    changed = rng.random(n) < 0.3
    new_amount = np.round(amount * rng.uniform(0.7, 1.3, n), 2)
    a_deal = np.concatenate([np.arange(n), np.flatnonzero(changed)])
    a_old = np.concatenate([np.full(n, None, dtype=object), np.char.mod("%.2f", amount[changed]).astype(object)])
    a_new = np.concatenate([np.char.mod("%.2f", amount).astype(object),
                            np.char.mod("%.2f", new_amount[changed]).astype(object)])
    a_at = np.concatenate([created, (created + rng.random(n) * 0.9 * (end - created))[changed]]).astype(np.int64)
    amount_rows = (a_deal, "amount", a_old, a_new, a_at)

    moved = rng.random(n) < 0.03
    new_owner = rng.integers(0, n_owners, n)
    o_deal = np.concatenate([np.arange(n), np.flatnonzero(moved)])
    o_old = np.concatenate([np.full(n, None, dtype=object), owner_names[owner[moved]]])
    o_new = np.concatenate([owner_names[owner], owner_names[new_owner[moved]]])
    o_at = np.concatenate([created, (created + rng.random(n) * 0.9 * (end - created))[moved]]).astype(np.int64)
    owner_rows = (o_deal, "owner", o_old, o_new, o_at)

    closed_idx = np.flatnonzero(~is_open)
    category_rows = (
        np.concatenate([np.arange(n), closed_idx]), "forecast_category",
        np.concatenate([np.full(n, None, dtype=object), np.full(closed_idx.size, "pipeline", dtype=object)]),
        np.concatenate([np.full(n, "pipeline", dtype=object),
                        np.where(won[closed_idx], "closed", "omitted").astype(object)]),
        np.concatenate([created, end[closed_idx]]),
    )

    parts = [stage_rows, close_rows, amount_rows, owner_rows, category_rows]
    deal_col = np.concatenate([p[0] for p in parts])
    at_col = np.concatenate([p[4] for p in parts])
    field_col = np.concatenate([np.full(len(p[0]), p[1], dtype=object) for p in parts])
    order = np.lexsort((at_col, deal_col))
    history = pd.DataFrame({
        "opportunity_id": ids[deal_col[order]],
        "field": field_col[order],
        "old_value": np.concatenate([p[2] for p in parts])[order],
        "new_value": np.concatenate([p[3] for p in parts])[order],
        "changed_at": _utc(at_col[order]),
    })

    n_acts = rng.poisson((end - created) / DAY_NS / 12 * np.where(won, 1.2, 0.9))
    act_deal = np.repeat(np.arange(n), n_acts)
    act_at = (created[act_deal] + rng.random(act_deal.size) * (end[act_deal] - created[act_deal])).astype(np.int64)
    activities = pd.DataFrame({"opportunity_id": ids[act_deal], "occurred_at": _utc(act_at)})

    n_accounts = max(50, n // 20)
    account = rng.integers(1, n_accounts + 1, n).astype(float)
    account[rng.random(n) < 0.05] = np.nan
    team = owner_team[owner]
    deals = pd.DataFrame({
        "opportunity_id": ids,
        "account_id": account,
        "product": PRODUCTS[product],
        "series": SERIES[product],
        "region": REGIONS[team],
        "team": TEAMS[team],
        "custom.lead_source": LEAD_SOURCES[lead],
        "custom.tier": TIERS[rng.integers(0, len(TIERS), n)],
        "custom.employees": np.round(np.exp(rng.normal(4.0, 1.5, n))),
    })
    return Tables(history=history, activities=activities, stages=STAGES.copy(), deals=deals)
