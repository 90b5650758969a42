"""The thin adapter between the database and the forecasting engine: querysets in, data frames out.

Reads go through ``core.visibility`` when a user is given, so a forecast never sees deals its user
may not see.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from revcast.activities.models import Activity
from revcast.core import visibility
from revcast.forecasting.engine.asof import Tables
from revcast.pipeline.models import OpportunityFieldHistory, Stage


def load_tables(user: Any = None) -> Tables:
    """History, activities, stages and static deal columns of the deals ``user`` may see."""
    opps = visibility.opportunities(user)
    ids = opps.values("pk")
    history = pd.DataFrame.from_records(
        OpportunityFieldHistory.objects.filter(opportunity__in=ids)
        .order_by("opportunity_id", "changed_at", "id")
        .values("opportunity_id", "field", "old_value", "new_value", "changed_at"),
        columns=["opportunity_id", "field", "old_value", "new_value", "changed_at"],
    )
    history["changed_at"] = pd.to_datetime(history["changed_at"], utc=True)
    activities = pd.DataFrame.from_records(
        Activity.objects.filter(opportunity__in=ids).values("opportunity_id", "occurred_at"),
        columns=["opportunity_id", "occurred_at"],
    )
    activities["occurred_at"] = pd.to_datetime(activities["occurred_at"], utc=True)
    stages = pd.DataFrame.from_records(
        Stage.objects.values("name", "order", "type", "probability"), columns=["name", "order", "type", "probability"]
    )
    deals = pd.DataFrame.from_records(
        opps.values("pk", "account_id", "product__name", "product__series", "owner__region__name", "custom"),
    ).rename(columns={"pk": "opportunity_id", "product__name": "product", "product__series": "series",
                      "owner__region__name": "region"})
    if not deals.empty:
        custom = pd.json_normalize(deals.pop("custom").tolist()).add_prefix("custom.")
        deals = pd.concat([deals.reset_index(drop=True), custom.reset_index(drop=True)], axis=1)
    return Tables(history=history, activities=activities, stages=stages, deals=deals)
