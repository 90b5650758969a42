"""The one shape every report returns: ``{"columns": [...], "rows": [[...]], "meta": {...}}``."""

from __future__ import annotations

import datetime as dt
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


def jsonable(value: Any) -> Any:
    """Money as a JSON number (exact to the cent: shortest float repr), dates as ISO text."""
    if isinstance(value, Decimal):
        return float(value.quantize(Decimal("0.01"))) if value == value else None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value
