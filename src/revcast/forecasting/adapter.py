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

# Static deal columns (query path -> column name). Each is a feature of the win model and a slice of the
# forecast, so only meaningful ones belong here: the owner's team and region (as they are now), the product
# and its series, and the account's industry and size. Custom fields follow as ``custom.KEY``.
STATIC_COLUMNS = {
    "pk": "opportunity_id",
    "account_id": "account_id",
    "product__name": "product",
    "product__series": "series",
    "owner__region__name": "region",
    "owner__team__name": "team",
    "account__industry": "industry",
    "account__size": "account_size",
}


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
        opps.values(*STATIC_COLUMNS, "custom"), columns=[*STATIC_COLUMNS, "custom"]
    ).rename(columns=STATIC_COLUMNS)
    # A blank text is "unknown" to the models, as NULL is. (A column unknown for every deal, like the size of
    # the Maven accounts, stays: the columns do not depend on the data, and a model learns nothing from it.)
    for col in ("product", "series", "region", "team", "industry", "account_size"):
        deals[col] = deals[col].where(deals[col] != "", None)
    custom = pd.json_normalize(deals.pop("custom").tolist()).add_prefix("custom.") if len(deals) else None
    if custom is not None and not custom.empty:
        deals = pd.concat([deals.reset_index(drop=True), custom.reset_index(drop=True)], axis=1)
    return Tables(history=history, activities=activities, stages=stages, deals=deals)
