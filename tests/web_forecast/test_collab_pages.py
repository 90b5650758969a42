"""The collaborative forecast pages (/forecast/call/, /forecast/accuracy/) for a rep, a manager and an admin: who
sees which node and which forms, the forms' rules (403, 404, field errors, PRG), and every number on the page
against an independent computation: the values the test submits itself and the raw Maven CSV for what was won.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pandas as pd
import pytest
from django.test import Client

from tests.api import support as S
from tests.forecasting import support as F
from tests.reporting.expected import MAVEN_DIR, username

pytestmark = pytest.mark.django_db
Q4 = "2017-Q4"
DARCEL, GLADYS, MELVIN, DUSTIN = "darcel.schlecht", "gladys.colclough", "melvin.marxen", "dustin.brinkmann"
ADMIN = "collab.admin"
CALL = "/forecast/call/"
Q4_DAYS = ("2017-10-01", "2018-01-01")  # first day, day after the last


# ---------------------------------------------------------------- independent expectations (raw CSV)


def names_of(usernames: list[str]) -> list[str]:
    """Usernames and 'First Last' names of people (as the CSV spells the agents)."""
    teams = pd.read_csv(MAVEN_DIR / "sales_teams.csv", dtype=str)
    full = {username(a): a for a in teams["sales_agent"]} | {username(m): m for m in teams["manager"]}
    return [*usernames, *(full[u] for u in usernames if u in full)]


# ---------------------------------------------------------------- reading the page


def page(client: Client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.content.decode()


def kpi(html: str, key: str) -> str:
    match = re.search(rf'id="kpi-{key}" data-value="([^"]*)"', html)
    assert match, key
    return match[1]


def money(html: str, key: str) -> Decimal:
    return Decimal(kpi(html, key))


def children(html: str) -> dict[str, dict[str, str]]:
    """{username: {column: exact value}} of the direct-reports table, in the page's order."""
    out = {}
    for m in re.finditer(r'<tr data-user="([^"]+)" class="rc-child">(.*?)</tr>', html, re.S):
        out[m[1]] = dict(re.findall(r'data-col="(\w+)" data-value="([^"]*)"', m[2]))
    return out


def adjust_targets(html: str) -> list[str]:
    return re.findall(r'class="row g-2 align-items-start rc-adjust-form" data-user="([^"]*)"', html)


def deal_list(html: str, key: str) -> tuple[int, Decimal, list[int]]:
    section = re.search(rf'<section class="mb-3 rc-deal-list" id="deals-{key}" data-count="(\d+)" '
                        rf'data-total="([^"]*)">(.*?)</section>', html, re.S)
    assert section, key
    ids = [int(i) for i in re.findall(r'<tr data-id="(\d+)">', section[3])]
    return int(section[1]), Decimal(section[2]), ids


# ---------------------------------------------------------------- fixtures


@pytest.fixture
def people(maven):
    from revcast.org.models import User

    found = {u.username: u for u in User.objects.filter(username__in=[DARCEL, GLADYS, MELVIN, DUSTIN])}
    found[ADMIN] = User.objects.create(username=ADMIN, role=User.Role.ADMIN, is_staff=True)
    return found


@pytest.fixture
def client_as(people):
    def make(name: str) -> Client:
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(people[name])
        return client

    return make


def submit(client: Client, **values: str):
    return client.post("/forecast/call/submit/", {"period": Q4, **values})


def adjust(client: Client, **values: str):
    return client.post("/forecast/call/adjust/", {"period": Q4, **values})


# ---------------------------------------------------------------- each page for each role


def test_a_rep_sees_his_own_node_with_the_submit_form(client_as):
    html = page(client_as(DARCEL), f"{CALL}?period={Q4}")
    mine = F.won_by_owner(*Q4_DAYS)[DARCEL]
    assert money(html, "closed") == mine and money(html, "commit") == mine  # not submitted: what the deals say
    assert 'id="submit-form"' in html and 'id="children"' not in html and adjust_targets(html) == []
    assert re.search(r'name="commit" value="' + re.escape(format(mine.normalize(), "f")) + '"', html)  # prefill
    assert 'id="ai-none"' in html  # no forecast run is stored in this test
    assert "rc-not-submitted" in html


def test_a_manager_sees_his_team_and_may_adjust_each_member_and_his_roll_up(client_as):
    html = page(client_as(MELVIN), f"{CALL}?period={Q4}")
    team = S.reps(MELVIN)
    assert list(children(html)) == team
    assert sorted(adjust_targets(html)) == sorted([*team, MELVIN])
    assert money(html, "closed") == F.won_between(*Q4_DAYS, set(team)) == money(html, "commit")
    assert [d for d in re.findall(r'<span class="badge text-bg-light border" data-user="([^"]+)"', html)] == team


