"""Apply writes one journaled change set; undo restores the exact values, and refuses when a record changed."""

from __future__ import annotations

import pytest

from tests.dataio.standardise_support import (
    EXPECTED_EMAILS,
    EXPECTED_PHONES,
    make_accounts,
    make_contacts,
    values,
)

pytestmark = pytest.mark.usefixtures("maven")


def test_apply_then_undo_restores_exact_values():
    from revcast.customers.models import Contact
    from revcast.dataio.models import ChangeRecord, ChangeSet
    from revcast.dataio.standardise import apply_fixes, undo

    contacts = make_contacts()
    pks = [c.pk for c in contacts.values()]
    before = values(Contact, pks, "phone", "email", "last_name")

    result = apply_fixes(["phones", "emails"], ["contact"], region="CN")
    cs = result.changeset
    assert cs is not None and cs.kind == ChangeSet.Kind.STANDARDISE
    assert dict(result.applied) == {"phones": len(EXPECTED_PHONES), "emails": len(EXPECTED_EMAILS)}
    assert result.skipped == []
    after = {row[2]: row[:2] for row in values(Contact, pks, "phone", "email", "last_name").values()}
    for last, (phone, email) in after.items():
        original = next(v for v in before.values() if v[2] == last)
        assert phone == EXPECTED_PHONES.get(last, original[0])
        assert email == EXPECTED_EMAILS.get(last, original[1])

    # Audit: one update record per changed contact with the old and new values.
    records = ChangeRecord.objects.filter(changeset=cs, model="customers.contact", action="update")
    rows = {r["pk"]: r for rec in records for r in rec.rows}
    assert set(rows) == {contacts[last].pk for last in {*EXPECTED_PHONES, *EXPECTED_EMAILS}}
    a = rows[contacts["Std-A"].pk]
    assert {k: a["before"][k] for k in ("phone", "email")} == {
        "phone": "13800138000",
        "email": " Wei.Zhang@Example.COM ",
    }
    assert {k: a["after"][k] for k in ("phone", "email")} == {
        "phone": "+8613800138000",
        "email": "Wei.Zhang@example.com",
    }
    assert cs.counts["customers.contact"]["updated"] == 3

    done = undo(cs.pk)
    assert done.kind == ChangeSet.Kind.UNDO and done.undo_of_id == cs.pk
    assert values(Contact, pks, "phone", "email", "last_name") == before


def test_undo_refused_when_a_record_changed_since():
    from revcast.customers.models import Contact
    from revcast.dataio.standardise import StandardiseError, apply_fixes, undo

    contacts = make_contacts()
    cs = apply_fixes(["phones"], ["contact"]).changeset
    edited = contacts["Std-A"]
    Contact.objects.filter(pk=edited.pk).update(phone="+8613900139000")
    untouched = contacts["Std-B"]

    with pytest.raises(StandardiseError) as info:
        undo(cs.pk)
    message = str(info.value)
    assert f"change set #{cs.pk} was not undone" in message
    assert f"contact {edited.pk}: phone changed since" in message
    # Nothing was restored, not even the unchanged record.
    assert Contact.objects.get(pk=untouched.pk).phone == EXPECTED_PHONES["Std-B"]
    assert Contact.objects.get(pk=edited.pk).phone == "+8613900139000"


def test_undo_twice_and_undo_of_other_kinds_are_refused():
    from revcast.dataio.journal import open_changeset
    from revcast.dataio.standardise import StandardiseError, apply_fixes, undo

    make_contacts()
    cs = apply_fixes(["phones"], ["contact"]).changeset
    undo(cs.pk)
    with pytest.raises(StandardiseError, match="already undone"):
        undo(cs.pk)
    with open_changeset(kind="merge", summary="not a standardisation") as rec:
        other = rec.changeset
    with pytest.raises(StandardiseError, match="is a merge, not a standardisation"):
        undo(other.pk)
    with pytest.raises(StandardiseError, match="no change set"):
        undo(10**9)


def test_nothing_to_change_makes_no_change_set():
    from revcast.dataio.models import ChangeSet
    from revcast.dataio.standardise import apply_fixes

    n = ChangeSet.objects.count()
    result = apply_fixes(["phones", "emails"], ["contact"])  # Maven has no contacts
    assert result.changeset is None and ChangeSet.objects.count() == n


