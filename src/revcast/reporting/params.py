"""Typed input of every report: grouping, period, filters, the user it runs for, and options."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


class ReportError(ValueError):
    """A report was asked for with parameters it cannot take; the message says which and why."""


@dataclass
class ReportParams:
    by: list[str] = field(default_factory=list)
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    where: dict[str, list[str]] = field(default_factory=dict)
    user: Any = None
    options: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(
        cls,
        *,
        by: list[str] | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        where: list[str] | None = None,
        user: Any = None,
        options: list[str] | dict[str, str] | None = None,
    ) -> ReportParams:
        """Build params from text (CLI flags, query strings): ``where`` items read ``FIELD=VALUE``."""
        filters: dict[str, list[str]] = {}
        for item in where or []:
            name, sep, value = item.partition("=")
            if not sep or not name.strip():
                raise ReportError(f"--where {item!r}: expected FIELD=VALUE")
            filters.setdefault(name.strip(), []).append(value.strip())
        opts: dict[str, str] = {}
        if isinstance(options, dict):
            opts = dict(options)
        else:
            for item in options or []:
                name, sep, value = item.partition("=")
                if not sep:
                    raise ReportError(f"--option {item!r}: expected NAME=VALUE")
                opts[name.strip()] = value.strip()
        by_list = [b.strip() for part in (by or []) for b in part.split(",") if b.strip()]
        params = cls(
            by=by_list,
            date_from=_date("from", date_from),
            date_to=_date("to", date_to),
            where=filters,
            user=user,
            options=opts,
        )
        if params.date_from and params.date_to and params.date_from > params.date_to:
            raise ReportError(f"--from {params.date_from} is after --to {params.date_to}")
        return params


def _date(name: str, text: str | None) -> dt.date | None:
    if text in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(text))
    except ValueError:
        raise ReportError(f"--{name} {text!r}: expected a date YYYY-MM-DD") from None
