"""The forecasting app's storage: the adapter's static columns, model versions, forecast snapshots, scopes."""

from __future__ import annotations

import csv
import re
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest
from django.db import IntegrityError, transaction

from revcast.forecasting import services
from revcast.forecasting.adapter import load_tables
from revcast.forecasting.engine import winmodel
from revcast.forecasting.models import DealForecast, ForecastRun, WinModelVersion
from revcast.forecasting.selectors import SLICES, ForecastError
from tests.api import support as S
from tests.conftest import MAVEN_DIR
from tests.forecasting import support as F


def _raw_rows(name: str) -> list[dict[str, str]]:
    with (MAVEN_DIR / name).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def team_of(username: str) -> str:
    """The team of a rep in the raw data: "<manager's full name> team"."""
    return next(f"{r['manager']} team" for r in _raw_rows("sales_teams.csv") if S.username(r["sales_agent"]) == username)


def test_deals_carry_team_region_product_and_industry(maven):
    """Static columns per deal, against the raw CSV: the owner's team ("<manager> team") and regional office,
    the product and its series; the account's industry where the deal has an account."""
    from revcast.pipeline.models import Opportunity

    deals = load_tables().deals.set_index("opportunity_id")
    assert {"team", "region", "product", "series", "industry", "account_size"} <= set(deals.columns)
    agents = {S.username(r["sales_agent"]): r for r in _raw_rows("sales_teams.csv")}
    series = {r["product"]: r["series"] for r in _raw_rows("products.csv")}
    ext = dict(Opportunity.objects.values_list("pk", "external_id"))
    raw = {r["opportunity_id"]: r for r in _raw_rows("sales_pipeline.csv")}
    assert len(deals) == len(raw) == 8800
    for pk, row in deals.iterrows():
        source = raw[ext[pk]]
        agent = agents[S.username(source["sales_agent"])]
        assert row["team"] == f"{agent['manager']} team"
        assert row["region"] == agent["regional_office"]
        assert (row["industry"] is None or row["industry"] != row["industry"]) == (not source["account"])
        if row["product"] in series:
            assert row["series"] == series[row["product"]]
    # The Maven accounts have no size: the column is there (the same columns for any data) and empty.
    assert deals["account_size"].isna().all()


def test_a_reps_tables_hold_only_their_deals(maven):
    from revcast.org.models import User

    darcel = User.objects.get(username="darcel.schlecht")
    tables = load_tables(darcel)
    assert len(tables.deals) == len(S.deals_of({"darcel.schlecht"})) == 747
    assert set(tables.history["opportunity_id"]) == set(tables.deals["opportunity_id"])
    assert set(tables.deals["team"]) == {team_of("darcel.schlecht")}


def test_only_one_model_version_is_active(maven):
    WinModelVersion.objects.create(cutoff="2017-01-01T00:00:00Z", kind="base_rate", is_active=True)
    WinModelVersion.objects.create(cutoff="2017-02-01T00:00:00Z", kind="base_rate", is_active=False)
    with pytest.raises(IntegrityError), transaction.atomic():
        WinModelVersion.objects.create(cutoff="2017-03-01T00:00:00Z", kind="base_rate", is_active=True)


# ---------------------------------------------------------------- stored forecasts (one training per module)


@pytest.fixture
def run(stored, db):
    return ForecastRun.objects.get(pk=stored.run_id)


def _users(*names: str) -> dict[str, Any]:
    from revcast.org.models import User

    return {u.username: u for u in User.objects.filter(username__in=names)}


def test_training_stores_an_active_version_whose_json_gives_the_same_model(stored, db):
    from revcast.forecasting.engine.asof import snapshot
    from revcast.forecasting.engine.winmodel import WinModel

    version = WinModelVersion.objects.get(pk=stored.model_id)
    assert version.is_active and WinModelVersion.objects.filter(is_active=True).count() == 1
    assert version.kind == version.card["kind"] and version.verdict
    # What the database gives back (JSON on SQLite, jsonb on PostgreSQL) predicts exactly what the trained
    # model did: retrain with the same inputs (deterministic) and compare.
    tables = load_tables()
    features = snapshot(tables, pd.Timestamp(F.AS_OF, tz="UTC"))
    fresh = winmodel.train(tables, pd.Timestamp(version.cutoff), seed=version.seed)
    stored_model = WinModel.from_dict(WinModelVersion.objects.get(pk=version.pk).payload)
    np.testing.assert_array_equal(stored_model.predict(features), fresh.predict(features))
    # Training again activates the new version and deactivates the old one.
    newer = services.train_model(cutoff=version.cutoff, seed=1)
    assert list(WinModelVersion.objects.filter(is_active=True)) == [newer]


