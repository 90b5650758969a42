"""All writes to accounts and contacts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from revcast.core.bulk import UpsertResult, upsert
from revcast.customers.models import Account, Contact


def upsert_accounts(rows: Sequence[dict[str, Any]], key: str = "external_id") -> UpsertResult:
    return upsert(Account, key, rows)


def upsert_contacts(rows: Sequence[dict[str, Any]], key: str = "external_id") -> UpsertResult:
    return upsert(Contact, key, rows)