def test_picklists_apply_confirmed_values_only_and_undo():
    from revcast.customers.models import Account
    from revcast.dataio.standardise import apply_fixes, undo

    accounts = make_accounts()
    pks = [a.pk for a in accounts.values()]
    before = values(Account, pks, "industry")
    result = apply_fixes(
        ["picklists"], ["account"], confirmations={"account.industry:technolgy": "technology"}
    )
    now = {a.name: a.industry for a in Account.objects.filter(pk__in=pks)}
    assert [
        now[n] for n in ("Std Alpha", "Std Beta", "Std Gamma", "Std Delta", "Std Epsilon", "  Std   Zeta ")
    ] == [
        "technology",
        "technology",
        "technology",
        "software",
        "technology",
        "software",
    ]
    assert now["ＳＴＤ　Ｅｔａ"] == ""
    undo(result.changeset.pk)
    assert values(Account, pks, "industry") == before


def test_names_and_currency_on_accounts():
    from revcast.customers.models import Account
    from revcast.dataio.standardise import apply_fixes, undo

    accounts = make_accounts()
    pks = [a.pk for a in accounts.values()]
    before = values(Account, pks, "name", "revenue_currency")
    result = apply_fixes(["names", "currency"], ["account"])
    assert dict(result.applied) == {"names": 2, "currency": 2}
    assert len(result.preview.problems) == 1  # Std Delta's "EU$", left alone
    got = {pk: v for pk, v in values(Account, pks, "name", "revenue_currency").items()}
    assert got[accounts["  Std   Zeta "].pk] == ("Std Zeta", "CNY")
    assert got[accounts["ＳＴＤ　Ｅｔａ"].pk] == ("STD Eta", "")
    assert got[accounts["Std Alpha"].pk] == ("Std Alpha", "USD")
    assert got[accounts["Std Beta"].pk] == ("Std Beta", "USD")
    assert got[accounts["Std Delta"].pk] == ("Std Delta", "EU$")
    undo(result.changeset.pk)
    assert values(Account, pks, "name", "revenue_currency") == before


def test_custom_uscc_fix_and_undo():
    from revcast.core.models import CustomField
    from revcast.customers.models import Account
    from revcast.dataio.standardise import apply_fixes, undo

    CustomField.objects.create(object="account", key="uscc", label_en="USCC", type="text")
    acc = Account.objects.create(name="Std Xiaomi", custom={"uscc": " 9111 0108 5513 85082q", "other": 1})
    result = apply_fixes(["uscc"], ["account"])
    acc.refresh_from_db()
    assert acc.custom == {"uscc": "91110108551385082Q", "other": 1}
    undo(result.changeset.pk)
    acc.refresh_from_db()
    assert acc.custom == {"uscc": " 9111 0108 5513 85082q", "other": 1}


def test_opportunity_loss_reason_goes_through_the_pipeline_service():
    from revcast.dataio.models import ChangeRecord
    from revcast.dataio.standardise import apply_fixes, undo
    from revcast.pipeline.models import Opportunity

    lost = list(Opportunity.objects.filter(stage__name="Lost").order_by("pk")[:2])
    Opportunity.objects.filter(pk__in=[o.pk for o in lost]).update(loss_reason="PRICE ")
    versions = {o.pk: Opportunity.objects.get(pk=o.pk).version for o in lost}

    result = apply_fixes(["picklists"], ["opportunity"])
    assert result.applied["picklists"] == 2
    for o in lost:
        o.refresh_from_db()
        assert o.loss_reason == "price"
        assert o.version == versions[o.pk] + 1  # written by pipeline.services, which moves the version
    records = ChangeRecord.objects.filter(changeset=result.changeset, model="pipeline.opportunity")
    rows = [r for rec in records for r in rec.rows]
    assert sorted((r["pk"], r["before"]["loss_reason"], r["after"]["loss_reason"]) for r in rows) == [
        (o.pk, "PRICE ", "price") for o in lost
    ]
    undo(result.changeset.pk)
    assert set(
        Opportunity.objects.filter(pk__in=[o.pk for o in lost]).values_list("loss_reason", flat=True)
    ) == {"PRICE "}
