"""The one shape every report returns: ``{"columns": [...], "rows": [[...]], "meta": {...}}``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

# Column types: string, integer, number (float), money (Decimal), percent (fraction 0..1), date, days.
COLUMN_TYPES = ("string", "integer", "number", "money", "percent", "date", "days")


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    label: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "type": self.type, "label": self.label}


@dataclass
class ReportResult:
    columns: list[Column]
    rows: list[list[Any]]
    meta: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "columns": [c.as_dict() for c in self.columns],
            "rows": [[jsonable(v) for v in row] for row in self.rows],
            "meta": {k: jsonable(v) for k, v in self.meta.items()},
        }

    def column_index(self, name: str) -> int:
        return [c.name for c in self.columns].index(name)


def money_number(value: Decimal) -> float | None:
    """Money as a JSON number, exact to the cent (the shortest float repr); NaN as null."""
    return float(value.quantize(Decimal("0.01"))) if value == value else None


def money_text(value: Decimal) -> str:
    """Money as text with two decimals, exactly."""
    return format(value.quantize(Decimal("0.01")), "f")


def jsonable(value: Any, money: Callable[[Decimal], Any] = money_number) -> Any:
    """Money through ``money`` (a JSON number by default), dates as ISO text, through nested dicts and lists."""
    if isinstance(value, Decimal):
        return money(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v, money) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v, money) for v in value]
    return value
