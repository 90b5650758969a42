"""Win rate (won / (won + lost) by close date) against the raw CSV files."""

from __future__ import annotations

from decimal import Decimal

import pytest

from revcast.reporting.registry import run_report
from tests.reporting import expected as E
from tests.reporting.support import assert_grouped, assert_mapping, assert_rows, column_names

pytestmark = pytest.mark.usefixtures("maven")


def test_overall():
    result = run_report("win-rate")

    assert column_names(result) == ["won", "lost", "win_rate", "won_amount", "lost_amount"]
    assert [c.type for c in result.columns] == ["integer", "integer", "percent", "money", "money"]
    assert len(result.rows) == 1
    won, lost, rate, won_amount, lost_amount = result.rows[0]
    assert (won, lost) == (4238, 2473)
    assert rate == pytest.approx(4238 / (4238 + 2473), abs=1e-12)
    assert won_amount == Decimal("10005534.00")
    exp = E.win_rate(E.deals())
    assert lost_amount == exp["totals"]["lost_amount"] > 0
    assert_rows(result.rows, exp["rows"])
    assert_mapping(result.meta["totals"], exp["totals"])


def test_lost_amount_is_the_list_price_of_the_product():
    df = E.deals()
    lost = df[df["stage"] == "Lost"]
    by_hand = sum(int(p) for p in lost["list_price"])

    result = run_report("win-rate")

    assert result.rows[0][4] == Decimal(by_hand).quantize(Decimal("0.01"))


@pytest.mark.parametrize(
    "by",
    [["owner"], ["region"], ["product"], ["quarter"], ["month"], ["team"], ["series"], ["region", "quarter"],
     ["account"], ["industry"], ["country"], ["forecast_category"], ["manager"]],
    ids=lambda by: "+".join(by),
)
def test_grouped(by):
    assert_grouped("win-rate", by, ["won", "lost", "win_rate", "won_amount", "lost_amount"], E.win_rate)


def test_by_close_quarter_in_a_period_with_a_filter():
    result = run_report("win-rate", by=["quarter"], date_from="2017-04-01", date_to="2017-09-30",
                        where=["product=GTX Pro", "product=GTK 500", "region=West"])

    df = E.in_period(E.deals(), "closed_on", "2017-04-01", "2017-09-30")
    df = df[df["product"].isin(["GTX Pro", "GTK 500"]) & (df["region"] == "West")]
    exp = E.win_rate(df, ["quarter"])
    assert [r[0] for r in result.rows] == ["2017-Q2", "2017-Q3"]
    assert_rows(result.rows, exp["rows"])
    assert_mapping(result.meta["totals"], exp["totals"])


def test_open_deals_do_not_count():
    result = run_report("win-rate", by=["owner"], where=["stage=Engaging"])

    assert result.rows == []
    assert result.meta["totals"]["win_rate"] is None
