"""All writes to accounts and contacts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction

from revcast.core import customfields
from revcast.core.bulk import UpsertResult, upsert
from revcast.customers.models import Account, Contact


def upsert_accounts(rows: Sequence[dict[str, Any]], key: str = "external_id") -> UpsertResult:
    return upsert(Account, key, rows)


def upsert_contacts(rows: Sequence[dict[str, Any]], key: str = "external_id") -> UpsertResult:
    return upsert(Contact, key, rows)


def save_account(account: Account, **changes: Any) -> Account:
    """Create (unsaved instance) or update an account; custom values are validated and merged."""
    if "custom" in changes:
        changes["custom"] = {**(account.custom or {}), **customfields.clean("account", changes["custom"] or {})}
    for name, value in changes.items():
        setattr(account, name, value)
    with transaction.atomic():
        account.full_clean(exclude=["custom"])
        account.save()
    return account


def save_contact(contact: Contact, **changes: Any) -> Contact:
    for name, value in changes.items():
        setattr(contact, name, value)
    with transaction.atomic():
        contact.full_clean()
        contact.save()
    return contact
