"""What each person's own deals say about a period: the numbers a submission is pre-filled with, and the
fallback for people who have not submitted.

For a period (its first day inclusive, the first day after it exclusive):

- ``closed``: won deals whose close date falls in the period;
- open deals whose expected close date falls in the period, by forecast category: ``commit``, ``best_case`` and
  ``pipeline`` (``omitted`` deals count nowhere);
- ``weighted``: those open deals' amounts times their probability.

The calls built from them are cumulative, as in Salesforce's collaborative forecasts: commit = closed + commit
deals; best case = commit + best-case deals; pipeline = every open deal not omitted (commit, best case and
pipeline categories). Deals without an expected close date are in no period's pipeline.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, ExpressionWrapper, F, QuerySet, Sum

from revcast.core import visibility
from revcast.pipeline.models import ForecastCategory, Stage

ZERO = Decimal("0.00")


@dataclass
class Figures:
    closed: Decimal = ZERO
    commit_deals: Decimal = ZERO
    best_case_deals: Decimal = ZERO
    pipeline_deals: Decimal = ZERO
    weighted: Decimal = ZERO

    @property
    def commit(self) -> Decimal:
        return self.closed + self.commit_deals

    @property
    def best_case(self) -> Decimal:
        return self.commit + self.best_case_deals

    @property
    def pipeline(self) -> Decimal:
        return self.commit_deals + self.best_case_deals + self.pipeline_deals


# Amount × probability (percent) of a deal, summed in SQL; divide the sum by 100.
WEIGHTED = ExpressionWrapper(F("amount") * F("probability"), output_field=DecimalField(max_digits=24, decimal_places=2))


def won_in(deals: QuerySet, start: dt.date, end: dt.date) -> QuerySet:
    """The won deals of ``deals`` with a close date in the period."""
    return deals.filter(stage__type=Stage.Type.WON, closed_on__gte=start, closed_on__lt=end)


def open_in(deals: QuerySet, start: dt.date, end: dt.date) -> QuerySet:
    """The open deals of ``deals`` expected to close in the period, omitted ones left out."""
    return deals.filter(stage__type=Stage.Type.OPEN, expected_close_on__gte=start, expected_close_on__lt=end).exclude(
        forecast_category=ForecastCategory.OMITTED
    )


def by_owner(viewer: Any, start: dt.date, end: dt.date, *, closed_before: dt.date | None = None) -> dict[int, Figures]:
    """Figures per owner id over the deals ``viewer`` may see. ``closed_before`` (a snapshot of the past) counts
    only deals closed before that day."""
    deals = visibility.opportunities(viewer)
    out: dict[int, Figures] = defaultdict(Figures)
    won = won_in(deals, start, end)
    if closed_before is not None:
        won = won.filter(closed_on__lt=closed_before)
    for owner, amount in won.values_list("owner_id").annotate(s=Sum("amount")).order_by().values_list("owner_id", "s"):
        out[owner].closed += amount or ZERO
    open_rows = (
        open_in(deals, start, end).values("owner_id", "forecast_category")
        .annotate(s=Sum("amount"), w=Sum(WEIGHTED)).order_by()
    )
    for row in open_rows:
        fig = out[row["owner_id"]]
        amount = row["s"] or ZERO
        category = row["forecast_category"]
        if category == ForecastCategory.COMMIT:
            fig.commit_deals += amount
        elif category == ForecastCategory.BEST_CASE:
            fig.best_case_deals += amount
        else:  # pipeline (and a stray 'closed' on an open deal: it is still open pipeline)
            fig.pipeline_deals += amount
        fig.weighted += Decimal(row["w"] or 0) / 100
    return dict(out)
