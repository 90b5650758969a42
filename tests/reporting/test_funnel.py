"""Cohort funnel (deals reaching each stage) against the raw CSV files."""

from __future__ import annotations

import pytest

from revcast.reporting.params import ReportError
from revcast.reporting.registry import run_report
from tests.reporting import expected as E
from tests.reporting.support import assert_grouped, assert_mapping, assert_rows, column_names

pytestmark = pytest.mark.usefixtures("maven")


def _assert_groups(actual, expected):
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected, strict=True):
        assert_mapping(a, e)


def test_whole_data_set():
    result = run_report("funnel")

    assert column_names(result) == ["stage", "reached", "conversion", "cumulative"]
    assert [c.type for c in result.columns] == ["string", "integer", "percent", "percent"]
    assert [r[:2] for r in result.rows] == [["Prospecting", 8800], ["Engaging", 8300], ["Won", 4238]]
    assert result.rows[0][2] is None
    assert result.rows[1][2] == pytest.approx(8300 / 8800, abs=1e-12)
    assert result.rows[2][2] == pytest.approx(4238 / 8300, abs=1e-12)
    assert result.rows[2][3] == pytest.approx(4238 / 8800, abs=1e-12)
    exp = E.funnel(E.deals())
    assert_rows(result.rows, exp["rows"])
    assert_mapping(result.meta["totals"], exp["totals"])
    assert result.meta["totals"]["win_rate"] == pytest.approx(4238 / 6711, abs=1e-12)
    _assert_groups(result.meta["groups"], exp["groups"])


@pytest.mark.parametrize("by", [["region"], ["owner"], ["product"], ["series", "region"]],
                         ids=lambda by: "+".join(by))
def test_grouped(by):
    result, exp = assert_grouped("funnel", by, ["stage", "reached", "conversion", "cumulative"], E.funnel)
    _assert_groups(result.meta["groups"], exp["groups"])


@pytest.mark.parametrize("cohort", [None, "created", "engaged"])
def test_by_region_for_a_2017_q1_cohort(cohort):
    options = {"cohort": cohort} if cohort else {}
    result = run_report("funnel", by=["region"], date_from="2017-01-01", date_to="2017-03-31", options=options)

    field = "engaged_on" if cohort == "engaged" else "created_on"
    assert result.meta["date_field"] == field
    cohort_df = E.in_period(E.deals(), field, "2017-01-01", "2017-03-31")
    exp = E.funnel(cohort_df, ["region"], field)
    assert exp["totals"]["cohort"] > 0
    assert_rows(result.rows, exp["rows"])
    assert_mapping(result.meta["totals"], exp["totals"])
    _assert_groups(result.meta["groups"], exp["groups"])


def test_by_created_quarter_puts_deals_without_a_date_last():
    result = run_report("funnel", by=["quarter"])

    exp = E.funnel(E.deals(), ["quarter"])
    assert result.rows[-3][:3] == [None, "Prospecting", 500]
    assert_rows(result.rows, exp["rows"])
    _assert_groups(result.meta["groups"], exp["groups"])


def test_where_filters_the_cohort():
    result = run_report("funnel", by=["region"], where=["product=GTX Pro"])

    df = E.deals()
    exp = E.funnel(df[df["product"] == "GTX Pro"], ["region"])
    assert_rows(result.rows, exp["rows"])


@pytest.mark.parametrize("by", [["stage"], ["region", "stage"]])
def test_grouping_by_stage_is_refused(by):
    with pytest.raises(ReportError, match="stage"):
        run_report("funnel", by=by)


def test_unknown_cohort_option_is_refused():
    with pytest.raises(ReportError, match="cohort"):
        run_report("funnel", options=["cohort=closed"])


def test_where_quarter_equals_the_same_period():
    by_where = run_report("funnel", by=["region"], where=["quarter=2017-Q1"])
    by_period = run_report("funnel", by=["region"], date_from="2017-01-01", date_to="2017-03-31")

    assert by_where.rows == by_period.rows
    assert by_where.meta["totals"] == by_period.meta["totals"]


def test_where_empty_quarter_selects_the_deals_without_a_date():
    """Grouping by quarter yields a group without a value (None): the 500 Prospecting deals, which have
    no created date. dimensions.apply_filters documents that "the empty value matches records without a
    value", so --where quarter= must select exactly that group rather than refuse the empty label."""
    result = run_report("funnel", where=["quarter="])

    df = E.deals()
    exp = E.funnel(df[df["created_on"].isna()])
    assert exp["totals"]["cohort"] == 500
    assert_rows(result.rows, exp["rows"])


def test_cli_cohort_option():
    from tests.reporting.support import as_json_rows, cli_json

    data = cli_json("funnel", "--by", "region", "--from", "2017-01-01", "--to", "2017-03-31",
                    "--option", "cohort=engaged")

    assert data["meta"]["options"] == {"cohort": "engaged"}
    exp = E.funnel(E.in_period(E.deals(), "engaged_on", "2017-01-01", "2017-03-31"), ["region"], "engaged_on")
    assert_rows(data["rows"], as_json_rows(exp["rows"]))
