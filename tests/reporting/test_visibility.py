"""Reports count only what the user they run for may see (revcast.core.visibility), via the API and the CLI."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from revcast.reporting.params import ReportParams
from revcast.reporting.registry import run_report
from tests.reporting import expected as E
from tests.reporting.support import assert_mapping, assert_rows, cli_json

pytestmark = pytest.mark.usefixtures("maven")

DARCEL = "darcel.schlecht"
MELVIN = "melvin.marxen"  # manager of Darcel's team (Central)
VIOLET = "violet.mclelland"  # a rep of Cara Losch's team (East)
CARA = "cara.losch"  # a manager of another team


def _params(user, **kwargs) -> ReportParams:
    return ReportParams.parse(user=user, **kwargs)


def _visible_total(user) -> int:
    """Opportunities a user sees across reports: closed (win-rate) + open (pipeline)."""
    totals = run_report("win-rate", _params(user)).meta["totals"]
    return totals["won"] + totals["lost"] + run_report("pipeline", _params(user)).meta["totals"]["count"]


def _deals_of(*usernames: str):
    df = E.deals()
    return df[df["owner"].isin(usernames)]


def _team_of(manager_username: str) -> list[str]:
    df = E.deals()
    return sorted(set(df.loc[df["manager"] == manager_username, "owner"]))


def test_raw_counts_behind_the_expectations():
    assert len(_deals_of(DARCEL)) == 747
    assert len(_team_of(MELVIN)) == 5  # his sixth rep, Mei-Mei Johns, has no deals
    assert len(_deals_of(*_team_of(MELVIN))) == 1929
    assert len(E.deals()) == 8800


def test_rep_sees_only_own_deals(user_named):
    darcel = user_named(DARCEL)
    assert _visible_total(darcel) == 747

    mine = _deals_of(DARCEL)
    for name, compute, by in (
        ("win-rate", E.win_rate, ["quarter"]),
        ("pipeline", E.pipeline, ["stage"]),
        ("bookings", E.bookings, ["month"]),
        ("win-rate", E.win_rate, ["owner"]),
    ):
        result = run_report(name, _params(darcel, by=by))
        exp = compute(mine, by)
        assert_rows(result.rows, exp["rows"])
        assert_mapping(result.meta["totals"], exp["totals"])
        assert result.meta["as_user"] == DARCEL

    funnel = run_report("funnel", _params(darcel, by=["region"]))
    exp = E.funnel(mine, ["region"])
    assert_rows(funnel.rows, exp["rows"])
    assert funnel.meta["totals"]["cohort"] == 747

    cycle = run_report("sales-cycle", _params(darcel))
    assert_rows(cycle.rows, E.sales_cycle(mine)["rows"])


def test_manager_sees_the_team(user_named):
    melvin = user_named(MELVIN)
    team = _deals_of(*_team_of(MELVIN))
    assert _visible_total(melvin) == 1929

    result = run_report("win-rate", _params(melvin, by=["owner"]))
    assert_rows(result.rows, E.win_rate(team, ["owner"])["rows"])
    assert {r[0] for r in result.rows} == set(_team_of(MELVIN))
    assert run_report("funnel", _params(melvin)).meta["totals"]["cohort"] == 1929


def test_admin_and_system_see_everything(admin_user):
    assert _visible_total(admin_user) == 8800
    assert _visible_total(None) == 8800
    everything = E.bookings(E.deals(), ["region"])["rows"]
    assert_rows(run_report("bookings", _params(admin_user, by=["region"])).rows, everything)
    assert_rows(run_report("bookings", _params(None, by=["region"])).rows, everything)


def test_finance_with_scope_all_sees_everything(maven):
    from revcast.org.models import User

    finance = User.objects.create(username="fin.all", role=User.Role.FINANCE, visibility_scope=User.Scope.ALL)
    assert _visible_total(finance) == 8800


def test_other_team_sees_none_of_darcels_deals(user_named):
    for other in (VIOLET, CARA):
        user = user_named(other)
        owners = {r[0] for r in run_report("pipeline", _params(user, by=["owner"])).rows}
        owners |= {r[0] for r in run_report("win-rate", _params(user, by=["owner"])).rows}
        assert DARCEL not in owners
        visible = [other] if other == VIOLET else [other, *_team_of(other)]
        assert _visible_total(user) == len(_deals_of(*visible))
        # Filtering on Darcel explicitly still shows nothing.
        assert run_report("bookings", _params(user, where=[f"owner={DARCEL}"])).rows == []
    assert len(_deals_of(VIOLET)) > 0


def test_anonymous_and_inactive_users_see_nothing(user_named):
    darcel = user_named(DARCEL)
    darcel.is_active = False
    darcel.save(update_fields=["is_active"])
    assert _visible_total(darcel) == 0
    assert _visible_total(AnonymousUser()) == 0


def test_cli_as_user(user_named):
    data = cli_json("win-rate", "--as", DARCEL)
    pipe = cli_json("pipeline", "--as", DARCEL)

    won, lost = data["rows"][0][:2]
    assert won + lost + pipe["meta"]["totals"]["count"] == 747
    exp = E.win_rate(_deals_of(DARCEL))["totals"]
    assert (won, lost) == (exp["won"], exp["lost"])
    assert data["meta"]["as_user"] == DARCEL

    team = cli_json("bookings", "--as", MELVIN, "--by", "owner")
    assert_rows(team["rows"], [[o, n, float(a)] for o, n, a in E.bookings(
        _deals_of(*_team_of(MELVIN)), ["owner"])["rows"]])

    violet = cli_json("win-rate", "--as", VIOLET, "--by", "owner")
    assert [r[0] for r in violet["rows"]] == [VIOLET]
