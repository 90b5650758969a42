"""Create and edit: validation, history, exit criteria, optimistic locking, owners, custom fields, permissions."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from revcast.core.models import CustomField, Picklist, PicklistValue
from revcast.pipeline import services
from revcast.pipeline.models import Opportunity, OpportunityFieldHistory, Product, Stage

from .support import html


def _ids(name: str) -> int:
    return Stage.objects.get(name=name).pk


def _edit_data(opp: Opportunity, **changes) -> dict:
    """The edit form as the browser posts it, unchanged unless ``changes`` say otherwise."""
    data = {
        "name": opp.name,
        "account": opp.account_id or "",
        "product": opp.product_id or "",
        "owner": opp.owner_id,
        "amount": "" if opp.amount is None else str(opp.amount),
        "currency": opp.currency,
        "expected_close_on": opp.expected_close_on.isoformat() if opp.expected_close_on else "",
        "stage": opp.stage_id,
        "probability": opp.probability,
        "forecast_category": opp.forecast_category,
        "loss_reason": opp.loss_reason,
        "version": opp.version,
    }
    data.update(changes)
    return {k: ("" if v is None else v) for k, v in data.items()}


def _errors_of(body: str, field_id: str) -> str:
    match = re.search(rf'id="{field_id}_error">([^<]*)<', body)
    return match.group(1) if match else ""


def test_the_form_has_standard_ids_and_a_save_button(client_for):
    body = html(client_for("darcel.schlecht").get("/opportunities/new/"))
    for field_id in ("id_name", "id_account", "id_product", "id_owner", "id_amount", "id_currency",
                     "id_expected_close_on", "id_stage", "id_probability", "id_forecast_category", "id_loss_reason"):
        assert f'id="{field_id}"' in body, field_id
    assert 'id="save"' in body and 'type="date"' in body
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in body
    assert "Lost to competitor" in body  # loss reasons come from the governed picklist


def test_create_writes_the_deal_and_its_creation_history(client_for, user_named):
    darcel = user_named("darcel.schlecht")
    product = Product.objects.get(name="GTX Pro")
    response = client_for(darcel).post("/opportunities/new/", {
        "name": "Big renewal", "account": "", "product": product.pk, "owner": darcel.pk, "amount": "12,500.50",
        "currency": "usd", "expected_close_on": "2030-06-30", "stage": _ids("Engaging"), "probability": "",
        "forecast_category": "", "loss_reason": "",
    })
    assert response.status_code == 200 and 'id_amount_error' in html(response)  # "12,500.50" is not a number input
    response = client_for(darcel).post("/opportunities/new/", {
        "name": "Big renewal", "account": "", "product": product.pk, "owner": darcel.pk, "amount": "12500.50",
        "currency": "usd", "expected_close_on": "2030-06-30", "stage": _ids("Engaging"), "probability": "",
        "forecast_category": "", "loss_reason": "",
    })
    opp = Opportunity.objects.get(name="Big renewal")
    assert response.status_code == 302 and response["Location"] == f"/opportunities/{opp.pk}/"
    assert (opp.owner, opp.amount, opp.currency, opp.stage.name) == (darcel, Decimal("12500.50"), "USD", "Engaging")
    assert (opp.probability, opp.forecast_category) == (40, "pipeline")  # the stage's defaults
    history = {
        (h.field, h.old_value, h.new_value)
        for h in OpportunityFieldHistory.objects.filter(opportunity=opp, source="ui", changed_by=darcel)
    }
    assert history == {
        ("amount", None, "12500.50"),
        ("expected_close_on", None, "2030-06-30"),
        ("owner", None, "darcel.schlecht"),
        ("stage", None, "Engaging"),
        ("forecast_category", None, "pipeline"),
    }
    assert "Big renewal" in html(client_for(darcel).get("/opportunities/?q=big+renewal"))


def test_a_rep_cannot_give_a_deal_to_a_colleague_but_a_manager_can(client_for, user_named):
    gladys = user_named("gladys.colclough")
    data = {"name": "Handover", "owner": gladys.pk, "currency": "USD", "stage": _ids("Prospecting")}
    response = client_for("darcel.schlecht").post("/opportunities/new/", data)
    assert response.status_code == 200 and _errors_of(html(response), "id_owner")
    assert not Opportunity.objects.filter(name="Handover").exists()
    owner_select = html(client_for("darcel.schlecht").get("/opportunities/new/")).split('id="id_owner"')[1].split("</select>")[0]
    assert re.findall(r'<option value="(\d+)"', owner_select) == [str(user_named("darcel.schlecht").pk)]
    assert client_for("melvin.marxen").post("/opportunities/new/", data).status_code == 302
    assert Opportunity.objects.get(name="Handover").owner == gladys


def test_edit_writes_history_and_bumps_the_version(client_for, darcel_deal, user_named):
    darcel = user_named("darcel.schlecht")
    old_amount = darcel_deal.amount
    response = client_for(darcel).post(
        f"/opportunities/{darcel_deal.pk}/edit/", _edit_data(darcel_deal, amount="5000.00", name="Renamed")
    )
    assert response.status_code == 302
    fresh = Opportunity.objects.get(pk=darcel_deal.pk)
    assert (fresh.amount, fresh.name, fresh.version) == (Decimal("5000.00"), "Renamed", darcel_deal.version + 1)
    rows = list(OpportunityFieldHistory.objects.filter(opportunity=fresh, source="ui"))
    assert [(r.field, r.old_value, r.new_value, r.changed_by) for r in rows] == [
        ("amount", f"{old_amount:.2f}", "5000.00", darcel)
    ]
    page = html(client_for(darcel).get(f"/opportunities/{darcel_deal.pk}/"))
    assert f"Amount: {old_amount:,.2f} → 5,000.00" in page


def test_exit_criteria_errors_are_shown_on_the_fields(client_for, darcel_deal):
    response = client_for("darcel.schlecht").post(
        f"/opportunities/{darcel_deal.pk}/edit/", _edit_data(darcel_deal, stage=_ids("Won"), amount="")
    )
    body = html(response)
    assert response.status_code == 200
    assert _errors_of(body, "id_expected_close_on") == "Required to leave stage Engaging."
    assert _errors_of(body, "id_amount") == "Required to leave stage Engaging."
    assert 'class="form-control is-invalid"' in body
    fresh = Opportunity.objects.get(pk=darcel_deal.pk)
    assert (fresh.stage.name, fresh.amount, fresh.version) == ("Engaging", darcel_deal.amount, darcel_deal.version)


def test_stage_change_takes_the_new_stage_defaults_unless_overridden(client_for, darcel_deal):
    client = client_for("darcel.schlecht")
    response = client.post(f"/opportunities/{darcel_deal.pk}/edit/",
                           _edit_data(darcel_deal, stage=_ids("Won"), expected_close_on="2030-01-31"))
    assert response.status_code == 302
    won = Opportunity.objects.get(pk=darcel_deal.pk)
    assert (won.stage.name, won.probability, won.forecast_category) == ("Won", 100, "closed")
    response = client.post(f"/opportunities/{won.pk}/edit/",
                           _edit_data(won, stage=_ids("Engaging"), probability=55, forecast_category="commit"))
    assert response.status_code == 302
    reopened = Opportunity.objects.get(pk=won.pk)
    assert (reopened.stage.name, reopened.probability, reopened.forecast_category, reopened.closed_on) == (
        "Engaging", 55, "commit", None
    )


def test_a_stale_edit_form_is_refused_without_overwriting(client_for, darcel_deal, user_named):
    form_version = darcel_deal.version
    services.update_opportunity(darcel_deal, changed_by=user_named("melvin.marxen"), source="ui",
                                amount=Decimal("9999.00"))
    response = client_for("darcel.schlecht").post(
        f"/opportunities/{darcel_deal.pk}/edit/", _edit_data(darcel_deal, amount="1.00", version=form_version)
    )
    assert response.status_code == 409
    body = html(response)
    assert "Someone else changed this opportunity" in body and 'id="reload-form"' in body
    assert f'name="version" value="{form_version}"' in body  # resubmitting stays refused: reload first
    assert Opportunity.objects.get(pk=darcel_deal.pk).amount == Decimal("9999.00")
    missing = client_for("darcel.schlecht").post(
        f"/opportunities/{darcel_deal.pk}/edit/", _edit_data(darcel_deal, amount="1.00", version="")
    )
    assert missing.status_code == 200 and Opportunity.objects.get(pk=darcel_deal.pk).amount == Decimal("9999.00")


def test_custom_fields_in_the_form(client_for, darcel_deal):
    picklist = Picklist.objects.create(key="deal_type_f", label_en="Deal type")
    PicklistValue.objects.create(picklist=picklist, value="new", label_en="New business")
    PicklistValue.objects.create(picklist=picklist, value="renewal", label_en="Renewal")
    CustomField.objects.create(object="opportunity", key="deal_type", label_en="Deal type", type="picklist",
                               picklist=picklist, required=True)
    CustomField.objects.create(object="opportunity", key="seats", label_en="Seats", type="number")
    CustomField.objects.create(object="opportunity", key="go_live", label_en="Go-live", type="date")
    CustomField.objects.create(object="opportunity", key="champion", label_en="Champion", type="text", max_length=10)
    client = client_for("darcel.schlecht")
    url = f"/opportunities/{darcel_deal.pk}/edit/"
    body = html(client.get(url))
    for field_id in ("id_custom_deal_type", "id_custom_seats", "id_custom_go_live", "id_custom_champion"):
        assert f'id="{field_id}"' in body
    bad = client.post(url, _edit_data(darcel_deal, custom_deal_type="", custom_seats="many",
                                      custom_champion="far too long a name"))
    body = html(bad)
    assert _errors_of(body, "id_custom_deal_type") and _errors_of(body, "id_custom_seats")
    assert _errors_of(body, "id_custom_champion")
    good = client.post(url, _edit_data(darcel_deal, custom_deal_type="renewal", custom_seats="120.5",
                                       custom_go_live="2030-02-01", custom_champion="Ada"))
    assert good.status_code == 302
    fresh = Opportunity.objects.get(pk=darcel_deal.pk)
    assert fresh.custom == {"deal_type": "renewal", "seats": 120.5, "go_live": "2030-02-01", "champion": "Ada"}
    assert 'value="renewal" selected' in html(client.get(url))


def test_loss_reason_is_a_picklist_value(client_for, darcel_deal):
    client = client_for("darcel.schlecht")
    url = f"/opportunities/{darcel_deal.pk}/edit/"
    data = _edit_data(darcel_deal, stage=_ids("Lost"), expected_close_on="2030-01-31", loss_reason="made_up")
    assert _errors_of(html(client.post(url, data)), "id_loss_reason")
    assert client.post(url, {**data, "loss_reason": "competitor"}).status_code == 302
    lost = Opportunity.objects.get(pk=darcel_deal.pk)
    assert (lost.stage.name, lost.loss_reason, lost.forecast_category) == ("Lost", "competitor", "omitted")
    assert "Lost to competitor" in html(client.get(f"/opportunities/{lost.pk}/"))


def test_edit_permissions(client_for, finance_user, gladys_deal, darcel_deal, maven):
    from revcast.org.models import User

    viewer = User.objects.create(username="records.viewer", role=User.Role.VIEWER)  # subtree scope: sees nothing
    assert client_for(finance_user).get(f"/opportunities/{darcel_deal.pk}/edit/").status_code == 403
    assert client_for(finance_user).post(f"/opportunities/{darcel_deal.pk}/edit/",
                                         _edit_data(darcel_deal, amount="1.00")).status_code == 403
    assert client_for(viewer).get(f"/opportunities/{darcel_deal.pk}/edit/").status_code == 404
    assert client_for(viewer).get(f"/opportunities/{darcel_deal.pk}/").status_code == 404
    assert client_for("darcel.schlecht").post(f"/opportunities/{gladys_deal.pk}/edit/",
                                              _edit_data(gladys_deal, amount="1.00")).status_code == 404
    assert client_for("melvin.marxen").get(f"/opportunities/{gladys_deal.pk}/edit/").status_code == 200
    assert Opportunity.objects.get(pk=darcel_deal.pk).amount == darcel_deal.amount
    assert Opportunity.objects.get(pk=gladys_deal.pk).amount == gladys_deal.amount


@pytest.mark.parametrize("path", ["/opportunities/new/", "/accounts/", "/contacts/"])
def test_pages_need_a_login(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_create_in_a_closed_stage_sets_the_close_date(client_for, user_named):
    from django.utils import timezone

    darcel = user_named("darcel.schlecht")
    data = {"name": "Quick win", "owner": darcel.pk, "currency": "USD", "stage": _ids("Won"), "amount": "10.00"}
    assert client_for(darcel).post("/opportunities/new/", data).status_code == 302
    opp = Opportunity.objects.get(name="Quick win")
    assert (opp.closed_on, opp.reached_stage.name, opp.probability) == (timezone.localdate(), "Won", 100)


def test_saving_an_unchanged_form_writes_nothing(client_for, darcel_deal):
    response = client_for("darcel.schlecht").post(f"/opportunities/{darcel_deal.pk}/edit/", _edit_data(darcel_deal))
    assert response.status_code == 302
    fresh = Opportunity.objects.get(pk=darcel_deal.pk)
    assert fresh.version == darcel_deal.version
    assert not OpportunityFieldHistory.objects.filter(opportunity=fresh, source="ui").exists()
