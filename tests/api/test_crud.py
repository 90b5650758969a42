"""Create, read, update and delete over the API, with exact field values, through the domain services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from revcast.activities.models import Activity
from revcast.core.models import CustomField, Picklist
from revcast.customers.models import Account, Contact
from revcast.pipeline.models import Opportunity, OpportunityFieldHistory, Product, Stage


@pytest.fixture
def rep(api, users):
    return api(users.darcel)


@pytest.fixture
def admin(api, users):
    return api(users.admin)


def _timestamps(body: dict) -> dict:
    return {k: v for k, v in body.items() if k not in ("created_at", "updated_at")}


def test_opportunity_create_read_update_delete(rep, admin, users):
    account = Account.objects.get(name="Acme Corporation")
    assert rep.get(f"/api/accounts/{account.pk}/").status_code == 200  # Darcel has deals with Acme
    CustomField.objects.create(object="opportunity", key="deal_type", label_en="Deal type", type="text")
    created = rep.post(
        "/api/opportunities/",
        {
            "name": "Acme expansion",
            "account": account.pk,
            "product": "GTX Pro",
            "amount": "4821.5",
            "stage": "Prospecting",
            "expected_close_on": "2018-03-31",
            "custom": {"deal_type": "expansion"},
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    opp = Opportunity.objects.get(pk=body["id"])
    assert _timestamps(body) == {
        "id": opp.pk,
        "external_id": None,
        "name": "Acme expansion",
        "owner": "darcel.schlecht",
        "account": account.pk,
        "account_name": "Acme Corporation",
        "product": "GTX Pro",
        "amount": "4821.50",
        "currency": "USD",
        "stage": "Prospecting",
        "reached_stage": "Prospecting",
        "probability": 10,
        "forecast_category": "pipeline",
        "loss_reason": "",
        "created_on": timezone.localdate().isoformat(),
        "engaged_on": None,
        "expected_close_on": "2018-03-31",
        "closed_on": None,
        "custom": {"deal_type": "expansion"},
        "version": 1,
    }
    # Creation history, written by the service.
    assert sorted(OpportunityFieldHistory.objects.filter(opportunity=opp).values_list("field", "new_value")) == [
        ("amount", "4821.50"), ("expected_close_on", "2018-03-31"), ("forecast_category", "pipeline"),
        ("owner", "darcel.schlecht"), ("stage", "Prospecting"),
    ]
    url = f"/api/opportunities/{opp.pk}/"
    assert _timestamps(rep.get(url).json()) == _timestamps(body)

    moved = rep.patch(url, {"stage": "Engaging", "version": 1}, format="json")
    assert moved.status_code == 200
    assert (moved.json()["stage"], moved.json()["probability"], moved.json()["version"]) == ("Engaging", 40, 2)
    won = rep.patch(url, {"stage": "Won", "amount": "5000.00"}, format="json", HTTP_IF_MATCH='"2"')
    assert won.status_code == 200, won.content
    assert {k: won.json()[k] for k in ("stage", "reached_stage", "probability", "forecast_category", "closed_on",
                                       "amount", "version")} == {
        "stage": "Won", "reached_stage": "Won", "probability": 100, "forecast_category": "closed",
        "closed_on": timezone.localdate().isoformat(), "amount": "5000.00", "version": 3,
    }
    history = [(h["field"], h["old_value"], h["new_value"]) for h in rep.get(f"{url}history/").json()
               if h["source"] == "api" and h["old_value"] is not None]
    assert history == [
        ("stage", "Prospecting", "Engaging"),
        ("stage", "Engaging", "Won"),
        ("amount", "4821.50", "5000.00"),
        ("forecast_category", "pipeline", "closed"),
    ]

    assert rep.delete(url).status_code == 403
    assert admin.delete(url).status_code == 204
    assert not Opportunity.objects.filter(pk=opp.pk).exists()
    assert admin.get(url).status_code == 404


def test_exit_criteria_come_back_as_400_with_fields(rep, users):
    # Leaving Engaging needs an amount and an expected close date (the Maven stages); open Maven deals have no
    # expected close date.
    opp = Opportunity.objects.filter(owner=users.darcel, stage__name="Engaging").order_by("pk").first()
    assert opp.expected_close_on is None
    response = rep.patch(f"/api/opportunities/{opp.pk}/", {"stage": "Won", "amount": None, "version": 1},
                         format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    # The service raises ValidationError({field: [ValidationError(message, code="exit_criteria")]}).
    assert error == {
        "status": 400,
        "code": "invalid",
        "message": "Invalid input: amount: required to leave stage Engaging; "
        "expected_close_on: required to leave stage Engaging",
        "fields": {
            "amount": [{"message": "required to leave stage Engaging", "code": "exit_criteria"}],
            "expected_close_on": [{"message": "required to leave stage Engaging", "code": "exit_criteria"}],
        },
    }
    opp.refresh_from_db()
    assert (opp.stage.name, opp.version) == ("Engaging", 1) and opp.amount is not None


def test_opportunity_filters_ordering_and_search(rep, users):
    from tests.api import support as S

    mine = S.deals_of({"darcel.schlecht"})
    won_2017_q1 = [d for d in mine if d["deal_stage"] == "Won" and "2017-01-01" <= d["close_date"] <= "2017-03-31"]
    page = rep.get("/api/opportunities/", {"stage": "Won", "period": "2017-Q1"}).json()
    assert page["count"] == len(won_2017_q1)
    page = rep.get("/api/opportunities/", {"status": "open", "product": ["GTX Pro", "MG Special"]}).json()
    assert page["count"] == sum(1 for d in mine if d["deal_stage"] in ("Prospecting", "Engaging")
                                and d["product"] in ("GTXPro", "MG Special"))
    top = rep.get("/api/opportunities/", {"status": "won", "ordering": "-amount", "page_size": 3}).json()
    expected = sorted((Decimal(d["close_value"]) for d in mine if d["deal_stage"] == "Won"), reverse=True)[:3]
    assert [Decimal(r["amount"]) for r in top["results"]] == expected
    acme = rep.get("/api/opportunities/", {"search": "Acme Corporation"}).json()
    assert acme["count"] == sum(1 for d in mine if d["account"] == "Acme Corporation")
    assert rep.get("/api/opportunities/", {"page_size": 1000}).json()["results"].__len__() == 500


def test_account_and_contact_crud(api, users):
    melvin = api(users.melvin)
    created = melvin.post(
        "/api/accounts/",
        {"name": "Nanjing Widgets", "industry": "Manufacturing", "size": "小型（100 人以下）",
         "annual_revenue": "1200000", "revenue_currency": "CNY", "employees": 80, "country": "China",
         "owner": "darcel.schlecht"},
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert _timestamps(body) == {
        "id": body["id"], "external_id": None, "name": "Nanjing Widgets", "industry": "manufacturing",
        "size": "small", "annual_revenue": "1200000.00", "revenue_currency": "CNY", "employees": 80,
        "year_established": None, "country": "China", "location": "", "parent": None, "owner": "darcel.schlecht",
        "custom": {},
    }
    url = f"/api/accounts/{body['id']}/"
    darcel = api(users.darcel)
    assert darcel.patch(url, {"location": "Nanjing"}, format="json").json()["location"] == "Nanjing"
    bad = darcel.patch(url, {"industry": "mining"}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["fields"]["industry"][0]["code"] == "invalid_choice"
    assert darcel.patch(url, {"parent": body["id"]}, format="json").json()["error"]["fields"]["parent"][0][
        "code"] == "cycle"
    assert melvin.get("/api/accounts/", {"name": "nanjing"}).json()["count"] == 1
    assert melvin.get("/api/accounts/", {"country": "China", "industry": "manufacturing"}).json()["count"] == 1

    contact = darcel.post(
        "/api/contacts/",
        {"first_name": "Li", "last_name": "Wei", "email": "li.wei@example.cn", "account": body["id"]},
        format="json",
    )
    assert contact.status_code == 201, contact.content
    assert _timestamps(contact.json()) == {
        "id": contact.json()["id"], "external_id": None, "first_name": "Li", "last_name": "Wei", "title": "",
        "email": "li.wei@example.cn", "phone": "", "account": body["id"], "account_name": "Nanjing Widgets",
        "owner": "darcel.schlecht",
    }
    curl = f"/api/contacts/{contact.json()['id']}/"
    assert darcel.put(curl, {"last_name": "Wang", "title": "CTO"}, format="json").json()["title"] == "CTO"
    assert darcel.get("/api/contacts/", {"account": body["id"]}).json()["count"] == 1
    bad = darcel.patch(curl, {"email": "not-an-email"}, format="json")
    assert bad.json()["error"]["fields"]["email"][0]["code"] == "invalid"
    # An account still carrying a contact can be deleted (the contact keeps no account); one with deals cannot.
    assert melvin.delete(curl).status_code == 204
    assert melvin.delete(url).status_code == 204
    assert not Account.objects.filter(pk=body["id"]).exists() and not Contact.objects.exists()
    acme = Account.objects.get(name="Acme Corporation")
    response = api(users.admin).delete(f"/api/accounts/{acme.pk}/")
    assert response.status_code == 409 and response.json()["error"]["code"] == "in_use"


def test_account_custom_fields_are_validated(api, users):
    picklist = Picklist.objects.get(key="account_size")
    CustomField.objects.create(object="account", key="tier", label_en="Tier", type="picklist", picklist=picklist)
    CustomField.objects.create(object="account", key="seats", label_en="Seats", type="number")
    admin = api(users.admin)
    ok = admin.post("/api/accounts/", {"name": "Tiered", "custom": {"tier": "Large (1,000-4,999 employees)",
                                                                      "seats": "1,200"}}, format="json")
    assert ok.status_code == 201, ok.content
    assert ok.json()["custom"] == {"tier": "large", "seats": 1200}
    bad = admin.patch(f"/api/accounts/{ok.json()['id']}/", {"custom": {"seats": "many"}}, format="json")
    assert bad.status_code == 400
    assert bad.json()["error"]["fields"] == {"custom.seats": [{"message": "'many' is not a number",
                                                                "code": "invalid"}]}
    nested = admin.patch(f"/api/accounts/{ok.json()['id']}/", {"custom": {"seats": [1]}}, format="json")
    assert nested.json()["error"]["fields"]["custom"][0]["code"] == "not_scalar"


def test_activity_crud(api, users):
    darcel = api(users.darcel)
    opp = Opportunity.objects.filter(owner=users.darcel, account__isnull=False).order_by("pk").first()
    created = darcel.post(
        "/api/activities/",
        {"type": "meeting", "opportunity": opp.pk, "subject": "Demo", "occurred_at": "2017-05-02T09:30:00+08:00",
         "external_id": "ACT-1"},
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert _timestamps(body) == {
        "id": body["id"], "external_id": "ACT-1", "type": "meeting", "occurred_at": "2017-05-02T01:30:00Z",
        "owner": "darcel.schlecht", "opportunity": opp.pk, "account": opp.account_id, "contact": None,
        "subject": "Demo", "note": "",
    }
    url = f"/api/activities/{body['id']}/"
    assert darcel.patch(url, {"note": "went well"}, format="json").json()["note"] == "went well"
    assert darcel.get("/api/activities/", {"opportunity": opp.pk, "type": "meeting"}).json()["count"] == 1
    assert darcel.get("/api/activities/", {"owner": "darcel.schlecht", "occurred_from": "2017-06-01T00:00:00Z"}
                      ).json()["count"] == 0
    assert api(users.melvin).get("/api/activities/", {"account": opp.account_id}).json()["count"] == 1
    # Any offset Python reads works on every database (PostgreSQL alone refuses offsets beyond 15:59).
    assert darcel.get("/api/activities/", {"occurred_to": "2017-05-01T08:00:00-18:30"}).json()["count"] == 1
    assert darcel.get("/api/activities/", {"occurred_to": "2017-05-01T06:59:00-18:30"}).json()["count"] == 0
    out_of_range = darcel.get("/api/activities/", {"occurred_from": "0001-01-01T00:00:00+05:00"})
    assert out_of_range.status_code == 400
    assert out_of_range.json()["error"]["fields"]["occurred_from"][0]["message"] == "Date and time out of range."
    assert darcel.delete(url).status_code == 204
    assert not Activity.objects.exists()
    defaulted = darcel.post("/api/activities/", {"type": "call"}, format="json").json()
    assert abs(dt.datetime.fromisoformat(defaulted["occurred_at"]) - timezone.now()) < dt.timedelta(minutes=1)


def test_products_and_stages_by_an_admin(api, users):
    admin = api(users.admin)
    product = admin.post("/api/products/", {"name": "GTX Ultra", "series": "GTX", "list_price": "9999.99"},
                         format="json")
    assert product.status_code == 201
    assert _timestamps(product.json()) == {
        "id": product.json()["id"], "external_id": None, "name": "GTX Ultra", "series": "GTX",
        "list_price": "9999.99", "currency": "USD", "active": True,
    }
    dup = admin.post("/api/products/", {"name": "GTX Pro"}, format="json")
    assert dup.status_code == 400 and dup.json()["error"]["fields"]["name"][0]["code"] == "unique"
    purl = f"/api/products/{product.json()['id']}/"
    assert admin.patch(purl, {"active": False}, format="json").json()["active"] is False
    assert admin.get("/api/products/", {"active": "true"}).json()["count"] == 7
    assert admin.delete(purl).status_code == 204
    gtx_pro = Product.objects.get(name="GTX Pro")
    assert admin.delete(f"/api/products/{gtx_pro.pk}/").status_code == 409

    stage = admin.post(
        "/api/stages/",
        {"name": "Negotiation", "order": 30, "type": "open", "probability": 70, "forecast_category": "commit",
         "required_fields": ["amount", "account"]},
        format="json",
    )
    assert stage.status_code == 201, stage.content
    assert stage.json() == {
        "id": stage.json()["id"], "name": "Negotiation", "label_zh": "", "order": 30, "type": "open",
        "probability": 70, "forecast_category": "commit", "required_fields": ["amount", "account"], "active": True,
    }
    bad = admin.patch(f"/api/stages/{stage.json()['id']}/", {"required_fields": ["colour"]}, format="json")
    assert bad.json()["error"]["fields"] == {
        "required_fields": [{"message": "Not a field a stage can require: colour.", "code": "invalid"}]
    }
    names = [s["name"] for s in admin.get("/api/stages/").json()["results"]]
    assert names == ["Prospecting", "Engaging", "Negotiation", "Won", "Lost"]
    assert admin.delete(f"/api/stages/{stage.json()['id']}/").status_code == 204
    assert Stage.objects.count() == 4


def test_only_admins_leave_accounts_and_contacts_without_owner(api, users):
    response = api(users.darcel).post("/api/accounts/", {"name": "Orphan", "owner": None}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["owner"] == [
        {"message": "Only an administrator may leave a record without owner.", "code": "required"}
    ]
    admin = api(users.admin)
    assert admin.post("/api/contacts/", {"last_name": "Orphan", "owner": None}, format="json").json()["owner"] is None


@pytest.mark.parametrize("who", ["admin", "darcel"])
def test_account_ordering_puts_empty_values_last_on_every_database(api, users, who):
    from tests.api import support as S

    visible = S.accounts_of(None if who == "admin" else {"darcel.schlecht"})
    with (S.MAVEN_DIR / "accounts.csv").open(encoding="utf-8") as fh:
        import csv

        revenue = {r["account"]: Decimal(r["revenue"]) * 1_000_000 for r in csv.DictReader(fh)}
    Account.objects.create(name="No revenue yet", owner=users[who])  # annual_revenue empty: listed last
    client = api(users[who])
    rows = client.get("/api/accounts/", {"ordering": "-annual_revenue", "page_size": 500}).json()["results"]
    assert {r["name"] for r in rows[:-1]} == visible
    assert [Decimal(r["annual_revenue"]) for r in rows[:-1]] == sorted((revenue[n] for n in visible), reverse=True)
    assert rows[-1]["name"] == "No revenue yet" and rows[-1]["annual_revenue"] is None
    rows = client.get("/api/accounts/", {"ordering": "annual_revenue", "page_size": 500}).json()["results"]
    assert rows[-1]["name"] == "No revenue yet"
    assert Decimal(rows[0]["annual_revenue"]) == min(revenue[n] for n in visible)
