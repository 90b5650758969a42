"""The home dashboard: its numbers against the raw Maven CSV files, its drill-down URLs, its scope."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tests.reporting import expected as E
from tests.web_dashboard.support import (
    base,
    categories,
    deals_of,
    listed,
    money_text,
    page_charts,
    query,
    series,
    team_of,
)

pytestmark = pytest.mark.usefixtures("maven")

DARCEL = "darcel.schlecht"
MELVIN = "melvin.marxen"
CHART_IDS = ["chart-pipeline", "chart-funnel", "chart-bookings", "chart-winrate-owner", "chart-winrate-product"]


def _dashboard(client, **params):
    response = client.get("/", params)
    assert response.status_code == 200
    return response, page_charts(response.content.decode())


def test_anonymous_is_sent_to_the_login_page(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/")


@pytest.mark.parametrize("username", [DARCEL, MELVIN, "admin"])
def test_the_dashboard_renders_every_widget(client_for, username):
    response, charts = _dashboard(client_for(username))
    html = response.content.decode()
    for chart_id in CHART_IDS:
        assert f'id="{chart_id}"' in html
        assert f'data-chart="{chart_id}-data"' in html
        assert f"{chart_id}-data" in charts
        # Every data item of every series carries its drill-down URL.
        for s in base(charts[f"{chart_id}-data"])["series"]:
            assert s["data"] and all(item["url"].startswith("/opportunities/") for item in s["data"])
    for widget in ("top-deals", "stale-deals", "kpi-pipeline", "kpi-bookings", "kpi-win-rate", "kpi-stale"):
        assert f'id="{widget}"' in html
    assert response["Vary"] and "HX-Request" in response["Vary"]


def test_pipeline_by_stage_counts_and_amounts_for_a_rep(client_for):
    response, charts = _dashboard(client_for(DARCEL))
    exp = E.pipeline(deals_of(DARCEL), ["stage"])
    option = charts["chart-pipeline-data"]

    assert categories(option) == [row[0] for row in exp["rows"]] == ["Prospecting", "Engaging"]
    assert [i["value"] for i in series(option, 0)] == [row[1] for row in exp["rows"]]
    assert [Decimal(str(i["value"])) for i in series(option, 1)] == [row[2] for row in exp["rows"]]
    for s in (0, 1):
        assert [i["url"] for i in series(option, s)] == [
            "/opportunities/?status=open&stage=Prospecting",
            "/opportunities/?status=open&stage=Engaging",
        ]
    totals = exp["totals"]
    assert totals["count"] == 194
    html = response.content.decode()
    assert money_text(totals["amount"]) in html  # the open pipeline KPI
    assert response.context["data"].pipeline.meta["totals"]["count"] == 194


def test_funnel_counts_and_conversion_for_a_manager(client_for):
    client = client_for(MELVIN)
    _response, charts = _dashboard(client)
    exp = E.funnel(deals_of(*team_of(MELVIN)))
    items = series(charts["chart-funnel-data"])

    assert [(i["name"], i["value"]) for i in items] == [(row[0], row[1]) for row in exp["rows"]]
    assert [i["value"] for i in items] == [1929, 1633, 882]
    for item, row in zip(items, exp["rows"], strict=True):
        if row[2] is None:
            assert item["conversion"] is None
        else:
            assert item["conversion"] == pytest.approx(row[2], abs=1e-12)
        assert query(item["url"]) == [("reached", row[0])]
        # The list behind the bar holds exactly the deals counted in it.
        assert listed(client, item["url"]) == row[1]


def test_the_period_picker_narrows_funnel_bookings_and_win_rates(client_for):
    client = client_for(MELVIN)
    response, charts = _dashboard(client, period="2017-Q2", cohort="engaged")
    team = deals_of(*team_of(MELVIN))

    cohort = E.in_period(team, "engaged_on", "2017-04-01", "2017-06-30")
    funnel = series(charts["chart-funnel-data"])
    assert [i["value"] for i in funnel] == [row[1] for row in E.funnel(cohort, (), "engaged_on")["rows"]]
    assert query(funnel[1]["url"]) == [
        ("reached", "Engaging"), ("engaged_from", "2017-04-01"), ("engaged_to", "2017-06-30"),
    ]
    assert listed(client, funnel[1]["url"]) == funnel[1]["value"]

    closed = E.in_period(team, "closed_on", "2017-04-01", "2017-06-30")
    by_product = E.win_rate(closed, ["product"])
    items = series(charts["chart-winrate-product-data"])
    assert [(i["name"], i["value"]) for i in items] == [
        (row[0], round(row[3] * 100, 2)) for row in by_product["rows"]
    ]
    assert query(items[0]["url"]) == [
        ("status", "closed"), ("product", by_product["rows"][0][0]),
        ("closed_from", "2017-04-01"), ("closed_to", "2017-06-30"),
    ]
    assert listed(client, items[0]["url"]) == by_product["rows"][0][1] + by_product["rows"][0][2]

    bookings = E.bookings(closed, ["month"])
    assert categories(charts["chart-bookings-data"]) == ["2017-04", "2017-05", "2017-06"]
    kpis = response.context["data"].kpis
    assert kpis["bookings_amount"] == bookings["totals"]["amount"]
    assert kpis["bookings_count"] == bookings["totals"]["count"]
    assert kpis["win_rate"] == pytest.approx(by_product["totals"]["win_rate"], abs=1e-12)


def test_win_rate_by_rep_shows_only_the_managers_team(client_for):
    client = client_for(MELVIN)
    response, charts = _dashboard(client)
    team = team_of(MELVIN)
    exp = E.win_rate(deals_of(*team), ["owner"])
    items = series(charts["chart-winrate-owner-data"])

    assert categories(charts["chart-winrate-owner-data"]) == team == [row[0] for row in exp["rows"]]
    assert [i["value"] for i in items] == [round(row[3] * 100, 2) for row in exp["rows"]]
    assert [(i["won"], i["lost"]) for i in items] == [(row[1], row[2]) for row in exp["rows"]]
    for item in items:
        assert query(item["url"]) == [("status", "closed"), ("owner", item["name"])]
        assert listed(client, item["url"]) == item["won"] + item["lost"]
    others = set(E.deals()["owner"]) - set(team)
    html = response.content.decode()
    assert not [name for name in others if name in html], "another team's rep appears on the dashboard"


def test_bookings_by_month_against_the_previous_quarter_and_year(client_for):
    _response, charts = _dashboard(client_for("admin"))
    exp = {row[0]: (row[1], row[2]) for row in E.bookings(E.deals(), ["month"])["rows"]}
    option = charts["chart-bookings-data"]
    months = categories(option)

    assert months == [f"2017-{m:02d}" for m in range(3, 13)]
    assert [s["name"] for s in base(option)["series"]] == ["This period", "Previous quarter", "Previous year"]
    this, quarter, year = (series(option, i) for i in range(3))
    for i, month in enumerate(months):
        m = int(month[5:])
        quarter_ago = f"2017-{m - 3:02d}" if m > 3 else f"2016-{m + 9:02d}"
        year_ago = f"2016-{m:02d}"
        assert Decimal(str(this[i]["value"])) == exp[month][1]
        assert this[i]["count"] == exp[month][0]
        assert Decimal(str(quarter[i]["value"])) == (exp[quarter_ago][1] if quarter_ago in exp else 0)
        assert year[i]["value"] == 0
        assert query(this[i]["url"]) == [("status", "won"), ("period", month)]
        assert query(quarter[i]["url"]) == [("status", "won"), ("period", quarter_ago)]
        assert query(year[i]["url"]) == [("status", "won"), ("period", year_ago)]
    assert Decimal(str(quarter[months.index("2017-06")]["value"])) == exp["2017-03"][1]


def test_bookings_of_a_quarter_for_a_rep(client_for):
    client = client_for(DARCEL)
    response, charts = _dashboard(client, period="2017-Q4")
    mine = deals_of(DARCEL)
    exp = {row[0]: row[2] for row in E.bookings(mine, ["month"])["rows"]}
    option = charts["chart-bookings-data"]

    assert categories(option) == ["2017-10", "2017-11", "2017-12"]
    assert [Decimal(str(i["value"])) for i in series(option, 0)] == [exp[m] for m in ("2017-10", "2017-11", "2017-12")]
    assert [Decimal(str(i["value"])) for i in series(option, 1)] == [exp[m] for m in ("2017-07", "2017-08", "2017-09")]
    q4 = E.bookings(E.in_period(mine, "closed_on", "2017-10-01", "2017-12-31"))["totals"]
    assert response.context["data"].kpis["bookings_amount"] == q4["amount"]
    assert money_text(q4["amount"]) in response.content.decode()
    item = series(option, 0)[0]
    assert listed(client, item["url"]) == item["count"]


def test_top_open_deals_are_the_largest_visible_ones(client_for, user_named):
    response, _charts = _dashboard(client_for(DARCEL))
    mine = deals_of(DARCEL)
    largest = sorted(mine.loc[mine["stage"].isin(E.OPEN_STAGES), "amount"], reverse=True)[:10]
    rows = response.context["top_deals"]

    assert [row["amount"] for row in rows] == [money_text(a) for a in largest]
    assert {row["owner"] for row in rows} == {DARCEL}
    from revcast.pipeline.models import Opportunity

    opps = Opportunity.objects.in_bulk([row["id"] for row in rows])
    for row in rows:
        assert row["url"] == f"/opportunities/{row['id']}/"
        assert opps[row["id"]].owner.username == DARCEL
        assert f'href="{row["url"]}"' in response.content.decode()


def test_stale_deals_count_and_drill_down(client_for):
    client = client_for(MELVIN)
    team = deals_of(*team_of(MELVIN))
    # No activities in the data set; an Engaging deal's last stage change is its engage date, while the
    # Prospecting deals' history was written at import time (today). So with the default 30 days every
    # Engaging deal is stale and no Prospecting deal is.
    engaging = team[team["stage"] == "Engaging"]
    response, _charts = _dashboard(client)
    assert response.context["data"].stale_count == len(engaging) == 215
    assert response.context["kpi_links"]["stale"] == "/opportunities/?stale=1"
    assert listed(client, "/opportunities/?stale=1") == 215
    rows = response.context["stale_deals"]
    assert len(rows) == 10 and {row["stage"] for row in rows} == {"Engaging"}
    oldest = engaging["engaged_on"].min().date()
    assert rows[0]["last_touch"] == oldest

    # ?stale_days= moves the cutoff: 2017-08-01 at this time of day.
    days = (dt.datetime.now(dt.UTC).date() - dt.date(2017, 8, 1)).days
    response, _charts = _dashboard(client, stale_days=days)
    expected = int((engaging["engaged_on"] <= "2017-08-01").sum())
    assert 0 < expected < 215
    assert response.context["data"].stale_count == expected
    assert response.context["kpi_links"]["stale"] == f"/opportunities/?stale=1&stale_days={days}"
    assert listed(client, response.context["kpi_links"]["stale"]) == expected


def test_an_activity_takes_a_deal_off_the_stale_list(client_for, user_named):
    from revcast.activities.services import log_activity
    from revcast.pipeline.models import Opportunity

    client = client_for(MELVIN)
    before = _dashboard(client)[0].context
    deal = Opportunity.objects.get(pk=before["stale_deals"][0]["id"])
    log_activity(owner=deal.owner, type="call", opportunity=deal, subject="checking in")

    after = _dashboard(client)[0].context
    assert after["data"].stale_count == before["data"].stale_count - 1
    assert deal.pk not in [row["id"] for row in after["stale_deals"]]


def test_bad_parameters_fall_back_with_a_message(client_for):
    response, charts = _dashboard(client_for(DARCEL), period="2017-Q9", stale_days="0", cohort="x")
    html = response.content.decode()
    assert "Unknown period 2017-Q9" in html
    assert "Stale days must be a whole number" in html
    assert "Unknown funnel cohort" in html
    data = response.context["data"]
    assert data.period.is_all_time and data.cohort == "created" and data.stale_days == 30
    assert [i["value"] for i in series(charts["chart-funnel-data"])] == [747, 636, 349]


def test_an_htmx_request_gets_only_the_widgets(client_for):
    client = client_for(DARCEL)
    response = client.get("/", {"period": "2017"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and 'id="dashboard-filters"' not in html
    assert 'id="chart-funnel"' in html and "chart-funnel-data" in html
    # A history restore (back button after the cache expired) needs the whole page.
    response = client.get("/", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in response.content.decode()


@pytest.mark.parametrize("username", [DARCEL, MELVIN, "admin"])
def test_the_number_of_queries_is_bounded(client_for, django_assert_max_num_queries, username):
    client = client_for(username)
    client.get("/")  # warm caches (content types, sessions)
    # Five report runs, top and stale deals, the period choices, session and user: no query per row.
    with django_assert_max_num_queries(45):
        response = client.get("/", {"period": "2017"})
    assert response.status_code == 200


def test_a_finance_user_with_all_scope_sees_everything(client_for, maven):
    from revcast.org.models import User

    finance = User.objects.create(username="dash.finance", role=User.Role.FINANCE, visibility_scope="all")
    _response, charts = _dashboard(client_for(finance))
    assert [i["value"] for i in series(charts["chart-funnel-data"])] == [8800, 8300, 4238]
    subtree = User.objects.create(username="dash.viewer", role=User.Role.VIEWER, visibility_scope="subtree")
    response, charts = _dashboard(client_for(subtree))
    assert "chart-funnel-data" not in charts  # nothing visible: no chart, a message instead
    assert response.context["data"].kpis["pipeline_count"] == 0


def test_the_period_picker_offers_the_years_and_quarters_of_the_users_deals(client_for):
    response = client_for(DARCEL).get("/")
    mine = deals_of(DARCEL)
    days = [d for col in ("created_on", "closed_on") for d in mine[col].dropna()]
    first, last = min(days), max(days)
    assert (first.date(), last.date()) >= (dt.date(2016, 10, 1), dt.date(2017, 12, 1))
    expected = []
    for year in range(last.year, first.year - 1, -1):
        expected.append(str(year))
        for q in range(4, 0, -1):
            start = dt.date(year, 3 * q - 2, 1)
            if (year, q) >= (first.year, (first.month - 1) // 3 + 1) and start <= last.date():
                expected.append(f"{year}-Q{q}")
    assert response.context["period_choices"] == expected
    html = response.content.decode()
    assert all(f'<option value="{label}">{label}</option>' in html for label in expected)