def test_an_admin_sees_the_company_and_no_form(client_as):
    html = page(client_as(ADMIN), f"{CALL}?period={Q4}")
    managers = F.managers()
    assert list(children(html)) == managers
    assert money(html, "closed") == F.won_between(*Q4_DAYS)  # every deal won in Q4
    assert adjust_targets(html) == [] and 'id="submit-form"' not in html
    for manager in managers:
        assert children(html)[manager]["closed"] == format(F.won_between(*Q4_DAYS, set(S.reps(manager))), ".2f")
    # Drilling into a manager: the breadcrumb goes back to the company.
    drilled = page(client_as(ADMIN), f"{CALL}?period={Q4}&user={MELVIN}")
    assert list(children(drilled)) == S.reps(MELVIN)
    assert re.search(r'<a href="/forecast/call/\?period=2017-Q4">Company</a>', drilled)


@pytest.mark.parametrize("name", [DARCEL, MELVIN, ADMIN])
def test_the_accuracy_page_explains_what_to_run_when_nothing_is_closed(client_as, name):
    html = page(client_as(name), "/forecast/accuracy/")
    assert 'id="accuracy-empty"' in html
    assert "revcast forecast snapshot" in html and "revcast forecast close" in html


def test_the_forecast_menu_links_both_pages(client_as):
    html = page(client_as(DARCEL), "/")
    assert 'href="/forecast/call/" id="nav-forecast-call"' in html
    assert 'href="/forecast/accuracy/" id="nav-forecast-accuracy"' in html
    assert 'href="/forecast/" id="nav-forecast"' in html  # the Forecast link itself still goes to the forecast


def test_the_default_period_is_the_current_quarter_without_a_forecast(client_as):
    from revcast.core import fiscal

    html = page(client_as(DARCEL), CALL)
    current = fiscal.current_period("quarter").label
    assert f'<option value="{current}" selected>' in html


def test_an_unreadable_period_says_so_and_shows_the_default(client_as):
    html = page(client_as(DARCEL), f"{CALL}?period=2017-Q9")
    assert "Unknown period 2017-Q9" in html


def test_the_pages_render_in_chinese_with_the_same_numbers(people):
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(people[MELVIN])
    html = page(client, f"{CALL}?period={Q4}")
    assert '<html lang="zh-hans">' in html
    assert money(html, "closed") == F.won_between(*Q4_DAYS, set(S.reps(MELVIN)))
    assert f"{F.won_between(*Q4_DAYS, set(S.reps(MELVIN))):,.0f}" in html  # amounts are grouped by three in every language
    assert '<html lang="zh-hans">' in page(client, "/forecast/accuracy/")


# ---------------------------------------------------------------- visibility


def test_nobody_sees_a_user_outside_their_view(client_as):
    assert client_as(DARCEL).get(f"{CALL}?period={Q4}&user={MELVIN}").status_code == 404
    assert client_as(DARCEL).get(f"{CALL}?period={Q4}&user={GLADYS}").status_code == 404
    assert client_as(DUSTIN).get(f"{CALL}?period={Q4}&user={DARCEL}").status_code == 404
    assert client_as(DUSTIN).get(f"{CALL}?period={Q4}&user=nobody.here").status_code == 404
    r = adjust(client_as(DUSTIN), user=DARCEL, commit="1", note="not my team")
    assert r.status_code == 404


def test_pages_never_leak_other_teams_names(client_as):
    everyone = sorted(set(F.owner_of_external_id().values()))  # every owner of a deal
    mine = page(client_as(DARCEL), f"{CALL}?period={Q4}")
    assert [n for n in names_of([u for u in everyone if u != DARCEL] + [MELVIN]) if n in mine] == []
    dustins = page(client_as(DUSTIN), f"{CALL}?period={Q4}")
    assert [n for n in names_of([*S.reps(MELVIN), MELVIN]) if n in dustins] == []
    assert list(children(dustins)) == S.reps(DUSTIN)


# ---------------------------------------------------------------- the forms' rules


