from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Sum
from django.utils.translation import gettext_noop

from revcast.pipeline.models import Stage
from revcast.reporting.result import Column, ReportResult
from revcast.reporting.runners.base import ReportRunner

HUNDRED = Decimal(100)


class PipelineReport(ReportRunner):
    name = "pipeline"
    title = gettext_noop("Open pipeline")
    description = (
        gettext_noop("Open opportunities: count, amount and probability-weighted amount, by stage or any dimension.")
    )
    date_field = "expected_close_on"
    default_by = ("stage",)

    def compute(self) -> ReportResult:
        qs = self.base_queryset().filter(stage__type=Stage.Type.OPEN)
        weighted = ExpressionWrapper(
            F("amount") * F("probability"), output_field=DecimalField(max_digits=24, decimal_places=2)
        )
        groups = self.grouped(qs, n=Count("id"), total=Sum("amount"), weighted=Sum(weighted))
        rows = []
        totals: dict[str, Any] = {"count": 0, "amount": Decimal(0), "weighted_amount": Decimal(0)}
        for g in groups:
            amount = _money(g["total"])
            weighted_amount = _money((g["weighted"] or Decimal(0)) / HUNDRED)
            rows.append([*self.group_key(g), g["n"], amount, weighted_amount])
            totals["count"] += g["n"]
            totals["amount"] += amount
            totals["weighted_amount"] += weighted_amount
        columns = [
            *self.dimension_columns(),
            Column("count", "integer", gettext_noop("Opportunities")),
            Column("amount", "money", gettext_noop("Amount")),
            Column("weighted_amount", "money", gettext_noop("Weighted amount")),
        ]
        return ReportResult(columns, rows, self.meta(totals=totals))


def _money(value: Decimal | float | None) -> Decimal:
    if value is None:
        return Decimal("0.00")
    return Decimal(str(value)).quantize(Decimal("0.01"))
