"""All writes to accounts and contacts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from revcast.core import customfields
from revcast.core.bulk import UpsertResult, save_validated, upsert
from revcast.customers.models import Account, Contact


def upsert_accounts(rows: Sequence[dict[str, Any]], key: str = "external_id") -> UpsertResult:
    return upsert(Account, key, rows)


def upsert_contacts(rows: Sequence[dict[str, Any]], key: str = "external_id") -> UpsertResult:
    return upsert(Contact, key, rows)


def save_account(account: Account, **changes: Any) -> Account:
    """Create (unsaved instance) or update an account; custom values are validated and merged."""
    if "custom" in changes:
        changes["custom"] = {**(account.custom or {}), **customfields.clean("account", changes["custom"] or {})}
    save_validated(account, exclude=["custom"], **changes)
    return account


def save_contact(contact: Contact, **changes: Any) -> Contact:
    save_validated(contact, **changes)
    return contact
