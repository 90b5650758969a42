"""All writes to activities."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils import timezone

from revcast.activities.models import Activity
from revcast.core.bulk import UpsertResult, save_validated, upsert


def upsert_activities(rows: Sequence[dict[str, Any]], key: str = "external_id") -> UpsertResult:
    return upsert(Activity, key, rows, merge_json=())


def log_activity(*, owner: Any, type: str, opportunity: Any = None, account: Any = None, contact: Any = None,
                 subject: str = "", note: str = "", occurred_at: Any = None, external_id: str | None = None
                 ) -> Activity:
    """Record one activity; linked to a deal, it is also linked to the deal's account."""
    if opportunity is not None and account is None:
        account = opportunity.account
    activity = Activity(
        type=type,
        owner=owner,
        opportunity=opportunity,
        account=account,
        contact=contact,
        subject=subject,
        note=note,
        occurred_at=occurred_at or timezone.now(),
        external_id=external_id,
    )
    activity.full_clean()
    activity.save()
    return activity


def update_activity(activity: Activity, **changes: Any) -> Activity:
    save_validated(activity, **changes)
    return activity
