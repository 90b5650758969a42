"""The opportunity page: fields, custom fields, the timeline, quick stage change and quick activity logging."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from revcast.activities.models import Activity
from revcast.activities.services import log_activity
from revcast.core.models import CustomField, Picklist, PicklistValue
from revcast.pipeline import services
from revcast.pipeline.models import Opportunity, OpportunityFieldHistory, Stage

from . import expected as ex
from .support import MAIN_HEADERS, html


def _stage(name: str) -> Stage:
    return Stage.objects.get(name=name)


def _closable(opp: Opportunity) -> Opportunity:
    """Give an Engaging deal the close date its stage's exit criteria ask for."""
    return services.update_opportunity(opp, changed_by=None, source="test", expected_close_on=dt.date(2030, 1, 31))


def test_detail_shows_the_fields(client_for, darcel_deal):
    row = next(d for d in ex.deals() if d["id"] == darcel_deal.external_id)
    body = html(client_for("darcel.schlecht").get(f"/opportunities/{darcel_deal.pk}/"))
    assert row["account"] in body and row["product"] in body and "Darcel Schlecht" in body
    assert f"{row['amount']:,.2f} USD" in body
    assert row["created_on"].isoformat() in body
    assert 'data-stage="Engaging"' in body


def test_custom_fields_are_shown_with_their_labels(client_for, darcel_deal):
    picklist = Picklist.objects.create(key="deal_type_t", label_en="Deal type")
    PicklistValue.objects.create(picklist=picklist, value="renewal", label_en="Renewal", label_zh="续约")
    CustomField.objects.create(object="opportunity", key="deal_type", label_en="Deal type", label_zh="交易类型",
                               type="picklist", picklist=picklist)
    CustomField.objects.create(object="opportunity", key="seats", label_en="Seats", type="number")
    CustomField.objects.create(object="opportunity", key="old_field", label_en="Retired field", type="text",
                               active=False)
    services.update_opportunity(darcel_deal, changed_by=None, source="test",
                                custom={"deal_type": "renewal", "seats": "1,200"})
    client = client_for("darcel.schlecht")
    body = html(client.get(f"/opportunities/{darcel_deal.pk}/"))
    assert re.search(r'rc-custom-label">Deal type</dt><dd[^>]*>Renewal</dd>', body)
    assert re.search(r'rc-custom-label">Seats</dt><dd[^>]*>1200</dd>', body)
    assert "Retired field" not in body
    zh = html(client.get(f"/opportunities/{darcel_deal.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans"))
    assert re.search(r'rc-custom-label">交易类型</dt><dd[^>]*>续约</dd>', zh)
    assert "接洽中" in zh  # the stage's Chinese label


def test_timeline_merges_history_and_activities_newest_first(client_for, user_named):
    darcel = user_named("darcel.schlecht")
    won = (
        Opportunity.objects.filter(owner=darcel, stage__name="Won")
        .exclude(engaged_on=None).order_by("pk").first()
    )
    row = next(d for d in ex.deals() if d["id"] == won.external_id)
    log_activity(owner=darcel, type="visit", opportunity=won, subject="Site visit", note="Met the CTO",
                 occurred_at=timezone.now() - dt.timedelta(hours=1))
    services.update_opportunity(won, changed_by=darcel, source="ui", amount=row["amount"] + Decimal("100"))
    body = html(client_for(darcel).get(f"/opportunities/{won.pk}/"))
    timeline = body[body.index('id="timeline"') :]
    amount_change = f"Amount: {row['amount']:,.2f} → {row['amount'] + 100:,.2f}"
    visit = timeline.index("Site visit")
    assert timeline.index(amount_change) < visit  # newest first
    assert visit < timeline.index("Stage: Engaging → Won") < timeline.index("Stage: — → Engaging")
    assert "Met the CTO" in timeline
    assert "Forecast category: Pipeline → Closed" in timeline
    # who and when: the change by Darcel today, the import's stage change on the close date
    assert re.search(r"Darcel Schlecht · web</div>\s*<div class=\"rc-field-change\" data-field=\"amount\">", timeline)
    assert f"{row['closed_on'].isoformat()} 00:00" in timeline


