"""Reading the accuracy of closed periods, scoped to what a user may see.

A person sees the rows of the people they see records of (themselves, their subtree); the company's rows only
those who see everything. ``summary`` gives, per source and week of the period, the company's error and bias
and the mean error over people (reps) and over teams (managers' subtrees).
"""

from __future__ import annotations

from collections import defaultdict
from statistics import fmean
from typing import Any

from django.db.models import QuerySet

from revcast.core import visibility
from revcast.forecasting.models import ForecastAccuracy, PeriodClose

SOURCE_ORDER = {"rep": 0, "manager": 1, "ai": 2}


def closes() -> QuerySet:
    return PeriodClose.objects.order_by("-period_start", "period")


def visible_rows(user: Any, close: PeriodClose) -> QuerySet:
    rows = ForecastAccuracy.objects.filter(close=close).select_related("user")
    owners = visibility.visible_owner_ids(user)
    if owners is not None:
        rows = rows.filter(user_id__in=owners)
    return rows.order_by("user__username", "source", "week")


def summary(user: Any, close: PeriodClose, rows: list[ForecastAccuracy] | None = None) -> list[dict[str, Any]]:
    """One row per source and week: company error and bias (for those who see everything; else their own top
    node's), the mean absolute error over people and over teams, and how many of each were measured. ``rows``:
    ``visible_rows(user, close)`` when the caller has read them already."""
    rows = list(visible_rows(user, close)) if rows is None else rows
    # the company row (user null) for those who see everything, else the user's own node
    top = None if visibility.visible_owner_ids(user) is None else getattr(user, "pk", None)
    groups: dict[tuple[str, int], dict[str, Any]] = {}
    people: dict[tuple[str, int], list[float]] = defaultdict(list)
    teams: dict[tuple[str, int], list[float]] = defaultdict(list)
    for r in rows:
        key = (r.source, r.week_index)
        g = groups.setdefault(key, {"source": r.source, "week_index": r.week_index, "week": r.week, "forecast": None,
                                    "actual": None, "error": None, "bias": None})
        if r.user_id == top:
            g.update(forecast=r.forecast, actual=r.actual, error=r.error, bias=r.bias)
        if r.error is None or r.user_id is None:
            continue
        (teams if r.is_team else people)[key].append(r.error)
    out = []
    for key, g in groups.items():
        g["people_mean_error"] = fmean(people[key]) if people[key] else None
        g["people"] = len(people[key])
        g["teams_mean_error"] = fmean(teams[key]) if teams[key] else None
        g["teams"] = len(teams[key])
        out.append(g)
    return sorted(out, key=lambda g: (SOURCE_ORDER.get(g["source"], 9), g["week_index"]))