def test_a_valid_submission_is_stored_once_and_redirects(client_as, people):
    from revcast.forecasting.models import ForecastSubmission

    client = client_as(DARCEL)
    r = submit(client, commit="150000", best_case="210000.50", pipeline="", note="Kan-code renewal likely")
    assert r.status_code == 302 and r["Location"] == f"{CALL}?period={Q4}&user={DARCEL}"
    sub = ForecastSubmission.objects.get()
    assert (sub.user, sub.period, sub.commit, sub.best_case, sub.note, sub.source) == (
        people[DARCEL], Q4, Decimal("150000"), Decimal("210000.50"), "Kan-code renewal likely", "web")
    assert sub.pipeline == Decimal("0")  # empty: what the deals say (Maven's open deals have no close date)
    html = page(client, r["Location"])
    assert "Your forecast for 2017-Q4 is submitted" in html
    assert money(html, "commit") == Decimal("150000") and money(html, "best_case") == Decimal("210000.50")
    assert re.search(r'<table[^>]*id="history".*Kan-code renewal likely', html, re.S)


@pytest.mark.parametrize("values, field", [
    ({"commit": "300", "best_case": "200"}, "best_case"),
    ({"commit": "", "best_case": "200"}, "commit"),
    ({"commit": "-5", "best_case": "200"}, "commit"),
    ({"commit": "abc", "best_case": "200"}, "commit"),
    ({"commit": "1.005", "best_case": "200"}, "commit"),
])
def test_a_bad_submission_shows_the_error_on_its_field_and_keeps_the_input(client_as, values, field):
    from revcast.forecasting.models import ForecastSubmission

    r = submit(client_as(DARCEL), note="my note", **values)
    assert r.status_code == 400
    html = r.content.decode()
    assert re.search(rf'id="id_submit_{field}_error">[^<]+<', html)
    for name, value in values.items():
        if value:
            assert re.search(rf'name="{name}" value="{re.escape(value)}"', html), name
    assert "my note</textarea>" in html
    assert not ForecastSubmission.objects.exists()


def test_a_rep_may_not_adjust_and_an_admin_outside_the_line_neither(client_as):
    from revcast.forecasting.models import ForecastAdjustment

    assert adjust(client_as(DARCEL), user=DARCEL, commit="1", note="n").status_code == 403
    assert adjust(client_as(ADMIN), user=DARCEL, commit="1", note="n").status_code == 403
    assert adjust(client_as(DARCEL), user=GLADYS, commit="1", note="n").status_code == 404  # not in his view
    assert not ForecastAdjustment.objects.exists()


def test_an_adjustment_without_a_note_shows_the_field_error(client_as):
    from revcast.forecasting.models import ForecastAdjustment

    r = adjust(client_as(MELVIN), user=DARCEL, page=MELVIN, commit="130000", note=" ")
    assert r.status_code == 400
    html = r.content.decode()
    assert re.search(r'id="id_adjust_darcel_schlecht_note_error">Say why: a note is required', html)
    form = re.search(r'<form[^>]*data-user="darcel.schlecht" id="adjust-darcel.schlecht">(.*?)</form>', html, re.S)
    assert form and 'name="commit" value="130000"' in form[1]  # the input is kept
    assert re.search(r"<details open>\s*<summary[^>]*>Adjust the forecast of Darcel Schlecht", html)
    assert not ForecastAdjustment.objects.exists()
    r = adjust(client_as(MELVIN), user=DARCEL, page=MELVIN, commit="10", best_case="5", note="n")
    assert r.status_code == 400 and 'id="id_adjust_darcel_schlecht_best_case_error"' in r.content.decode()


