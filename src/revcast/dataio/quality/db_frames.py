"""The revcast database as the quality engine's Dataset: one frame per object, read through core.visibility.

Columns carry the names of the import's target fields, so the same rules run over the database and over
source data. A reference column holds the referenced record's name (an opportunity's ``owner`` is the
owner's full name, its ``account`` the account's name), as a mapping names them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from django.db.models import Max, QuerySet

from revcast.core import visibility
from revcast.dataio.quality import reference
from revcast.dataio.quality.dataset import Dataset, Table

OBJECTS = ("sales_team", "product", "account", "contact", "opportunity", "activity")


def _frame(qs: QuerySet, columns: dict[str, str]) -> pd.DataFrame:
    """``columns``: frame column -> ORM lookup. One query; the frame has those columns even when empty."""
    rows = list(qs.order_by("pk").values_list(*columns.values()))
    frame = (
        pd.DataFrame.from_records(rows, columns=list(columns))
        if rows
        else pd.DataFrame(columns=list(columns))
    )
    return frame.astype(object).where(frame.notna(), None)


def _person(frame: pd.DataFrame, prefix: str, target: str) -> pd.DataFrame:
    """``prefix``'s first/last/username columns replaced by one full-name column ``target``."""
    first, last, user = f"{prefix}_first", f"{prefix}_last", f"{prefix}_username"
    frame[target] = [
        reference.full_name(f, la, u) if u is not None else None
        for f, la, u in zip(frame[first], frame[last], frame[user], strict=True)
    ]
    return frame.drop(columns=[first, last, user])


def _person_columns(prefix: str, lookup: str) -> dict[str, str]:
    return {
        f"{prefix}_first": f"{lookup}__first_name",
        f"{prefix}_last": f"{lookup}__last_name",
        f"{prefix}_username": f"{lookup}__username",
    }


def sales_team(user: Any) -> Table:
    """Sales reps (the people a sales-team file lists), with their manager and region."""
    from revcast.org.models import User

    columns = {
        "_pk": "pk",
        "external_id": "external_id",
        "username": "username",
        "first": "first_name",
        "last": "last_name",
        "region": "region__name",
        "team": "team__name",
        **_person_columns("manager", "manager"),
    }
    frame = _frame(User.objects.filter(role=User.Role.REP), columns)
    frame["name"] = [
        reference.full_name(f, la, u)
        for f, la, u in zip(frame["first"], frame["last"], frame["username"], strict=True)
    ]
    frame = frame.drop(columns=["first", "last"])
    frame = _person(frame, "manager", "manager")
    frame["full_name"] = frame["name"]
    frame["_label"] = frame["name"]
    refs = {"manager": ("user", "full_name"), "region": ("region", "name"), "team": ("team", "name")}
    return Table("sales_team", frame, refs=refs)


def product(user: Any) -> Table:
    from revcast.pipeline.models import Product

    columns = {
        "_pk": "pk",
        "external_id": "external_id",
        "name": "name",
        "series": "series",
        "list_price": "list_price",
        "currency": "currency",
        "active": "active",
    }
    frame = _frame(Product.objects.all(), columns)
    frame["_label"] = frame["name"]
    return Table("product", frame)


def account(user: Any) -> Table:
    columns = {
        "_pk": "pk",
        "external_id": "external_id",
        "name": "name",
        "industry": "industry",
        "size": "size",
        "annual_revenue": "annual_revenue",
        "revenue_currency": "revenue_currency",
        "employees": "employees",
        "year_established": "year_established",
        "country": "country",
        "location": "location",
        "parent": "parent__name",
        **_person_columns("owner", "owner"),
    }
    frame = _frame(visibility.accounts(user), columns)
    frame = _person(frame, "owner", "owner")
    frame["_label"] = frame["name"]
    return Table("account", frame, refs={"parent": ("account", "name"), "owner": ("user", "full_name")})


