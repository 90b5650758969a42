"""Forecast endpoints: each honours visibility (a rep sees only own deals' scores, a manager the team's, a
period forecast is the caller's share), runs are for managers and admins, backtests for who sees everything.

Scope numbers are checked against sums computed here from the stored inputs, with the owners of each scope
taken from the raw Maven CSV (not from revcast's visibility layer).
"""

from __future__ import annotations

from typing import Any

import pytest

from revcast.forecasting.models import DealForecast, ForecastRun, WinModelVersion
from tests.api import support as S
from tests.forecasting import support as F

SCOPES: dict[str, set[str] | None] = {
    "darcel": {"darcel.schlecht"},
    "melvin": S.team("melvin.marxen"),
    "admin": None,
    "fin_all": None,
    "viewer": None,
    "fin_sub": {"fin.sub", *S.team("melvin.marxen")},
}


@pytest.fixture(scope="module")
def stored(maven_import, django_db_blocker):
    with F.stored_forecasts(django_db_blocker) as data:
        yield data


@pytest.fixture
def run(stored, users) -> ForecastRun:
    return ForecastRun.objects.get(pk=stored.run_id)


def _all_pages(client: Any, url: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    body = client.get(url, {**params, "page_size": 500}).json()
    rows = list(body["results"])
    while body["next"]:
        body = client.get(body["next"]).json()
        rows.extend(body["results"])
    assert len(rows) == body["count"] or not rows
    return rows


def _owners_of_rows(run: ForecastRun) -> dict[int, str]:
    """Opportunity id -> owner username per the raw CSV, for the deals of ``run``."""
    external = F.owner_of_external_id()
    return {pk: external[ext] for pk, ext in
            DealForecast.objects.filter(run=run).values_list("opportunity_id", "opportunity__external_id")}


# ---------------------------------------------------------------- scores


@pytest.mark.parametrize("who", list(SCOPES))
def test_score_lists_hold_exactly_the_visible_deals(api, users, run, who):
    owners = _owners_of_rows(run)
    scope = SCOPES[who]
    expected = {pk for pk, owner in owners.items() if scope is None or owner in scope}
    rows = _all_pages(api(users[who]), "/api/forecast/scores/", {})
    assert [r["opportunity"] for r in rows] and {r["opportunity"] for r in rows} == expected
    assert len(rows) == len(expected)
    assert all(r["run"] == run.pk and r["period"] == "2017-Q4" for r in rows)
    # the external id names the deal in the source data: its owner there is within the caller's scope
    external_owner = F.owner_of_external_id()
    assert all(scope is None or external_owner[r["opportunity_external_id"]] in scope for r in rows)
    values = [float(r["expected"]) for r in rows]
    assert values == sorted(values, reverse=True)


def test_score_filters(api, users, run):
    client = api(users.melvin)
    gladys = _all_pages(client, "/api/forecast/scores/", {"owner": "gladys.colclough"})
    assert gladys and {r["owner"] for r in gladys} == {"gladys.colclough"}
    one = gladys[0]["opportunity"]
    assert [r["opportunity"] for r in _all_pages(client, "/api/forecast/scores/", {"opportunity": one})] == [one]
    # Another team's deal or owner simply matches nothing.
    anna_deal = DealForecast.objects.filter(run=run, owner_username="anna.snelling").first().opportunity_id
    assert client.get("/api/forecast/scores/", {"opportunity": anna_deal}).json()["count"] == 0
    assert client.get("/api/forecast/scores/", {"owner": "anna.snelling"}).json()["count"] == 0
    assert client.get("/api/forecast/scores/", {"period": "2016-Q1"}).json()["count"] == 0
    assert client.get("/api/forecast/scores/", {"period": "2017-q4"}).json()["count"] == len(
        _all_pages(client, "/api/forecast/scores/", {}))
    bad = client.get("/api/forecast/scores/", {"period": "Q4"})
    assert bad.status_code == 400 and "period" in bad.json()["error"]["fields"]


@pytest.mark.parametrize(("who", "owner", "status"), [
    ("darcel", "darcel.schlecht", 200), ("darcel", "gladys.colclough", 404), ("melvin", "gladys.colclough", 200),
    ("melvin", "anna.snelling", 404), ("fin_sub", "anna.snelling", 404), ("admin", "anna.snelling", 200),
])
def test_one_score_by_opportunity_id(api, users, run, who, owner, status):
    row = DealForecast.objects.filter(run=run, owner_username=owner).order_by("opportunity_id").first()
    response = api(users[who]).get(f"/api/forecast/scores/{row.opportunity_id}/")
    assert response.status_code == status, response.content
    if status == 200:
        body = response.json()
        assert body["opportunity"] == row.opportunity_id and body["p"] == row.p and body["run"] == run.pk
        assert body["factors"] == row.factors
        assert all(set(f) == {"feature", "value", "points", "text"} for f in body["factors"])
    else:
        assert response.json()["error"]["code"] == "not_found"


def test_a_deal_never_scored_is_a_404(api, users, run):
    from revcast.pipeline.models import Opportunity

    unscored = Opportunity.objects.exclude(forecasts__isnull=False).order_by("pk").first()
    assert api(users.admin).get(f"/api/forecast/scores/{unscored.pk}/").status_code == 404


# ---------------------------------------------------------------- period forecasts


def _independent_expected(run: ForecastRun, scope: set[str] | None) -> float:
    owners = _owners_of_rows(run)
    rows = DealForecast.objects.filter(run=run).values_list("opportunity_id", "p", "amount")
    open_part = sum(float(p) * float(a) for pk, p, a in rows if scope is None or owners[pk] in scope)
    closed = float(F.won_between(run.period_start.isoformat(), F.WON_BEFORE, scope))
    pool = run.new_business["pool"]
    amounts = [float(a or 0) for a in pool["amount"]]
    mine = sum(a for a, o in zip(amounts, pool["owner"], strict=True) if scope is None or o in scope)
    counts = run.new_business["counts"]
    return open_part + closed + sum(counts) / len(counts) * run.new_business["q_won"] * mine / len(amounts)


@pytest.mark.parametrize("who", list(SCOPES))
def test_a_period_forecast_is_the_callers_share(api, users, run, who):
    response = api(users[who]).get("/api/forecast/periods/", {"period": "2017-Q4", "by": "owner"})
    assert response.status_code == 200, response.content
    body = response.json()
    scope = SCOPES[who]
    assert body["run"] == run.pk and body["scope"] == ("all" if scope is None else "subtree")
    assert body["total"]["expected"] == pytest.approx(_independent_expected(run, scope), rel=1e-9)
    assert scope is None or {g["key"] for g in body["groups"]} <= scope
    assert sum(g["expected"] for g in body["groups"]) == pytest.approx(body["total"]["expected"], rel=1e-9)
    if scope is None:
        for key in ("expected", "p10", "p50", "p90"):
            assert body["total"][key] == pytest.approx(run.totals[key], rel=1e-12)


def test_period_forecast_errors(api, users, run):
    client = api(users.melvin)
    assert client.get("/api/forecast/periods/", {"period": "2016-Q1"}).json()["error"]["code"] == "not_found"
    bad = client.get("/api/forecast/periods/", {"period": "2017-Q4", "by": "stage"})
    assert bad.status_code == 400 and "by" in bad.json()["error"]["fields"]
    assert client.get("/api/forecast/periods/").json()["run"] == ForecastRun.objects.order_by("-id").first().pk


# ---------------------------------------------------------------- runs


@pytest.mark.parametrize("who", ["darcel", "fin_all", "fin_sub", "viewer"])
def test_only_managers_and_admins_run_forecasts(api, users, run, who):
    before = ForecastRun.objects.count()
    response = api(users[who]).post("/api/forecast/runs/", {"period": "2017-11", "as_of": F.AS_OF + "T00:00:00Z"},
                                    format="json")
    assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"
    assert ForecastRun.objects.count() == before


def test_a_manager_runs_a_forecast_and_sees_the_teams_share(api, users, run):
    response = api(users.melvin).post("/api/forecast/runs/", {"period": "2017-11", "as_of": "2017-11-15",
                                                              "draws": 500}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    made = ForecastRun.objects.get(pk=body["run"]["id"])
    assert (made.period, made.source, made.created_by, made.draws) == ("2017-11", "api", users.melvin, 500)
    assert body["forecast"]["scope"] == "subtree" and body["forecast"]["run"] == made.pk
    team = S.team("melvin.marxen")
    assert body["forecast"]["total"]["closed"] == pytest.approx(
        float(F.won_between("2017-11-01", F.WON_BEFORE, team)), abs=0.01)
    assert body["forecast"]["total"]["expected"] < made.totals["expected"]


def test_run_input_errors(api, users, run):
    client = api(users.admin)
    bad = client.post("/api/forecast/runs/", {"period": "2017-Q9"}, format="json")
    assert bad.status_code == 400 and "2017-Q9" in bad.json()["error"]["message"]
    bad = client.post("/api/forecast/runs/", {"as_of": "someday"}, format="json")
    assert bad.status_code == 400 and "as_of" in bad.json()["error"]["fields"]


# ---------------------------------------------------------------- model card and backtests


@pytest.mark.parametrize("who", list(SCOPES))
def test_everyone_reads_the_model_card(api, users, stored, who):
    body = api(users[who]).get("/api/forecast/model/").json()
    version = WinModelVersion.objects.get(pk=stored.model_id)
    assert body["id"] == version.pk and body["is_active"] and body["card"]["verdict"] == version.verdict


def test_no_model_is_a_404(api, users, stored):
    WinModelVersion.objects.update(is_active=False)
    assert api(users.admin).get("/api/forecast/model/").json()["error"]["code"] == "not_found"


def test_backtests_are_for_those_who_see_everything(api, users, stored):
    from revcast.forecasting import services

    assert api(users.admin).get("/api/forecast/backtests/latest/").status_code == 404
    backtest = services.run_backtest("month", "start", "2017-09-01", "2017-09-30")
    for who, status in (("admin", 200), ("fin_all", 200), ("viewer", 200), ("melvin", 403), ("darcel", 403),
                        ("fin_sub", 403)):
        response = api(users[who]).get("/api/forecast/backtests/latest/", {"period": "month"})
        assert response.status_code == status, (who, response.content)
        if status == 200:
            body = response.json()
            assert body["id"] == backtest.pk
            assert body["periods"] == backtest.result["periods"] and body["summary"] == backtest.result["summary"]
            [row] = body["periods"]
            assert row["actual"] == pytest.approx(float(F.won_between("2017-09-01", "2017-10-01")), abs=0.01)
        else:
            assert "only users who see every deal" in response.json()["error"]["message"]
    assert api(users.admin).get("/api/forecast/backtests/latest/", {"period": "quarter"}).status_code == 404
    assert api(users.admin).get("/api/forecast/backtests/latest/", {"period": "week"}).status_code == 400
