from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum
from django.utils.translation import gettext_noop

from revcast.pipeline.models import Stage
from revcast.reporting.result import Column, ReportResult
from revcast.reporting.runners.base import ReportRunner, ratio
from revcast.reporting.runners.pipeline import _money


class WinRateReport(ReportRunner):
    name = "win-rate"
    title = gettext_noop("Win rate")
    description = (
        gettext_noop("Closed deals: won, lost, won / (won + lost), won and lost amount, by close period or any dimension.")
    )
    date_field = "closed_on"

    def compute(self) -> ReportResult:
        won, lost = Q(stage__type=Stage.Type.WON), Q(stage__type=Stage.Type.LOST)
        qs = self.base_queryset().filter(won | lost)
        groups = self.grouped(
            qs,
            n_won=Count("id", filter=won),
            n_lost=Count("id", filter=lost),
            won_total=Sum("amount", filter=won),
            lost_total=Sum("amount", filter=lost),
        )
        rows = []
        totals: dict[str, Any] = {"won": 0, "lost": 0, "won_amount": Decimal(0), "lost_amount": Decimal(0)}
        for g in groups:
            won_amount, lost_amount = _money(g["won_total"]), _money(g["lost_total"])
            rows.append(
                [
                    *self.group_key(g),
                    g["n_won"],
                    g["n_lost"],
                    ratio(g["n_won"], g["n_won"] + g["n_lost"]),
                    won_amount,
                    lost_amount,
                ]
            )
            totals["won"] += g["n_won"]
            totals["lost"] += g["n_lost"]
            totals["won_amount"] += won_amount
            totals["lost_amount"] += lost_amount
        totals["win_rate"] = ratio(totals["won"], totals["won"] + totals["lost"])
        columns = [
            *self.dimension_columns(),
            Column("won", "integer", gettext_noop("Won")),
            Column("lost", "integer", gettext_noop("Lost")),
            Column("win_rate", "percent", gettext_noop("Win rate")),
            Column("won_amount", "money", gettext_noop("Won amount")),
            Column("lost_amount", "money", gettext_noop("Lost amount")),
        ]
        return ReportResult(columns, rows, self.meta(totals=totals))
