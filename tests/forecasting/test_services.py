"""The forecasting app's storage: the adapter's static columns, model versions, forecast snapshots, scopes."""

from __future__ import annotations

import csv

import pytest
from django.db import IntegrityError, transaction

from revcast.forecasting.adapter import load_tables
from revcast.forecasting.models import WinModelVersion
from tests.api import support as S
from tests.conftest import MAVEN_DIR


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
