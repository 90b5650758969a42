"""All writes to activities."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from revcast.activities.models import Activity
from revcast.core.bulk import UpsertResult, upsert


def upsert_activities(rows: Sequence[dict[str, Any]], key: str = "external_id") -> UpsertResult:
    return upsert(Activity, key, rows, merge_json=())
