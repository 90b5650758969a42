"""The preview: what each kind of fix proposes on small explicit records, and on the Maven accounts.

Expected values are written out by hand for the records the tests create, or computed from the raw Maven
CSV files; never from revcast's output.
"""

from __future__ import annotations

from collections import Counter

import pytest

from tests.dataio.standardise_support import (
    EXPECTED_EMAIL_PROBLEMS,
    EXPECTED_EMAILS,
    EXPECTED_PHONE_PROBLEMS,
    EXPECTED_PHONES,
    make_accounts,
    make_contacts,
)
from tests.dataio.support import raw_rows

pytestmark = pytest.mark.usefixtures("maven")


def _mine(items, records):
    ids = {r.pk for r in records.values()}
    return [f for f in items if f.record_id in ids]


def test_phones_and_emails():
    from revcast.dataio.standardise import build_preview

    contacts = make_contacts()
    preview = build_preview(["phones", "emails"], ["contact"], region="CN")
    by_id = {c.pk: last for last, c in contacts.items()}
    fixes, problems = _mine(preview.fixes, contacts), _mine(preview.problems, contacts)

    phones = {by_id[f.record_id]: f.new for f in fixes if f.kind == "phones"}
    assert phones == EXPECTED_PHONES
    assert {by_id[p.record_id] for p in problems if p.kind == "phones"} == EXPECTED_PHONE_PROBLEMS
    emails = {by_id[f.record_id]: f.new for f in fixes if f.kind == "emails"}
    assert emails == EXPECTED_EMAILS
    assert {by_id[p.record_id] for p in problems if p.kind == "emails"} == EXPECTED_EMAIL_PROBLEMS
    # Every problem keeps its value: new is None and the old value is what is stored.
    assert all(p.new is None for p in problems)
    bad = next(p for p in problems if p.kind == "emails")
    assert (bad.object, bad.field, bad.old) == ("contact", "email", "bad@")
    # Maven has no contacts, so the counts are those of the records above.
    assert preview.counts() == {
        "phones": {"changes": 2, "records": 2, "problems": 1},
        "emails": {"changes": 2, "records": 2, "problems": 1},
    }


def test_region_decides_numbers_without_country_code():
    from revcast.customers.models import Contact
    from revcast.dataio.standardise import build_preview

    c = Contact.objects.create(last_name="Std-US", phone="(650) 253-0000")
    cn = build_preview(["phones"], ["contact"], region="CN")
    us = build_preview(["phones"], ["contact"], region="us")
    assert [p.record_id for p in cn.problems] == [c.pk]
    assert [(f.record_id, f.new) for f in us.fixes] == [(c.pk, "+16502530000")]
    assert us.region == "US"


def test_default_region_is_the_setting(settings):
    from revcast.customers.models import Contact
    from revcast.dataio.standardise import build_preview

    c = Contact.objects.create(last_name="Std-GB", phone="020 7946 0958")
    settings.REVCAST_PHONE_REGION = "GB"
    assert [(f.record_id, f.new) for f in build_preview(["phones"], ["contact"]).fixes] == [
        (c.pk, "+442079460958")
    ]


def test_unknown_region_or_kind_is_refused():
    from revcast.dataio.standardise import build_preview

    with pytest.raises(ValueError, match="phone region"):
        build_preview(["phones"], ["contact"], region="XX")
    with pytest.raises(ValueError, match="unknown"):
        build_preview(["addresses"], ["contact"])


def test_picklist_suggestions_and_confirmations():
    from revcast.dataio.standardise import build_preview

    accounts = make_accounts()
    preview = build_preview(["picklists"], ["account"])
    mine = {s.value: s for s in preview.suggestions if s.field == "industry"}
    # Maven sectors all become codes on import (technolgy is mapped), so these are the only ones.
    assert set(mine) == {"technolgy", "Software ", "科技", "SOFTWARE"}
    assert {v: s.count for v, s in mine.items()} == {"technolgy": 3, "Software ": 1, "科技": 1, "SOFTWARE": 1}
    # Written differently: confirmed by itself. A misspelling: candidates only, nothing confirmed.
    assert {v: s.exact for v, s in mine.items()} == {
        "technolgy": None,
        "Software ": "software",
        "科技": "technology",
        "SOFTWARE": "software",
    }
    assert mine["technolgy"].confirmed is None
    assert mine["technolgy"].candidates[0].code == "technology"
    fixes = [f for f in _mine(preview.fixes, accounts) if f.field == "industry"]
    assert sorted((f.old, f.new) for f in fixes) == [
        ("SOFTWARE", "software"),
        ("Software ", "software"),
        ("科技", "technology"),
    ]

    confirmed = build_preview(
        ["picklists"],
        ["account"],
        confirmations={"account.industry:technolgy": "technology", "account.industry:科技": None},
    )
    fixes = [f for f in _mine(confirmed.fixes, accounts) if f.field == "industry"]
    assert Counter((f.old, f.new) for f in fixes) == Counter(
        {("technolgy", "technology"): 3, ("Software ", "software"): 1, ("SOFTWARE", "software"): 1}
    )


def test_a_confirmation_must_name_an_active_value():
    from revcast.dataio.standardise import build_preview

    make_accounts()
    with pytest.raises(ValueError, match="not an active value of picklist 'industry'"):
        build_preview(["picklists"], ["account"], confirmations={"account.industry:technolgy": "tech"})
    # A label is accepted for its code.
    preview = build_preview(
        ["picklists"], ["account"], confirmations={"account.industry:technolgy": "Technology"}
    )
    assert {f.new for f in preview.fixes if f.old == "technolgy"} == {"technology"}


