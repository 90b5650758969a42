"""Weeks of submissions on the Maven data, weekly snapshots, then closing 2017-Q4: the accuracy report is
recomputed here from the raw CSV and the calls the test itself made (nothing read back from revcast but the AI's
frozen P50, whose error is checked against the raw actuals)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from revcast.forecasting.collab import accuracy, services, snapshots
from tests.api import support as S
from tests.forecasting import support as F

Q4 = "2017-Q4"
WEEKS = [dt.date(2017, 10, 2), dt.date(2017, 10, 23), dt.date(2017, 11, 20), dt.date(2017, 12, 11)]
FACTORS = [Decimal("0.7"), Decimal("0.85"), Decimal("1.1"), Decimal("1.02")]
Q4_DAYS = ("2017-10-01", "2018-01-01")  # first day, day after the last


def moment(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC)


def test_closing_a_period_measures_every_call(stored, db):
    from revcast.forecasting.models import ForecastAccuracy, ForecastRun
    from revcast.org.models import User

    actual = F.won_by_owner(*Q4_DAYS)  # won in Q4 per rep, from the raw CSV
    members = {manager: S.reps(manager) for manager in F.managers()}
    reps = sorted(m for team in members.values() for m in team)
    users = {u.username: u for u in User.objects.filter(username__in=[*reps, *members])}
    calls: dict[tuple[str, int], Decimal] = {}
    for w, (week, factor) in enumerate(zip(WEEKS, FACTORS, strict=True)):
        for i, rep in enumerate(reps):
            # Each rep's call: a share of what they will win, off by a little more for some.
            call = (actual.get(rep, Decimal(0)) * factor + 1000 * (i % 3)).quantize(Decimal("0.01"))
            calls[(rep, w)] = call
            services.submit(users[rep], Q4, commit=call, best_case=call * 2, at=moment(week))
        if w == 2:  # Melvin cuts Darcel's call by 20,000 in the third week (it stays in force after).
            services.adjust(users["melvin.marxen"], users["darcel.schlecht"], Q4,
                            commit=calls[("darcel.schlecht", 2)] - 20000, note="too rosy", at=moment(week))
        snapshots.take_snapshot(Q4, at=moment(week))
    close = snapshots.close_period(Q4, now=dt.datetime(2018, 1, 2, tzinfo=dt.UTC))

    def managed(rep: str, w: int) -> Decimal:
        if rep == "darcel.schlecht" and w >= 2:
            return calls[("darcel.schlecht", 2)] - 20000
        return calls[(rep, w)]

    rows = {(r.user.username if r.user else None, r.source, r.week): r for r in ForecastAccuracy.objects.filter(close=close)
            .select_related("user")}
    for w, week in enumerate(WEEKS):
        expected: dict[str | None, dict[str, Decimal]] = {}
        for rep in reps:
            expected[rep] = {"rep": calls[(rep, w)], "manager": managed(rep, w), "actual": actual.get(rep, Decimal(0))}
        for manager, team in members.items():
            expected[manager] = {k: sum((expected[m][k] for m in team), Decimal(0)) for k in ("rep", "manager", "actual")}
        expected[None] = {k: sum((expected[m][k] for m in members), Decimal(0)) for k in ("rep", "manager", "actual")}
        for who, e in expected.items():
            for source in ("rep", "manager"):
                row = rows[(who, source, week)]
                assert (row.forecast, row.actual) == (e[source], e["actual"]), (who, source, week)
                if e["actual"]:
                    assert row.error == pytest.approx(float(abs(e[source] - e["actual"]) / e["actual"]))
                    assert row.bias == pytest.approx(float((e[source] - e["actual"]) / e["actual"]))
                else:
                    assert row.error is None and row.bias is None
                assert row.week_index == (week - dt.date(2017, 9, 25)).days // 7 + 1
                assert row.is_team == (who is None or who in members)
        # The AI's P50 was frozen only once a run as of that week existed (2017-11-15 onwards).
        ai_run = ForecastRun.objects.get(pk=stored.run_id)
        has_ai = moment(week) >= ai_run.as_of
        ai_rows = [r for (who, source, wk), r in rows.items() if source == "ai" and wk == week]
        assert bool(ai_rows) == has_ai
        for r in ai_rows:
            truth = expected[r.user.username if r.user else None]["actual"]
            assert r.actual == truth
            if truth:
                assert r.error == pytest.approx(float(abs(r.forecast - truth) / truth))

    # The summary a leader reads: company error per source and week, and the mean over reps.
    admin = User.objects.create(username="acc.admin", role="admin")
    table = {(s["source"], s["week"]): s for s in accuracy.summary(admin, close)}
    for w, week in enumerate(WEEKS):
        total = sum(actual.values(), Decimal(0))
        rep_total = sum((calls[(r, w)] for r in reps), Decimal(0))
        assert table[("rep", week)]["error"] == pytest.approx(float(abs(rep_total - total) / total))
        per_rep = [float(abs(calls[(r, w)] - actual[r]) / actual[r]) for r in reps if actual.get(r)]
        assert table[("rep", week)]["people_mean_error"] == pytest.approx(sum(per_rep) / len(per_rep))
        assert table[("rep", week)]["people"] == len(per_rep)

    # Melvin sees his team's rows and not the company's; a rep only their own.
    melvin = users["melvin.marxen"]
    seen = {r.user.username for r in accuracy.visible_rows(melvin, close)}
    assert seen == {"melvin.marxen", *members["melvin.marxen"]}
    assert {r.user.username for r in accuracy.visible_rows(users["darcel.schlecht"], close)} == {"darcel.schlecht"}


def test_a_closed_period_takes_no_more_calls_and_a_running_one_is_not_closed(maven):
    from revcast.org.models import User

    darcel = User.objects.get(username="darcel.schlecht")
    with pytest.raises(snapshots.PeriodNotOver):
        snapshots.close_period("2017-Q4", now=dt.datetime(2017, 12, 31, 23, tzinfo=dt.UTC))
    with pytest.raises(snapshots.PeriodNotOver):
        snapshots.take_snapshot("2017-Q4", at=dt.datetime(2018, 1, 1, tzinfo=dt.UTC))
    snapshots.close_period("2017-Q4", now=dt.datetime(2018, 1, 1, tzinfo=dt.UTC))
    with pytest.raises(services.CollabError, match="closed"):
        services.submit(darcel, "2017-Q4", commit="1", best_case="1")


def test_the_nightly_job_takes_one_snapshot_a_week(maven):
    from revcast.forecasting.models import ForecastSnapshot

    monday_morning = dt.datetime(2017, 11, 6, 2, tzinfo=dt.UTC)
    first = snapshots.weekly_snapshots(["2017-Q4", "2017-11"], at=monday_morning)
    assert set(first) == {"2017-Q4", "2017-11"} and all(n > 1 for n in first.values())
    # Later the same week: nothing new; the next week: a new one; a period that is over: none.
    assert snapshots.weekly_snapshots(["2017-Q4", "2017-11"], at=monday_morning + dt.timedelta(days=3)) == {}
    assert set(snapshots.weekly_snapshots(["2017-Q4", "2017-10"], at=monday_morning + dt.timedelta(days=7))) == {
        "2017-Q4"}
    weeks = sorted(set(ForecastSnapshot.objects.filter(period="2017-Q4").values_list("week", flat=True)))
    assert weeks == [dt.date(2017, 11, 6), dt.date(2017, 11, 13)]
    company = ForecastSnapshot.objects.get(period="2017-Q4", week=dt.date(2017, 11, 6), user=None)
    # Nobody has submitted: every rep's call is what their deals say, i.e. closed before that day (no open deal of
    # Maven has an expected close date).
    assert company.rep_commit == company.commit == F.won_between("2017-10-01", "2017-11-06")
    assert company.missing == 35  # every rep is expected to submit, with or without deals


def test_the_snapshot_and_close_commands(maven):
    import json
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    out = StringIO()
    call_command("forecast", "snapshot", "--period", "2017-Q4", "--at", "2017-12-04T09:00", stdout=out)
    assert out.getvalue().startswith("2017-Q4: snapshot of ")
    with pytest.raises(CommandError, match="ends on 2099-03-31"):
        call_command("forecast", "close", "--period", "2099-Q1")
    out = StringIO()
    call_command("forecast", "close", "--period", "2017-Q4", "--format", "json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["period"] == "2017-Q4"
    rep = next(r for r in data["summary"] if r["source"] == "rep")
    assert Decimal(str(rep["actual"])) == F.won_between(*Q4_DAYS)
