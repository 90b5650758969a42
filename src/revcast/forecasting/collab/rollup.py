"""The roll-up of a subtree for one period, as one viewer sees it.

Every person's own number is their newest submission (or, when they have not submitted, what their deals say;
``figures``). A node's number is its own plus its direct reports' numbers, all the way down. An adjustment of
a node replaces that node's number, but only in the views of the manager who made it and of those above that
manager: the adjusted person, and anyone between them and the adjuster, keep seeing the number without it.
When several managers adjusted the same node, the highest of them visible to the viewer wins (they had the
last word); among one manager's adjustments, the newest. Commit and best case are adjusted separately;
pipeline, closed and the weighted pipeline are never adjusted.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet

from revcast.core import fiscal, visibility
from revcast.core.fiscal import PeriodRef
from revcast.forecasting.collab import figures as figs
from revcast.forecasting.collab.tree import Tree
from revcast.forecasting.models import ForecastAdjustment, ForecastSubmission

ZERO = figs.ZERO
METRICS = ("commit", "best_case")


class RollupError(ValueError):
    """A roll-up asked for a period or a user it cannot show; the message says which."""


def period_ref(label: str) -> PeriodRef:
    """A period by name through the fiscal calendar: ``2017-Q4``, ``2017-11``, ``FY2017``."""
    try:
        return fiscal.period_ref(label)
    except (ValueError, OverflowError) as exc:
        raise RollupError(str(exc)) from None


def latest_submissions(period: str, at: dt.datetime | None = None) -> dict[int, ForecastSubmission]:
    rows: QuerySet = ForecastSubmission.objects.filter(period=period)
    if at is not None:
        rows = rows.filter(submitted_at__lte=at)
    out: dict[int, ForecastSubmission] = {}
    for sub in rows.order_by("user_id", "-submitted_at", "-id"):
        out.setdefault(sub.user_id, sub)
    return out


def adjustments_of(period: str, at: dt.datetime | None = None) -> dict[int, list[ForecastAdjustment]]:
    """Adjustments per adjusted user, newest first."""
    rows: QuerySet = ForecastAdjustment.objects.filter(period=period).select_related("adjusted_by")
    if at is not None:
        rows = rows.filter(created_at__lte=at)
    out: dict[int, list[ForecastAdjustment]] = defaultdict(list)
    for adj in rows.order_by("-created_at", "-id"):
        out[adj.user_id].append(adj)
    return dict(out)


def expected_to_submit(user: Any, own: figs.Figures | None) -> bool:
    """Reps submit; anyone else only when they own deals in the period."""
    if user.role == "rep":
        return True
    return own is not None and (own.closed or own.pipeline) != ZERO


@dataclass
class View:
    """Everything one roll-up needs, read once: the tree, the figures, submissions, adjustments, quotas, AI."""

    viewer: Any
    period: PeriodRef
    tree: Tree
    figures: dict[int, figs.Figures]
    submissions: dict[int, ForecastSubmission]
    adjustments: dict[int, list[ForecastAdjustment]]
    quotas: dict[tuple[str, int], Decimal]
    ai: dict[Any, dict[str, Decimal]] | None = None
    at: dt.datetime | None = None
    _cache: dict[int, dict[str, Any]] = field(default_factory=dict)

    # ------------------------------------------------------------------ who counts for whom

    @functools.cached_property
    def _adjusters(self) -> set[int] | None:
        """Whose adjustments count in this view (None: everyone's), read once."""
        owners = visibility.visible_owner_ids(self.viewer)
        return None if owners is None else {pk for pk in owners if pk in self.tree.users}

    def adjuster_counts(self, adjuster_id: int) -> bool:
        """Whether an adjustment made by ``adjuster_id`` applies in this viewer's view: made by the viewer or by
        an (active) person below them; every adjustment for those who see everything."""
        return self._adjusters is None or adjuster_id in self._adjusters

    def adjustment(self, pk: int, metric: str) -> ForecastAdjustment | None:
        best: ForecastAdjustment | None = None
        best_depth = 0
        for adj in self.adjustments.get(pk, []):  # newest first
            if getattr(adj, metric) is None or not self.adjuster_counts(adj.adjusted_by_id):
                continue
            depth = self.tree.depth(adj.adjusted_by_id)
            if best is None or depth < best_depth:
                best, best_depth = adj, depth
        return best

    # ------------------------------------------------------------------ numbers

    def own(self, pk: int) -> dict[str, Any]:
        sub = self.submissions.get(pk)
        fig = self.figures.get(pk, figs.Figures())
        if sub is not None:
            return {"commit": sub.commit, "best_case": sub.best_case, "pipeline": sub.pipeline, "source": "submission",
                    "submitted_at": sub.submitted_at, "note": sub.note}
        return {"commit": fig.commit, "best_case": fig.best_case, "pipeline": fig.pipeline, "source": "deals",
                "submitted_at": None, "note": ""}

    def node(self, pk: int) -> dict[str, Any]:
        """The roll-up of ``pk``'s subtree (memoised)."""
        if pk in self._cache:
            return self._cache[pk]
        user = self.tree.users[pk]
        own = self.own(pk)
        children = [self.node(c) for c in self.tree.kids(pk)]
        fig = self.figures.get(pk, figs.Figures())
        computed = {m: own[m] + sum((c[m] for c in children), ZERO) for m in METRICS}
        values = dict(computed)
        adjusted: dict[str, Any] = {}
        for m in METRICS:
            adj = self.adjustment(pk, m)
            if adj is not None:
                values[m] = getattr(adj, m)
                adjusted[m] = {"value": getattr(adj, m), "from": computed[m], "by": adj.adjusted_by.username,
                               "note": adj.note, "at": adj.created_at, "id": adj.pk}
        missing = [] if own["source"] == "submission" or not expected_to_submit(user, self.figures.get(pk)) else [
            user.username]
        for c in children:
            missing.extend(c["missing"])
        # A team's quota is its own number (it may differ from its members' sum, shown beside it).
        quota = self.quotas.get(("user", pk))
        if children and ("led", pk) in self.quotas:
            quota = self.quotas[("led", pk)]
        out = {
            "user": user.username,
            "name": user.full_name,
            "role": user.role,
            "period": self.period.label,
            "commit": values["commit"],
            "best_case": values["best_case"],
            "pipeline": own["pipeline"] + sum((c["pipeline"] for c in children), ZERO),
            "closed": fig.closed + sum((c["closed"] for c in children), ZERO),
            "weighted": fig.weighted + sum((c["weighted"] for c in children), ZERO),
            "quota": quota,
            "quota_members": sum((c["quota"] for c in children if c["quota"] is not None), ZERO) if children else None,
            "ai": self.ai.get(pk) if self.ai is not None else None,
            "own": own,
            "submitted": own["source"] == "submission",
            "computed": computed,
            "adjusted": adjusted or None,
            "missing": missing,
            "children": children,
        }
        self._cache[pk] = out
        return out

    def company(self) -> dict[str, Any]:
        """Everyone at the top of the hierarchy the viewer may see, under one node (``user`` null)."""
        roots = [self.node(pk) for pk in self.tree.kids(None) if self.counts_in_company(pk)]
        total = {m: sum((r[m] for r in roots), ZERO) for m in ("commit", "best_case", "pipeline", "closed", "weighted")}
        quotas = [r["quota"] for r in roots if r["quota"] is not None]
        return {
            "user": None, "name": "", "role": "", "period": self.period.label, **total,
            "quota": sum(quotas, ZERO) if quotas else None,
            "quota_members": None,
            "ai": self.ai.get(None) if self.ai is not None else None,
            "own": None, "submitted": None, "computed": {m: total[m] for m in METRICS}, "adjusted": None,
            "missing": [name for r in roots for name in r["missing"]],
            "children": roots,
        }

    def counts_in_company(self, pk: int) -> bool:
        """Top-level people who belong in a sales roll-up: those with reports, deals, a submission or a quota."""
        user = self.tree.users[pk]
        return bool(
            self.tree.kids(pk) or pk in self.figures or pk in self.submissions or ("user", pk) in self.quotas
            or user.role in ("rep", "manager")
        )


def quotas_of(period: str) -> dict[tuple[str, int], Decimal]:
    """("user", id) -> a person's quota; ("led", id) -> the quota of the team that person leads."""
    from revcast.org.models import Quota

    out: dict[tuple[str, int], Decimal] = {}
    rows = Quota.objects.filter(period=period).values_list("user_id", "team__lead_id", "amount")
    for user_id, lead_id, amount in rows:
        if user_id is not None:
            out[("user", user_id)] = amount
        elif lead_id is not None:
            out[("led", lead_id)] = amount
    return out


def build_view(viewer: Any, period: PeriodRef, *, at: dt.datetime | None = None, ai: bool = True) -> View:
    tree = Tree.load()
    closed_before = at.date() if at is not None else None
    view = View(
        viewer=viewer,
        period=period,
        tree=tree,
        figures=figs.by_owner(viewer, period.start, period.end, closed_before=closed_before),
        submissions=latest_submissions(period.label, at),
        adjustments=adjustments_of(period.label, at),
        quotas=quotas_of(period.label),
        at=at,
    )
    if ai:
        from revcast.forecasting.collab.ai import subtree_ranges

        view.ai = subtree_ranges(view)
    return view


def rollup(viewer: Any, period_label: str, *, user: Any = None, at: dt.datetime | None = None,
           ai: bool = True, view: View | None = None) -> dict[str, Any]:
    """The roll-up of ``user``'s subtree (default: the viewer's own; the company for those who see everything)
    as ``viewer`` sees it. Raises RollupError when ``user`` is outside what the viewer may see. ``view``: the
    viewer's view of the period from ``build_view``, when the caller reads several nodes of it."""
    if view is None:
        view = build_view(viewer, period_ref(period_label), at=at, ai=ai)
    if user is None and (viewer is None or visibility.sees_everything(viewer)):
        return view.company()
    target = user if user is not None else viewer
    if target.pk not in view.tree.users or not view.tree.may_see(viewer, target.pk):
        raise RollupError(f"no user {getattr(target, 'username', target)!r} in your hierarchy")
    return view.node(target.pk)
