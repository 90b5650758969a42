"""Optimistic concurrency on opportunity updates: ETag / If-Match, body version, 412 / 409 / 428."""

from __future__ import annotations

from decimal import Decimal

import pytest

from revcast.pipeline.models import Opportunity, OpportunityFieldHistory
from tests.api import support as S


def _list_price_in_csv(external_id: str) -> str:
    """An open deal's amount is its product's list price (the Maven mapping), read here from the raw files."""
    import csv

    from tests.conftest import MAVEN_DIR

    with (MAVEN_DIR / "products.csv").open(encoding="utf-8") as fh:
        price = {r["product"]: r["sales_price"] for r in csv.DictReader(fh)}
    row = next(d for d in S.deals() if d["opportunity_id"] == external_id)
    assert row["deal_stage"] == "Engaging" and row["close_value"] == ""
    return f"{int(price[row['product'].replace('GTXPro', 'GTX Pro')])}.00"


@pytest.fixture
def deal(users):
    return Opportunity.objects.filter(owner=users.darcel, stage__name="Engaging").order_by("pk").first()


def test_get_returns_the_version_as_etag(api, users, deal):
    response = api(users.darcel).get(f"/api/opportunities/{deal.pk}/")
    assert response["ETag"] == f'"{deal.version}"' == '"1"'
    assert response.json()["version"] == 1


def test_second_writer_with_a_stale_version_loses_and_nothing_is_lost(api, users, deal):
    url = f"/api/opportunities/{deal.pk}/"
    rep, manager = api(users.darcel), api(users.melvin)
    etag_rep = rep.get(url)["ETag"]
    etag_manager = manager.get(url)["ETag"]
    assert etag_rep == etag_manager == '"1"'
    history_before = OpportunityFieldHistory.objects.filter(opportunity=deal).count()

    first = rep.patch(url, {"amount": "1111.00"}, format="json", HTTP_IF_MATCH=etag_rep)
    assert first.status_code == 200
    assert first.json()["version"] == 2 and first["ETag"] == '"2"' and first.json()["amount"] == "1111.00"

    second = manager.patch(url, {"amount": "2222.00"}, format="json", HTTP_IF_MATCH=etag_manager)
    assert second.status_code == 412
    assert second.json()["error"]["code"] == "precondition_failed"
    third = manager.patch(url, {"amount": "3333.00", "version": 1}, format="json")
    assert third.status_code == 409
    assert third.json()["error"] == {
        "status": 409,
        "code": "stale_version",
        "message": "The opportunity changed since you read it: it is at version 2, not 1.",
    }
    deal.refresh_from_db()
    assert deal.amount == Decimal("1111.00") and deal.version == 2
    changes = OpportunityFieldHistory.objects.filter(opportunity=deal).order_by("id")[history_before:]
    assert [(h.field, h.new_value, h.changed_by.username, h.source) for h in changes] == [
        ("amount", "1111.00", "darcel.schlecht", "api")
    ]
    api_history = rep.get(f"{url}history/").json()
    assert [h for h in api_history if h["source"] == "api"] == [
        {
            "id": changes[0].pk,
            "field": "amount",
            "old_value": _list_price_in_csv(deal.external_id),
            "new_value": "1111.00",
            "changed_at": api_history[-1]["changed_at"],
            "changed_by": "darcel.schlecht",
            "source": "api",
        }
    ]

    # The manager reads again and wins with the fresh version, in the body this time.
    fresh = manager.get(url).json()["version"]
    assert manager.patch(url, {"amount": "2222.00", "version": fresh}, format="json").status_code == 200
    deal.refresh_from_db()
    assert deal.amount == Decimal("2222.00") and deal.version == 3


def test_put_needs_the_precondition_too(api, users, deal):
    url = f"/api/opportunities/{deal.pk}/"
    client = api(users.darcel)
    body = client.get(url).json()
    body["name"] = "Renamed"
    del body["version"]
    assert client.put(url, body, format="json").status_code == 428
    response = client.put(url, body, format="json", HTTP_IF_MATCH='W/"1"')
    assert response.status_code == 200 and response.json()["name"] == "Renamed"
    # Several ETags: it matches when one of them is the current version.
    assert client.patch(url, {"name": "Again"}, format="json", HTTP_IF_MATCH='"1", "2"').status_code == 200
    deal.refresh_from_db()
    assert (deal.name, deal.version) == ("Again", 3)


def test_if_match_wins_over_the_body_version(api, users, deal):
    url = f"/api/opportunities/{deal.pk}/"
    response = api(users.darcel).patch(url, {"name": "X", "version": 99}, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 200 and response.json()["version"] == 2
