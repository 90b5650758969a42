"""The weekly snapshot of every forecast call, and closing a period with the accuracy of each call.

A snapshot freezes, for each node of the hierarchy (a person with everyone below; the company), three calls:

- **reps**: the submissions added up as submitted, with no adjustment at all;
- **managers**: the number after every manager's adjustment (what the company carries for that node);
- **AI**: the P50 (with P10 and P90) of the newest forecast run, re-simulated for the node's subtree;

beside the pipeline, what was closed, the weighted pipeline and the quota. One snapshot per node and week (the
Monday of the week); taking it again in the same week replaces it.

Closing a period compares each snapshot with what was won in the period (deals won with a close date in it,
by their owner now): error |forecast − actual| / actual, bias (forecast − actual) / actual, per node, source
and week of the period. Closing again recomputes.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from revcast.core.fiscal import PeriodRef
from revcast.forecasting.collab import figures as figs
from revcast.forecasting.collab import selectors
from revcast.forecasting.collab.rollup import View, build_view, period_ref
from revcast.forecasting.collab.tree import Tree
from revcast.forecasting.models import ForecastAccuracy, ForecastSnapshot, PeriodClose

SOURCES = {"rep": "rep_commit", "manager": "commit", "ai": "ai_p50"}


class PeriodNotOver(ValueError):
    """A period cannot be closed before it ends (unless forced), nor snapshot after it ends."""


def monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def week_index(week: dt.date, period: PeriodRef) -> int:
    """1 for the week holding the period's first day, and so on."""
    return (week - monday(period.start)).days // 7 + 1


def _nodes(view: View) -> list[Any]:
    """Every person under a counted top of the hierarchy, then the company (None)."""
    out: list[Any] = []
    for root in view.tree.kids(None):
        if view.counts_in_company(root):
            out.extend(view.tree.subtree(root))
    return [*out, None]


def take_snapshot(period_label: str, *, at: dt.datetime | None = None) -> int:
    """Freeze every node's calls for ``period_label`` as of ``at`` (default now); the number of rows written."""
    period = period_ref(period_label)
    moment = at or timezone.now()
    if moment.astimezone(dt.UTC).date() >= period.end:
        raise PeriodNotOver(f"{period.label} is over: a snapshot freezes the calls made before a period ends")
    if selectors.is_closed(period.label):
        raise PeriodNotOver(f"{period.label} is closed: its calls were measured already")
    managed = build_view(None, period, at=at, ai=True)
    reps = View(viewer=None, period=period, tree=managed.tree, figures=managed.figures,
                submissions=managed.submissions, adjustments={}, quotas=managed.quotas, at=at)
    week = monday(moment.astimezone(dt.UTC).date())
    rows = []
    for pk in _nodes(managed):
        node = managed.node(pk) if pk is not None else managed.company()
        raw = reps.node(pk) if pk is not None else reps.company()
        ai = node["ai"] or {}
        rows.append(ForecastSnapshot(
            period=period.label, period_start=period.start, period_end=period.end, week=week, taken_at=moment,
            user_id=pk, rep_commit=raw["commit"], rep_best_case=raw["best_case"], commit=node["commit"],
            best_case=node["best_case"], pipeline=node["pipeline"], closed=node["closed"],
            weighted=node["weighted"].quantize(Decimal("0.01")), quota=node["quota"],
            ai_p10=ai.get("p10"), ai_p50=ai.get("p50"), ai_p90=ai.get("p90"), ai_run_id=ai.get("run"),
            missing=len(node["missing"]),
        ))
    with transaction.atomic():
        ForecastSnapshot.objects.filter(period=period.label, week=week).delete()
        ForecastSnapshot.objects.bulk_create(rows)
    return len(rows)


def weekly_snapshots(periods: list[str], *, at: dt.datetime | None = None) -> dict[str, int]:
    """For the nightly task: a snapshot of each period whose current week has none yet (periods that are over
    or closed are left alone); {period: rows written} for those taken."""
    moment = at or timezone.now()
    week = monday(moment.astimezone(dt.UTC).date())
    taken = {}
    for label in periods:
        if ForecastSnapshot.objects.filter(period=period_ref(label).label, week=week).exists():
            continue
        try:
            taken[label] = take_snapshot(label, at=moment)
        except PeriodNotOver:
            continue
    return taken


def actuals(tree: Tree, won: dict[int, figs.Figures]) -> dict[Any, Decimal]:
    """What was won in the period per node (subtree) and for the company (None), from the owners' figures."""
    closed = {pk: f.closed for pk, f in won.items()}
    out: dict[Any, Decimal] = {pk: sum((closed.get(m, figs.ZERO) for m in tree.subtree(pk)), figs.ZERO)
                               for pk in tree.users}
    out[None] = sum(closed.values(), figs.ZERO)
    return out


def _ratio(forecast: Decimal, actual: Decimal) -> tuple[float | None, float | None]:
    if actual <= 0:
        return None, None
    return float(abs(forecast - actual) / actual), float((forecast - actual) / actual)


def close_period(period_label: str, *, by: Any = None, now: dt.datetime | None = None,
                 force: bool = False) -> PeriodClose:
    """Compare every snapshot of the period with what was won; replaces an earlier close of the period."""
    period = period_ref(period_label)
    moment = now or timezone.now()
    if not force and moment.date() < period.end:
        raise PeriodNotOver(f"{period.label} ends on {period.end - dt.timedelta(days=1)}; it can be closed after "
                            "that (or with --force, to see the accuracy so far)")
    tree = Tree.load()
    actual = actuals(tree, figs.by_owner(None, period.start, period.end))
    snaps = list(ForecastSnapshot.objects.filter(period=period.label).order_by("week", "user_id"))
    with transaction.atomic():
        PeriodClose.objects.filter(period=period.label).delete()
        close = PeriodClose.objects.create(period=period.label, period_start=period.start, period_end=period.end,
                                           closed_at=moment, closed_by=by)
        rows = []
        for snap in snaps:
            truth = actual.get(snap.user_id, figs.ZERO)
            for source, column in SOURCES.items():
                forecast = getattr(snap, column)
                if forecast is None:
                    continue
                error, bias = _ratio(forecast, truth)
                rows.append(ForecastAccuracy(
                    close=close, user_id=snap.user_id,
                    is_team=snap.user_id is None or bool(tree.kids(snap.user_id)),
                    source=source, week=snap.week, week_index=week_index(snap.week, period),
                    forecast=forecast, actual=truth, error=error, bias=bias,
                ))
        ForecastAccuracy.objects.bulk_create(rows)
    return close
