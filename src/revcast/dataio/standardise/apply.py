"""Apply a preview's fixes as one journaled change set, and undo one.

Every write goes through the change journal (``dataio.journal``): accounts and contacts through
``Recorder.update``, opportunities through ``pipeline.services.update_opportunity`` (which keeps their field
history and version) with the change recorded in the same change set. The whole apply is one transaction;
undo is ``journal.undo_changeset``, which refuses, naming the records, when any value it would restore was
changed after the standardisation.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet

from revcast.dataio.journal import Recorder, UndoConflict, open_changeset, undo_changeset
from revcast.dataio.models import ChangeSet
from revcast.dataio.standardise.fixes import DEFAULT_KINDS, OBJECTS, Fix, Preview
from revcast.dataio.standardise.preview import build_preview
from revcast.dataio.standardise.records import current_value, model_for
from revcast.pipeline import services as pipeline_services
from revcast.pipeline.models import Opportunity

KIND = ChangeSet.Kind.STANDARDISE
SOURCE = "standardise"


class StandardiseError(Exception):
    """Nothing was applied or undone; the message says why."""


@dataclass
class ApplyResult:
    changeset: ChangeSet | None
    preview: Preview
    applied: Counter[str] = dc_field(default_factory=Counter)  # values changed per kind
    skipped: list[str] = dc_field(default_factory=list)  # records left alone, and why

    def as_dict(self) -> dict[str, Any]:
        return {
            "changeset": self.changeset.pk if self.changeset else None,
            "applied": dict(self.applied),
            "skipped": self.skipped,
            "problems": len(self.preview.problems),
        }


def apply_fixes(
    kinds: Iterable[str] = DEFAULT_KINDS,
    objects: Iterable[str] = OBJECTS,
    *,
    region: str | None = None,
    confirmations: dict[str, str | None] | None = None,
    user: Any = None,
) -> ApplyResult:
    """Rebuild the preview for these arguments and write all of its fixes in one change set (kind standardise).

    Problems are never written. A record whose value changed between the preview and the write is skipped and
    named in ``skipped``; so is an opportunity its own validation refuses. Nothing to change: no change set.
    """
    with transaction.atomic():
        preview = build_preview(kinds, objects, region=region, confirmations=confirmations)
        result = ApplyResult(None, preview)
        if not preview.fixes:
            return result
        counts = Counter(f.kind for f in preview.fixes)
        summary = "standardise " + ", ".join(f"{kind} {n}" for kind, n in counts.items())
        if "phones" in preview.kinds:
            summary += f" (phone region {preview.region})"
        by_record: dict[tuple[str, int], list[Fix]] = defaultdict(list)
        for fix in preview.fixes:
            by_record[(fix.object, fix.record_id)].append(fix)
        with open_changeset(kind=KIND, summary=summary, user=user) as rec:
            for object_name in preview.objects:
                ids = [pk for (o, pk) in by_record if o == object_name]
                if ids:
                    _write(rec, object_name, ids, by_record, result, user)
            result.changeset = rec.changeset
        return result


def _changes(obj: Any, fixes: list[Fix]) -> tuple[dict[str, Any], list[Fix], list[Fix]]:
    """Field values to save (custom keys merged into one ``custom`` dict), fixes kept, fixes gone stale."""
    changes: dict[str, Any] = {}
    kept, stale = [], []
    for fix in fixes:
        if current_value(obj, fix.field) != fix.old:
            stale.append(fix)
            continue
        kept.append(fix)
        if fix.field.startswith("custom."):
            custom = changes.setdefault("custom", dict(obj.custom or {}))
            custom[fix.field.removeprefix("custom.")] = fix.new
        else:
            changes[fix.field] = fix.new
    return changes, kept, stale


def _write(
    rec: Recorder,
    object_name: str,
    ids: list[int],
    by_record: dict[tuple[str, int], list[Fix]],
    result: ApplyResult,
    user: Any,
) -> None:
    model = model_for(object_name)
    locked: QuerySet = model._default_manager.select_for_update().filter(pk__in=ids).order_by("pk")
    found = set()
    for obj in locked.iterator(chunk_size=1000):
        found.add(obj.pk)
        fixes = by_record[(object_name, obj.pk)]
        changes, kept, stale = _changes(obj, fixes)
        for fix in stale:
            result.skipped.append(
                f"{object_name} {obj.pk} ({fix.record}): {fix.field} changed since the preview"
            )
        if not changes:
            continue
        if object_name == "opportunity":
            if not _write_opportunity(rec, obj, changes, user, result, kept):
                continue
        else:
            rec.update(obj, **changes)
        result.applied.update(f.kind for f in kept)
    for pk in sorted(set(ids) - found):
        result.skipped.append(f"{object_name} {pk}: deleted since the preview")


def _write_opportunity(
    rec: Recorder, opp: Opportunity, changes: dict[str, Any], user: Any, result: ApplyResult, fixes: list[Fix]
) -> bool:
    """Through the pipeline service, so the deal's history and version follow; recorded in the change set."""
    before = {name: getattr(opp, name) for name in changes}
    stamp = opp.updated_at
    service_changes = dict(changes)
    if "custom" in service_changes:  # the service merges and validates only the keys it is given
        service_changes["custom"] = {
            k: v for k, v in service_changes["custom"].items() if (opp.custom or {}).get(k) != v
        }
    try:
        with transaction.atomic():
            saved = pipeline_services.update_opportunity(
                opp, changed_by=user, source=SOURCE, **service_changes
            )
    except ValidationError as exc:
        result.skipped.append(
            f"opportunity {opp.pk} ({fixes[0].record}): refused by its own validation: {'; '.join(exc.messages)}"
        )
        return False
    diff = {name: (before[name], getattr(saved, name)) for name in changes}
    # As Recorder.update does: the stamp is recorded too, so an undo sees any later edit of the deal.
    diff["updated_at"] = (stamp, saved.updated_at)
    rec.updated(Opportunity, [(opp.pk, diff)])
    return True


# ------------------------------------------------------------------------------------------- undo


def applied_changesets(limit: int = 50) -> list[ChangeSet]:
    """Standardisation change sets, newest first, with who undid them."""
    qs = ChangeSet.objects.filter(kind=KIND).select_related("user").prefetch_related("undone_by")
    return list(qs[:limit])


def undo(changeset_id: int, user: Any = None) -> ChangeSet:
    """Undo one standardisation; StandardiseError names the records that changed since, if any."""
    cs = ChangeSet.objects.filter(pk=changeset_id).first()
    if cs is None:
        raise StandardiseError(f"no change set #{changeset_id}")
    if cs.kind != KIND:
        raise StandardiseError(
            f"change set #{cs.pk} is a {cs.kind}, not a standardisation (undo it with `revcast undo {cs.pk}`)"
        )
    try:
        return undo_changeset(cs, user)
    except UndoConflict as exc:
        raise StandardiseError(f"change set #{cs.pk} was not undone: {exc}") from exc