def test_a_run_stores_one_row_per_open_deal(run):
    """The deals open at as-of, from the CSV: engaged on or before that day and not closed before it."""
    day = F.AS_OF
    expected = {d["opportunity_id"] for d in F.raw_deals()
                if d["engage_date"] and d["engage_date"] <= day and (not d["close_date"] or d["close_date"] > day)}
    rows = DealForecast.objects.filter(run=run)
    got = set(rows.values_list("opportunity__external_id", flat=True))
    assert got == expected and run.deal_count == len(expected)
    owners = F.owner_of_external_id()
    for row in rows.select_related("opportunity")[:300]:
        assert row.owner_username == owners[row.opportunity.external_id]
        assert 0 <= row.p_win <= 1 and 0 <= row.p_timing <= 1
        assert row.p == pytest.approx(row.p_win * row.p_timing, abs=1e-12)
        assert abs(row.expected - (Decimal(row.p) * row.amount).quantize(Decimal("0.01"))) <= Decimal("0.01")
        assert all(set(f) == {"feature", "value", "points", "text"} for f in row.factors)
    assert (run.period, run.period_kind, str(run.period_start), str(run.period_end)) == (
        "2017-Q4", "quarter", "2017-10-01", "2018-01-01")


def test_run_totals_add_up_and_count_what_was_won_already(run):
    t = run.totals
    open_sum = sum(float(p) * float(a) for p, a in DealForecast.objects.filter(run=run).values_list("p", "amount"))
    assert t["open_expected"] == pytest.approx(open_sum, rel=1e-9)
    assert t["expected"] == pytest.approx(t["closed"] + t["open_expected"] + t["new_expected"], rel=1e-12)
    # Won in Q4 before 15 November, from the CSV.
    assert t["closed"] == pytest.approx(float(F.won_between("2017-10-01", F.WON_BEFORE)), abs=0.01)
    assert t["closed"] > 0 and t["new_expected"] > 0
    assert t["closed"] <= t["p10"] <= t["p50"] <= t["p90"]
    for name in SLICES:
        groups = run.by_slice[name]
        assert sum(g["expected"] for g in groups.values()) == pytest.approx(t["expected"], rel=1e-9), name


def test_an_admins_scope_is_the_stored_run(run):
    view = services.scope_forecast(run, None)
    assert view["scope"] == "all" and view["deals"] == run.deal_count
    for key in ("expected", "p10", "p50", "p90", "closed", "open_expected", "new_expected"):
        assert view["total"][key] == pytest.approx(run.totals[key], rel=1e-12, abs=1e-6), key
    by_team = services.scope_forecast(run, None, by="team")
    assert {g["key"]: round(g["expected"], 6) for g in by_team["groups"]} == {
        k: round(v["expected"], 6) for k, v in run.by_slice["team"].items()}


def _independent_scope(run: ForecastRun, owners: set[str]) -> float:
    """Expected value of a scope from the stored inputs, filtered by owners from the raw CSV (not through
    revcast's visibility): visible open deals' p × amount + their deals won already + the scope's share of
    new business (mean creation count × conversion × the scope's share of the pool's amounts)."""
    external = F.owner_of_external_id()
    rows = DealForecast.objects.filter(run=run).values_list("opportunity__external_id", "p", "amount")
    open_part = sum(float(p) * float(a) for ext, p, a in rows if external[ext] in owners)
    closed = float(F.won_between(run.period_start.isoformat(), F.WON_BEFORE, owners))
    pool = run.new_business["pool"]
    amounts = [float(a or 0) for a in pool["amount"]]
    mine = sum(a for a, o in zip(amounts, pool["owner"], strict=True) if o in owners)
    counts = run.new_business["counts"]
    new = (sum(counts) / len(counts)) * run.new_business["q_won"] * mine / len(amounts) if counts else 0.0
    return open_part + closed + new


@pytest.mark.parametrize("who", ["darcel.schlecht", "melvin.marxen"])
def test_a_scope_is_the_visible_deals_plus_the_scopes_new_business(run, who):
    user = _users(who)[who]
    owners = {who} if who == "darcel.schlecht" else S.team("melvin.marxen")
    view = services.scope_forecast(run, user, by="owner")
    assert view["scope"] == "subtree"
    assert view["total"]["expected"] == pytest.approx(_independent_scope(run, owners), rel=1e-9)
    assert {g["key"] for g in view["groups"]} <= owners
    external = F.owner_of_external_id()
    deals = DealForecast.objects.filter(run=run).values_list("opportunity__external_id", flat=True)
    assert view["deals"] == sum(1 for ext in deals if external[ext] in owners)
    assert view["total"]["p10"] <= view["total"]["p50"] <= view["total"]["p90"]


