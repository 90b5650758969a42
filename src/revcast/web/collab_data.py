"""Reads behind the collaborative forecast pages that ``forecasting.collab`` does not offer as such: the default
period, the periods to pick from, a user by name within what the viewer may see, the viewer's own submissions,
and the deals behind a roll-up node.

Every read of deals or people goes through ``core.visibility`` (directly or through ``forecasting.collab``), so
a page never shows a deal, a submission or a name outside the viewer's view. The deal lists use the same rules
as ``forecasting.collab.figures`` (won deals closed in the period; open deals expected to close in it, by forecast
category, omitted ones left out), so that their totals are the node's ``closed`` and what the deals say.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, QuerySet, Sum

from revcast.core import fiscal, visibility
from revcast.core.fiscal import PeriodRef
from revcast.forecasting.collab import figures as figs
from revcast.forecasting.collab import selectors as collab_selectors
from revcast.forecasting.models import ForecastRun, ForecastSubmission
from revcast.pipeline.models import ForecastCategory, Opportunity
from revcast.web import charts

ZERO = Decimal("0.00")
DEALS_SHOWN = 10  # rows per deal list; the totals count every deal, a link opens the whole list
HISTORY_SHOWN = 20
CATEGORIES = ("commit", "best_case", "pipeline")  # open deals, in the order of the page


# ---------------------------------------------------------------- periods


def default_period() -> str:
    """The fiscal quarter of the newest forecast run (the latest as-of time: the most recent knowledge, as on the
    forecast page), else the current fiscal quarter."""
    run = ForecastRun.objects.order_by("-as_of", "-created_at", "-id").only("period_start").first()
    if run is not None:
        return fiscal.period_of(run.period_start, "quarter").label
    return fiscal.current_period("quarter").label


def _start(label: str) -> dt.date:
    return fiscal.parse_period(label).start.date()


def period_choices(user: Any, selected: str) -> list[str]:
    """Fiscal quarters spanned by the user's deals, the periods that have a forecast run or a submission, the
    current quarter and the one shown; newest first (a quarter before the months it holds)."""
    from revcast.web.widgets import period_choices as deal_periods

    labels = {label for label in deal_periods(user) if fiscal.kind_of(label) == "quarter"}
    labels.update(ForecastRun.objects.order_by().values_list("period", flat=True).distinct())
    labels.update(collab_selectors.visible_submissions(user).order_by().values_list("period", flat=True).distinct())
    labels.add(fiscal.current_period("quarter").label)
    labels.add(selected)
    kinds = {"year": 0, "quarter": 1, "month": 2}
    known = []
    for label in labels:
        try:
            known.append((_start(label), kinds.get(fiscal.kind_of(label), 3), label))
        except (ValueError, OverflowError):
            continue
    known.sort(key=lambda k: (-k[0].toordinal(), k[1], k[2]))
    return [label for _start_day, _kind, label in known]


# ---------------------------------------------------------------- people

visible_user = collab_selectors.visible_user


def own_submissions(user: Any, period: str, limit: int = HISTORY_SHOWN) -> list[ForecastSubmission]:
    """The user's own submissions of the period, newest first."""
    return list(collab_selectors.visible_submissions(user, period).filter(user=user)[:limit])


def node_usernames(node: dict[str, Any]) -> list[str]:
    """The people a roll-up node adds up: its user (none for the company) and everyone below, as the node has
    them."""
    out: list[str] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if current.get("user"):
            out.append(current["user"])
        stack.extend(current.get("children") or [])
    return out


# ---------------------------------------------------------------- the deals behind a node


@dataclass
class DealList:
    """One list of deals: every deal counts in ``count`` and ``total``; ``rows`` are the largest."""

    key: str
    count: int = 0
    total: Decimal = ZERO
    rows: list[Opportunity] = field(default_factory=list)
    url: str = ""  # the opportunity list with exactly these deals (for a node of several people, by owner)


@dataclass
class Deals:
    won: DealList
    open: dict[str, DealList]

    @property
    def figures(self) -> figs.Figures:
        """What the deals say, counted as ``forecasting.collab.figures`` counts it."""
        return figs.Figures(
            closed=self.won.total, commit_deals=self.open["commit"].total,
            best_case_deals=self.open["best_case"].total, pipeline_deals=self.open["pipeline"].total,
        )


def _category_values(key: str) -> list[str]:
    if key == "pipeline":  # a stray 'closed' category on an open deal is still open pipeline (figures)
        return [str(ForecastCategory.PIPELINE), str(ForecastCategory.CLOSED)]
    return [key]


def _fill(deals: DealList, qs: QuerySet, limit: int) -> DealList:
    sums = qs.aggregate(n=Count("pk"), total=Sum("amount"))
    deals.count = sums["n"]
    deals.total = sums["total"] or ZERO
    deals.rows = list(qs.select_related("account", "owner", "stage").order_by("-amount", "pk")[:limit])
    return deals


def node_deals(viewer: Any, node: dict[str, Any], period: PeriodRef, *, limit: int = DEALS_SHOWN) -> Deals:
    """The visible deals of the node's people for the period: won (closed in it) and open (expected to close in
    it) by forecast category, largest first, with counts and totals over all of them."""
    usernames = node_usernames(node)
    mine = visibility.opportunities(viewer).filter(owner__username__in=usernames)
    last_day = period.end - dt.timedelta(days=1)
    owners: list[tuple[str, Any]] = [] if node.get("user") is None else [("owner", u) for u in sorted(usernames)]
    won_qs = figs.won_in(mine, period.start, period.end)
    won = _fill(DealList("won"), won_qs, limit)
    won.url = charts.list_url([("status", "won"), *owners, *charts.bounds_params("closed", period.start, last_day)])
    open_qs = figs.open_in(mine, period.start, period.end)
    lists = {}
    for key in CATEGORIES:
        values = _category_values(key)
        deals = _fill(DealList(key), open_qs.filter(forecast_category__in=values), limit)
        deals.url = charts.list_url([("status", "open"), *owners, *[("forecast_category", v) for v in values],
                                     *charts.bounds_params("expected", period.start, last_day)])
        lists[key] = deals
    return Deals(won=won, open=lists)
