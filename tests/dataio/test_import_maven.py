"""The Maven data set after the session import: every record checked against the raw CSV files.

Expected values are computed from the raw files with the csv module (see support.py), never from revcast.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal

import pytest

from tests.dataio.support import MAVEN_DIR, raw_rows, stored_by, username

PIPELINE = raw_rows("sales_pipeline.csv")
ACCOUNTS = raw_rows("accounts.csv")
PRODUCTS = raw_rows("products.csv")
TEAMS = raw_rows("sales_teams.csv")
LIST_PRICE = {p["product"]: Decimal(p["sales_price"]) for p in PRODUCTS}
PRODUCT_NAME = {"GTXPro": "GTX Pro"}  # the pipeline file spells one product differently from products.csv


def _date(text: str) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def _midnight_utc(text: str) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(0, 0), tzinfo=dt.UTC)


def expected_amount(row: dict[str, str]) -> Decimal:
    if row["deal_stage"] == "Won":
        return Decimal(row["close_value"])
    assert row["deal_stage"] in ("Engaging", "Prospecting", "Lost"), row
    return LIST_PRICE[PRODUCT_NAME.get(row["product"], row["product"])]


pytestmark = pytest.mark.usefixtures("maven")


# ------------------------------------------------------------------ counts


def test_raw_files_are_the_published_data_set():
    # Guards the expectations below: the numbers the brief quotes hold for the raw files.
    assert len(PIPELINE) == 8800
    assert len(ACCOUNTS) == 85
    assert len(PRODUCTS) == 7
    assert sum(int(r["close_value"]) for r in PIPELINE if r["deal_stage"] == "Won") == 10_005_534


def test_record_counts():
    from revcast.customers.models import Account
    from revcast.org.models import Region, Team, User
    from revcast.pipeline.models import Opportunity, Product

    agents = {r["sales_agent"] for r in TEAMS}
    managers = {r["manager"] for r in TEAMS} - agents
    offices = {r["regional_office"] for r in TEAMS}
    assert (len(agents), len(managers), len(offices)) == (35, 6, 3)

    assert Opportunity.objects.count() == len(PIPELINE) == 8800
    assert Account.objects.count() == len(ACCOUNTS) == 85
    assert Product.objects.count() == len(PRODUCTS) == 7
    assert User.objects.filter(role="rep").count() == len(agents)
    assert User.objects.filter(role="manager").count() == len(managers)
    assert Region.objects.count() == len(offices)
    assert Team.objects.count() == len(managers)


def test_users_teams_regions_match_sales_teams_csv():
    from revcast.org.models import Team, User

    users = {u.username: u for u in User.objects.select_related("manager", "team", "region")}
    for row in TEAMS:
        rep = users[username(row["sales_agent"])]
        first, *_, last = row["sales_agent"].split()
        assert (rep.first_name, rep.last_name, rep.role) == (first, last, "rep")
        assert rep.manager.username == username(row["manager"])
        assert rep.team.name == f"{row['manager']} team"
        assert rep.region.name == row["regional_office"]
    office_of_manager = {r["manager"]: r["regional_office"] for r in TEAMS}
    for manager, office in office_of_manager.items():
        user = users[username(manager)]
        assert user.role == "manager"
        assert user.region.name == office
        team = Team.objects.select_related("lead", "region").get(name=f"{manager} team")
        assert team.lead == user
        assert team.region.name == office
    assert users["darcel.schlecht"].get_full_name() == "Darcel Schlecht"
    assert "mei-mei.johns" in users


# ------------------------------------------------------------------ opportunities


def test_every_opportunity_matches_the_csv():
    from revcast.pipeline.models import Opportunity

    stored = stored_by(
        Opportunity,
        "external_id",
        "stage__name",
        "owner__username",
        "product__name",
        "account__name",
        "amount",
        "currency",
        "created_on",
        "engaged_on",
        "expected_close_on",
        "closed_on",
    )
    assert len(stored) == len(PIPELINE)
    mismatches = []
    for row in PIPELINE:
        expected = (
            row["deal_stage"],
            username(row["sales_agent"]),
            PRODUCT_NAME.get(row["product"], row["product"]),
            row["account"] or None,
            expected_amount(row),
            "USD",
            _date(row["engage_date"]),
            _date(row["engage_date"]),
            _date(row["close_date"]),
            _date(row["close_date"]),
        )
        if stored[row["opportunity_id"]] != expected:
            mismatches.append((row["opportunity_id"], stored[row["opportunity_id"]], expected))
    assert mismatches == []


def test_examples_from_the_brief():
    from revcast.pipeline.models import Opportunity

    gtx_pro = [r for r in PIPELINE if r["product"] == "GTXPro"]
    assert len(gtx_pro) == 1480
    assert Opportunity.objects.filter(product__name="GTX Pro").count() == 1480
    darcel = sum(1 for r in PIPELINE if r["sales_agent"] == "Darcel Schlecht")
    assert Opportunity.objects.filter(owner__username="darcel.schlecht").count() == darcel
    no_account = sum(1 for r in PIPELINE if r["account"] == "")
    assert no_account > 0
    assert Opportunity.objects.filter(account__isnull=True).count() == no_account


def test_won_amount_total_equals_close_value_sum():
    from django.db.models import Sum

    from revcast.pipeline.models import Opportunity

    expected = sum(Decimal(r["close_value"]) for r in PIPELINE if r["deal_stage"] == "Won")
    assert expected == Decimal(10_005_534)
    total = Opportunity.objects.filter(stage__name="Won").aggregate(s=Sum("amount"))["s"]
    assert total == expected


def test_stage_probability_forecast_and_reached_stage():
    from revcast.pipeline.models import Opportunity

    expected_stage_props = {  # from the stages of the mapping
        "Prospecting": (10, "pipeline", "Prospecting"),
        "Engaging": (40, "pipeline", "Engaging"),
        "Won": (100, "closed", "Won"),
        "Lost": (0, "omitted", "Engaging"),  # a lost deal keeps the furthest open stage it reached
    }
    stored = stored_by(
        Opportunity, "external_id", "stage__name", "probability", "forecast_category", "reached_stage__name"
    )
    for row in PIPELINE:
        stage = row["deal_stage"]
        assert stored[row["opportunity_id"]] == (stage, *expected_stage_props[stage]), row
    lost = sum(1 for r in PIPELINE if r["deal_stage"] == "Lost")
    assert (
        Opportunity.objects.filter(stage__name="Lost", reached_stage__name="Engaging").count() == lost == 2473
    )


def test_stage_history_follows_engage_and_close_dates():
    from revcast.pipeline.models import OpportunityFieldHistory

    history = defaultdict(list)
    for ext, old, new, at in (
        OpportunityFieldHistory.objects.filter(field="stage")
        .order_by("changed_at", "id")
        .values_list("opportunity__external_id", "old_value", "new_value", "changed_at")
    ):
        history[ext].append((old, new, at))
    assert len(history) == len(PIPELINE)
    wrong = []
    for row in PIPELINE:
        got = history[row["opportunity_id"]]
        stage = row["deal_stage"]
        if stage == "Prospecting":
            # no dates in the source: one entry into Prospecting, at import time
            ok = [(o, n) for o, n, _ in got] == [(None, "Prospecting")]
        elif stage == "Engaging":
            ok = got == [(None, "Engaging", _midnight_utc(row["engage_date"]))]
        else:
            ok = got == [
                (None, "Engaging", _midnight_utc(row["engage_date"])),
                ("Engaging", stage, _midnight_utc(row["close_date"])),
            ]
        if not ok:
            wrong.append((row["opportunity_id"], stage, got))
    assert wrong == []
    # A won deal never shows a 'Lost' entry, a lost deal never a 'Won' one.
    won = {r["opportunity_id"] for r in PIPELINE if r["deal_stage"] == "Won"}
    lost = {r["opportunity_id"] for r in PIPELINE if r["deal_stage"] == "Lost"}
    assert not any(n == "Lost" for ext in won for _, n, _ in history[ext])
    assert not any(n == "Won" for ext in lost for _, n, _ in history[ext])


def test_one_won_deal_history_in_full():
    """The list price until the close, then the close value and the expected close date, at the instant of
    the close and right after the stage change (ordered by changed_at, then id)."""
    from revcast.pipeline.models import OpportunityFieldHistory

    row = next(r for r in PIPELINE if r["opportunity_id"] == "1C1I7A6R")
    assert row["deal_stage"] == "Won"
    engaged, closed = _midnight_utc(row["engage_date"]), _midnight_utc(row["close_date"])
    list_price = LIST_PRICE[PRODUCT_NAME.get(row["product"], row["product"])]
    assert list_price != Decimal(row["close_value"])
    rows = list(
        OpportunityFieldHistory.objects.filter(opportunity__external_id="1C1I7A6R")
        .order_by("changed_at", "id")
        .values_list("field", "old_value", "new_value", "changed_at")
    )
    assert rows == [
        ("amount", None, f"{list_price:.2f}", engaged),
        ("owner", None, username(row["sales_agent"]), engaged),
        ("stage", None, "Engaging", engaged),
        ("forecast_category", None, "pipeline", engaged),
        ("stage", "Engaging", "Won", closed),
        ("forecast_category", "pipeline", "closed", closed),
        ("amount", f"{list_price:.2f}", "1054.00", closed),
        ("expected_close_on", None, "2017-03-01", closed),
    ]


def test_amount_and_expected_close_history_follow_the_close_date():
    """For every deal, from the raw CSV: the amount at creation is the list price for closed deals (the
    close value is known only at the close), an expected close date appears only at the close date."""
    from revcast.pipeline.models import OpportunityFieldHistory

    history = defaultdict(list)
    for ext, field, old, new, at in (
        OpportunityFieldHistory.objects.filter(field__in=("amount", "expected_close_on"))
        .order_by("changed_at", "id")
        .values_list("opportunity__external_id", "field", "old_value", "new_value", "changed_at")
    ):
        history[ext].append((field, old, new, at))
    wrong = []
    for row in PIPELINE:
        list_price = f"{LIST_PRICE[PRODUCT_NAME.get(row['product'], row['product'])]:.2f}"
        final = f"{expected_amount(row):.2f}"
        got = history[row["opportunity_id"]]
        if row["deal_stage"] in ("Prospecting", "Engaging"):
            # open: the amount (the list price) is known from creation, there is no expected close date
            ok = [(f, o, n) for f, o, n, _ in got] == [("amount", None, final)]
            ok = ok and (row["engage_date"] == "" or got[0][3] == _midnight_utc(row["engage_date"]))
        else:
            engaged, closed = _midnight_utc(row["engage_date"]), _midnight_utc(row["close_date"])
            expected = [("amount", None, list_price, engaged)]
            if final != list_price:
                expected.append(("amount", list_price, final, closed))
            expected.append(("expected_close_on", None, row["close_date"], closed))
            ok = got == expected
        if not ok:
            wrong.append((row["opportunity_id"], row["deal_stage"], got))
    assert wrong == []
    won_at_list_price = sum(
        1 for r in PIPELINE if r["deal_stage"] == "Won" and expected_amount(r) == LIST_PRICE[
            PRODUCT_NAME.get(r["product"], r["product"])]
    )
    changes = OpportunityFieldHistory.objects.filter(field="amount", old_value__isnull=False).count()
    assert changes == sum(1 for r in PIPELINE if r["deal_stage"] == "Won") - won_at_list_price


def test_won_deals_as_of_the_day_before_the_close_show_no_outcome():
    """The as-of state a forecast reads on the day before each won deal's close: the amount is the list
    price and there is no expected close date (expectations from the raw CSV files with pandas)."""
    import pandas as pd

    from revcast.forecasting.adapter import load_tables
    from revcast.forecasting.engine.asof import state_at
    from revcast.pipeline.models import Opportunity

    deals = pd.read_csv(MAVEN_DIR / "sales_pipeline.csv", dtype=str, keep_default_na=False)
    products = pd.read_csv(MAVEN_DIR / "products.csv", dtype=str)
    prices = products.set_index("product")["sales_price"].astype(float)
    won = deals[deals["deal_stage"] == "Won"].copy()
    won["list_price"] = won["product"].replace(PRODUCT_NAME).map(prices)
    assert won["list_price"].notna().all() and len(won) == 4238

    ids = dict(Opportunity.objects.values_list("external_id", "pk"))
    won["opportunity_id"] = won["opportunity_id"].map(ids)
    history = load_tables().history
    close_at = history["opportunity_id"].map(won.set_index("opportunity_id")["close_date"])
    history = history[close_at.notna()].assign(close_at=pd.to_datetime(close_at.dropna(), utc=True))
    # Each deal's history up to the end of the day before its close, read by one state_at call: the same
    # state as state_at(history, close - 1 day) per deal, since state_at only reads rows dated up to t.
    cut = history[history["changed_at"] <= history["close_at"] - pd.Timedelta(days=1)]
    state = state_at(cut.drop(columns="close_at"), pd.Timestamp("2100-01-01", tz="UTC"))
    state = state.set_index("opportunity_id").reindex(won["opportunity_id"])
    assert state.index.is_unique and len(state) == 4238
    expected = won.set_index("opportunity_id")["list_price"]
    wrong_amount = state.index[state["amount"] != expected]
    assert list(wrong_amount) == []
    assert state["expected_close_on"].isna().all()
    assert (state["stage"] == "Engaging").all()
    # and on the close date itself the outcome is there: stage Won, the close value, expected close = close
    at_close = history[history["changed_at"] <= history["close_at"]]
    state = state_at(at_close.drop(columns="close_at"), pd.Timestamp("2100-01-01", tz="UTC"))
    state = state.set_index("opportunity_id").reindex(won["opportunity_id"])
    assert (state["stage"] == "Won").all()
    assert (state["amount"] == won.set_index("opportunity_id")["close_value"].astype(float)).all()
    assert (state["expected_close_on"] == pd.to_datetime(won.set_index("opportunity_id")["close_date"])).all()


# ------------------------------------------------------------------ accounts and products


def test_accounts_match_the_csv():
    from revcast.customers.models import Account

    stored = stored_by(
        Account,
        "external_id",
        "name",
        "industry",
        "year_established",
        "annual_revenue",
        "revenue_currency",
        "employees",
        "country",
        "parent__name",
    )
    assert len(stored) == len(ACCOUNTS)
    fixes = {"technolgy": "technology", "Philipines": "Philippines"}
    for row in ACCOUNTS:
        expected = (
            row["account"],
            fixes.get(row["sector"], row["sector"]),
            int(row["year_established"]),
            Decimal(row["revenue"]) * 1_000_000,
            "USD",
            int(row["employees"]),
            fixes.get(row["office_location"], row["office_location"]),
            row["subsidiary_of"] or None,
        )
        assert stored[row["account"]] == expected, row


def test_account_spelling_fixes_and_revenue_scale():
    from revcast.customers.models import Account

    misspelled = [r["account"] for r in ACCOUNTS if r["sector"] == "technolgy"]
    assert len(misspelled) == 12
    assert not Account.objects.filter(industry="technolgy").exists()
    assert set(Account.objects.filter(industry="technology").values_list("name", flat=True)) == set(
        misspelled
    )
    acme = next(r for r in ACCOUNTS if r["account"] == "Acme Corporation")
    assert Account.objects.get(name="Acme Corporation").annual_revenue == Decimal(acme["revenue"]) * 1_000_000
    children = Counter(r["subsidiary_of"] for r in ACCOUNTS if r["subsidiary_of"])
    for parent, n in children.items():
        assert Account.objects.get(name=parent).subsidiaries.count() == n


def test_products_match_the_csv():
    from revcast.pipeline.models import Product

    stored = {p.name: (p.series, p.list_price, p.currency) for p in Product.objects.all()}
    assert stored == {r["product"]: (r["series"], Decimal(r["sales_price"]), "USD") for r in PRODUCTS}


# ------------------------------------------------------------------ the run report


def test_import_run_report(maven):
    run = maven
    assert run.status == "succeeded"
    assert run.issues.count() == 0
    opp = run.counts["opportunities"]
    assert (opp["read"], opp["created"], opp["rejected"]) == (8800, 8800, 0)
    assert run.counts["accounts"]["created"] == 85
    assert run.counts["products"]["created"] == 7
    assert run.counts["sales_teams"]["created"] == 35

    notes = run.notes
    gtx = [n for n in notes if "GTXPro" in n]
    assert len(gtx) == 1 and "GTX Pro" in gtx[0] and "(1480 rows)" in gtx[0]
    derived = Counter(
        r["deal_stage"] for r in PIPELINE if r["deal_stage"] != "Won" and r["close_value"] in ("", "0")
    )
    assert derived == {"Lost": 2473, "Engaging": 1589, "Prospecting": 500}
    for stage, n in derived.items():
        matching = [n_ for n_ in notes if "amount derived from product.list_price" in n_ and stage in n_]
        assert len(matching) == 1, notes
        assert f"({n} rows)" in matching[0]
    assert any("technolgy" in n and "technology" in n and "(12 rows)" in n for n in notes)
    closed = sum(1 for r in PIPELINE if r["close_date"])
    assert closed == 6711
    assert f"opportunities: amount known on close_date; before it product.list_price ({closed} rows)" in notes
    assert f"opportunities: expected_close_on known on close_date; before it no value ({closed} rows)" in notes
