"""The opportunity list: counts, totals, the drill-down filter contract, sort, pagination, visibility, htmx."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest

from revcast.pipeline.models import Opportunity

from . import expected as ex
from .support import (
    RESULTS_HEADERS,
    header_links,
    html,
    links,
    result_amounts,
    result_count,
    row_amounts,
    row_ids,
)


@pytest.mark.parametrize("username", ["darcel.schlecht", "melvin.marxen"])
def test_count_and_total_match_the_raw_data(client_for, username):
    rows = ex.visible_to(username)
    response = client_for(username).get("/opportunities/")
    assert response.status_code == 200
    assert result_count(response) == len(rows) == {"darcel.schlecht": 747, "melvin.marxen": 1929}[username]
    assert result_amounts(response) == {"USD": ex.total(rows)}
    assert f"{ex.money(ex.total(rows))} USD" in html(response)


def test_admin_and_finance_see_all_8800(client_for, admin_user, finance_user):
    everything = ex.deals()
    for user in (admin_user, finance_user):
        response = client_for(user).get("/opportunities/")
        assert result_count(response) == len(everything) == 8800
        assert result_amounts(response) == {"USD": ex.total(list(everything))}


def test_login_required(client):
    response = client.get("/opportunities/?stage=Engaging")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def _csv_count(rows, **conditions) -> int:
    return sum(1 for d in rows if all(cond(d) for cond in conditions.values()))


DRILL_DOWNS = [
    # (user, query, expected rows from the CSV)
    ("melvin.marxen", "status=open&stage=Engaging", lambda: [d for d in ex.visible_to("melvin.marxen") if d["stage"] == "Engaging"]),
    ("admin", "reached=Engaging", lambda: [d for d in ex.deals() if d["stage"] != "Prospecting"]),
    (
        "admin",
        "status=won&period=2017-03",
        lambda: [d for d in ex.deals() if d["stage"] == "Won" and d["closed_on"].strftime("%Y-%m") == "2017-03"],
    ),
    (
        "admin",
        "status=lost&period=2017-Q2",
        lambda: [
            d for d in ex.deals()
            if d["stage"] == "Lost" and dt.date(2017, 4, 1) <= d["closed_on"] < dt.date(2017, 7, 1)
        ],
    ),
    (
        "melvin.marxen",
        "status=closed&owner=darcel.schlecht",
        lambda: [d for d in ex.deals() if d["owner"] == "darcel.schlecht" and d["stage"] in ("Won", "Lost")],
    ),
    # stale: no activity nor stage change for 30 days. Engaging deals last changed stage on their engage date
    # (2016-2017); Prospecting deals were created by the import, just now; nothing has an activity.
    ("admin", "stale=1", lambda: [d for d in ex.deals() if d["stage"] == "Engaging"]),
    ("darcel.schlecht", "stale=true", lambda: [d for d in ex.visible_to("darcel.schlecht") if d["stage"] == "Engaging"]),
    (
        "admin",
        "created_from=2017-01-01&created_to=2017-03-31",
        lambda: [d for d in ex.deals() if d["created_on"] and dt.date(2017, 1, 1) <= d["created_on"] <= dt.date(2017, 3, 31)],
    ),
    (
        "admin",
        "closed_from=2017-06-01&closed_to=2017-06-30&status=won",
        lambda: [d for d in ex.deals() if d["stage"] == "Won" and dt.date(2017, 6, 1) <= d["closed_on"] <= dt.date(2017, 6, 30)],
    ),
    ("admin", "region=Central&product=GTX+Pro", lambda: [d for d in ex.deals() if d["region"] == "Central" and d["product"] == "GTX Pro"]),
    ("darcel.schlecht", "stage=Engaging&stage=Won", lambda: [d for d in ex.visible_to("darcel.schlecht") if d["stage"] in ("Engaging", "Won")]),
    ("darcel.schlecht", "stage=Engaging&stage=Won", lambda: [d for d in ex.visible_to("darcel.schlecht") if d["stage"] in ("Engaging", "Won")]),
    (
        "darcel.schlecht",
        "q=isdom",
        lambda: [d for d in ex.visible_to("darcel.schlecht") if "isdom" in (d["account"] or "").lower()],
    ),
    # Somebody else's deals never come back, whatever the filter asks for.
    ("darcel.schlecht", "owner=gladys.colclough", lambda: []),
    ("darcel.schlecht", "q=gladys", lambda: []),
]


@pytest.mark.parametrize(("username", "query", "rows"), DRILL_DOWNS, ids=[f"{u}?{q}" for u, q, _ in DRILL_DOWNS])
def test_drill_down_parameters_give_the_csv_counts(client_for, admin_user, username, query, rows):
    user = admin_user if username == "admin" else username
    response = client_for(user).get(f"/opportunities/?{query}")
    assert response.status_code == 200
    want = rows()
    assert result_count(response) == len(want)
    assert result_amounts(response) == {"USD": ex.total(want)}


def test_the_documented_admin_reached_count(client_for, admin_user):
    assert result_count(client_for(admin_user).get("/opportunities/?reached=Engaging")) == 8300


def test_stale_days_as_the_dashboard_sends_it(client_for, admin_user, monkeypatch):
    """?stale=1&stale_days=N counts open deals untouched for N days (the clock is set to 2018-01-01 noon)."""
    from django.utils import timezone

    monkeypatch.setattr(timezone, "now", lambda: dt.datetime(2018, 1, 1, 12, tzinfo=dt.UTC))
    client = client_for(admin_user)
    # 200 days before 2018-01-01 12:00 is 2017-06-15 12:00: deals engaged on or before 2017-06-15 are stale.
    want = [d for d in ex.deals() if d["stage"] == "Engaging" and d["created_on"] <= dt.date(2017, 6, 15)]
    assert 0 < len(want) < 1589
    assert result_count(client.get("/opportunities/?stale=1&stale_days=200")) == len(want)
    want_30 = [d for d in ex.deals() if d["stage"] == "Engaging" and d["created_on"] <= dt.date(2017, 12, 2)]
    assert result_count(client.get("/opportunities/?stale=1")) == len(want_30)
    assert result_count(client.get("/opportunities/?stale=1&stale_days=junk")) == len(want_30)


def test_sort_by_amount_and_pagination_keep_the_filters(client_for):
    client = client_for("melvin.marxen")
    engaging = sorted((d["amount"] for d in ex.visible_to("melvin.marxen") if d["stage"] == "Engaging"), reverse=True)
    page1 = client.get("/opportunities/?stage=Engaging&sort=-amount")
    page2 = client.get("/opportunities/?stage=Engaging&sort=-amount&page=2")
    assert row_amounts(page1) == engaging[:50]
    assert row_amounts(page2) == engaging[50:100]
    assert len(set(row_ids(page1)) | set(row_ids(page2))) == 100
    # every page link and every column header link keeps the stage filter; page links keep the sort
    page_links = links(page1, r"page=")
    assert page_links, "no pagination links"
    for href in page_links:
        params = parse_qs(urlsplit(href).query)
        assert params["stage"] == ["Engaging"] and params["sort"] == ["-amount"]
    sort_links = header_links(page1)
    assert {"amount", "closed_on", "owner", "account", "stage", "created_on", "expected_close_on"} <= {
        parse_qs(urlsplit(h).query)["sort"][0].lstrip("-") for h in sort_links
    }
    for href in sort_links:
        params = parse_qs(urlsplit(href).query)
        assert params["stage"] == ["Engaging"] and "page" not in params
    # clicking the active column again reverses it
    assert "?stage=Engaging&sort=amount" in sort_links


def test_ascending_sort_puts_empty_values_last(client_for):
    rows = ex.visible_to("darcel.schlecht")
    response = client_for("darcel.schlecht").get("/opportunities/?sort=closed_on")
    earliest = min(d["closed_on"] for d in rows if d["closed_on"])
    first = Opportunity.objects.get(pk=row_ids(response)[0])
    assert first.closed_on == earliest
    last_page = client_for("darcel.schlecht").get(f"/opportunities/?sort=closed_on&page={(len(rows) + 49) // 50}")
    assert Opportunity.objects.get(pk=row_ids(last_page)[-1]).closed_on is None


@pytest.mark.parametrize("sort", ["amount", "-amount", "closed_on", "-closed_on", "expected_close_on",
                                  "created_on", "stage", "-stage", "owner", "account", "-account", "bogus"])
def test_a_rep_sees_only_own_deals_in_every_sort_and_page(client_for, user_named, sort):
    darcel = user_named("darcel.schlecht")
    client = client_for(darcel)
    seen = []
    for page in (1, 8, 15):  # 747 deals: 15 pages of 50
        seen += row_ids(client.get(f"/opportunities/?sort={sort}&page={page}"))
    assert len(seen) == 50 + 50 + 47
    assert set(Opportunity.objects.filter(pk__in=seen).values_list("owner_id", flat=True)) == {darcel.pk}


def test_a_page_beyond_the_end_shows_the_last_page(client_for):
    response = client_for("darcel.schlecht").get("/opportunities/?page=999")
    assert len(row_ids(response)) == 747 - 14 * 50
    assert response.status_code == 200


def test_default_order_is_newest_first(client_for, user_named):
    ids = row_ids(client_for("darcel.schlecht").get("/opportunities/"))
    newest = list(
        Opportunity.objects.filter(owner=user_named("darcel.schlecht")).order_by("-id").values_list("pk", flat=True)[:50]
    )
    assert ids == newest


def test_owner_choices_are_only_visible_owners(client_for):
    rep_page = html(client_for("darcel.schlecht").get("/opportunities/"))
    manager_page = html(client_for("melvin.marxen").get("/opportunities/"))
    assert 'value="darcel.schlecht"' in rep_page and 'value="gladys.colclough"' not in rep_page
    assert 'value="gladys.colclough"' in manager_page and 'value="anna.snelling"' not in manager_page


def test_filter_form_shows_the_url_state_and_other_parameters_as_chips(client_for):
    response = client_for("melvin.marxen").get("/opportunities/?stage=Engaging&reached=Engaging&team=x&sort=-amount")
    body = html(response)
    assert '<option value="Engaging" selected>' in body
    assert 'name="reached" value="Engaging"' in body and 'data-param="team"' in body
    assert '<input type="hidden" name="sort" value="-amount">' in body
    assert result_count(response) == 0  # no team named "x"


def test_a_bad_date_is_reported_and_ignored(client_for):
    response = client_for("darcel.schlecht").get("/opportunities/?closed_from=not-a-date")
    assert 'id="filter-errors"' in html(response)
    assert result_count(response) == 747


def test_htmx_request_gets_only_the_results_partial(client_for):
    response = client_for("melvin.marxen").get("/opportunities/?status=open&stage=Engaging", **RESULTS_HEADERS)
    body = html(response)
    assert "<html" not in body and 'id="opportunity-filter-form"' not in body
    assert body.lstrip().startswith('<div id="opportunity-results"')
    assert result_count(response) == sum(1 for d in ex.visible_to("melvin.marxen") if d["stage"] == "Engaging")
    assert "HX-Request" in response["Vary"]
    # a history restore needs the whole page
    full = client_for("melvin.marxen").get(
        "/opportunities/?stage=Engaging", HTTP_HX_HISTORY_RESTORE_REQUEST="true", **RESULTS_HEADERS
    )
    assert "<html" in html(full)


def test_phone_layout_hides_minor_columns(client_for):
    """On a phone (rc-hide-xs below 576 px) the table keeps the deal, its stage and its amount."""
    body = html(client_for("darcel.schlecht").get("/opportunities/"))
    thead = body[body.index("<thead>") : body.index("</thead>")]
    headers = re.findall(r'<th scope="col" class="([^"]*)"[^>]*>(?:<a [^>]*>)?([^<&]+)', thead)
    hidden = {label.strip() for css, label in headers if "rc-hide-xs" in css}
    shown = {label.strip() for css, label in headers if "rc-hide-xs" not in css}
    assert hidden == {"Account", "Product", "Owner", "Expected close", "Closed", "Created"}
    assert shown == {"Opportunity", "Stage", "Amount"}
    first_row = body[body.index("<tbody>") :].split("</tr>")[0]
    assert first_row.count("<td") == 9 and first_row.count('class="rc-hide-xs') == 6


@pytest.mark.parametrize("username", ["darcel.schlecht", "admin"])
def test_query_count_is_bounded(client_for, admin_user, django_assert_max_num_queries, username):
    client = client_for(admin_user if username == "admin" else username)
    client.get("/opportunities/")  # warm the session
    with django_assert_max_num_queries(12):
        response = client.get("/opportunities/?status=open&reached=Engaging&sort=-amount&page=2&q=a")
    assert response.status_code == 200


def test_totals_keep_currencies_apart(client_for, darcel_deal, user_named):
    from revcast.pipeline import services

    services.update_opportunity(darcel_deal, changed_by=None, source="test", currency="EUR", amount=Decimal("100.00"))
    response = client_for("darcel.schlecht").get("/opportunities/")
    rows = ex.visible_to("darcel.schlecht")
    usd = ex.total(rows) - next(d["amount"] for d in rows if d["id"] == darcel_deal.external_id)
    assert result_amounts(response) == {"EUR": Decimal("100.00"), "USD": usd}
    assert result_count(response) == 747
