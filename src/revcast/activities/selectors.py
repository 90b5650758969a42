"""Reads of activities for screens: an opportunity's timeline and recent activities, scoped by core.visibility.

The timeline merges the deal's field history (``OpportunityFieldHistory``, written by pipeline.services)
with the activities the user may see on it, newest first. History rows written together (same time,
same person, same source: e.g. a stage change that also moved the forecast category) form one entry.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import formats, translation
from django.utils.translation import gettext_lazy as _

from revcast.activities.models import Activity
from revcast.core import visibility
from revcast.pipeline.models import ForecastCategory, Opportunity, OpportunityFieldHistory, Stage

# Labels of the tracked fields as the timeline shows them ("Stage: Engaging → Won").
HISTORY_FIELD_LABELS = {
    "stage": _("Stage"),
    "amount": _("Amount"),
    "expected_close_on": _("Expected close date"),
    "owner": _("Owner"),
    "forecast_category": _("Forecast category"),
}


@dataclass
class FieldChange:
    field: str
    label: str
    old: str | None
    new: str | None


@dataclass
class TimelineEntry:
    """One line of the timeline: a group of field changes, or one activity."""

    kind: str  # "change" or "activity"
    at: dt.datetime
    who: Any = None
    source: str = ""
    changes: list[FieldChange] = field(default_factory=list)
    activity: Activity | None = None

    @property
    def source_label(self) -> str:
        if self.source.startswith("import"):
            return str(_("import"))
        return {"ui": str(_("web")), "api": str(_("API"))}.get(self.source, self.source)


@dataclass
class Timeline:
    entries: list[TimelineEntry]
    truncated: bool  # older entries exist beyond the limit


def stage_label(stage: Stage | None) -> str:
    """A stage's name in the active language (its Chinese label in Chinese when it has one)."""
    if stage is None:
        return ""
    if (translation.get_language() or "").startswith("zh") and stage.label_zh:
        return stage.label_zh
    return stage.name


def _display(name: str, text: str | None, stages: dict[str, Stage]) -> str | None:
    """How a history value (stored as text, see pipeline.services.history_text) reads on screen."""
    if text is None or text == "":
        return None
    if name == "amount":
        try:
            return formats.number_format(Decimal(text), 2, use_l10n=True, force_grouping=True)
        except InvalidOperation:
            return text
    if name == "forecast_category":
        try:
            return str(ForecastCategory(text).label)
        except ValueError:
            return text
    if name == "stage" and text in stages:
        return stage_label(stages[text])
    return text


def opportunity_timeline(user: Any, opp: Opportunity, *, limit: int = 100) -> Timeline:
    """The newest ``limit`` entries of ``opp``'s timeline as ``user`` may see it.

    The caller has already checked that ``user`` sees ``opp`` (history belongs to the deal); activities
    are further scoped to the ones ``user`` may see.
    """
    history = list(
        OpportunityFieldHistory.objects.filter(opportunity=opp)
        .select_related("changed_by")
        .order_by("-changed_at", "-id")[: limit * len(OpportunityFieldHistory.TRACKED_FIELDS)]
    )
    activities = list(
        visibility.activities(user)
        .filter(opportunity=opp)
        .select_related("owner", "contact")
        .order_by("-occurred_at", "-id")[: limit + 1]
    )
    stages = {s.name: s for s in Stage.objects.all()} if any(h.field == "stage" for h in history) else {}

    entries: list[TimelineEntry] = []
    for row in history:
        last = entries[-1] if entries else None
        if (
            last is not None
            and last.at == row.changed_at
            and last.who == row.changed_by
            and last.source == row.source
        ):
            entry = last
        else:
            entry = TimelineEntry(kind="change", at=row.changed_at, who=row.changed_by, source=row.source)
            entries.append(entry)
        entry.changes.append(
            FieldChange(
                field=row.field,
                label=str(HISTORY_FIELD_LABELS.get(row.field, row.field)),
                old=_display(row.field, row.old_value, stages),
                new=_display(row.field, row.new_value, stages),
            )
        )
    for change_entry in entries:
        # Rows of one entry were read newest first; show them in the order they were written.
        change_entry.changes.reverse()
    entries.extend(
        TimelineEntry(kind="activity", at=a.occurred_at, who=a.owner, activity=a) for a in activities
    )
    entries.sort(key=lambda e: e.at, reverse=True)
    truncated = len(entries) > limit or len(activities) > limit
    return Timeline(entries=entries[:limit], truncated=truncated)


def recent_activities(user: Any, *, limit: int = 20, **where: Any) -> list[Activity]:
    """The newest activities ``user`` may see matching ``where`` (e.g. ``account=acc``, ``contact=c``).

    Each carries ``opportunity_visible``: whether the user may see the deal it is linked to (a deal the user
    may not see is neither linked nor named).
    """
    rows = list(
        visibility.activities(user)
        .filter(**where)
        .select_related("owner", "opportunity", "contact")
        .order_by("-occurred_at", "-id")[:limit]
    )
    ids = {a.opportunity_id for a in rows if a.opportunity_id}
    visible = set(visibility.opportunities(user).filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()
    for a in rows:
        a.opportunity_visible = a.opportunity_id in visible
    return rows
