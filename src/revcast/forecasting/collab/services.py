"""Writes of the collaborative forecast: submitting one's call, and a manager adjusting a number.

Rules (the API and the web pages call these and nothing else):

- anyone active submits for themselves only; amounts are not negative and commit ≤ best case;
- a manager adjusts the number of someone below them in the reporting line (any depth), or their own roll-up
  when people report to them; a note is required; nobody else may adjust (not even an admin outside the line);
- nothing is overwritten: each submission and adjustment is a new row.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from revcast.core.fiscal import PeriodRef
from revcast.core.numbers import AmountError, parse_amount
from revcast.forecasting.collab import figures as figs
from revcast.forecasting.collab import selectors
from revcast.forecasting.collab.rollup import period_ref
from revcast.forecasting.collab.tree import Tree
from revcast.forecasting.models import ForecastAdjustment, ForecastSubmission


class CollabError(ValueError):
    """Input that cannot be taken; ``field`` names the offending field."""

    def __init__(self, message: str, field: str = "non_field_errors") -> None:
        super().__init__(message)
        self.field = field


class NotAllowed(PermissionError):
    """The caller may not do this (the message says why)."""


def amount(value: Any, field: str, *, required: bool = True) -> Decimal | None:
    """A money amount from user input: a number ≥ 0 with at most two decimals."""
    if value is None or value == "":
        if required:
            raise CollabError(_("This field is required."), field)
        return None
    try:
        number = parse_amount(value)
    except AmountError as exc:
        message = {
            "number": _("%(value)s is not a number.") % {"value": value},
            "negative": _("Enter an amount of 0 or more."),
            "places": _("Enter at most two decimal places."),
            "large": _("The amount is too large."),
        }[exc.problem]
        raise CollabError(message, field) from None
    return number.quantize(Decimal("0.01"))


def check_open(period: PeriodRef) -> None:
    """Calls of a closed period are measured against what happened: they cannot change any more."""
    if selectors.is_closed(period.label):
        raise CollabError(_("%(period)s is closed: its forecast calls can no longer change.") % {"period": period.label},
                          "period")


def prefill(user: Any, period: PeriodRef) -> dict[str, Decimal]:
    """The call a person's own deals suggest for a period (what the submission form starts with)."""
    fig = figs.by_owner(user, period.start, period.end).get(user.pk, figs.Figures())
    return {"commit": fig.commit, "best_case": fig.best_case, "pipeline": fig.pipeline, "closed": fig.closed}


def submit(
    user: Any,
    period_label: str,
    *,
    commit: Any,
    best_case: Any,
    pipeline: Any = None,
    note: str = "",
    at: dt.datetime | None = None,
    source: str = "web",
) -> ForecastSubmission:
    """Record ``user``'s call for a period. ``pipeline`` defaults to what their deals say."""
    from revcast.core.permissions import can_write

    if user is None or not can_write(user):
        raise NotAllowed(_("Read-only users (finance, viewers) do not submit forecasts."))
    period = period_ref(period_label)
    check_open(period)
    values = {"commit": amount(commit, "commit"), "best_case": amount(best_case, "best_case"),
              "pipeline": amount(pipeline, "pipeline", required=False)}
    if values["best_case"] < values["commit"]:  # type: ignore[operator]
        raise CollabError(_("Best case cannot be below commit."), "best_case")
    if values["pipeline"] is None:
        values["pipeline"] = prefill(user, period)["pipeline"]
    return ForecastSubmission.objects.create(
        user=user, period=period.label, period_start=period.start, period_end=period.end,
        currency=settings.REVCAST_DEFAULT_CURRENCY, note=(note or "").strip(), submitted_at=at or timezone.now(),
        source=source, **values,
    )


def may_adjust(by: Any, target: Any, tree: Tree | None = None) -> bool:
    """A manager above ``target``, or ``target`` themselves when people report to them (read-only roles never)."""
    from revcast.core.permissions import can_write

    if by is None or target is None or not can_write(by):
        return False
    tree = tree or Tree.load()
    if by.pk == target.pk:
        return bool(tree.kids(target.pk))
    return tree.is_above(by.pk, target.pk)


def adjust(
    by: Any,
    target: Any,
    period_label: str,
    *,
    commit: Any = None,
    best_case: Any = None,
    note: str,
    at: dt.datetime | None = None,
    source: str = "web",
) -> ForecastAdjustment:
    """Record ``by``'s adjustment of ``target``'s number (commit and/or best case) for a period."""
    period = period_ref(period_label)
    check_open(period)
    tree = Tree.load()
    if not tree.may_see(by, target.pk):
        raise LookupError(target)
    if not may_adjust(by, target, tree):
        if by is not None and by.pk == target.pk:
            raise NotAllowed(_("Only a manager can adjust their own roll-up; submit your forecast instead."))
        raise NotAllowed(_("Only a manager above %(user)s can adjust their forecast.") % {"user": target.username})
    values = {"commit": amount(commit, "commit", required=False), "best_case": amount(best_case, "best_case",
                                                                                      required=False)}
    if values["commit"] is None and values["best_case"] is None:
        raise CollabError(_("Give a commit or a best case (or both)."))
    if values["commit"] is not None and values["best_case"] is not None and values["best_case"] < values["commit"]:
        raise CollabError(_("Best case cannot be below commit."), "best_case")
    note = (note or "").strip()
    if not note:
        raise CollabError(_("Say why: a note is required with an adjustment."), "note")
    with transaction.atomic():
        return ForecastAdjustment.objects.create(
            user=target, adjusted_by=by, period=period.label, period_start=period.start, period_end=period.end,
            note=note, created_at=at or timezone.now(), source=source, **values,
        )