def test_maven_countries_against_the_country_list():
    """Account.country holds the Maven office_location text; the governed list holds ISO codes."""
    from revcast.core.models import Picklist, PicklistValue
    from revcast.dataio.standardise import build_preview

    pl, _ = Picklist.objects.get_or_create(key="country", defaults={"label_en": "Country"})
    for code, en in [("US", "United States"), ("KR", "South Korea"), ("KP", "North Korea"), ("JP", "Japan")]:
        PicklistValue.objects.get_or_create(picklist=pl, value=code, defaults={"label_en": en})
    codes = set(PicklistValue.objects.filter(picklist=pl, active=True).values_list("value", flat=True))
    # From the raw file, with the mapping's one correction (Philipines -> Philippines).
    raw = Counter(
        {"Philipines": "Philippines"}.get(r["office_location"], r["office_location"])
        for r in raw_rows("accounts.csv")
        if r["office_location"]
    )
    expected = {v: n for v, n in raw.items() if v not in codes}

    preview = build_preview(["picklists"], ["account"])
    got = {s.value: s for s in preview.suggestions if s.field == "country"}
    assert {v: s.count for v, s in got.items()} == expected
    assert got["United States"].exact == got["United States"].confirmed == "US"
    assert got["Korea"].exact is None and got["Korea"].confirmed is None
    assert {c.code for c in got["Korea"].candidates} >= {"KR", "KP"}
    us_fixes = [f for f in preview.fixes if f.field == "country" and f.old == "United States"]
    assert len(us_fixes) == raw["United States"] and {f.new for f in us_fixes} == {"US"}


def test_currency():
    from revcast.dataio.standardise import build_preview

    accounts = make_accounts()
    preview = build_preview(["currency"], ["account", "opportunity"])
    by_id = {a.pk: name for name, a in accounts.items()}
    fixes = {by_id[f.record_id]: f.new for f in _mine(preview.fixes, accounts)}
    # Std Gamma has no revenue, so its blank currency stays blank; Std Beta's blank becomes the default.
    assert fixes == {"Std Alpha": "USD", "Std Beta": "USD"}
    assert [by_id[p.record_id] for p in _mine(preview.problems, accounts)] == ["Std Delta"]
    # Maven: every account's revenue is in USD and every deal in USD (the mapping's default).
    assert len(preview.fixes) == 2 and len(preview.problems) == 1


def test_names_only_when_asked_for():
    from revcast.dataio.standardise import DEFAULT_KINDS, build_preview

    accounts = make_accounts()
    assert "names" not in build_preview(DEFAULT_KINDS, ["account"]).kinds
    preview = build_preview(["names"], ["account"])
    by_id = {a.pk: name for name, a in accounts.items()}
    assert {by_id[f.record_id]: f.new for f in _mine(preview.fixes, accounts)} == {
        "  Std   Zeta ": "Std Zeta",
        "ＳＴＤ　Ｅｔａ": "STD Eta",
    }


def test_uscc_needs_the_custom_field_then_checks_codes():
    from revcast.core.models import CustomField
    from revcast.customers.models import Account
    from revcast.dataio.standardise import build_preview

    preview = build_preview(["uscc"], ["account"])
    assert preview.fixes == [] and "custom field 'uscc'" in preview.notes[0]

    CustomField.objects.create(object="account", key="uscc", label_en="USCC", type="text")
    spaced = Account.objects.create(name="Std Xiaomi", custom={"uscc": "9111 0108 5513 85082q"})
    wrong = Account.objects.create(name="Std Wrong", custom={"uscc": "91110108551385082A"})
    short = Account.objects.create(name="Std Short", custom={"uscc": "9111010855138508"})
    good = Account.objects.create(name="Std Good", custom={"uscc": "914403001922038216"})
    preview = build_preview(["uscc"], ["account"])
    assert preview.notes == []
    assert [(f.record_id, f.field, f.new) for f in preview.fixes] == [
        (spaced.pk, "custom.uscc", "91110108551385082Q")
    ]
    assert {p.record_id: p.reason for p in preview.problems} == {
        wrong.pk: "unified social credit code has a wrong check character",
        short.pk: "unified social credit code must have 18 characters",
    }
    assert good.pk not in {f.record_id for f in preview.fixes + preview.problems}


def test_custom_dates():
    from revcast.core.models import CustomField
    from revcast.customers.models import Account
    from revcast.dataio.standardise import build_preview

    CustomField.objects.create(object="account", key="signed_on", label_en="Signed", type="date")
    a = Account.objects.create(name="Std D1", custom={"signed_on": "2024/1/5"})
    b = Account.objects.create(name="Std D2", custom={"signed_on": "2024年12月31日"})
    c = Account.objects.create(name="Std D3", custom={"signed_on": "01/02/2024"})
    Account.objects.create(name="Std D4", custom={"signed_on": "2024-03-01"})
    preview = build_preview(["dates"], ["account"])
    assert sorted((f.record_id, f.new) for f in preview.fixes) == [(a.pk, "2024-01-05"), (b.pk, "2024-12-31")]
    assert [p.record_id for p in preview.problems] == [c.pk]


def test_as_dict_shape():
    from revcast.dataio.standardise import build_preview

    make_contacts()
    out = build_preview(["phones"], ["contact"]).as_dict()
    assert set(out) == {"kinds", "objects", "region", "counts", "fixes", "problems", "suggestions", "notes"}
    assert set(out["fixes"][0]) == {"kind", "object", "record_id", "record", "field", "old", "new", "reason"}
