"""Pipeline changes (the waterfall), its deals and slipped deals: against hand-made numbers and pandas.

The hand-built history is described in tests/reporting/changes_fixture.py; the pandas recomputation from
the raw history table in tests/reporting/changes_expected.py.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest

from revcast.reporting.params import ReportError, ReportParams
from revcast.reporting.registry import REPORTS, run_report
from tests.reporting import changes_expected as X
from tests.reporting import changes_fixture as F
from tests.reporting import expected as E
from tests.reporting.support import assert_rows, cli_json, column_names

pytestmark = pytest.mark.usefixtures("maven")

Q1 = ("2019-01-01", "2019-04-01")
Q1_WINDOW = (Q1, Q1[0], "2019-03-31")  # period, first and last day compared


@pytest.fixture
def deals(maven):
    return F.build()


def _run(name: str, user=None, **kwargs):
    return run_report(name, ReportParams.parse(user=user, **kwargs))


def _waterfall(result) -> dict[str, tuple[int, Decimal]]:
    i = [c.name for c in result.columns]
    return {r[i.index("category")]: (r[i.index("deals")], r[i.index("amount")]) for r in result.rows}


def _report_rows(result) -> list[list]:
    return [[r[0], r[2], r[3]] for r in result.rows]


# ---------------------------------------------------------------- the waterfall on the hand-built history


def test_reports_are_registered():
    assert {"pipeline-changes", "pipeline-changes-deals", "slipped-deals"} <= set(REPORTS)


def test_manager_waterfall_matches_the_hand_made_numbers_and_pandas(deals):
    result = _run("pipeline-changes", deals.manager, options=[f"period={F.PERIOD}"])

    assert column_names(result) == ["category", "label", "deals", "amount"]
    assert [c.type for c in result.columns] == ["string", "string", "integer", "money"]
    assert [r[1] for r in result.rows] == ["Pipeline at start", "New", "Pulled in", "Increased", "Decreased",
                                           "Pushed out", "Pulled out", "Won", "Lost", "Pipeline at end"]
    assert_rows(_report_rows(result), X.rows(F.EXPECTED))
    assert_rows(_report_rows(result), X.rows(X.expected_waterfall([F.REP1, F.REP2], *Q1_WINDOW)))
    meta = result.meta
    assert meta["reconciles"] is True and meta["difference"] == 0
    assert meta["identity"] == ("start + new + pulled_in + increased - decreased - pushed_out - pulled_out - won"
                                " - lost = end")
    assert meta["window"]["start"] == dt.date(2019, 1, 1) and meta["window"]["end"] == dt.date(2019, 3, 31)
    assert meta["totals"] == {"start": Decimal("13476.15"), "end": Decimal("6297.05"),
                              "change": Decimal("-7179.10")}
    assert meta["waterfall"]["won"] == {"deals": 5, "amount": Decimal("6350.00")}
    assert X.identity_holds(F.EXPECTED)


def test_company_view_of_a_period_without_maven_deals_is_the_fixture(deals):
    # The system (no user) sees Maven too, but no Maven deal is in 2019-Q1's pipeline or closes then.
    result = _run("pipeline-changes", None, options=["period=2019-Q1"])
    assert_rows(_report_rows(result), X.rows(F.EXPECTED))


def test_a_rep_sees_only_own_deals(deals):
    rep = _run("pipeline-changes", deals.reps[1], options=["period=2019-Q1"])
    manager = _run("pipeline-changes", deals.manager, options=["period=2019-Q1"])

    assert_rows(_report_rows(rep), X.rows(F.EXPECTED_REP1))
    assert_rows(_report_rows(rep), X.rows(X.expected_waterfall([F.REP1], *Q1_WINDOW)))
    assert _waterfall(rep) != _waterfall(manager)
    assert _waterfall(rep)["start"][0] < _waterfall(manager)["start"][0]
    assert rep.meta["reconciles"] is True and rep.meta["as_user"] == F.REP1
    other = _run("pipeline-changes", deals.reps[2], options=["period=2019-Q1"])
    assert_rows(_report_rows(other), X.rows(X.expected_waterfall([F.REP2], *Q1_WINDOW)))
    # Rep 2 cannot see rep 1's deals even when filtering on them.
    assert all(n == 0 for n, _ in _waterfall(_run("pipeline-changes", deals.reps[2], options=["period=2019-Q1"],
                                                  where=[f"owner={F.REP1}"])).values())


def test_by_owner(deals):
    result = _run("pipeline-changes", deals.manager, options=["period=2019-Q1"], by=["owner"])

    assert column_names(result) == ["owner", "category", "label", "deals", "amount"]
    expected = [[owner, *row] for owner in (F.REP1, F.REP2)
                for row in X.rows(X.expected_waterfall([owner], *Q1_WINDOW))]
    assert_rows([[r[0], r[1], r[3], r[4]] for r in result.rows], expected)
    assert_rows(_report_rows(_run("pipeline-changes", deals.manager, options=["period=2019-Q1"])),
                X.rows(F.EXPECTED))


@pytest.mark.parametrize(("period", "start", "end"), [
    ("2019-Q1", "2019-02-01", "2019-02-28"),
    ("2019-02", "2019-02-01", "2019-02-28"),
    ("2019-03", "2019-01-15", "2019-03-31"),
    ("2019-Q1", "2018-12-01", "2019-04-15"),
])
def test_other_windows_and_months_match_pandas(deals, period, start, end):
    first = dt.date.fromisoformat(start)
    result = _run("pipeline-changes", deals.manager, options=[f"period={period}", f"start={start}", f"end={end}"])

    parsed = pd.Period(period, freq="Q" if "Q" in period else "M")
    bounds = (str(parsed.start_time.date()), str((parsed.end_time + pd.Timedelta(days=1)).date()))
    exp = X.expected_waterfall([F.REP1, F.REP2], bounds, start, end)
    assert_rows(_report_rows(result), X.rows(exp))
    assert X.identity_holds(exp) and result.meta["reconciles"] is True
    assert result.meta["window"]["start"] == first


def test_from_and_to_are_start_and_end(deals):
    a = _run("pipeline-changes", deals.manager, options=["period=2019-Q1", "start=2019-02-01", "end=2019-02-28"])
    b = _run("pipeline-changes", deals.manager, options=["period=2019-Q1"], date_from="2019-02-01",
             date_to="2019-02-28")
    assert a.rows == b.rows
    # Without a period, the quarter holding the start day.
    c = _run("pipeline-changes", deals.manager, date_from="2019-01-01")
    assert c.meta["window"]["period"] == "2019-Q1"
    assert_rows(_report_rows(c), X.rows(F.EXPECTED))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"options": ["period=2019-13"]}, "period"),
    ({"options": ["period=Q1"]}, "period"),
    ({"options": ["period=9999-Q4"]}, "supported"),
    ({"options": ["period=2999-Q1"]}, "after today"),
    ({"options": ["period=2019-Q1", "end=9999-12-31"]}, "supported"),
    ({"options": ["period=2019-Q1", "start=2019-03-01", "end=2019-02-01"]}, "before the start"),
    ({"options": ["period=2019-Q1", "start=yesterday"]}, "YYYY-MM-DD"),
    ({"options": ["period=2019-Q1", "start=2019-01-01"], "date_from": "2019-02-01"}, "disagree"),
    ({"options": ["colour=red"]}, "no option"),
    ({"options": ["period=2019-Q1"], "by": ["month"]}, "time"),
    ({"options": ["period=2019-Q1"], "where": ["quarter=2019-Q1"]}, "period"),
])
def test_bad_parameters_are_refused_with_a_message(maven, kwargs, message):
    with pytest.raises(ReportError, match=message):
        _run("pipeline-changes", **kwargs)


def test_cli_json(deals):
    data = cli_json("pipeline-changes", "--option", "period=2019-Q1", "--as", F.MANAGER)

    assert [[r[0], r[2], r[3]] for r in data["rows"]] == [[c, n, float(a)] for c, (n, a) in F.EXPECTED.items()]
    assert data["meta"]["reconciles"] is True and data["meta"]["options"]["period"] == "2019-Q1"


# ---------------------------------------------------------------- the deals behind it


def test_deals_report_lists_each_moving_deal_with_its_categories_and_pushes(deals):
    result = _run("pipeline-changes-deals", deals.manager, options=["period=2019-Q1"])
    names = column_names(result)
    by_deal = {row[names.index("deal")]: row for row in result.rows}

    assert {name.removeprefix("Deal ") for name in by_deal} == set(F.EXPECTED_DEALS)
    for key, (category, pushes_window, pushes_total) in F.EXPECTED_DEALS.items():
        row = by_deal[f"Deal {key}"]
        got = (row[names.index("category")], row[names.index("pushes_window")], row[names.index("pushes_total")])
        assert got == (category, pushes_window, pushes_total), key
    c = by_deal["Deal C"]
    assert c[names.index("amount_start")] == Decimal("3000.00") and c[names.index("amount_end")] == Decimal("3500.00")
    assert c[names.index("amount_change")] == Decimal("500.00")
    assert c[names.index("close_start")] == dt.date(2019, 3, 20) and c[names.index("close_end")] == dt.date(2019, 5, 15)
    assert c[names.index("owner")] == F.REP1 and c[names.index("in_start")] == 1 and c[names.index("in_end")] == 0
    g = by_deal["Deal G"]
    assert g[names.index("amount_start")] is None and g[names.index("amount_end")] == Decimal("800.00")
    assert g[names.index("in_start")] == 0 and g[names.index("stage_end")] == "Won"
    h = by_deal["Deal H"]  # existed at the start, outside the pipeline
    assert h[names.index("amount_start")] == Decimal("900.00") and h[names.index("in_start")] == 0
    # The totals are the waterfall's.
    assert {k: v for k, v in result.meta["totals"].items() if k != "deals"} == {
        c: a for c, (_n, a) in F.EXPECTED.items()}


def test_deals_report_all_adds_the_deals_that_did_not_move_and_reconciles_per_deal(deals):
    result = _run("pipeline-changes-deals", deals.manager, options=["period=2019-Q1", "all=1"])
    names = column_names(result)
    rows = {r[names.index("deal")].removeprefix("Deal "): r for r in result.rows}

    assert set(rows) == set(F.EXPECTED_DEALS) | {"L", "U"}
    assert result.meta["options"]["all"] == "1" and result.meta["options"]["period"] == "2019-Q1"
    frame = X.deals_frame(X.history([F.REP1, F.REP2]), X.stage_types(), Q1, Q1[0], "2019-03-31")
    start = sum((r[names.index("amount_start")] for r in rows.values() if r[names.index("in_start")]), Decimal(0))
    end = sum((r[names.index("amount_end")] for r in rows.values() if r[names.index("in_end")]), Decimal(0))
    w = X.waterfall(frame)
    assert (start, end) == (w["start"][1], w["end"][1])


def test_deals_report_of_a_rep(deals):
    result = _run("pipeline-changes-deals", deals.reps[2], options=["period=2019-Q1"])
    owners = {r[column_names(result).index("owner")] for r in result.rows}
    assert owners == {F.REP2}
    assert len(result.rows) == sum(1 for k in F.EXPECTED_DEALS if deals.values[k]["owner"].username == F.REP2)


# ---------------------------------------------------------------- slipped deals


def _slips(result) -> list[tuple[str, int, int]]:
    names = column_names(result)
    return [(r[names.index("deal")].removeprefix("Deal "), r[names.index("days_slipped")], r[names.index("pushes")])
            for r in result.rows]


def _keys(slips) -> list[tuple[str, int, int]]:
    from revcast.pipeline.models import Opportunity

    names = dict(Opportunity.objects.filter(external_id__startswith="pc-").values_list("pk", "external_id"))
    return [(names[pk].removeprefix("pc-"), days, pushes) for pk, days, pushes in slips]


def test_slipped_deals(deals):
    result = _run("slipped-deals", deals.manager)
    now = pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=1)

    assert _slips(result) == [("C", 146, 2), ("I", 33, 1), ("O", 25, 1)]
    assert _slips(result) == _keys(X.slipped(X.history([F.REP1, F.REP2]), X.stage_types(), now))
    names = column_names(result)
    c = result.rows[0]
    assert c[names.index("original_close")] == dt.date(2018, 12, 20)
    assert c[names.index("current_close")] == dt.date(2019, 5, 15)
    assert c[names.index("amount")] == Decimal("3500.00") and c[names.index("owner")] == F.REP1
    assert result.meta["totals"]["deals"] == 3


def test_slipped_deals_all_statuses_and_out_of_a_period(deals):
    history, types = X.history([F.REP1, F.REP2]), X.stage_types()
    now = pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=1)
    every = _run("slipped-deals", deals.manager, options=["status=all"])
    assert _slips(every) == [("C", 146, 2), ("I", 33, 1), ("E", 27, 1), ("O", 25, 1)]
    assert _slips(every) == _keys(X.slipped(history, types, now, open_only=False))

    out_of_q1 = _run("slipped-deals", deals.manager, options=["period=2019-Q1"])
    assert _slips(out_of_q1) == [("C", 146, 2), ("O", 25, 1)]
    assert _slips(out_of_q1) == _keys(X.slipped(history, types, now, period=Q1))

    # As of 2019-02-15: I was at 04-20 (69 days), E still open, O pulled into the quarter (not slipped).
    earlier = _run("slipped-deals", deals.manager, options=["as_of=2019-02-15"])
    assert _slips(earlier) == [("C", 146, 2), ("I", 69, 1), ("E", 27, 1)]
    assert _slips(earlier) == _keys(X.slipped(history, types, X.utc("2019-02-16")))

    assert _slips(_run("slipped-deals", deals.reps[2])) == [("O", 25, 1)]


# ---------------------------------------------------------------- the Maven data set


@pytest.mark.parametrize(("period", "first", "after"), [
    ("2017-Q4", "2017-10-01", "2018-01-01"),
    ("2017-11", "2017-11-01", "2017-12-01"),
    ("2017-12", "2017-12-01", "2018-01-01"),
    ("2017-Q2", "2017-04-01", "2017-07-01"),
])
def test_maven_reconciles_and_matches_pandas_and_the_raw_files(period, first, after):
    result = _run("pipeline-changes", options=[f"period={period}"])
    w = _waterfall(result)

    assert result.meta["reconciles"] is True and result.meta["difference"] == 0
    assert X.identity_holds(w)
    last = str(dt.date.fromisoformat(after) - dt.timedelta(days=1))
    # Start and end (and every category) from the history table, with pandas.
    assert_rows(_report_rows(result), X.rows(X.expected_waterfall(None, (first, after), first, last)))
    # And from the raw CSV files: no open Maven deal has an expected close date, so the pipeline is empty at
    # both ends, and each deal closed in the period enters (new when engaged in it) and leaves at its close.
    raw = E.in_period(E.deals(), "closed_on", first, last)
    won, lost = raw[raw["stage"] == "Won"], raw[raw["stage"] == "Lost"]
    engaged_in = raw["engaged_on"] >= pd.Timestamp(first)
    assert w["start"] == w["end"] == (0, Decimal("0.00"))
    assert w["won"] == (len(won), E.money(int(won["amount"].sum())))
    assert w["lost"] == (len(lost), E.money(int(lost["amount"].sum())))
    assert w["new"] == (int(engaged_in.sum()), E.money(int(raw.loc[engaged_in, "amount"].sum())))
    assert w["pulled_in"] == (int((~engaged_in).sum()), E.money(int(raw.loc[~engaged_in, "amount"].sum())))
    assert w["won"][0] > 0 and w["lost"][0] > 0


def test_maven_2017_q4_won_equals_bookings_and_a_rep_sees_less(user_named):
    company = _waterfall(_run("pipeline-changes", options=["period=2017-Q4"]))
    assert company["won"] == (1196, Decimal("2802496.00"))  # bookings of 2017-Q4
    darcel = _run("pipeline-changes", user_named("darcel.schlecht"), options=["period=2017-Q4"])
    mine = E.in_period(E.deals(), "closed_on", "2017-10-01", "2017-12-31")
    mine = mine[mine["owner"] == "darcel.schlecht"]
    assert _waterfall(darcel)["won"] == ((mine["stage"] == "Won").sum(),
                                         E.money(int(mine.loc[mine["stage"] == "Won", "amount"].sum())))
    assert _waterfall(darcel)["won"][0] < company["won"][0]
    expected = X.expected_waterfall(["darcel.schlecht"], ("2017-10-01", "2018-01-01"), "2017-10-01", "2017-12-31")
    assert_rows(_report_rows(darcel), X.rows(expected))