def test_the_managers_scopes_add_up_to_the_company(run):
    users = _users(*F.managers())
    parts = [services.scope_forecast(run, users[m])["total"] for m in F.managers()]
    assert sum(p["expected"] for p in parts) == pytest.approx(run.totals["expected"], rel=1e-9)
    assert sum(p["closed"] for p in parts) == pytest.approx(run.totals["closed"], rel=1e-9)


def test_deal_scores_follow_visibility(run):
    users = _users("darcel.schlecht", "melvin.marxen")
    row = DealForecast.objects.filter(run=run, owner_username="darcel.schlecht").first()
    other = DealForecast.objects.filter(run=run).exclude(owner_username__in=S.team("melvin.marxen")).first()
    assert services.deal_score(row.opportunity, users["darcel.schlecht"]) == row
    assert services.deal_score(row.opportunity_id, users["melvin.marxen"]) == row
    assert services.deal_score(other.opportunity, users["darcel.schlecht"]) is None
    assert services.deal_score(other.opportunity, users["melvin.marxen"]) is None
    assert services.deal_score(other.opportunity, None) == other
    assert services.latest_run(F.PERIOD) == run


def test_a_past_forecast_uses_a_model_of_its_time(stored, db):
    active = WinModelVersion.objects.get(pk=stored.model_id)
    run = ForecastRun.objects.get(pk=stored.run_id)
    assert pd.Timestamp(active.cutoff) > pd.Timestamp(F.AS_OF, tz="UTC")
    assert run.model_id != active.pk and not run.model.is_active
    assert pd.Timestamp(run.model.cutoff) == pd.Timestamp(F.AS_OF, tz="UTC")
    again = services.run_forecast(period="2017-11", as_of=F.AS_OF, draws=200)
    assert again.model_id == run.model_id  # reused, not trained again
    assert again.period_kind == "month" and again.totals["closed"] == pytest.approx(
        float(F.won_between("2017-11-01", F.WON_BEFORE)), abs=0.01)


def test_the_default_period_is_the_quarter_of_as_of(stored, db):
    run = services.run_forecast(as_of="2017-08-20", draws=200)
    assert (run.period, str(run.period_start), str(run.period_end)) == ("2017-Q3", "2017-07-01", "2017-10-01")
    assert services.run_forecast(period="month", as_of="2017-08-20", draws=200).period == "2017-08"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"period": "2017-13"}, "expected a month like 2017-11 or a quarter like 2017-Q4"),
    ({"period": "Q4"}, "expected a month like 2017-11 or a quarter like 2017-Q4"),
    ({"as_of": "yesterday"}, "as_of 'yesterday': expected a date"),
    ({"draws": 0}, "draws 0"),
])
def test_bad_input_is_a_clear_error(stored, db, kwargs, message):
    with pytest.raises(ForecastError, match=re.escape(message)):
        services.run_forecast(**kwargs)


def test_bad_slice_is_a_clear_error(run):
    with pytest.raises(ForecastError, match="by 'stage': expected one of owner, team, region, product"):
        services.scope_forecast(run, None, by="stage")


def test_no_data_is_a_clear_error(db):
    from revcast.pipeline.models import OpportunityFieldHistory

    OpportunityFieldHistory.objects.all().delete()
    with pytest.raises(ForecastError, match="no data"):
        services.run_forecast(period="2017-Q4", as_of="2017-10-01")
    with pytest.raises(ForecastError, match="no data"):
        services.train_model()


def test_a_backtest_is_stored_with_the_actuals(stored, db):
    bt = services.run_backtest("quarter", "start", "2017-07-01", "2017-09-30", seed=0)
    bt.refresh_from_db()
    assert (bt.period_kind, bt.at, str(bt.start), str(bt.end)) == ("quarter", "start", "2017-07-01", "2017-10-01")
    [row] = bt.result["periods"]
    assert row["period"] == "2017-Q3"
    assert row["actual"] == pytest.approx(float(F.won_between("2017-07-01", "2017-10-01")), abs=0.01)
    assert set(bt.result["summary"]) >= {"revcast", "weighted_pipeline", "seasonal_naive"}
    assert set(bt.result["summary"]["revcast"]) == {"mape", "bias", "coverage"}
    with pytest.raises(ForecastError, match="from 2017-09-30 is after to 2017-07-01"):
        services.run_backtest("quarter", "start", "2017-09-30", "2017-07-01")
