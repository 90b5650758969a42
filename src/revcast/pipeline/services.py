"""All writes to stages, products and opportunities. Field history is written here, never by signals."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from operator import itemgetter
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from revcast.core import customfields
from revcast.core.bulk import UpsertResult, by_keys, insert_rows, save_validated, upsert
from revcast.pipeline.models import ForecastCategory, Opportunity, OpportunityFieldHistory, Product, Stage

TRACKED = OpportunityFieldHistory.TRACKED_FIELDS


class StaleVersion(Exception):
    """The opportunity changed since the caller read it (optimistic concurrency)."""


# ---------------------------------------------------------------- stages and products


def default_forecast_category(stage: Stage) -> str:
    if stage.type == Stage.Type.WON:
        return str(ForecastCategory.CLOSED)
    if stage.type == Stage.Type.LOST:
        return str(ForecastCategory.OMITTED)
    return str(stage.forecast_category or ForecastCategory.PIPELINE)


def upsert_stages(rows: Sequence[dict[str, Any]]) -> UpsertResult:
    return upsert(Stage, "name", rows)


def save_product(product: Product, **changes: Any) -> Product:
    """Create (unsaved instance) or update a product; validated by the model."""
    save_validated(product, **changes)
    return product


def save_stage(stage: Stage, **changes: Any) -> Stage:
    """Create (unsaved instance) or update a stage; validated by the model."""
    save_validated(stage, **changes)
    return stage


def upsert_products(rows: Sequence[dict[str, Any]], key: str = "name") -> UpsertResult:
    return upsert(Product, key, rows)


# ---------------------------------------------------------------- history helpers


_CENT = Decimal("0.01")


def history_text(name: str, value: Any) -> str | None:
    """How a tracked field's value is written in history: stage by name, owner by username."""
    if value is None:
        return None
    if name == "stage":
        return value.name if isinstance(value, Stage) else str(value)
    if name == "owner":
        username = getattr(value, "username", None)  # str(value) only when there is no username
        return username if isinstance(username, str) else str(value)
    if isinstance(value, Decimal):
        return format(value.quantize(_CENT), "f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _at(day: dt.date | None, fallback: dt.datetime) -> dt.datetime:
    if day is None:
        return fallback
    return _midnight(day)


@functools.lru_cache(maxsize=8192)
def _midnight(day: dt.date) -> dt.datetime:
    """Midnight UTC of ``day`` (a batch of deals shares a few hundred dates: each is built once)."""
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=dt.UTC)


def first_open_stage() -> Stage:
    return Stage.objects.filter(type=Stage.Type.OPEN).order_by("order")[0]


def next_reached(current: Stage | None, stage: Stage, first_open: Stage | None = None) -> Stage:
    """The furthest stage reached after entering ``stage``.

    Won is the end of the road; losing keeps the last open stage reached (or the first open stage when
    nothing earlier is known); an open stage counts when it lies beyond the current one.
    """
    if stage.type == Stage.Type.WON:
        return stage
    if stage.type == Stage.Type.LOST:
        return current or first_open or first_open_stage()
    if current is None or (current.type == Stage.Type.OPEN and stage.order > current.order):
        return stage
    return current


# ---------------------------------------------------------------- opportunities in batches


@dataclass
class OpportunityRow:
    """Values for one opportunity (model field -> value, instances for foreign keys).

    ``stage_dates`` (stage -> date the deal entered it) builds the stage history of a new deal, e.g. from
    an engaged date and a close date. Stages without a date are implied by the later ones in the funnel.

    ``known_on`` (tracked field -> (date, initial value)) says that the field's value in ``values`` became
    known only on that date: a new deal's history carries the initial value (``None``: no value) until
    then, and changes to the final value at that date, so the history never states an outcome early.
    Fields: ``amount``, ``expected_close_on``, ``forecast_category``. Updates of existing deals ignore it.
    """

    values: dict[str, Any]
    stage_dates: dict[Stage, dt.date] = field(default_factory=dict)
    known_on: dict[str, tuple[dt.date, Any]] = field(default_factory=dict)


