"""Open pipeline: count, amount and probability-weighted amount of open deals, against the raw CSV files."""

from __future__ import annotations

from decimal import Decimal

import pytest

from revcast.reporting.registry import run_report
from tests.reporting import expected as E
from tests.reporting.support import assert_grouped, assert_mapping, assert_rows, column_names

pytestmark = pytest.mark.usefixtures("maven")


def test_by_stage_is_the_default():
    result = run_report("pipeline")

    assert column_names(result) == ["stage", "count", "amount", "weighted_amount"]
    assert [c.type for c in result.columns] == ["string", "integer", "money", "money"]
    exp = E.pipeline(E.deals(), ["stage"])
    assert [r[:2] for r in result.rows] == [["Prospecting", 500], ["Engaging", 1589]]
    assert_rows(result.rows, exp["rows"])
    assert_mapping(result.meta["totals"], exp["totals"])


def test_weighted_is_amount_times_stage_probability():
    df = E.deals()
    result = run_report("pipeline")

    for stage, percent in (("Prospecting", 10), ("Engaging", 40)):
        amount = int(df.loc[df["stage"] == stage, "amount"].sum())
        row = next(r for r in result.rows if r[0] == stage)
        assert row[2] == Decimal(amount).quantize(Decimal("0.01"))
        assert row[3] == (Decimal(amount) * percent / 100).quantize(Decimal("0.01"))


@pytest.mark.parametrize(
    "by",
    [["owner"], ["region"], ["product"], ["team"], ["region", "stage"], ["stage", "region"], ["account"],
     ["industry"], ["country"]],
    ids=lambda by: "+".join(by),
)
def test_grouped(by):
    assert_grouped("pipeline", by, ["count", "amount", "weighted_amount"], E.pipeline)


def test_where_stage_engaging():
    result = run_report("pipeline", by=["region"], where=["stage=Engaging"])

    df = E.deals()
    exp = E.pipeline(df[df["stage"] == "Engaging"], ["region"])
    assert_rows(result.rows, exp["rows"])
    assert result.meta["totals"]["count"] == 1589


def test_where_closed_stage_gives_nothing():
    result = run_report("pipeline", where=["stage=Won"])

    assert result.rows == []
    assert result.meta["totals"]["count"] == 0


def test_where_empty_value_matches_deals_without_an_account():
    result = run_report("pipeline", by=["stage"], where=["account="])

    df = E.deals()
    exp = E.pipeline(df[df["account"].isna()], ["stage"])
    assert exp["totals"]["count"] == 337 + 1088
    assert_rows(result.rows, exp["rows"])
