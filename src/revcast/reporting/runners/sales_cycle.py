from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
from django.db.models import Q
from django.utils.translation import gettext_noop

from revcast.pipeline.models import Stage
from revcast.reporting.result import Column, ReportResult
from revcast.reporting.runners.base import ReportRunner


class SalesCycleReport(ReportRunner):
    """Days from engaged (or created) to close, for won and lost deals: mean, median and 90th percentile.

    Percentiles use linear interpolation between ranks (as numpy and pandas do by default).
    """

    name = "sales-cycle"
    title = gettext_noop("Sales cycle")
    description = gettext_noop("Days from engaged/created to close for won and lost deals: mean, median, p90.")
    date_field = "closed_on"
    options = {"start": ("engaged", "created")}

    def compute(self) -> ReportResult:
        start_field = "engaged_on" if self.option("start") == "engaged" else "created_on"
        qs = self.base_queryset().filter(Q(stage__type=Stage.Type.WON) | Q(stage__type=Stage.Type.LOST))
        qs = qs.filter(closed_on__isnull=False)
        rows_in = qs.values("stage__type", start_field, "closed_on", **self.group_annotations())
        days: dict[tuple[Any, ...], dict[str, list[int]]] = defaultdict(lambda: {"won": [], "lost": []})
        missing_start = 0
        for r in rows_in.iterator(chunk_size=5000):
            if r[start_field] is None:
                missing_start += 1
                continue
            days[self.group_key(r)][r["stage__type"]].append((r["closed_on"] - r[start_field]).days)
        rows = []
        for key in sorted(days, key=self.sort_key):
            for outcome in ("won", "lost"):
                values = days[key][outcome]
                if values:
                    rows.append([*key, outcome, *_stats(values)])
        everything = {o: [d for g in days.values() for d in g[o]] for o in ("won", "lost")}
        totals = {
            o: dict(zip(("count", "mean_days", "median_days", "p90_days"), _stats(v), strict=True))
            for o, v in everything.items()
            if v
        }
        columns = [
            *self.dimension_columns(),
            Column("outcome", "string", gettext_noop("Outcome")),
            Column("count", "integer", gettext_noop("Deals")),
            Column("mean_days", "days", gettext_noop("Mean days")),
            Column("median_days", "days", gettext_noop("Median days")),
            Column("p90_days", "days", gettext_noop("90th percentile days")),
        ]
        return ReportResult(
            columns, rows, self.meta(totals=totals, missing_start=missing_start, start_field=start_field)
        )


def _stats(values: list[int]) -> list[Any]:
    arr = np.asarray(values, dtype=float)
    return [
        len(values),
        round(float(arr.mean()), 2),
        round(float(np.median(arr)), 2),
        round(float(np.percentile(arr, 90)), 2),
    ]