def test_a_colleagues_activity_on_my_deal_stays_hidden(client_for, user_named, darcel_deal):
    log_activity(owner=user_named("gladys.colclough"), type="call", opportunity=darcel_deal, subject="Gladys called")
    assert "Gladys called" not in html(client_for("darcel.schlecht").get(f"/opportunities/{darcel_deal.pk}/"))
    assert "Gladys called" in html(client_for("melvin.marxen").get(f"/opportunities/{darcel_deal.pk}/"))


# ------------------------------------------------------------------ visibility and permissions


def test_another_reps_deal_is_404_on_every_endpoint(client_for, gladys_deal):
    client = client_for("darcel.schlecht")
    pk = gladys_deal.pk
    version = gladys_deal.version
    won = _stage("Won").pk
    assert client.get(f"/opportunities/{pk}/").status_code == 404
    assert client.get(f"/opportunities/{pk}/edit/").status_code == 404
    assert client.post(f"/opportunities/{pk}/edit/", {"stage": won, "version": version}).status_code == 404
    assert client.post(f"/opportunities/{pk}/stage/", {"stage": won, "version": version}).status_code == 404
    assert client.post(f"/opportunities/{pk}/stage/", {"stage": won, "version": version}, **MAIN_HEADERS).status_code == 404
    assert client.get(f"/opportunities/{pk}/activity/?type=call").status_code == 404
    assert client.post(f"/opportunities/{pk}/activity/", {"type": "call", "occurred_at": "2024-01-01T10:00"}).status_code == 404
    assert client.get("/opportunities/999999999/").status_code == 404
    gladys_deal.refresh_from_db()
    assert gladys_deal.version == version and gladys_deal.stage.name == "Engaging"
    assert not Activity.objects.filter(opportunity=gladys_deal).exists()


def test_finance_reads_but_cannot_change(client_for, finance_user, gladys_deal):
    client = client_for(finance_user)
    body = html(client.get(f"/opportunities/{gladys_deal.pk}/"))
    assert 'id="stage-control"' not in body and 'id="edit-opportunity"' not in body
    assert client.get(f"/opportunities/{gladys_deal.pk}/edit/").status_code == 403
    post = {"stage": _stage("Lost").pk, "version": gladys_deal.version}
    assert client.post(f"/opportunities/{gladys_deal.pk}/stage/", post).status_code == 403
    assert client.post(f"/opportunities/{gladys_deal.pk}/activity/", {"type": "call", "occurred_at": "2024-01-01T10:00"}).status_code == 403
    assert client.get("/opportunities/new/").status_code == 403
    gladys_deal.refresh_from_db()
    assert gladys_deal.stage.name == "Engaging"


def test_a_manager_may_change_a_team_members_deal(client_for, gladys_deal, user_named):
    gladys_deal = _closable(gladys_deal)
    response = client_for("melvin.marxen").post(
        f"/opportunities/{gladys_deal.pk}/stage/", {"stage": _stage("Lost").pk, "version": gladys_deal.version}
    )
    assert response.status_code == 302
    gladys_deal.refresh_from_db()
    assert gladys_deal.stage.name == "Lost"
    row = OpportunityFieldHistory.objects.get(opportunity=gladys_deal, field="stage", source="ui")
    assert (row.old_value, row.new_value, row.changed_by) == ("Engaging", "Lost", user_named("melvin.marxen"))


# ------------------------------------------------------------------ quick stage change