@dataclass
class OpportunityUpsertResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    history_rows: int = 0


def upsert_opportunities(
    rows: Sequence[OpportunityRow],
    *,
    key: str = "external_id",
    source: str,
    changed_by: Any = None,
    now: dt.datetime | None = None,
) -> OpportunityUpsertResult:
    """Create or update opportunities by ``key`` and write their field history, in one transaction."""
    now = now or timezone.now()
    first_open = first_open_stage()
    existing = by_keys(
        Opportunity.objects.select_related("stage", "reached_stage", "owner"), key, [r.values[key] for r in rows]
    )
    prepared: list[dict[str, Any]] = []
    timelines: dict[Any, list[tuple[dt.datetime, Stage]]] = {}
    known: dict[Any, dict[str, tuple[dt.date, Any]]] = {}
    open_type = Stage.Type.OPEN
    for row in rows:
        values = dict(row.values)
        stage: Stage = values["stage"]
        if values.get("probability") is None:
            values["probability"] = stage.probability
        if not values.get("forecast_category"):
            values["forecast_category"] = default_forecast_category(stage)
        current = existing.get(values[key])
        if current is None:
            created_at = _at(values.get("created_on"), now)
            stage_id = stage.pk
            # A deal enters open stages on its way, and only the closed stage it ended in.
            timeline = [
                (_at(day, now), s)
                for s, day in row.stage_dates.items()
                if day is not None and (s.type == open_type or s.pk == stage_id)
            ]
            if len(timeline) > 1:
                timeline.sort(key=_entered_order)
            if not timeline or timeline[-1][1].pk != stage_id:
                timeline.append((max(created_at, timeline[-1][0]) if timeline else created_at, stage))
            reached: Stage | None = None
            for _, entered in timeline:
                reached = next_reached(reached, entered, first_open)
            values["reached_stage"] = reached
            timelines[values[key]] = timeline
            known[values[key]] = row.known_on
        elif values["stage"].pk != current.stage_id:
            values["reached_stage"] = next_reached(current.reached_stage, stage, first_open)
        prepared.append(values)

    with transaction.atomic():
        result = upsert(Opportunity, key, prepared, existing=existing)
        by_id = getattr(changed_by, "pk", None)
        history: list[tuple[Any, ...]] = []
        for opp in result.created:
            history.extend(
                _creation_history(
                    opp, timelines[getattr(opp, key)], now, by_id, source, known.get(getattr(opp, key))
                )
            )
        names = _names_for(result.updated) if result.updated else {}
        for opp, changes in result.updated:
            for name in (n for n in changes if n in TRACKED):
                old, _new = changes[name]
                history.append(
                    (
                        opp.pk,
                        name,
                        _old_text(name, old, names),
                        history_text(name, getattr(opp, name)),
                        now,
                        by_id,
                        source,
                    )
                )
        if result.updated:
            Opportunity.objects.filter(pk__in=[o.pk for o, _ in result.updated]).update(
                version=F("version") + 1
            )
        written = insert_rows(OpportunityFieldHistory, HISTORY_COLUMNS, history)
    return OpportunityUpsertResult(
        created=len(result.created),
        updated=len(result.updated),
        unchanged=len(result.unchanged),
        history_rows=written,
    )


def _entered_order(item: tuple[dt.datetime, Stage]) -> tuple[dt.datetime, int]:
    """Stages entered by time, and at one instant in funnel order."""
    return item[0], item[1].order


HISTORY_COLUMNS = ("opportunity", "field", "old_value", "new_value", "changed_at", "changed_by", "source")


def _old_text(name: str, old: Any, names: dict[tuple[str, Any], str]) -> str | None:
    """Old values arrive as raw ids for foreign keys; name them as history does."""
    if old is None:
        return None
    if name in ("stage", "owner"):
        return names[(name, old)]
    return history_text(name, old)


