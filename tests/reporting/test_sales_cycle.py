"""Sales cycle (days from engaged to close for won and lost deals) against the raw CSV files."""

from __future__ import annotations

import pandas as pd
import pytest

from revcast.pipeline.models import Opportunity
from revcast.reporting.registry import run_report
from tests.reporting import expected as E
from tests.reporting.support import assert_grouped, assert_mapping, assert_rows, column_names

pytestmark = pytest.mark.usefixtures("maven")


def test_overall():
    result = run_report("sales-cycle")

    assert column_names(result) == ["outcome", "count", "mean_days", "median_days", "p90_days"]
    exp = E.sales_cycle(E.deals())
    assert [r[:2] for r in result.rows] == [["won", 4238], ["lost", 2473]]
    assert_rows(result.rows, exp["rows"])
    assert_mapping(result.meta["totals"], exp["totals"])
    assert result.meta["missing_start"] == 0
    assert result.meta["start_field"] == "engaged_on"


@pytest.mark.parametrize("by", [["region"], ["owner"], ["quarter"], ["product", "region"]],
                         ids=lambda by: "+".join(by))
def test_grouped(by):
    measures = ["outcome", "count", "mean_days", "median_days", "p90_days"]
    assert_grouped("sales-cycle", by, measures, E.sales_cycle)


def test_start_created_equals_engaged_in_this_data_set():
    created = run_report("sales-cycle", by=["region"], options=["start=created"])

    assert created.meta["start_field"] == "created_on"
    assert_rows(created.rows, E.sales_cycle(E.deals(), ["region"], "created_on")["rows"])


def test_period_on_close_date():
    result = run_report("sales-cycle", by=["region"], date_from="2017-07-01", date_to="2017-09-30")

    exp = E.sales_cycle(E.in_period(E.deals(), "closed_on", "2017-07-01", "2017-09-30"), ["region"])
    assert_rows(result.rows, exp["rows"])


def test_deals_without_a_start_date_are_counted_as_missing():
    df = E.deals()
    closed = df[df["stage"].isin(["Won", "Lost"])].sort_values("external_id")
    no_start = list(closed["external_id"][::7])  # every 7th closed deal, by id
    Opportunity.objects.filter(external_id__in=no_start).update(engaged_on=None)
    df.loc[df["external_id"].isin(no_start), "engaged_on"] = pd.NaT

    result = run_report("sales-cycle", by=["region"])

    exp = E.sales_cycle(df, ["region"])
    assert result.meta["missing_start"] == exp["missing_start"] == len(no_start)
    assert_rows(result.rows, exp["rows"])
    assert_mapping(result.meta["totals"], exp["totals"])

