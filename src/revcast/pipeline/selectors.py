"""Reads of opportunities for screens and APIs; always scoped by core.visibility."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from revcast.activities.models import Activity
from revcast.core import visibility
from revcast.pipeline.models import Opportunity, OpportunityFieldHistory, Stage


def with_last_touch(qs: QuerySet) -> QuerySet:
    """Annotate ``last_activity_at``, ``last_stage_change_at`` and ``last_touch_at`` (the later of both)."""
    last_activity = (
        Activity.objects.filter(opportunity=OuterRef("pk")).order_by().values("opportunity")
        .annotate(m=Max("occurred_at")).values("m")
    )
    last_stage = (
        OpportunityFieldHistory.objects.filter(opportunity=OuterRef("pk"), field="stage").order_by()
        .values("opportunity").annotate(m=Max("changed_at")).values("m")
    )
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return qs.annotate(
        last_activity_at=Subquery(last_activity),
        last_stage_change_at=Subquery(last_stage),
    ).annotate(
        last_touch_at=Greatest(Coalesce("last_activity_at", epoch), Coalesce("last_stage_change_at", epoch))
    )


def stale_opportunities(user: Any, days: int, *, now: dt.datetime | None = None) -> QuerySet:
    """Open deals the user may see with neither an activity nor a stage change in the last ``days`` days."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    qs = visibility.opportunities(user).filter(stage__type=Stage.Type.OPEN)
    return with_last_touch(qs).filter(last_touch_at__lt=cutoff).order_by("last_touch_at", "pk")


def top_open_opportunities(user: Any, limit: int = 10) -> QuerySet:
    qs = visibility.opportunities(user).filter(stage__type=Stage.Type.OPEN, amount__isnull=False)
    return qs.select_related("owner", "account", "product", "stage").order_by("-amount", "pk")[:limit]


def opportunity_detail(user: Any, pk: int) -> Opportunity:
    """One opportunity the user may see (Opportunity.DoesNotExist otherwise: a 404, never a 403)."""
    return visibility.opportunities(user).select_related("owner", "account", "product", "stage").get(pk=pk)


def search_filter(text: str) -> Q:
    text = text.strip()
    return (
        Q(name__icontains=text)
        | Q(external_id__icontains=text)
        | Q(account__name__icontains=text)
        | Q(owner__username__icontains=text)
        | Q(product__name__icontains=text)
    )