def contact(user: Any) -> Table:
    columns = {
        "_pk": "pk",
        "external_id": "external_id",
        "first_name": "first_name",
        "last_name": "last_name",
        "title": "title",
        "email": "email",
        "phone": "phone",
        "account": "account__name",
        **_person_columns("owner", "owner"),
    }
    frame = _frame(visibility.contacts(user), columns)
    frame = _person(frame, "owner", "owner")
    frame["_label"] = [
        f"{f} {la}".strip() for f, la in zip(frame["first_name"], frame["last_name"], strict=True)
    ]
    return Table("contact", frame, refs={"account": ("account", "name"), "owner": ("user", "full_name")})


def opportunity(user: Any, custom_keys: set[str]) -> Table:
    columns = {
        "_pk": "pk",
        "external_id": "external_id",
        "name": "name",
        "account": "account__name",
        "product": "product__name",
        "amount": "amount",
        "currency": "currency",
        "created_on": "created_on",
        "engaged_on": "engaged_on",
        "expected_close_on": "expected_close_on",
        "closed_on": "closed_on",
        "stage": "stage__name",
        "stage_type": "stage__type",
        "stage_order": "stage__order",
        "probability": "probability",
        "forecast_category": "forecast_category",
        "loss_reason": "loss_reason",
        "_custom": "custom",
        **_person_columns("owner", "owner"),
    }
    qs = visibility.opportunities(user)
    frame = _frame(qs, columns)
    frame = _person(frame, "owner", "owner")
    for key in sorted(custom_keys):
        frame[f"custom.{key}"] = frame["_custom"].map(lambda c, k=key: (c or {}).get(k))
    frame = frame.drop(columns=["_custom"])
    last = dict(
        visibility.activities(user)
        .filter(opportunity__isnull=False)
        .values_list("opportunity")
        .annotate(last=Max("occurred_at"))
        .values_list("opportunity", "last")
    )
    frame["last_activity_on"] = frame["_pk"].map(lambda pk: last[pk].date() if pk in last else None)
    frame["_label"] = [e or n for e, n in zip(frame["external_id"], frame["name"], strict=True)]
    refs = {
        "owner": ("user", "full_name"),
        "account": ("account", "name"),
        "product": ("product", "name"),
        "stage": ("stage", "name"),
    }
    return Table("opportunity", frame, refs=refs)


def activity(user: Any) -> Table:
    columns = {
        "_pk": "pk",
        "external_id": "external_id",
        "type": "type",
        "occurred_at": "occurred_at",
        "account": "account__name",
        "opportunity": "opportunity__external_id",
        "contact": "contact__external_id",
        "subject": "subject",
        **_person_columns("owner", "owner"),
    }
    frame = _frame(visibility.activities(user), columns)
    frame = _person(frame, "owner", "owner")
    frame["_label"] = frame["subject"]
    refs = {
        "owner": ("user", "full_name"),
        "account": ("account", "name"),
        "opportunity": ("opportunity", "external_id"),
        "contact": ("contact", "external_id"),
    }
    return Table("activity", frame, refs=refs)


def build(user: Any = None, *, as_of: dt.date | None = None, objects: tuple[str, ...] = OBJECTS) -> Dataset:
    """The database as ``user`` sees it (None: the system, everything)."""
    stages = reference.stages()
    custom_keys = {
        f.removeprefix("custom.") for s in stages for f in s.required_fields if f.startswith("custom.")
    }
    builders = {
        "sales_team": lambda: sales_team(user),
        "product": lambda: product(user),
        "account": lambda: account(user),
        "contact": lambda: contact(user),
        "opportunity": lambda: opportunity(user, custom_keys),
        "activity": lambda: activity(user),
    }
    tables = {name: builders[name]() for name in objects}
    wanted = {ref for table in tables.values() for ref in table.refs.values()}
    lookups = {}
    for obj, by in wanted:
        if obj in tables and by in tables[obj].frame.columns:  # read already, through the same visibility
            lookups[(obj, by)] = {str(v) for v in tables[obj].frame[by] if v not in (None, "")}
            continue
        values = reference.lookup_values(obj, by, user)
        if values is not None:
            lookups[(obj, by)] = values
    return Dataset(
        kind="database",
        tables=tables,
        stages=stages,
        governed=reference.governed(),
        lookups=lookups,
        as_of=as_of,
        description="the revcast database",
    )
