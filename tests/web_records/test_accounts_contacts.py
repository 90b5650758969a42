"""Account and contact pages: counts, filters, sort, visibility of the account, its family, deals and people."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from revcast.activities.services import log_activity
from revcast.customers.models import Account, Contact
from revcast.customers.services import save_contact
from revcast.pipeline.models import Opportunity

from . import expected as ex
from .expected import _read
from .support import RESULTS_HEADERS, header_links, html, links, result_amounts, result_count, row_ids


def _accounts_of(username: str) -> set[str]:
    return {d["account"] for d in ex.visible_to(username) if d["account"]}


def _account(name: str) -> Account:
    return Account.objects.get(name=name)


@pytest.mark.parametrize("username", ["darcel.schlecht", "melvin.marxen", "admin"])
def test_account_counts(client_for, admin_user, username):
    if username == "admin":
        want = {r["account"] for r in _read("accounts.csv")}
        response = client_for(admin_user).get("/accounts/")
    else:
        want = _accounts_of(username)  # Maven accounts have no owner: visible through the user's deals
        response = client_for(username).get("/accounts/")
    assert result_count(response) == len(want) == {"darcel.schlecht": 55, "melvin.marxen": 75, "admin": 85}[username]
    shown = set(Account.objects.filter(pk__in=row_ids(response)).values_list("name", flat=True))
    assert shown <= want and len(shown) == min(50, len(want))


def test_account_filters_and_search(client_for, admin_user):
    accounts = _read("accounts.csv")
    client = client_for(admin_user)
    tech = [a for a in accounts if a["sector"] in ("technology", "technolgy")]
    assert result_count(client.get("/accounts/?industry=technology")) == len(tech)
    us = [a for a in accounts if a["office_location"] == "United States"]
    assert result_count(client.get("/accounts/?country=United+States")) == len(us)
    both = [a for a in tech if a["office_location"] == "United States"]
    assert result_count(client.get("/accounts/?industry=technology&country=United+States")) == len(both)
    q = [a for a in accounts if "tech" in a["account"].lower()]
    assert result_count(client.get("/accounts/?q=TECH")) == len(q)


def test_account_sort_keeps_the_filters(client_for, admin_user):
    client = client_for(admin_user)
    response = client.get("/accounts/?industry=technology&sort=-employees")
    tech = [a for a in _read("accounts.csv") if a["sector"] in ("technology", "technolgy")]
    biggest = max(tech, key=lambda a: int(a["employees"]))
    assert Account.objects.get(pk=row_ids(response)[0]).name == biggest["account"]
    for href in header_links(response):
        assert parse_qs(urlsplit(href).query)["industry"] == ["technology"]
    by_name = client.get("/accounts/?sort=-name")
    assert Account.objects.get(pk=row_ids(by_name)[0]).name == max((a["account"] for a in _read("accounts.csv")), key=str.lower)
    page2 = client.get("/accounts/?page=2")
    assert len(row_ids(page2)) == 85 - 50
    assert all("page=" in h or "sort=" in h for h in links(page2, r"^\?"))


def test_account_list_counts_only_visible_deals(client_for):
    response = client_for("darcel.schlecht").get("/accounts/?q=Isdom")
    darcel_isdom = sum(1 for d in ex.visible_to("darcel.schlecht") if d["account"] == "Isdom")
    body = html(response)
    assert result_count(response) == 1
    assert f'<td class="rc-table-num">{darcel_isdom}</td>' in body


def test_an_invisible_account_is_404(client_for):
    hidden = sorted({r["account"] for r in _read("accounts.csv")} - _accounts_of("darcel.schlecht"))[0]
    assert hidden == "Bioplex"
    client = client_for("darcel.schlecht")
    assert client.get(f"/accounts/{_account(hidden).pk}/").status_code == 404
    assert client.get(f"/accounts/{_account(hidden).pk}/", **RESULTS_HEADERS).status_code == 404
    assert result_count(client.get("/accounts/?q=Bioplex")) == 0
    assert client_for("melvin.marxen").get(f"/accounts/{_account('Isdom').pk}/").status_code == 200


def test_account_detail_shows_only_visible_deals(client_for, admin_user):
    isdom = _account("Isdom")
    mine = [d for d in ex.visible_to("darcel.schlecht") if d["account"] == "Isdom"]
    everyone = [d for d in ex.deals() if d["account"] == "Isdom"]
    assert 0 < len(mine) < len(everyone)
    response = client_for("darcel.schlecht").get(f"/accounts/{isdom.pk}/")
    assert result_count(response) == len(mine)
    assert result_amounts(response) == {"USD": ex.total(mine)}
    admin = client_for(admin_user).get(f"/accounts/{isdom.pk}/")
    assert result_count(admin) == len(everyone)
    assert "sort=account" not in html(admin)  # no account column on the account's own page
    # the deals table sorts and pages in place (htmx) and keeps the account page
    partial = client_for(admin_user).get(f"/accounts/{isdom.pk}/?sort=-amount&status=won", **RESULTS_HEADERS)
    won = [d for d in everyone if d["stage"] == "Won"]
    assert "<html" not in html(partial) and result_count(partial) == len(won)


def test_parent_and_subsidiaries_are_only_the_visible_ones(client_for, admin_user):
    # Faxquote is a subsidiary of Sonron; Darcel has deals with Faxquote, none with Sonron.
    assert "Faxquote" in _accounts_of("darcel.schlecht") and "Sonron" not in _accounts_of("darcel.schlecht")
    body = html(client_for("darcel.schlecht").get(f"/accounts/{_account('Faxquote').pk}/"))
    assert "Sonron" not in body
    assert "Sonron" in html(client_for(admin_user).get(f"/accounts/{_account('Faxquote').pk}/"))
    # Bubba Gump's subsidiaries: Scotfind (Darcel's) and Dalttechnology (not his).
    body = html(client_for("darcel.schlecht").get(f"/accounts/{_account('Bubba Gump').pk}/"))
    subs = body.split('id="subsidiaries"')[1].split("</ul>")[0]
    assert "Scotfind" in subs and "Dalttechnology" not in subs
    admin_subs = html(client_for(admin_user).get(f"/accounts/{_account('Bubba Gump').pk}/")).split('id="subsidiaries"')[1]
    assert "Dalttechnology" in admin_subs.split("</ul>")[0]


@pytest.fixture
def people(user_named):
    """Contacts: on an account Darcel sees, on one he does not, and his own on an account he does not see."""
    gladys, darcel = user_named("gladys.colclough"), user_named("darcel.schlecht")
    visible_account, hidden_account = _account("Isdom"), _account("Bioplex")
    return {
        "shared": save_contact(Contact(), first_name="Ann", last_name="Shared", account=visible_account, owner=gladys,
                               email="ann@isdom.example", title="CTO"),
        "hidden": save_contact(Contact(), first_name="Hal", last_name="Hidden", account=hidden_account, owner=gladys),
        "own": save_contact(Contact(), first_name="Olga", last_name="Own", account=hidden_account, owner=darcel,
                            phone="+1 555 0100"),
    }


def test_contact_visibility(client_for, people, admin_user):
    client = client_for("darcel.schlecht")
    response = client.get("/contacts/")
    assert result_count(response) == 2
    assert set(row_ids(response)) == {people["shared"].pk, people["own"].pk}
    assert client.get(f"/contacts/{people['hidden'].pk}/").status_code == 404
    assert client.get(f"/contacts/{people['shared'].pk}/").status_code == 200
    own = html(client.get(f"/contacts/{people['own'].pk}/"))
    assert "Bioplex" not in own  # his contact sits on an account he may not see: not named
    assert "Bioplex" not in html(response)
    assert result_count(client.get("/contacts/?q=hal")) == 0
    assert result_count(client.get("/contacts/?q=isdom")) == 1
    assert result_count(client_for(admin_user).get("/contacts/")) == 3
    account_page = html(client.get(f"/accounts/{_account('Isdom').pk}/"))
    assert "Ann Shared" in account_page
    # another team's rep sees the contacts on the accounts where she has deals, whoever owns them
    anna_accounts = _accounts_of("anna.snelling")
    anna_sees = {p.pk for p in people.values() if p.account.name in anna_accounts}
    assert set(row_ids(client_for("anna.snelling").get("/contacts/"))) == anna_sees


def test_contact_sort(client_for, people, admin_user):
    client = client_for(admin_user)
    assert row_ids(client.get("/contacts/?sort=name")) == [people["hidden"].pk, people["own"].pk, people["shared"].pk]
    assert row_ids(client.get("/contacts/?sort=-name")) == [people["shared"].pk, people["own"].pk, people["hidden"].pk]
    assert row_ids(client.get("/contacts/?sort=email"))[0] == people["shared"].pk


def test_account_activities_are_only_the_visible_ones(client_for, user_named, admin_user, gladys_deal):
    isdom = _account("Isdom")
    darcel_isdom = Opportunity.objects.filter(account=isdom, owner=user_named("darcel.schlecht")).first()
    log_activity(owner=user_named("darcel.schlecht"), type="visit", opportunity=darcel_isdom, subject="Darcel visit")
    log_activity(owner=user_named("gladys.colclough"), type="call", account=isdom, subject="Gladys call")
    darcel_page = html(client_for("darcel.schlecht").get(f"/accounts/{isdom.pk}/"))
    assert "Darcel visit" in darcel_page and "Gladys call" not in darcel_page
    admin_page = html(client_for(admin_user).get(f"/accounts/{isdom.pk}/"))
    assert "Darcel visit" in admin_page and "Gladys call" in admin_page
