"""The revcast objects an import can feed, how their references are looked up, and who writes them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import models

from revcast.activities.models import Activity
from revcast.activities.services import upsert_activities
from revcast.customers.models import Account, Contact
from revcast.customers.services import upsert_accounts, upsert_contacts
from revcast.org.models import Region, Team, User
from revcast.org.services import TeamMember, upsert_sales_team
from revcast.pipeline.models import Opportunity, OpportunityFieldHistory, Product, Stage
from revcast.pipeline.services import OpportunityRow, upsert_opportunities, upsert_products


@dataclass
class WriteCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    notes: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Target:
    name: str
    model: type[models.Model] | None
    default_key: str | None
    refs: dict[str, tuple[str, str]] = field(
        default_factory=dict
    )  # field -> (object, default lookup attribute)
    picklists: dict[str, str] = field(default_factory=dict)  # field -> picklist key
    required: tuple[str, ...] = ()
    plain_fields: tuple[str, ...] = ()  # fields of targets without a model (sales_team)
    # The tables the writer fills, which a bulk load into empty tables may set aside indexes of (bulkload).
    tables: tuple[type[models.Model], ...] = ()
    excluded: tuple[str, ...] = (
        "id",
        "created_at",
        "updated_at",
        "custom",
        "version",
        "reached_stage",
        "password",
    )


# object -> lookup attribute -> how to read that attribute off an instance
LOOKUPS: dict[str, dict[str, Callable[[Any], Any]]] = {
    "user": {
        "username": lambda u: u.username,
        "full_name": lambda u: f"{u.first_name} {u.last_name}".strip(),
        "email": lambda u: u.email or None,
        "external_id": lambda u: u.external_id,
    },
    "account": {"name": lambda a: a.name, "external_id": lambda a: a.external_id},
    "contact": {"external_id": lambda c: c.external_id, "email": lambda c: c.email or None},
    "product": {"name": lambda p: p.name, "external_id": lambda p: p.external_id},
    "stage": {"name": lambda s: s.name},
    "opportunity": {"external_id": lambda o: o.external_id},
    "region": {"name": lambda r: r.name, "code": lambda r: r.code},
    "team": {"name": lambda t: t.name},
}
MODELS: dict[str, type[models.Model]] = {
    "user": User,
    "account": Account,
    "contact": Contact,
    "product": Product,
    "stage": Stage,
    "opportunity": Opportunity,
    "region": Region,
    "team": Team,
}


class Lookups:
    """Indexes of existing records by a lookup attribute, built once and refreshed after each write."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], dict[Any, list[Any]]] = {}

    def index(self, obj: str, by: str) -> dict[Any, list[Any]]:
        try:
            return self._cache[(obj, by)]  # asked per row and field: the cached case first
        except KeyError:
            pass
        read = LOOKUPS[obj][by]
        idx: dict[Any, list[Any]] = defaultdict(list)
        for instance in MODELS[obj]._default_manager.all():
            value = read(instance)
            if value not in (None, ""):
                idx[value].append(instance)
        built = self._cache[(obj, by)] = dict(idx)
        return built

    def invalidate(self, obj: str | None = None) -> None:
        self._cache = {k: v for k, v in self._cache.items() if obj is not None and k[0] != obj}


def _write_sales_team(rows: Sequence[dict[str, Any]], key: str, source: str) -> WriteCounts:
    members = [TeamMember(**row) for row in rows]
    result = upsert_sales_team(members)
    return WriteCounts(result.created, result.updated, result.unchanged, result.created_by_object)


def _simple(writer: Callable[..., Any]) -> Callable[[Sequence[dict[str, Any]], str, str], WriteCounts]:
    def write(rows: Sequence[dict[str, Any]], key: str, source: str) -> WriteCounts:
        result = writer(rows, key=key)
        return WriteCounts(len(result.created), len(result.updated), len(result.unchanged))

    return write


def _write_opportunities(rows: Sequence[dict[str, Any]], key: str, source: str) -> WriteCounts:
    batch = []
    for r in rows:
        values = dict(r)  # the caller's row stays whole (a refused batch is retried row by row)
        batch.append(
            OpportunityRow(
                values=values, stage_dates=values.pop("__stage_dates", {}), known_on=values.pop("__known_on", {})
            )
        )
    result = upsert_opportunities(batch, key=key, source=source)
    return WriteCounts(
        result.created, result.updated, result.unchanged, {"history rows": result.history_rows}
    )


TARGETS: dict[str, Target] = {
    "sales_team": Target(
        name="sales_team",
        model=None,
        default_key="name",
        required=("name",),
        plain_fields=("name", "manager", "region", "team", "email"),
    ),
    "product": Target(name="product", model=Product, default_key="name", required=("name",), tables=(Product,)),
    "account": Target(
        name="account",
        model=Account,
        default_key="external_id",
        refs={"parent": ("account", "name"), "owner": ("user", "username")},
        picklists={"industry": "industry", "size": "account_size"},
        required=("name",),
        tables=(Account,),
    ),
    "contact": Target(
        name="contact",
        model=Contact,
        default_key="external_id",
        refs={"account": ("account", "name"), "owner": ("user", "username")},
        required=("last_name",),
        tables=(Contact,),
    ),
    "opportunity": Target(
        name="opportunity",
        model=Opportunity,
        default_key="external_id",
        refs={
            "owner": ("user", "username"),
            "account": ("account", "name"),
            "product": ("product", "name"),
            "stage": ("stage", "name"),
        },
        picklists={"loss_reason": "loss_reason"},
        required=("owner", "stage"),
        tables=(Opportunity, OpportunityFieldHistory),
    ),
    "activity": Target(
        name="activity",
        model=Activity,
        default_key="external_id",
        refs={
            "owner": ("user", "username"),
            "account": ("account", "name"),
            "opportunity": ("opportunity", "external_id"),
            "contact": ("contact", "external_id"),
        },
        required=("type", "occurred_at", "owner"),
        tables=(Activity,),
    ),
}

WRITERS: dict[str, Callable[[Sequence[dict[str, Any]], str, str], WriteCounts]] = {
    "sales_team": _write_sales_team,
    "product": _simple(upsert_products),
    "account": _simple(upsert_accounts),
    "contact": _simple(upsert_contacts),
    "opportunity": _write_opportunities,
    "activity": _simple(upsert_activities),
}

# Which lookups a write to an object makes stale.
INVALIDATES = {
    "sales_team": ("user", "region", "team"),
    "product": ("product",),
    "account": ("account",),
    "contact": ("contact",),
    "opportunity": ("opportunity",),
    "activity": (),
}
