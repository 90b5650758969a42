"""Reads of submissions and adjustments, scoped to what a user may see (through ``core.visibility``)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from revcast.core import visibility
from revcast.forecasting.models import ForecastAdjustment, ForecastSubmission, PeriodClose


def is_closed(period: str) -> bool:
    """Has the period been closed (its calls measured)? Then they can no longer change."""
    return PeriodClose.objects.filter(period=period).exists()


def visible_user(viewer: Any, username: str) -> Any:
    """The active user ``username`` if ``viewer`` may see them; LookupError otherwise (no hint either way)."""
    from revcast.org.models import User

    user = User.objects.filter(username=username, is_active=True).first()
    owners = visibility.visible_owner_ids(viewer)
    if user is None or (owners is not None and user.pk not in owners):
        raise LookupError(username)
    return user


def visible_submissions(user: Any, period: str | None = None) -> QuerySet:
    """Submissions of the people ``user`` sees records of (``None``: the system, all), newest first."""
    rows = ForecastSubmission.objects.select_related("user")
    if period:
        rows = rows.filter(period=period)
    owners = visibility.visible_owner_ids(user)
    if owners is not None:
        rows = rows.filter(user_id__in=owners)
    return rows.order_by("-submitted_at", "-id")


def visible_adjustments(user: Any, period: str | None = None) -> QuerySet:
    """Adjustments that apply in ``user``'s view: made by them or by someone below them; everything for those who
    see everything. The adjusted person does not see an adjustment made above them."""
    rows = ForecastAdjustment.objects.select_related("user", "adjusted_by")
    if period:
        rows = rows.filter(period=period)
    owners = visibility.visible_owner_ids(user)
    if owners is not None:
        rows = rows.filter(adjusted_by_id__in=owners, adjusted_by__is_active=True)
    return rows.order_by("-created_at", "-id")