def test_quick_stage_change_via_htmx(client_for, darcel_deal, user_named):
    darcel = user_named("darcel.schlecht")
    services.update_opportunity(darcel_deal, changed_by=darcel, source="ui", expected_close_on=dt.date(2030, 1, 31))
    darcel_deal.refresh_from_db()
    response = client_for(darcel).post(
        f"/opportunities/{darcel_deal.pk}/stage/",
        {"stage": _stage("Won").pk, "version": darcel_deal.version},
        **MAIN_HEADERS,
    )
    assert response.status_code == 200
    body = html(response)
    assert body.lstrip().startswith('<div id="opportunity-main"') and "<html" not in body
    assert "Stage changed to Won." in body
    assert "Stage: Engaging → Won" in body and "Forecast category: Pipeline → Closed" in body
    fresh = Opportunity.objects.get(pk=darcel_deal.pk)
    assert fresh.stage.name == "Won" and fresh.probability == 100 and fresh.forecast_category == "closed"
    assert fresh.closed_on == timezone.localdate() and fresh.version == darcel_deal.version + 1
    assert f'name="version" value="{fresh.version}"' in body  # the next click uses the new version
    history = OpportunityFieldHistory.objects.filter(opportunity=fresh, source="ui", changed_by=darcel, field="stage")
    assert [(h.old_value, h.new_value) for h in history] == [("Engaging", "Won")]


def test_exit_criteria_error_is_shown_next_to_the_stage_control(client_for, darcel_deal):
    assert darcel_deal.expected_close_on is None  # Maven open deals have no close date
    response = client_for("darcel.schlecht").post(
        f"/opportunities/{darcel_deal.pk}/stage/",
        {"stage": _stage("Won").pk, "version": darcel_deal.version},
        **MAIN_HEADERS,
    )
    assert response.status_code == 200  # htmx swaps it in place
    errors = html(response).split('id="stage-errors"')[1].split("</div>")[0]
    assert "Expected close date: Required to leave stage Engaging." in errors
    assert "Amount" not in errors  # the deal has an amount
    fresh = Opportunity.objects.get(pk=darcel_deal.pk)
    assert fresh.stage.name == "Engaging" and fresh.version == darcel_deal.version
    assert not OpportunityFieldHistory.objects.filter(opportunity=fresh, source="ui").exists()
    # without htmx: the whole page, with an error status
    plain = client_for("darcel.schlecht").post(
        f"/opportunities/{darcel_deal.pk}/stage/", {"stage": _stage("Won").pk, "version": darcel_deal.version}
    )
    assert plain.status_code == 400 and "Required to leave stage Engaging." in html(plain) and "<html" in html(plain)


def test_stale_version_is_refused(client_for, darcel_deal, user_named):
    old_version = darcel_deal.version
    services.update_opportunity(darcel_deal, changed_by=user_named("melvin.marxen"), source="ui",
                                amount=Decimal("7777.00"))
    response = client_for("darcel.schlecht").post(
        f"/opportunities/{darcel_deal.pk}/stage/", {"stage": _stage("Lost").pk, "version": old_version}, **MAIN_HEADERS
    )
    assert response.status_code == 200
    assert "changed by someone else" in html(response)
    fresh = Opportunity.objects.get(pk=darcel_deal.pk)
    assert fresh.stage.name == "Engaging" and fresh.version == old_version + 1
    plain = client_for("darcel.schlecht").post(
        f"/opportunities/{darcel_deal.pk}/stage/", {"stage": _stage("Lost").pk, "version": old_version}
    )
    assert plain.status_code == 409


def test_plain_post_redirects_and_bad_input_is_refused(client_for, darcel_deal):
    darcel_deal = _closable(darcel_deal)
    client = client_for("darcel.schlecht")
    url = f"/opportunities/{darcel_deal.pk}/stage/"
    assert client.post(url, {"stage": _stage("Lost").pk}).status_code == 400  # no version
    assert client.post(url, {"stage": 999999, "version": darcel_deal.version}).status_code == 400
    assert client.get(url).status_code == 405
    same = client.post(url, {"stage": _stage("Engaging").pk, "version": darcel_deal.version}, **MAIN_HEADERS)
    assert same.status_code == 200 and Opportunity.objects.get(pk=darcel_deal.pk).version == darcel_deal.version
    response = client.post(url, {"stage": _stage("Lost").pk, "version": darcel_deal.version})
    assert response.status_code == 302 and response["Location"] == f"/opportunities/{darcel_deal.pk}/"
    assert Opportunity.objects.get(pk=darcel_deal.pk).stage.name == "Lost"