def _names_for(updated: Sequence[tuple[Any, dict[str, tuple[Any, Any]]]]) -> dict[tuple[str, Any], str]:
    """Stage names and usernames of the old foreign-key values in a batch of changes, in two queries."""
    from revcast.org.models import User

    names: dict[tuple[str, Any], str] = {
        ("stage", pk): n for pk, n in Stage.objects.values_list("pk", "name")
    }
    owner_ids = {changes["owner"][0] for _, changes in updated if "owner" in changes}
    names.update(
        {("owner", pk): u for pk, u in User.objects.filter(pk__in=owner_ids).values_list("pk", "username")}
    )
    return names


def _creation_history(
    opp: Opportunity,
    timeline: list[tuple[dt.datetime, Stage]],
    now: dt.datetime,
    by_id: Any,
    source: str,
    known_on: dict[str, tuple[dt.date, Any]] | None = None,
) -> list[tuple[Any, ...]]:
    """History rows of a new deal: its initial values, then each stage it entered (with its category).

    A field in ``known_on`` whose date falls after the creation carries its initial value until midnight
    UTC of that date, the same instant a stage entered on that date is recorded, and changes to the
    deal's value there. Rows at one instant are ordered: creation values, stage and category, then the
    ``known_on`` changes, so a reader ordering by (changed_at, id) sees the close and what became known
    with it together. A date at or before the creation means the value was known from the start.
    """
    created_at = timeline[0][0] if timeline else _at(opp.created_on, now)
    later = {
        name: (at, initial)
        for name, (day, initial) in known_on.items()
        if (at := _at(day, now)) > created_at
    } if known_on else {}
    pk = opp.pk

    def row(name: str, old: str | None, new: str | None, at: dt.datetime) -> tuple[Any, ...]:
        """One history row (HISTORY_COLUMNS), of values already as history text."""
        return (pk, name, old, new, at, by_id, source)

    # The creation values, then each stage with its category: in time order as they are made (the timeline is,
    # and starts at the creation). The ``known_on`` changes go apart, and are merged in only when there are any.
    # Each value's text is made once: a load writes several rows per deal.
    rows: list[tuple[Any, ...]] = []
    changes: list[tuple[dt.datetime, tuple[Any, ...]]] = []
    for name in ("amount", "expected_close_on", "owner"):
        final = history_text(name, getattr(opp, name))
        if name in later:
            at, initial_value = later[name]
            initial = history_text(name, initial_value)
            if initial is not None:
                rows.append(row(name, None, initial, created_at))
            if initial != final:
                changes.append((at, row(name, initial, final, at)))
        elif final is not None:
            rows.append(row(name, None, final, created_at))
    previous: str | None = None
    category: str | None = None
    current_category = history_text("forecast_category", opp.forecast_category)
    stage_category: str | None
    for at, stage in timeline:
        entered = history_text("stage", stage)
        rows.append(row("stage", previous, entered, at))
        if stage.pk != opp.stage_id:  # ids: Model.__eq__ is costly per history row
            stage_category = default_forecast_category(stage)
        elif "forecast_category" in later and at < later["forecast_category"][0]:
            # Entered the current stage before its category was known: the given initial category, else
            # the stage's own, until then.
            given = later["forecast_category"][1]
            stage_category = str(given) if given else default_forecast_category(stage)
            if stage_category != current_category:
                known_at = later["forecast_category"][0]
                changes.append((known_at, row("forecast_category", stage_category, current_category, known_at)))
        else:
            stage_category = current_category
        if stage_category != category:
            rows.append(row("forecast_category", category, stage_category, at))
        previous, category = entered, stage_category
    if not changes:
        return rows
    # Each change after the rows at or before its instant (a stable sort by time, the changes last at a tie).
    timed = [(r[_CHANGED_AT], 0, r) for r in rows] + [(at, 1, r) for at, r in changes]
    timed.sort(key=_time_and_order)
    return [r for _, _, r in timed]


_CHANGED_AT = HISTORY_COLUMNS.index("changed_at")
_time_and_order = itemgetter(0, 1)


