"""The objects standardisation reads and writes, and how a record is named in a preview."""

from __future__ import annotations

from typing import Any

from django.db.models import Model

from revcast.customers.models import Account, Contact
from revcast.pipeline.models import Opportunity

MODELS: dict[str, type[Model]] = {"account": Account, "contact": Contact, "opportunity": Opportunity}


def model_for(object_name: str) -> type[Model]:
    try:
        return MODELS[object_name]
    except KeyError:
        raise ValueError(f"unknown object {object_name!r}; known: {', '.join(MODELS)}") from None


def label(object_name: str, row: dict[str, Any]) -> str:
    """A record's name as people know it, from a ``values()`` row holding the label columns."""
    if object_name == "account":
        return str(row.get("name") or f"#{row['pk']}")
    if object_name == "contact":
        return " ".join(p for p in (row.get("first_name"), row.get("last_name")) if p) or f"#{row['pk']}"
    return str(row.get("name") or row.get("external_id") or f"#{row['pk']}")


LABEL_COLUMNS: dict[str, tuple[str, ...]] = {
    "account": ("name",),
    "contact": ("first_name", "last_name"),
    "opportunity": ("name", "external_id"),
}


def current_value(obj: Model, field: str) -> Any:
    """A record's value of ``field`` (a model field, or ``custom.<key>``)."""
    if field.startswith("custom."):
        return (getattr(obj, "custom", None) or {}).get(field.removeprefix("custom."))
    return getattr(obj, field)
