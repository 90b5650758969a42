from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Count, Sum
from django.utils.translation import gettext_noop

from revcast.pipeline.models import Stage
from revcast.reporting.result import Column, ReportResult
from revcast.reporting.runners.base import ReportRunner
from revcast.reporting.runners.pipeline import _money


class BookingsReport(ReportRunner):
    name = "bookings"
    title = gettext_noop("Bookings")
    description = gettext_noop("Won amount and count by close month, quarter or year and any dimension.")
    date_field = "closed_on"
    default_by = ("month",)

    def compute(self) -> ReportResult:
        qs = self.base_queryset().filter(stage__type=Stage.Type.WON)
        groups = self.grouped(qs, n=Count("id"), total=Sum("amount"))
        rows = []
        totals: dict[str, Any] = {"count": 0, "amount": Decimal(0)}
        for g in groups:
            amount = _money(g["total"])
            rows.append([*self.group_key(g), g["n"], amount])
            totals["count"] += g["n"]
            totals["amount"] += amount
        columns = [
            *self.dimension_columns(),
            Column("count", "integer", gettext_noop("Won deals")),
            Column("amount", "money", gettext_noop("Won amount")),
        ]
        return ReportResult(columns, rows, self.meta(totals=totals))