# ---------------------------------------------------------------- one opportunity, interactively


def missing_exit_fields(opp: Opportunity, leaving: Stage) -> list[str]:
    """Fields required to leave ``leaving`` that ``opp`` does not have."""
    missing = []
    for name in leaving.required_fields or []:
        if name.startswith("custom."):
            value = (opp.custom or {}).get(name.removeprefix("custom."))
        else:
            value = getattr(opp, name, None)
        if value in (None, ""):
            missing.append(name)
    return missing


def update_opportunity(
    opp: Opportunity,
    *,
    changed_by: Any,
    source: str,
    expected_version: int | None = None,
    **changes: Any,
) -> Opportunity:
    """Change one opportunity: validates exit criteria, writes history, bumps the version atomically.

    A write based on a stale ``expected_version`` raises StaleVersion and changes nothing.
    """
    with transaction.atomic():
        locked = (
            Opportunity.objects.select_for_update().select_related("stage", "reached_stage").get(pk=opp.pk)
        )
        if expected_version is not None and locked.version != expected_version:
            raise StaleVersion(f"opportunity {opp.pk} is at version {locked.version}, not {expected_version}")
        old = {name: getattr(locked, name) for name in TRACKED}
        if "custom" in changes:
            changes["custom"] = {
                **(locked.custom or {}),
                **customfields.clean("opportunity", changes["custom"] or {}),
            }
        for name, value in changes.items():
            setattr(locked, name, value)
        new_stage: Stage = locked.stage
        if new_stage.pk != old["stage"].pk:
            missing = missing_exit_fields(locked, old["stage"])
            if missing:
                raise ValidationError(
                    {
                        name: [ValidationError(f"required to leave stage {old['stage'].name}", code="exit_criteria")]
                        for name in missing
                    }
                )
            locked.reached_stage = next_reached(locked.reached_stage, new_stage)
            if "probability" not in changes:
                locked.probability = new_stage.probability
            if "forecast_category" not in changes:
                locked.forecast_category = default_forecast_category(new_stage)
            if new_stage.is_closed and "closed_on" not in changes and locked.closed_on is None:
                locked.closed_on = timezone.localdate()
            if not new_stage.is_closed and "closed_on" not in changes:
                locked.closed_on = None  # reopened
        locked.version += 1
        locked.full_clean(exclude=["custom"])
        locked.save()
        now = timezone.now()
        OpportunityFieldHistory.objects.bulk_create(
            OpportunityFieldHistory(
                opportunity=locked,
                field=name,
                old_value=history_text(name, old[name]),
                new_value=history_text(name, getattr(locked, name)),
                changed_at=now,
                changed_by=changed_by,
                source=source,
            )
            for name in TRACKED
            if history_text(name, old[name]) != history_text(name, getattr(locked, name))
        )
    return locked


def create_opportunity(*, changed_by: Any, source: str, **values: Any) -> Opportunity:
    """Create one opportunity (validated, custom fields checked) with its creation history."""
    stage: Stage = values["stage"]
    values.setdefault("currency", settings.REVCAST_DEFAULT_CURRENCY)
    if values.get("probability") is None:
        values["probability"] = stage.probability
    if not values.get("forecast_category"):
        values["forecast_category"] = default_forecast_category(stage)
    if values.get("custom"):
        values["custom"] = customfields.clean("opportunity", values["custom"])
    if stage.is_closed and values.get("closed_on") is None:
        values["closed_on"] = timezone.localdate()
    with transaction.atomic():
        opp = Opportunity(**values, reached_stage=next_reached(None, stage))
        if opp.created_on is None:
            opp.created_on = timezone.localdate()
        opp.full_clean(exclude=["custom", "reached_stage"])
        opp.save()
        now = timezone.now()
        insert_rows(
            OpportunityFieldHistory,
            HISTORY_COLUMNS,
            _creation_history(opp, [(now, stage)], now, getattr(changed_by, "pk", None), source),
        )
    return opp
