"""Grouping and filtering by custom fields (values in the opportunity's ``custom`` JSON)."""

from __future__ import annotations

import pandas as pd
import pytest

from revcast.core.models import CustomField, Picklist, PicklistValue
from revcast.pipeline.models import Opportunity
from revcast.reporting.registry import run_report
from tests.reporting import expected as E
from tests.reporting.support import assert_mapping, assert_rows, column_names

pytestmark = pytest.mark.usefixtures("maven")


def _set_custom(df, column: str, key: str) -> None:
    """Write df[column] into each opportunity's custom[key] (rows with None keep no value), one update per value."""
    ids_of: dict[tuple[type, object], list[str]] = {}
    for oid, value in zip(df["external_id"], df[column], strict=True):
        if value is not None:
            ids_of.setdefault((type(value), value), []).append(oid)
    for (_, value), ids in ids_of.items():
        updated = Opportunity.objects.filter(external_id__in=ids).update(custom={key: value})
        assert updated == len(ids)


@pytest.fixture
def deal_type(maven):
    """deal_type: Won deals in the first half by external_id are "new", the other Won deals "renewal";
    every Lost deal is "new" (bookings must ignore them); open deals have no deal_type."""
    picklist = Picklist.objects.create(key="deal_type", label_en="Deal type")
    for i, value in enumerate(("new", "renewal")):
        PicklistValue.objects.create(picklist=picklist, value=value, label_en=value.title(), order=i)
    CustomField.objects.create(object="opportunity", key="deal_type", label_en="Deal type", type="picklist",
                               picklist=picklist)
    df = E.deals()
    won_ids = sorted(df.loc[df["stage"] == "Won", "external_id"])
    first_half = set(won_ids[: len(won_ids) // 2])
    df["deal_type"] = None
    df.loc[df["stage"] == "Won", "deal_type"] = "renewal"
    df.loc[df["external_id"].isin(first_half), "deal_type"] = "new"
    df.loc[df["stage"] == "Lost", "deal_type"] = "new"
    _set_custom(df, "deal_type", "deal_type")
    return df


def test_bookings_by_custom_picklist(deal_type):
    result = run_report("bookings", by=["custom.deal_type"])

    assert column_names(result) == ["custom.deal_type", "count", "amount"]
    assert result.columns[0].label == "Deal type"
    exp = E.bookings(deal_type, ["custom.deal_type"])
    assert [r[:2] for r in exp["rows"]] == [["new", 2119], ["renewal", 2119]]
    assert_rows(result.rows, exp["rows"])
    assert_mapping(result.meta["totals"], exp["totals"])


def test_bookings_where_custom_picklist(deal_type):
    result = run_report("bookings", by=["quarter"], where=["custom.deal_type=new"])

    exp = E.bookings(deal_type[deal_type["deal_type"] == "new"], ["quarter"])
    assert_rows(result.rows, exp["rows"])
    assert_mapping(result.meta["totals"], exp["totals"])


def test_custom_dimension_with_another_one(deal_type):
    result = run_report("bookings", by=["region", "custom.deal_type"], date_from="2017-04-01")

    exp = E.bookings(E.in_period(deal_type, "closed_on", "2017-04-01"), ["region", "custom.deal_type"])
    assert_rows(result.rows, exp["rows"])


def test_win_rate_by_custom_field_and_deals_without_a_value(deal_type):
    won_without = deal_type[(deal_type["stage"] == "Won")].sort_values("external_id")["external_id"][-100:]
    Opportunity.objects.filter(external_id__in=list(won_without)).update(custom={})
    deal_type.loc[deal_type["external_id"].isin(won_without), "deal_type"] = None

    result = run_report("win-rate", by=["custom.deal_type"])
    missing = run_report("bookings", by=["region"], where=["custom.deal_type="])

    exp = E.win_rate(deal_type, ["custom.deal_type"])
    assert exp["rows"][-1][:3] == [None, 100, 0]
    assert_rows(result.rows, exp["rows"])
    assert_rows(missing.rows, E.bookings(deal_type[deal_type["deal_type"].isna()], ["region"])["rows"])


def test_pipeline_where_custom_value_nobody_has(deal_type):
    assert run_report("pipeline", where=["custom.deal_type=new"]).rows == []


@pytest.fixture
def seats(maven):
    """A number field: Won deals get seats 1, 2, 3, 12 or 2.5 in turn by external_id; other deals none."""
    CustomField.objects.create(object="opportunity", key="seats", label_en="Seats", type="number")
    df = E.deals()
    won_ids = sorted(df.loc[df["stage"] == "Won", "external_id"])
    cycle = (1, 2, 3, 12, 2.5)
    value_of = {oid: cycle[i % len(cycle)] for i, oid in enumerate(won_ids)}
    df["seats"] = pd.Series([value_of.get(oid) for oid in df["external_id"]], index=df.index, dtype=object)
    _set_custom(df, "seats", "seats")
    # The grouping value is the field's text, as in every other dimension (dimension columns are strings).
    df["seats_label"] = pd.Series([None if v is None else str(v) for v in df["seats"]], index=df.index, dtype=object)
    return df


def test_bookings_by_custom_number_field(seats):
    result = run_report("bookings", by=["custom.seats"])

    assert result.columns[0].type == "string"
    exp = E.bookings(seats.assign(**{"custom.seats": seats["seats_label"]}), ["custom.seats"])
    assert [r[0] for r in exp["rows"]] == ["1", "12", "2", "2.5", "3"]
    assert_rows(result.rows, exp["rows"])


@pytest.mark.parametrize("value, expected_value", [("2", 2), ("2.0", 2), ("2.5", 2.5), ("12", 12)])
def test_bookings_where_custom_number_field(seats, value, expected_value):
    result = run_report("bookings", by=["region"], where=[f"custom.seats={value}"])

    keep = seats["seats"].map(lambda v: v is not None and v == expected_value)
    exp = E.bookings(seats[keep], ["region"])
    assert_rows(result.rows, exp["rows"])
    assert_mapping(result.meta["totals"], exp["totals"])


def test_inactive_custom_field_is_not_a_dimension(deal_type):
    from revcast.reporting.params import ReportError

    CustomField.objects.filter(key="deal_type").update(active=False)
    with pytest.raises(ReportError, match="deal_type"):
        run_report("bookings", by=["custom.deal_type"])


@pytest.fixture
def account_size(maven):
    """An account custom field: "large" for accounts of 5,000 employees or more, else "small" (accounts.csv)."""
    from revcast.customers.models import Account

    CustomField.objects.create(object="account", key="size_band", label_en="Size band", type="text")
    raw = E.accounts()
    band = {a: ("large" if int(n) >= 5000 else "small") for a, n in zip(raw["account"], raw["employees"], strict=True)}
    for value in ("large", "small"):
        names = [a for a, b in band.items() if b == value]
        assert Account.objects.filter(name__in=names).update(custom={"size_band": value}) == len(names)
    df = E.deals()
    df["size_band"] = pd.Series([band.get(a) for a in df["account"]], index=df.index, dtype=object)
    return df


def test_group_by_account_custom_field(account_size):
    bookings = run_report("bookings", by=["custom.size_band", "region"])
    pipeline = run_report("pipeline", by=["custom.size_band"])

    assert bookings.columns[0].label == "Size band"
    assert_rows(bookings.rows, E.bookings(account_size, ["custom.size_band", "region"])["rows"])
    exp = E.pipeline(account_size, ["custom.size_band"])
    assert exp["rows"][-1][0] is None  # open deals without an account
    assert_rows(pipeline.rows, exp["rows"])


def test_where_account_custom_field(account_size):
    result = run_report("win-rate", by=["quarter"], where=["custom.size_band=large"])

    exp = E.win_rate(account_size[account_size["size_band"] == "large"], ["quarter"])
    assert_rows(result.rows, exp["rows"])
    assert_mapping(result.meta["totals"], exp["totals"])
