"""Bookings (won amount and count by close date) against the raw CSV files."""

from __future__ import annotations

from decimal import Decimal

import pytest

from revcast.reporting.params import ReportParams
from revcast.reporting.registry import run_report
from tests.reporting import expected as E
from tests.reporting.support import assert_grouped, assert_mapping, assert_rows, column_names

pytestmark = pytest.mark.usefixtures("maven")

YEAR_2017 = {"date_from": "2017-01-01", "date_to": "2017-12-31"}


def test_by_quarter_2017_matches_the_published_numbers():
    result = run_report("bookings", by=["quarter"], **YEAR_2017)

    assert column_names(result) == ["quarter", "count", "amount"]
    assert [c.type for c in result.columns] == ["string", "integer", "money"]
    assert [(r[0], r[2]) for r in result.rows] == [
        ("2017-Q1", Decimal("1134672.00")),
        ("2017-Q2", Decimal("3086111.00")),
        ("2017-Q3", Decimal("2982255.00")),
        ("2017-Q4", Decimal("2802496.00")),
    ]
    exp = E.bookings(E.in_period(E.deals(), "closed_on", "2017-01-01", "2017-12-31"), ["quarter"])
    assert_rows(result.rows, exp["rows"])
    assert_mapping(result.meta["totals"], exp["totals"])
    assert result.meta["totals"]["amount"] == Decimal("10005534.00")
    assert result.meta["from"] == E.date("2017-01-01") and result.meta["to"] == E.date("2017-12-31")
    assert result.meta["date_field"] == "closed_on"


@pytest.mark.parametrize(
    "by",
    [
        ["month"],
        ["year"],
        ["owner"],
        ["region", "quarter"],
        ["quarter", "region"],
        ["product"],
        ["series"],
        ["team"],
        ["manager"],
        ["account"],
        ["series", "product"],
    ],
    ids=lambda by: "+".join(by),
)
def test_grouped(by):
    assert_grouped("bookings", by, ["count", "amount"], E.bookings)


def test_default_grouping_is_by_close_month():
    result = run_report("bookings")

    assert column_names(result) == ["month", "count", "amount"]
    assert_rows(result.rows, E.bookings(E.deals(), ["month"])["rows"])


def test_comma_separated_by_equals_repeated_by():
    a = run_report("bookings", by=["region,quarter"])
    b = run_report("bookings", by=["region", "quarter"])

    assert a.rows == b.rows
    assert column_names(a) == ["region", "quarter", "count", "amount"]


def test_period_bounds_are_inclusive():
    # 2017-03-01 is the first close date of the data set, 2017-12-31 the last.
    result = run_report("bookings", by=["month"], date_from="2017-03-01", date_to="2017-03-01")

    df = E.deals()
    exp = E.bookings(df[df["closed_on"] == "2017-03-01"], ["month"])
    assert len(exp["rows"]) == 1 and exp["rows"][0][1] > 0
    assert_rows(result.rows, exp["rows"])


def test_where_region():
    result = run_report("bookings", by=["quarter"], where=["region=East"])

    df = E.deals()
    assert_rows(result.rows, E.bookings(df[df["region"] == "East"], ["quarter"])["rows"])
    assert result.meta["where"] == {"region": ["East"]}


def test_where_product_uses_the_product_table_spelling():
    result = run_report("bookings", by=["owner"], where=["product=GTX Pro"])

    df = E.deals()
    exp = E.bookings(df[df["product"] == "GTX Pro"], ["owner"])
    assert exp["totals"]["count"] > 0
    assert_rows(result.rows, exp["rows"])
    assert_mapping(result.meta["totals"], exp["totals"])


def test_where_repeated_is_or():
    result = run_report("bookings", by=["product", "quarter"], where=["product=GTX Pro", "product=MG Special"])

    df = E.deals()
    exp = E.bookings(df[df["product"].isin(["GTX Pro", "MG Special"])], ["product", "quarter"])
    assert {r[0] for r in result.rows} == {"GTX Pro", "MG Special"}
    assert_rows(result.rows, exp["rows"])


def test_where_across_dimensions_is_and():
    result = run_report("bookings", by=["owner"], where=["region=West", "series=GTX", "series=MG"])

    df = E.deals()
    sub = df[(df["region"] == "West") & df["series"].isin(["GTX", "MG"])]
    assert_rows(result.rows, E.bookings(sub, ["owner"])["rows"])


def test_where_quarter_filters_on_close_date():
    result = run_report("bookings", where=["quarter=2017-Q2"])  # default grouping: month

    exp = E.bookings(E.in_period(E.deals(), "closed_on", "2017-04-01", "2017-06-30"), ["month"])
    assert [r[0] for r in result.rows] == ["2017-04", "2017-05", "2017-06"]
    assert_rows(result.rows, exp["rows"])
    assert result.meta["totals"]["amount"] == Decimal("3086111.00")


def test_where_two_quarters_and_a_period():
    result = run_report("bookings", by=["quarter"], where=["quarter=2017-Q1", "quarter=2017-q4"],
                        date_from="2017-02-15", date_to="2017-11-30")

    df = E.in_period(E.deals(), "closed_on", "2017-02-15", "2017-11-30")
    keep = df["closed_on"].dt.quarter.isin([1, 4])
    assert_rows(result.rows, E.bookings(df[keep], ["quarter"])["rows"])


def test_where_month_and_year():
    month = run_report("bookings", by=["region"], where=["month=2017-07"])
    year = run_report("bookings", by=["region"], where=["year=2017"])

    df = E.deals()
    assert_rows(month.rows, E.bookings(E.in_period(df, "closed_on", "2017-07-01", "2017-07-31"), ["region"])["rows"])
    assert_rows(year.rows, E.bookings(df, ["region"])["rows"])


def test_no_match_gives_no_rows_and_zero_totals():
    result = run_report("bookings", by=["quarter"], where=["region=Nowhere"])

    assert result.rows == []
    assert result.meta["totals"] == {"count": 0, "amount": Decimal(0)}


def test_params_object_and_keyword_arguments_agree():
    params = ReportParams.parse(by=["owner"], where=["region=Central"], date_from="2017-06-01")
    assert run_report("bookings", params).rows == run_report(
        "bookings", by=["owner"], where=["region=Central"], date_from="2017-06-01").rows
