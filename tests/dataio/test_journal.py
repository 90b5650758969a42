"""The change journal's own contract: what it records, and that undo restores exactly or refuses."""

from __future__ import annotations

from decimal import Decimal

import pytest

pytestmark = pytest.mark.usefixtures("maven")


def _rows(model, pks):
    names = [f.attname for f in model._meta.concrete_fields]
    return {r[0]: r for r in model.objects.filter(pk__in=pks).order_by("pk").values_list(*names)}


def test_update_update_queryset_and_delete_are_recorded_and_undone_exactly():
    from revcast.customers.models import Account, Contact
    from revcast.dataio.journal import open_changeset, undo_changeset
    from revcast.pipeline.models import Opportunity

    acme = Account.objects.get(name="Acme Corporation")
    other = Account.objects.get(name="Betatech")
    contact = Contact.objects.create(last_name="Li", first_name="Wei", account=other, phone="010 1234 5678")
    deals = list(Opportunity.objects.filter(account=other).values_list("pk", flat=True))
    assert deals  # Betatech carries deals in the Maven data
    before_accounts = _rows(Account, [acme.pk, other.pk])
    before_deals = _rows(Opportunity, deals)
    before_contact = _rows(Contact, [contact.pk])

    with open_changeset("merge", "Betatech into Acme") as cs:
        assert cs.update(acme, location="Beijing", annual_revenue=Decimal("1.50")) is True
        assert cs.update(acme, location="Beijing") is False  # nothing differs: nothing recorded
        moved = cs.update_queryset(Opportunity.objects.filter(account=other), account=acme)
        cs.delete(other)  # the contact's account is SET_NULL: recorded as an update, then the delete
    changeset = cs.changeset
    assert moved == len(deals)
    assert changeset.counts["customers.account"] == {"created": 0, "updated": 1, "deleted": 1}
    assert changeset.counts["pipeline.opportunity"]["updated"] == len(deals)
    assert changeset.counts["customers.contact"] == {"created": 0, "updated": 1, "deleted": 0}
    assert not Account.objects.filter(pk=other.pk).exists()
    assert Contact.objects.get(pk=contact.pk).account_id is None

    undo = undo_changeset(changeset)
    assert undo.undo_of_id == changeset.pk
    assert _rows(Account, [acme.pk, other.pk]) == before_accounts
    assert _rows(Contact, [contact.pk]) == before_contact
    now = _rows(Opportunity, deals)
    version = [f.attname for f in Opportunity._meta.concrete_fields].index("version")
    for pk, row in before_deals.items():
        assert now[pk][:version] + now[pk][version + 1 :] == row[:version] + row[version + 1 :]
        assert now[pk][version] > row[version]  # the lock version moves forward


def test_undo_twice_is_refused_and_undo_of_undo_redoes():
    from revcast.customers.models import Account
    from revcast.dataio.journal import UndoConflict, open_changeset, undo_changeset

    acme = Account.objects.get(name="Acme Corporation")
    with open_changeset("standardise") as cs:
        cs.update(acme, country="US")
    undo = undo_changeset(cs.changeset)
    with pytest.raises(UndoConflict, match="already undone"):
        undo_changeset(cs.changeset)
    undo_changeset(undo)
    acme.refresh_from_db()
    assert acme.country == "US"


def test_undo_refuses_to_overwrite_a_later_edit_and_writes_nothing():
    from revcast.customers.models import Account
    from revcast.customers.services import save_account
    from revcast.dataio.journal import UndoConflict, open_changeset, undo_changeset

    acme, beta = Account.objects.get(name="Acme Corporation"), Account.objects.get(name="Betatech")
    with open_changeset("standardise") as cs:
        cs.update(acme, country="US")
        cs.update(beta, country="KE")
    save_account(Account.objects.get(pk=beta.pk), country="Kenya (edited)")
    with pytest.raises(UndoConflict, match=f"account {beta.pk}: country changed since"):
        undo_changeset(cs.changeset)
    acme.refresh_from_db()
    assert acme.country == "US"  # the undo is all or nothing