# ------------------------------------------------------------------ quick activity


def test_one_tap_opens_the_prefilled_form(client_for, darcel_deal):
    client = client_for("darcel.schlecht")
    response = client.get(f"/opportunities/{darcel_deal.pk}/activity/?type=meeting",
                          HTTP_HX_REQUEST="true", HTTP_HX_TARGET="quick-log")
    body = html(response)
    assert "<html" not in body and 'name="type" value="meeting"' in body and 'id="activity-save"' in body
    when = re.search(r'name="occurred_at" value="([^"]+)"', body).group(1)
    shown = dt.datetime.strptime(when, "%Y-%m-%dT%H:%M").replace(tzinfo=timezone.get_current_timezone())
    assert abs(timezone.now() - shown) < dt.timedelta(minutes=2)
    # without JavaScript the button is a link to the page with the form open
    plain = client.get(f"/opportunities/{darcel_deal.pk}/activity/?type=visit")
    assert plain.status_code == 302 and plain["Location"].endswith("?log=visit#quick-log")
    page = html(client.get(f"/opportunities/{darcel_deal.pk}/?log=visit"))
    assert 'name="type" value="visit"' in page
    buttons = page.split('id="quick-activity-buttons"')[1].split("</div>")[0]
    assert re.findall(r'data-type="(\w+)"', buttons) == ["call", "meeting", "visit", "email", "follow_up"]
    assert "rc-quick-actions" in page


def test_second_tap_saves_the_activity(client_for, darcel_deal, user_named):
    darcel = user_named("darcel.schlecht")
    response = client_for(darcel).post(
        f"/opportunities/{darcel_deal.pk}/activity/",
        {"type": "call", "occurred_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "subject": "", "note": ""},
        **MAIN_HEADERS,
    )
    assert response.status_code == 200
    body = html(response)
    assert "Call logged." in body
    activity = Activity.objects.get(opportunity=darcel_deal)
    assert (activity.type, activity.owner, activity.account_id) == ("call", darcel, darcel_deal.account_id)
    first_entry = body.split('id="timeline"')[1].split("</li>")[0]
    assert 'data-kind="activity"' in first_entry and "Call" in first_entry


def test_activity_with_note_and_plain_post(client_for, darcel_deal):
    response = client_for("darcel.schlecht").post(
        f"/opportunities/{darcel_deal.pk}/activity/",
        {"type": "follow_up", "occurred_at": "2024-05-06T09:30", "subject": "Send proposal", "note": "By Friday"},
    )
    assert response.status_code == 302
    activity = Activity.objects.get(opportunity=darcel_deal)
    assert (activity.type, activity.subject, activity.note) == ("follow_up", "Send proposal", "By Friday")
    assert timezone.localtime(activity.occurred_at).strftime("%Y-%m-%d %H:%M") == "2024-05-06 09:30"


@pytest.mark.parametrize("data", [{"type": "party", "occurred_at": "2024-05-06T09:30"}, {"type": "call", "occurred_at": "soon"}])
def test_bad_activity_input_is_refused(client_for, darcel_deal, data):
    response = client_for("darcel.schlecht").post(f"/opportunities/{darcel_deal.pk}/activity/", data)
    assert response.status_code == 400 and 'id="activity-form"' in html(response)
    htmx = client_for("darcel.schlecht").post(f"/opportunities/{darcel_deal.pk}/activity/", data, **MAIN_HEADERS)
    assert htmx.status_code == 200 and 'id="activity-form"' in html(htmx) and "<html" not in html(htmx)
    assert not Activity.objects.filter(opportunity=darcel_deal).exists()