def test_submit_adjust_and_the_numbers_on_the_pages(client_as, people):
    """The story of the issue, on the pages: numbers from what the test submits and from the raw CSV."""
    from revcast.forecasting.models import ForecastAdjustment
    from revcast.org.models import Team
    from revcast.org.quotas import set_quota

    assert submit(client_as(DARCEL), commit="150000", best_case="210000.50").status_code == 302
    assert submit(client_as(GLADYS), commit="90000", best_case="120000", pipeline="400000").status_code == 302
    set_quota(Q4, "1000000", team=Team.objects.get(lead=people[MELVIN]))
    set_quota(Q4, "400000", user=people[DARCEL])
    team = S.reps(MELVIN)
    others = [u for u in team if u not in (DARCEL, GLADYS)]
    closed = F.won_between(*Q4_DAYS, set(team))
    commit = Decimal("150000") + Decimal("90000") + F.won_between(*Q4_DAYS, set(others))
    best = Decimal("210000.50") + Decimal("120000") + F.won_between(*Q4_DAYS, set(others))

    melvin = client_as(MELVIN)
    html = page(melvin, f"{CALL}?period={Q4}")
    assert (money(html, "closed"), money(html, "commit"), money(html, "best_case")) == (closed, commit, best)
    assert money(html, "pipeline") == Decimal("400000") and money(html, "quota") == Decimal("1000000")
    assert money(html, "gap") == Decimal("1000000") - commit
    assert float(kpi(html, "attainment")) == pytest.approx(float(closed / Decimal("1000000")), abs=1e-4)
    assert float(kpi(html, "coverage")) == pytest.approx(float(Decimal("400000") / (Decimal("1000000") - closed)),
                                                         abs=1e-4)
    rows = children(html)
    assert rows[DARCEL]["commit"] == "150000.00" and rows[DARCEL]["best_case"] == "210000.50"
    assert rows[DARCEL]["closed"] == format(F.won_by_owner(*Q4_DAYS)[DARCEL], ".2f") and rows[DARCEL]["quota"] == "400000.00"
    assert rows[GLADYS]["pipeline"] == "400000.00"
    assert sorted(re.findall(r'data-user="([^"]+)">[^<]*</span></li>', html)) == others  # not submitted
    # The deals behind the node add up to its closed revenue, each one a link to a deal of the team.
    count, won_total, ids = deal_list(html, "won")
    assert (count, won_total) == (len(F.won_deals(*Q4_DAYS, set(team))), closed)
    from revcast.pipeline.models import Opportunity

    owners = set(Opportunity.objects.filter(pk__in=ids).values_list("owner__username", flat=True))
    assert len(ids) == 10 and owners <= set(team)
    assert all(f'href="/opportunities/{i}/"' in html for i in ids)

    # Melvin adjusts Darcel's commit down with a note: his roll-up moves by exactly the difference.
    r = adjust(melvin, user=DARCEL, page=MELVIN, commit="130000", note="Kan-code slips to January")
    assert r.status_code == 302 and r["Location"] == f"{CALL}?period={Q4}&user={MELVIN}"
    adj = ForecastAdjustment.objects.get()
    assert (adj.user, adj.adjusted_by, adj.commit, adj.best_case) == (people[DARCEL], people[MELVIN],
                                                                      Decimal("130000"), None)
    after = page(melvin, r["Location"])
    assert money(html, "commit") - money(after, "commit") == Decimal("20000")
    assert money(after, "best_case") == best
    assert children(after)[DARCEL]["commit"] == "130000.00"
    assert "Kan-code slips to January" in after and "was 150,000" in after

    # Darcel still sees his own number, and nothing of the adjustment.
    own = page(client_as(DARCEL), f"{CALL}?period={Q4}")
    assert money(own, "commit") == Decimal("150000")
    assert "Kan-code slips to January" not in own and "adjusted" not in own

    # Melvin adjusts his own roll-up; the admin's company view carries it.
    assert adjust(melvin, user=MELVIN, page=MELVIN, best_case="999999", note="top-down").status_code == 302
    company = page(client_as(ADMIN), f"{CALL}?period={Q4}")
    assert children(company)[MELVIN]["commit"] == format(commit - Decimal("20000"), ".2f")
    assert children(company)[MELVIN]["best_case"] == "999999.00"


# ---------------------------------------------------------------- the accuracy page


@pytest.fixture
def closed_q4(people):
    """Darcel's call, one snapshot in the first week of Q4, and Q4 closed."""
    from revcast.forecasting.collab import services, snapshots

    monday = dt.datetime(2017, 10, 2, 9, tzinfo=dt.UTC)
    services.submit(people[DARCEL], Q4, commit="150000", best_case="200000", at=monday)
    snapshots.take_snapshot(Q4, at=monday + dt.timedelta(hours=1))
    return snapshots.close_period(Q4, now=dt.datetime(2018, 1, 3, tzinfo=dt.UTC))


def test_accuracy_of_the_company_against_what_was_won(client_as, closed_q4):
    html = page(client_as(ADMIN), "/forecast/accuracy/")
    assert '<option value="2017-Q4" selected>' in html
    actual = F.won_between(*Q4_DAYS)
    # The reps' call on 2 October: Darcel's submission, and for everyone else what was won by then (1 October).
    everyone_else = set(F.owner_of_external_id().values()) - {DARCEL}
    forecast = Decimal("150000") + F.won_between(Q4_DAYS[0], "2017-10-02", everyone_else)
    row = re.search(r'<tr data-source="rep" data-week="(\d+)">(.*?)</tr>', html, re.S)
    assert row and row[1] == "2"  # 1 October 2017 is a Sunday: the week of 2 October is the period's second
    values = re.findall(r'data-value="([^"]*)"', row[2])
    assert [Decimal(v) for v in values] == [forecast, actual]
    error = abs(forecast - actual) / actual
    assert f"{float(error) * 100:.1f} %" in row[2]
    option = re.search(r'<script id="chart-accuracy-error-data" type="application/json">(.*?)</script>', html, re.S)
    assert option and '"name": "Reps"' in option[1] and '"name": "Managers"' in option[1]


