"""The collaborative forecast over the API on the Maven demo: submissions, adjustments, roll-ups, visibility.

Expected numbers come from the raw CSV (pandas) and from the values the test itself submits."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.api import support as S
from tests.forecasting import support as F

pytestmark = pytest.mark.django_db
Q4 = "2017-Q4"
# Won deals closed in Oct-Dec 2017, from the raw file (Maven open deals have no close date, so they are in no
# period's pipeline: a rep without a submission counts their closed revenue as their commit).
Q4_DAYS = ("2017-10-01", "2018-01-01")  # first day, day after the last


def D(text: str) -> Decimal:
    return Decimal(text)


@pytest.fixture
def team(users):
    from revcast.org.models import User

    # Undo the api fixture's finance controller above Melvin: here Melvin heads his own line.
    User.objects.filter(pk=users.melvin.pk).update(manager=None)
    users.melvin.refresh_from_db()
    return users


def test_submit_adjust_and_roll_up_as_the_issue_describes(team, api):
    won = F.won_by_owner(*Q4_DAYS)
    darcel, gladys, melvin = api(team.darcel), api(team.gladys), api(team.melvin)
    r = darcel.post("/api/forecast/submissions/", {"period": "2017-q4", "commit": "150000", "best_case": "210000.50"},
                    format="json")
    assert r.status_code == 201, r.content
    assert r.json()["period"] == Q4 and r.json()["commit"] == "150000.00" and r.json()["user"] == "darcel.schlecht"
    # Amounts may be JSON numbers too.
    assert gladys.post("/api/forecast/submissions/", {"period": Q4, "commit": 90000, "best_case": 120000,
                                                       "pipeline": 400000}, format="json").status_code == 201

    before = melvin.get("/api/forecast/rollup/", {"period": Q4}).json()
    members = S.reps("melvin.marxen")
    assert [c["user"] for c in before["children"]] == members
    others = sum((won.get(m, Decimal(0)) for m in members if m not in ("darcel.schlecht", "gladys.colclough")),
                 Decimal(0))
    assert D(before["commit"]) == Decimal("150000") + Decimal("90000") + others
    assert D(before["closed"]) == sum((won.get(m, Decimal(0)) for m in members), Decimal(0))
    by_user = {c["user"]: c for c in before["children"]}
    assert by_user["darcel.schlecht"]["submitted"] is True and by_user["darcel.schlecht"]["commit"] == "150000.00"
    assert sorted(before["missing"]) == sorted(set(members) - {"darcel.schlecht", "gladys.colclough"})

    r = melvin.post("/api/forecast/adjustments/", {"period": Q4, "user": "darcel.schlecht", "commit": "130000",
                                                    "note": "Kan-code renewal slips to January"}, format="json")
    assert r.status_code == 201, r.content
    after = melvin.get("/api/forecast/rollup/", {"period": Q4}).json()
    assert D(before["commit"]) - D(after["commit"]) == Decimal("20000")
    assert D(after["best_case"]) == D(before["best_case"])  # only commit was adjusted
    adjusted = {c["user"]: c for c in after["children"]}["darcel.schlecht"]
    assert adjusted["commit"] == "130000.00" and adjusted["computed"]["commit"] == "150000.00"
    assert adjusted["adjusted"]["commit"]["note"] == "Kan-code renewal slips to January"

    # The rep still sees the original, everywhere, and not the adjustment.
    own = darcel.get("/api/forecast/rollup/", {"period": Q4}).json()
    assert own["user"] == "darcel.schlecht" and own["commit"] == "150000.00" and own["adjusted"] is None
    assert [s["commit"] for s in darcel.get("/api/forecast/submissions/", {"period": Q4}).json()["results"]] == [
        "150000.00"]
    assert darcel.get("/api/forecast/adjustments/", {"period": Q4}).json()["results"] == []
    assert [a["user"] for a in melvin.get("/api/forecast/adjustments/").json()["results"]] == ["darcel.schlecht"]

    # The company view (admin) has Melvin's adjustment in it.
    company = api(team.admin).get("/api/forecast/rollup/", {"period": Q4}).json()
    assert company["user"] is None
    melvin_node = {c["user"]: c for c in company["children"]}["melvin.marxen"]
    assert melvin_node["commit"] == after["commit"]


def test_a_manager_never_sees_another_team(team, api):
    api(team.darcel).post("/api/forecast/submissions/", {"period": Q4, "commit": "1", "best_case": "2"}, format="json")
    dustin = api(team.dustin)
    assert dustin.get("/api/forecast/submissions/", {"period": Q4}).json()["results"] == []
    assert dustin.get("/api/forecast/rollup/", {"period": Q4, "user": "darcel.schlecht"}).status_code == 404
    r = dustin.post("/api/forecast/adjustments/", {"period": Q4, "user": "darcel.schlecht", "commit": "0",
                                                    "note": "x"}, format="json")
    assert r.status_code == 404
    node = dustin.get("/api/forecast/rollup/", {"period": Q4}).json()
    assert node["user"] == "dustin.brinkmann"
    assert "darcel.schlecht" not in {c["user"] for c in node["children"]}


def test_who_may_adjust(team, api):
    # A rep cannot adjust anyone, not even themselves; an admin outside the line cannot either.
    r = api(team.darcel).post("/api/forecast/adjustments/", {"period": Q4, "user": "darcel.schlecht",
                                                              "commit": "1", "note": "n"}, format="json")
    assert r.status_code == 403
    r = api(team.admin).post("/api/forecast/adjustments/", {"period": Q4, "user": "darcel.schlecht",
                                                             "commit": "1", "note": "n"}, format="json")
    assert r.status_code == 403
    # A manager may adjust their own roll-up; a note is required; best case not below commit.
    melvin = api(team.melvin)
    r = melvin.post("/api/forecast/adjustments/", {"period": Q4, "user": "melvin.marxen", "commit": "5"},
                    format="json")
    assert r.status_code == 400 and list(r.json()["error"]["fields"]) == ["note"]
    r = melvin.post("/api/forecast/adjustments/", {"period": Q4, "user": "melvin.marxen", "commit": "10",
                                                    "best_case": "5", "note": "n"}, format="json")
    assert r.status_code == 400 and list(r.json()["error"]["fields"]) == ["best_case"]
    r = melvin.post("/api/forecast/adjustments/", {"period": Q4, "user": "melvin.marxen", "commit": "777",
                                                    "note": "top-down call"}, format="json")
    assert r.status_code == 201
    assert melvin.get("/api/forecast/rollup/", {"period": Q4}).json()["commit"] == "777.00"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"period": "2017-Q5", "commit": "1", "best_case": "2"}, "period"),
        ({"period": Q4, "commit": "-1", "best_case": "2"}, "commit"),
        ({"period": Q4, "commit": "abc", "best_case": "2"}, "commit"),
        ({"period": Q4, "commit": "3", "best_case": "2"}, "best_case"),
        ({"period": Q4, "commit": "1.005", "best_case": "2"}, "commit"),
    ],
)
def test_bad_submissions_say_which_field(team, api, body, field):
    from revcast.forecasting.models import ForecastSubmission

    r = api(team.darcel).post("/api/forecast/submissions/", body, format="json")
    assert r.status_code == 400
    assert list(r.json()["error"]["fields"]) == [field]
    assert not ForecastSubmission.objects.exists()


def test_each_role_lists_exactly_the_calls_it_may_see(users, api):
    """Rep, manager, admin, finance (all; subtree above Melvin), viewer, another team's rep: submissions, adjustments
    and roll-ups hold exactly what each may see (scopes as in test_visibility.py)."""
    from tests.api.test_visibility import SCOPES

    for who in ("darcel", "gladys", "anna"):
        assert api(users[who]).post("/api/forecast/submissions/", {"period": Q4, "commit": "10", "best_case": "20"},
                                    format="json").status_code == 201
    for who in ("fin_all", "fin_sub", "viewer"):  # read-only roles do not call a number
        r = api(users[who]).post("/api/forecast/submissions/", {"period": Q4, "commit": "1", "best_case": "2"},
                                 format="json")
        assert r.status_code == 403, who
    assert api(users.melvin).post("/api/forecast/adjustments/", {"period": Q4, "user": "gladys.colclough",
                                                                 "commit": "5", "note": "m"}, format="json").status_code == 201
    # Finance above Melvin is read-only: no adjustments either.
    assert api(users.fin_sub).post("/api/forecast/adjustments/", {"period": Q4, "user": "darcel.schlecht",
                                                                  "commit": "5", "note": "f"}, format="json").status_code == 403
    submitters = {"darcel.schlecht", "gladys.colclough", "anna.snelling"}
    adjustments_seen = {"darcel": [], "melvin": ["gladys.colclough"], "admin": ["gladys.colclough"],
                        "fin_all": ["gladys.colclough"], "fin_sub": ["gladys.colclough"], "viewer": ["gladys.colclough"],
                        "anna": []}
    for who, scope in SCOPES.items():
        client = api(users[who])
        listed = {s["user"] for s in client.get("/api/forecast/submissions/", {"period": Q4}).json()["results"]}
        assert listed == (submitters if scope is None else submitters & scope), who
        adjusted = [a["user"] for a in client.get("/api/forecast/adjustments/", {"period": Q4}).json()["results"]]
        assert adjusted == adjustments_seen[who], who
        node = client.get("/api/forecast/rollup/", {"period": Q4}).json()
        if scope is None:
            assert node["user"] is None  # the company
        else:
            assert node["user"] == users[who].username

            def names(n):
                return {n["user"], *(x for c in n["children"] for x in names(c))}

            assert names(node) <= scope, who
        for other in ("darcel.schlecht", "anna.snelling"):
            status = client.get("/api/forecast/rollup/", {"period": Q4, "user": other}).status_code
            assert status == (200 if scope is None or other in scope else 404), (who, other)


def test_the_owner_sets_a_deals_forecast_category_and_history_keeps_it(team, api):
    """Categories default from the stage; the owner changes one (commit), the change is in the field history and
    moves the deal into the owner's pre-filled commit; someone outside the owner's line cannot touch it."""
    import datetime as dt

    from revcast.pipeline.models import Opportunity, OpportunityFieldHistory, Stage

    deal = Opportunity.objects.filter(owner=team.darcel, stage__type=Stage.Type.OPEN).order_by("pk").first()
    assert deal.forecast_category == "pipeline"  # Prospecting and Engaging default to pipeline (mapping)
    darcel = api(team.darcel)
    url = f"/api/opportunities/{deal.pk}/"
    etag = darcel.get(url)["ETag"]
    r = darcel.patch(url, {"forecast_category": "commit", "expected_close_on": "2017-12-15"}, format="json",
                     HTTP_IF_MATCH=etag)
    assert r.status_code == 200, r.content
    rows = OpportunityFieldHistory.objects.filter(opportunity=deal, field="forecast_category").order_by("changed_at", "id")
    assert (rows.last().old_value, rows.last().new_value) == ("pipeline", "commit")
    assert api(team.anna).patch(url, {"forecast_category": "omitted"}, format="json").status_code == 404
    deal.refresh_from_db()
    assert deal.forecast_category == "commit" and deal.expected_close_on == dt.date(2017, 12, 15)
    node = darcel.get("/api/forecast/rollup/", {"period": Q4}).json()
    assert D(node["commit"]) == F.won_by_owner(*Q4_DAYS)["darcel.schlecht"] + deal.amount
