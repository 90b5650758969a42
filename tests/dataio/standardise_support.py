"""Small, explicit records for the standardisation tests (the expected fixes are written out by hand)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

CONTACT_PHONES_EMAILS = [
    # (last name, phone, email)
    ("Std-A", "13800138000", " Wei.Zhang@Example.COM "),
    ("Std-B", "+86 138-0013-8001", "bad@"),
    ("Std-C", "+8613800138002", "ok@example.com"),
    ("Std-D", "12345", ""),
    ("Std-E", "", "li＠example.cn"),
]
# Hand-worked expectations for CONTACT_PHONES_EMAILS with region CN.
EXPECTED_PHONES = {"Std-A": "+8613800138000", "Std-B": "+8613800138001"}
EXPECTED_PHONE_PROBLEMS = {"Std-D"}
EXPECTED_EMAILS = {"Std-A": "Wei.Zhang@example.com", "Std-E": "li@example.cn"}
EXPECTED_EMAIL_PROBLEMS = {"Std-B"}


def make_contacts() -> dict[str, Any]:
    from revcast.customers.models import Contact

    return {
        last: Contact.objects.create(last_name=last, first_name="T", phone=phone, email=email)
        for last, phone, email in CONTACT_PHONES_EMAILS
    }


ACCOUNTS = [
    # (name, industry, revenue_currency, annual_revenue)
    ("Std Alpha", "technolgy", "usd", Decimal("1000000")),
    ("Std Beta", "technolgy", "", Decimal("5")),
    ("Std Gamma", "technolgy", "", None),
    ("Std Delta", "Software ", "EU$", Decimal("7")),
    ("Std Epsilon", "科技", "USD", Decimal("8")),
    ("  Std   Zeta ", "SOFTWARE", "CNY", Decimal("9")),
    ("ＳＴＤ　Ｅｔａ", "", "", None),
]


def make_accounts() -> dict[str, Any]:
    from revcast.customers.models import Account

    return {
        name: Account.objects.create(name=name, industry=industry, revenue_currency=cur, annual_revenue=rev)
        for name, industry, cur, rev in ACCOUNTS
    }


def values(model, pks, *fields) -> dict[int, tuple]:
    return {row[0]: row[1:] for row in model.objects.filter(pk__in=pks).values_list("pk", *fields)}
