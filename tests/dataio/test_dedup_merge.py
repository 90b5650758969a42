"""Merging duplicates re-points every related record, is journaled as one change set, and undo restores exactly.

Expected counts come from independent queries taken before the merge, never from the merge's own output.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

pytestmark = pytest.mark.django_db


def _snapshot(*models):
    """Every row of the models (pk and every column, foreign keys as ids), for exact comparisons. Plain
    ``values()`` rather than the serialisers: the same data, several times faster on Maven's ~20,000 history
    rows. An opportunity's optimistic-lock ``version`` only moves forward (an undo bumps it too), so it is
    left out."""
    out = {}
    for model in models:
        rows = list(model._base_manager.order_by("pk").values())
        for row in rows:
            row.pop("version", None)
        out[model._meta.label] = rows
    return out


def _models():
    from revcast.activities.models import Activity
    from revcast.customers.models import Account, Contact
    from revcast.pipeline.models import Opportunity, OpportunityFieldHistory

    return Account, Contact, Opportunity, OpportunityFieldHistory, Activity


@pytest.fixture
def twin(maven):
    """A Maven account with deals, and a duplicate of it carrying contacts, an activity, a deal and a subsidiary."""
    from revcast.activities.models import Activity
    from revcast.customers.models import Account, Contact
    from revcast.org.models import User
    from revcast.pipeline.models import Opportunity

    original = Account.objects.filter(opportunities__isnull=False).order_by("pk").first()
    owner = User.objects.filter(opportunities__isnull=False).order_by("pk").first()
    dup = Account.objects.create(name=original.name.upper() + " Inc.", country=original.country or "United States",
                                 location="", industry="", custom={"phone": "+1 415 555 0100"})
    Contact.objects.create(account=dup, first_name="Ada", last_name="Lovelace", email="ada@example.com")
    Contact.objects.create(account=dup, first_name="Alan", last_name="Turing")
    Activity.objects.create(account=dup, type="call", occurred_at=timezone.now(), owner=owner, subject="intro")
    Account.objects.create(name="Subsidiary of the duplicate", parent=dup)
    deal = Opportunity.objects.filter(account=original).order_by("pk").first()
    Opportunity.objects.filter(pk=deal.pk).update(account=dup)  # one of the original's deals sits on the twin
    return original, dup


def test_merge_repoints_everything_and_undo_restores_exactly(twin):
    from revcast.dataio.dedup import services
    from revcast.dataio.models import ChangeSet

    Account, Contact, Opportunity, _History, Activity = _models()
    original, dup = twin
    before = _snapshot(*_models())
    on_dup = {
        "contacts": Contact.objects.filter(account=dup).count(),
        "opportunities": Opportunity.objects.filter(account=dup).count(),
        "activities": Activity.objects.filter(account=dup).count(),
        "subsidiaries": Account.objects.filter(parent=dup).count(),
    }
    on_original = {
        "contacts": Contact.objects.filter(account=original).count(),
        "opportunities": Opportunity.objects.filter(account=original).count(),
        "activities": Activity.objects.filter(account=original).count(),
        "subsidiaries": Account.objects.filter(parent=original).count(),
    }
    accounts = Account.objects.count()

    cs = services.merge("accounts", [original.pk, dup.pk], survivor=original.pk)

    assert cs.kind == ChangeSet.Kind.MERGE
    assert not Account.objects.filter(pk=dup.pk).exists()
    assert Account.objects.count() == accounts - 1
    assert Contact.objects.filter(account=original).count() == on_original["contacts"] + on_dup["contacts"]
    assert Opportunity.objects.filter(account=original).count() == on_original["opportunities"] + on_dup["opportunities"]
    assert Activity.objects.filter(account=original).count() == on_original["activities"] + on_dup["activities"]
    assert Account.objects.filter(parent=original).count() == on_original["subsidiaries"] + on_dup["subsidiaries"]
    original.refresh_from_db()
    assert original.custom.get("phone") == "+1 415 555 0100"  # the gap was filled from the twin
    assert services.merge_info(cs) == {"object": "accounts", "survivor": original.pk, "merged": [dup.pk]}
    assert cs.details == {"object": "accounts", "survivor": original.pk, "merged": [dup.pk]}
    # A merge recorded before change sets had details is still read, from its summary.
    legacy = ChangeSet(kind=ChangeSet.Kind.MERGE, summary=f"merge accounts {dup.pk}, 7 into {original.pk}")
    assert services.merge_info(legacy) == {"object": "accounts", "survivor": original.pk, "merged": [dup.pk, 7]}

    services.undo_merge(cs)
    after = _snapshot(*_models())
    for label in before:
        assert after[label] == before[label], label


def test_merge_of_opportunities_moves_activities_and_keeps_histories_apart(maven):
    from revcast.activities.models import Activity
    from revcast.dataio.dedup import services

    _Account, _Contact, Opportunity, History, _ = _models()
    keep, other = Opportunity.objects.filter(account__isnull=False, stage__type="open").order_by("pk")[:2]
    Opportunity.objects.filter(pk=keep.pk).update(amount=None)
    Activity.objects.create(opportunity=other, type="meeting", occurred_at=timezone.now(), owner=other.owner)
    Activity.objects.create(opportunity=other, type="call", occurred_at=timezone.now(), owner=other.owner)
    Opportunity.objects.filter(pk=other.pk).update(amount=1234, expected_close_on=dt.date(2030, 1, 1))
    acts = Activity.objects.filter(opportunity=keep).count() + Activity.objects.filter(opportunity=other).count()
    keep_history = list(History.objects.filter(opportunity=keep).values_list("pk", flat=True))
    before = _snapshot(*_models())

    cs = services.merge("opportunity", [keep.pk, other.pk], survivor=keep.pk)

    keep.refresh_from_db()
    assert keep.amount == 1234  # empty on the survivor: taken from the other deal
    assert Activity.objects.filter(opportunity=keep).count() == acts
    assert not History.objects.filter(opportunity_id=other.pk).exists()
    new = History.objects.filter(opportunity=keep).exclude(pk__in=keep_history)
    assert set(new.values_list("field", flat=True)) >= {"amount"}
    assert set(new.values_list("source", flat=True)) == {f"merge:{cs.pk}"}
    assert set(keep_history) <= set(History.objects.filter(opportunity=keep).values_list("pk", flat=True))

    services.undo_merge(cs)
    after = _snapshot(*_models())
    for label in before:
        if label == "pipeline.Opportunity":  # the service's save stamps updated_at; the journal restores
            for row in after[label] + before[label]:  # the fields the merge changed, the stamp included
                row.pop("updated_at")
        assert after[label] == before[label], label


def test_merge_refuses_records_the_user_cannot_see_and_a_single_record(maven):
    from revcast.dataio.dedup import services
    from revcast.org.models import User

    Account, *_ = _models()
    rep = User.objects.filter(role="rep").order_by("pk").first()
    visible = list(services.load_frame("accounts", rep)["id"])
    hidden = Account.objects.exclude(pk__in=visible).order_by("pk").first()
    with pytest.raises(services.MergeError):
        services.merge("accounts", [visible[0], hidden.pk], user=rep)
    with pytest.raises(services.MergeError):
        services.merge("accounts", [visible[0]])


def test_find_on_the_database_uses_the_visibility_layer(maven):
    from revcast.core import visibility
    from revcast.dataio.dedup import services
    from revcast.org.models import User

    Account, *_ = _models()
    rep = User.objects.filter(role="rep").order_by("pk").first()
    frame = services.load_frame("accounts", rep)
    assert set(frame["id"]) == set(visibility.accounts(rep).values_list("pk", flat=True))
    assert len(services.load_frame("accounts")) == Account.objects.count()
