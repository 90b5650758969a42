from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db.models import Count
from django.utils.translation import gettext_noop

from revcast.pipeline.models import Stage
from revcast.reporting.params import ReportError
from revcast.reporting.result import Column, ReportResult
from revcast.reporting.runners.base import ReportRunner, ratio


class FunnelReport(ReportRunner):
    """For a cohort of deals (created or engaged in the period), how many reached each stage.

    A deal counts as having reached every stage up to the furthest one it reached (kept on the deal as
    ``reached_stage``): where stage history is missing, reaching a later stage implies the earlier ones.
    Won deals reached every open stage; lost deals reached the stages before they were lost.
    """

    name = "funnel"
    title = gettext_noop("Funnel")
    description = gettext_noop("Cohort funnel: deals reaching each stage, conversion between stages, win rate.")
    date_field = "created_on"
    options = {"cohort": ("created", "engaged")}

    @property
    def period_field(self) -> str:
        return "engaged_on" if self.option("cohort") == "engaged" else "created_on"

    def compute(self) -> ReportResult:
        if any(d.name == "stage" for d in self.by):
            raise ReportError("the funnel is already by stage; group it by another dimension")
        stages = list(Stage.objects.filter(active=True).exclude(type=Stage.Type.LOST).order_by("order"))
        counts = (
            self.base_queryset()
            .values("reached_stage_id", "stage__type", **self.group_annotations())
            .annotate(n=Count("id"))
            .order_by()
        )
        order = {s.pk: s.order for s in Stage.objects.all()}
        by_group: dict[tuple[Any, ...], dict[str, Any]] = defaultdict(
            lambda: {"reached": defaultdict(int), "won": 0, "lost": 0, "total": 0}
        )
        for row in counts:
            g = by_group[self.group_key(row)]
            g["reached"][order[row["reached_stage_id"]]] += row["n"]
            g["total"] += row["n"]
            if row["stage__type"] == Stage.Type.WON:
                g["won"] += row["n"]
            elif row["stage__type"] == Stage.Type.LOST:
                g["lost"] += row["n"]
        rows: list[list[Any]] = []
        group_meta = []
        totals: dict[str, Any] = {"cohort": 0, "won": 0, "lost": 0}
        for key in sorted(by_group, key=self.sort_key):
            g = by_group[key]
            first = previous = None
            for stage in stages:
                if stage.type == Stage.Type.WON:
                    reached = sum(
                        n for o, n in g["reached"].items() if o >= stage.order and _is_won(o, stages)
                    )
                else:
                    reached = sum(n for o, n in g["reached"].items() if o >= stage.order)
                first = reached if first is None else first
                rows.append(
                    [
                        *key,
                        stage.name,
                        reached,
                        None if previous is None else ratio(reached, previous),
                        ratio(reached, first),
                    ]
                )
                previous = reached
            group_meta.append(
                {
                    "group": list(key),
                    "cohort": g["total"],
                    "won": g["won"],
                    "lost": g["lost"],
                    "win_rate": ratio(g["won"], g["won"] + g["lost"]),
                }
            )
            totals["cohort"] += g["total"]
            totals["won"] += g["won"]
            totals["lost"] += g["lost"]
        totals["win_rate"] = ratio(totals["won"], totals["won"] + totals["lost"])
        columns = [
            *self.dimension_columns(),
            Column("stage", "string", gettext_noop("Stage")),
            Column("reached", "integer", gettext_noop("Reached")),
            Column("conversion", "percent", gettext_noop("Conversion from previous stage")),
            Column("cumulative", "percent", gettext_noop("Conversion from first stage")),
        ]
        return ReportResult(columns, rows, self.meta(totals=totals, groups=group_meta))


def _is_won(order: int, stages: list[Stage]) -> bool:
    return any(s.order == order and s.type == Stage.Type.WON for s in stages)