def test_accuracy_rows_stay_inside_the_viewers_team(client_as, closed_q4):
    html = page(client_as(DUSTIN), "/forecast/accuracy/?period=2017-Q4")
    assert [n for n in names_of([*S.reps(MELVIN), MELVIN]) if n in html] == []
    people = set(re.findall(r'<tr data-user="([^"]*)" data-source=', html))
    assert people == {DUSTIN, *S.reps(DUSTIN)}
    assert "Company" not in re.search(r'id="people-table".*?</table>', html, re.S)[0]
    assert "has not been closed" in page(client_as(DUSTIN), "/forecast/accuracy/?period=2018-Q1")


def test_a_closed_period_takes_no_more_calls(client_as, closed_q4):
    from revcast.forecasting.models import ForecastAdjustment, ForecastSubmission

    html = page(client_as(DARCEL), f"{CALL}?period={Q4}")
    assert 'id="call-closed"' in html and 'id="submit-form"' not in html
    assert 'id="history"' in html  # his submissions are still listed
    assert adjust_targets(page(client_as(MELVIN), f"{CALL}?period={Q4}")) == []
    r = submit(client_as(DARCEL), commit="1", best_case="2")
    assert r.status_code == 400 and "2017-Q4 is closed" in r.content.decode()
    r = adjust(client_as(MELVIN), user=DARCEL, page=MELVIN, commit="1", note="late")
    assert r.status_code == 400 and "2017-Q4 is closed" in r.content.decode()
    assert ForecastSubmission.objects.count() == 1 and not ForecastAdjustment.objects.exists()


# ---------------------------------------------------------------- downloads


def test_the_roll_up_download_holds_the_viewers_team_only(client_as):
    import csv
    import io

    assert submit(client_as(DARCEL), commit="150000", best_case="210000.50").status_code == 302
    r = client_as(MELVIN).get(f"/forecast/export/rollup/csv/?period={Q4}")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    assert 'filename="revcast-forecast-rollup-2017-Q4-' in r["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [row["user"] for row in rows] == [MELVIN, *S.reps(MELVIN)]
    darcel = next(row for row in rows if row["user"] == DARCEL)
    assert Decimal(darcel["commit"]) == Decimal("150000") and Decimal(darcel["best_case"]) == Decimal("210000.50")
    assert Decimal(rows[0]["closed"]) == F.won_between(*Q4_DAYS, set(S.reps(MELVIN)))
    assert client_as(DUSTIN).get(f"/forecast/export/rollup/csv/?period={Q4}&user={DARCEL}").status_code == 400
    assert client_as(MELVIN).get(f"/forecast/export/rollup/pdf/?period={Q4}").status_code == 404
    xlsx = client_as(ADMIN).get(f"/forecast/export/submissions/xlsx/?period={Q4}")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


def test_the_accuracy_download_stays_inside_the_viewers_team(client_as, closed_q4):
    body = client_as(DUSTIN).get("/forecast/export/accuracy/csv/?period=2017-Q4&level=people").content.decode()
    assert DUSTIN in body and [n for n in [*S.reps(MELVIN), MELVIN] if n in body] == []


# ---------------------------------------------------------------- with a stored forecast run (keep last: module scope)


def test_the_ai_range_and_the_default_period_come_from_the_newest_run(client_as, stored):
    from revcast.forecasting.collab.rollup import rollup
    from revcast.org.models import User

    html = page(client_as(MELVIN), CALL)
    assert '<option value="2017-Q4" selected>' in html  # the quarter of the newest run
    p10, p50, p90 = (Decimal(re.search(rf'id="ai-{k}" data-value="([^"]*)"', html)[1]) for k in ("p10", "p50", "p90"))
    assert p10 <= p50 <= p90
    ai = rollup(User.objects.get(username=MELVIN), Q4)["ai"]
    assert (p10, p50, p90) == (ai["p10"], ai["p50"], ai["p90"])
    assert all(row["ai_p50"] for row in children(html).values())
