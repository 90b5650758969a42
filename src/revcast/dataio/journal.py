"""The change journal: every bulk change to user data is recorded so that it can be audited and undone.

A change set holds ordered records of what was created (primary keys), updated (before and after values) and
deleted (full row snapshots, cascades included). Undoing replays the records backwards: deleted rows are
re-inserted with their primary keys, updated rows get their old values back, created rows are deleted (and
snapshotted, so the undo is itself a change set that can be undone). An undo refuses, naming the records,
when anything it would overwrite or delete changed after the change set was made.

Writers reach the journal two ways: explicitly (``open_changeset`` for standardisation and merges) or, for
imports, by observing ``core.bulk.upsert`` (``core.bulk.observe_writes``), so every domain service that
writes in batches is journaled without knowing about it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.apps import apps
from django.db import models, router, transaction
from django.db.models.deletion import Collector
from django.utils import timezone
from django.utils.translation import gettext as _

from revcast.dataio.models import ChangeRecord, ChangeSet, JournalEncoder

CHUNK = 1000


class UndoConflict(Exception):
    """The change set cannot be undone as it stands; ``problems`` say which records and why."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = problems[:10]
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        super().__init__("; ".join(shown) + more)


def _ids(pks: Sequence[Any]) -> str:
    return ", ".join(str(pk) for pk in pks[:5]) + ("..." if len(pks) > 5 else "")


def label_of(model: type[models.Model]) -> str:
    return model._meta.label_lower


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, cls=JournalEncoder))


def _attname(model: type[models.Model], name: str) -> str:
    return model._meta.get_field(name).attname


def _field_by_attname(model: type[models.Model], attname: str) -> models.Field:
    for f in model._meta.concrete_fields:
        if f.attname == attname:
            return f
    raise LookupError(f"{label_of(model)} has no column {attname!r}")


def _same(model: type[models.Model], attname: str, a: Any, b: Any) -> bool:
    f = _field_by_attname(model, attname)
    if isinstance(f, models.JSONField):
        return _jsonable(a) == _jsonable(b)
    target = f.target_field if isinstance(f, models.ForeignKey) else f
    try:
        return target.to_python(a) == target.to_python(b)
    except Exception:  # a value the field cannot parse is simply different
        return _jsonable(a) == _jsonable(b)


def _python(model: type[models.Model], attname: str, value: Any) -> Any:
    f = _field_by_attname(model, attname)
    if value is None or isinstance(f, models.JSONField):
        return value
    target = f.target_field if isinstance(f, models.ForeignKey) else f
    return target.to_python(value)


def _blank_tally() -> dict[str, int]:
    """A change set's count of one model's rows before any is recorded."""
    return {"created": 0, "updated": 0, "deleted": 0}


class Recorder:
    """Appends records to one change set. Each record is written at once, inside the caller's transaction,
    so a batch that rolls back takes its records with it."""

    def __init__(self, changeset: ChangeSet) -> None:
        self.changeset = changeset
        self._stride = 1
        self.resync()

    def resync(self) -> None:
        """Go on after the change set's last record (others may have recorded into it: parallel loaders)."""
        self._seq = self.changeset.records.aggregate(m=models.Max("seq"))["m"] or 0

    @property
    def last_seq(self) -> int:
        """The number of the last record written (or found by ``resync``)."""
        return self._seq

    def interleave(self, offset: int, stride: int, counts: dict[str, dict[str, int]], after: int | None = None) -> None:
        """Share the change set with ``stride`` recorders of other processes (a migration's parallel loaders):
        this one numbers its records ``offset + 1``, ``offset + 1 + stride``, ... after record ``after`` (the
        current last when not given), so none collide, and tallies its rows in ``counts`` (merged back with
        ``add_counts``)."""
        self._seq = (self._seq if after is None else after) + offset + 1 - stride
        self._stride = stride
        self.changeset.counts = counts

    def add_counts(self, counts: dict[str, dict[str, int]]) -> None:
        """Add another recorder's tally of rows (``interleave``) to the change set's."""
        for label, tally in counts.items():
            mine = self.changeset.counts.setdefault(label, _blank_tally())
            for action, n in tally.items():
                mine[action] = mine.get(action, 0) + n

    # ---------------------------------------------------------------- recording

    def _add(self, model: type[models.Model], action: str, rows: Sequence[Any]) -> None:
        counts = self.changeset.counts.setdefault(label_of(model), _blank_tally())
        counts[{"create": "created", "update": "updated", "delete": "deleted"}[action]] += len(rows)
        records = []
        for start in range(0, len(rows), CHUNK):
            self._seq += self._stride
            chunk = list(rows[start : start + CHUNK])
            records.append(
                ChangeRecord(
                    changeset=self.changeset,
                    seq=self._seq,
                    model=label_of(model),
                    action=action,
                    rows=chunk if set(map(type, chunk)) == {int} else _jsonable(chunk),  # integer ids: JSON as they are
                )
            )
        ChangeRecord.objects.bulk_create(records)  # one statement for a batch's records

    def created(self, model: type[models.Model], pks: Iterable[Any]) -> None:
        pks = [pk for pk in pks if pk is not None]
        if pks:
            self._add(model, ChangeRecord.Action.CREATE, pks)

    def updated(self, model: type[models.Model], changes: Sequence[tuple[Any, dict[str, tuple[Any, Any]]]]) -> None:
        """``changes``: (pk, {field name: (old, new)}) per row, foreign keys as ids."""
        rows = []
        for pk, fields in changes:
            if not fields:
                continue
            before = {_attname(model, n): old for n, (old, _new) in fields.items()}
            after = {_attname(model, n): new for n, (_old, new) in fields.items()}
            rows.append({"pk": pk, "before": before, "after": after})
        if rows:
            self._add(model, ChangeRecord.Action.UPDATE, rows)

    # ---------------------------------------------------------------- writing through the journal

    def update(self, obj: models.Model, **changes: Any) -> bool:
        """Set ``changes`` on ``obj``, save those fields and record them; False when nothing differs."""
        model = type(obj)
        diff: dict[str, tuple[Any, Any]] = {}
        for name, value in changes.items():
            attname = _attname(model, name)
            new = value.pk if isinstance(value, models.Model) else value
            old = getattr(obj, attname)
            if not _same(model, attname, old, new):
                diff[name] = (old, new)
                setattr(obj, name, value)
        if not diff:
            return False
        fields = list(diff)
        stamped = any(f.name == "updated_at" for f in model._meta.concrete_fields)
        if stamped:
            fields.append("updated_at")
            old_stamp = obj.updated_at
        obj.save(update_fields=fields)
        if stamped:
            diff["updated_at"] = (old_stamp, obj.updated_at)
        self.updated(model, [(obj.pk, diff)])
        return True

    def update_queryset(self, qs: models.QuerySet, **changes: Any) -> int:
        """``qs.update(**changes)``, recording each row's old values first."""
        model = qs.model
        names = list(changes)
        attnames = [_attname(model, n) for n in names]
        new = {n: (v.pk if isinstance(v, models.Model) else v) for n, v in changes.items()}
        rows = []
        for values in qs.values("pk", *attnames).iterator(chunk_size=CHUNK):
            diff = {
                n: (values[a], new[n]) for n, a in zip(names, attnames, strict=True) if not _same(model, a, values[a], new[n])
            }
            if diff:
                rows.append((values["pk"], diff))
        if not rows:
            return 0
        for start in range(0, len(rows), CHUNK):
            pks = [pk for pk, _ in rows[start : start + CHUNK]]
            model._default_manager.filter(pk__in=pks).update(**changes)
        self.updated(model, rows)
        return len(rows)

    def delete(self, target: models.Model | models.QuerySet, *, allowed: dict[str, set[Any]] | None = None) -> int:
        """Delete ``target`` with everything the database would cascade to, snapshotting every row first.

        With ``allowed`` (model label -> primary keys), rows outside it that the delete would remove or
        unlink raise ``UndoConflict`` instead: a rollback must not take other people's data with it.
        """
        qs = target if isinstance(target, models.QuerySet) else type(target)._default_manager.filter(pk=target.pk)
        using = router.db_for_write(qs.model)
        steps = _deletion_steps(qs, using)
        if allowed is not None:
            _check_allowed(steps, allowed)
        deleted = 0
        with transaction.atomic(using=using):
            for model, pks, field, value in steps:
                if field is None:
                    deleted += self._snapshot_and_delete(model, pks)
                else:
                    self.update_queryset(model._default_manager.filter(pk__in=pks), **{field: value})
        return deleted

    def _snapshot_and_delete(self, model: type[models.Model], pks: list[Any]) -> int:
        if not pks:
            return 0
        attnames = [f.attname for f in model._meta.concrete_fields]
        manager = model._base_manager
        done = 0
        for start in range(0, len(pks), CHUNK):
            chunk = pks[start : start + CHUNK]
            snapshots = list(manager.filter(pk__in=chunk).values(*attnames))
            self._add(model, ChangeRecord.Action.DELETE, snapshots)
            done += manager.filter(pk__in=chunk)._raw_delete(manager.db)
        return done


Step = tuple[type[models.Model], list[Any], str | None, Any]
"""One step of a delete: (model, primary keys, None, None) deletes the rows; (model, primary keys, field,
value) sets ``field`` to ``value`` (what ``on_delete=SET_NULL`` and the like do)."""


def _deletion_steps(qs: models.QuerySet, using: str) -> list[Step]:
    """What deleting ``qs`` does, in the order Django's deletion ``Collector`` does it (fast deletes, field
    updates, then instances children first), with each step's primary keys read once."""
    collector = Collector(using=using, origin=None)
    collector.collect(qs)
    collector.sort()
    steps: list[Step] = [
        (fast.model, list(fast.values_list("pk", flat=True)), None, None) for fast in collector.fast_deletes
    ]
    for (field, value), groups in collector.field_updates.items():
        for group in groups:
            if isinstance(group, models.QuerySet):
                steps.append((group.model, list(group.values_list("pk", flat=True)), field.name, value))
            else:
                objs = list(group)
                steps.append((type(objs[0]), [o.pk for o in objs], field.name, value))
    steps.extend((model, [o.pk for o in instances], None, None) for model, instances in collector.data.items())
    return steps


def _check_allowed(steps: list[Step], allowed: dict[str, set[Any]]) -> None:
    problems = []
    for model, pks, field, _value in steps:
        outside = [pk for pk in pks if pk not in allowed.get(label_of(model), set())]
        if not outside:
            continue
        values = {"count": len(outside), "objects": model._meta.verbose_name_plural, "ids": _ids(outside)}
        if field is None:
            problems.append(_("%(count)s %(objects)s not made by this change would be deleted (ids %(ids)s)") % values)
        else:
            problems.append(
                _("%(count)s %(objects)s not made by this change would be unlinked from it (%(field)s; ids %(ids)s)")
                % {**values, "field": field}
            )
    if problems:
        raise UndoConflict(problems)


@contextmanager
def open_changeset(
    kind: str, summary: str = "", user: Any = None, run: Any = None, details: dict[str, Any] | None = None
) -> Iterator[Recorder]:
    """One atomic change set: everything written through the recorder commits or rolls back together."""
    with transaction.atomic():
        changeset = ChangeSet.objects.create(kind=kind, summary=summary, user=user, run=run, details=details or {})
        recorder = Recorder(changeset)
        yield recorder
        finish(recorder)


def finish(recorder: Recorder) -> ChangeSet:
    cs = recorder.changeset
    cs.finished_at = timezone.now()
    cs.save(update_fields=["finished_at", "counts"])
    return cs


# -------------------------------------------------------------------- undo


def undo_changeset(
    changeset: ChangeSet, user: Any = None, *, kind: str = ChangeSet.Kind.UNDO, force: bool = False,
    summary: str = "",
) -> ChangeSet:
    """Reverse ``changeset`` in one transaction, recorded as a new change set (``kind`` undo or rollback).

    ``force`` also takes with it rows made after the change set that depend on rows it created (they are
    snapshotted, so undoing the undo brings them back); values changed since are never overwritten.
    """
    done = changeset.undone_by.first()
    if done is not None:
        raise UndoConflict([
            _("change set #%(cs)s was already undone by change set #%(by)s") % {"cs": changeset.pk, "by": done.pk}
        ])
    records = list(changeset.records.order_by("-seq"))
    created: dict[str, set[Any]] = {}
    for r in records:
        if r.action == ChangeRecord.Action.CREATE:
            created.setdefault(r.model, set()).update(r.rows)
    since = changeset.finished_at or changeset.created_at
    with open_changeset(
        kind=kind, summary=summary or f"undo of change set #{changeset.pk} ({changeset.kind})", user=user,
        run=changeset.run,
    ) as rec:
        rec.changeset.undo_of = changeset
        rec.changeset.save(update_fields=["undo_of"])
        problems: list[str] = []
        for r in records:
            model = apps.get_model(r.model)
            if r.action == ChangeRecord.Action.UPDATE:
                problems.extend(_revert_updates(rec, model, r.rows))
            elif r.action == ChangeRecord.Action.DELETE:
                _reinsert(rec, model, r.rows)
            else:
                problems.extend(_changed_since(model, r.rows, since))
                if problems:
                    continue
                try:
                    rec.delete(
                        model._base_manager.filter(pk__in=r.rows), allowed=None if force else created
                    )
                except UndoConflict as exc:
                    problems.extend(exc.problems)
        if problems:
            raise UndoConflict(problems)
    return rec.changeset


def _changed_since(model: type[models.Model], pks: list[Any], since: Any) -> list[str]:
    if not any(f.name == "updated_at" for f in model._meta.concrete_fields):
        return []
    changed = list(
        model._base_manager.filter(pk__in=pks, updated_at__gt=since).values_list("pk", flat=True)[:6]
    )
    if not changed:
        return []
    return [
        _("%(objects)s edited after the change set (ids %(ids)s)")
        % {"objects": model._meta.verbose_name_plural, "ids": _ids(changed)}
    ]


def _revert_updates(rec: Recorder, model: type[models.Model], rows: list[dict[str, Any]]) -> list[str]:
    problems = []
    by_pk = {row["pk"]: row for row in rows}
    attnames = sorted({a for row in rows for a in row["after"]})
    current = {
        v["pk"]: v for v in model._base_manager.filter(pk__in=list(by_pk)).values("pk", *attnames)
    }
    changes = []
    for pk, row in by_pk.items():
        now = current.get(pk)
        if now is None:
            problems.append(_("%(object)s %(pk)s no longer exists") % {"object": model._meta.verbose_name, "pk": pk})
            continue
        stale = [a for a, v in row["after"].items() if not _same(model, a, now[a], v)]
        if stale:
            named = [a for a in stale if a != "updated_at"]
            where = {"object": model._meta.verbose_name, "pk": pk, "fields": ", ".join(named)}
            problems.append(
                (_("%(object)s %(pk)s: %(fields)s changed since") if named else _("%(object)s %(pk)s: edited since"))
                % where
            )
            continue
        diff = {}
        for a, old in row["before"].items():
            f = _field_by_attname(model, a)
            diff[f.name] = (now[a], _python(model, a, old))
        changes.append((pk, diff))
    if problems:
        return problems
    # An optimistic-lock version only moves forward: a client holding the old number must still be refused.
    bump = {"version": models.F("version") + 1} if any(f.name == "version" for f in model._meta.concrete_fields) else {}
    for pk, diff in changes:
        model._base_manager.filter(pk=pk).update(
            **{_attname(model, n): new for n, (_old, new) in diff.items()}, **bump
        )
    rec.updated(model, changes)
    return []


def _reinsert(rec: Recorder, model: type[models.Model], snapshots: list[dict[str, Any]]) -> None:
    objs = [model(**{a: _python(model, a, v) for a, v in snap.items()}) for snap in snapshots]
    stamped = [
        f.name for f in model._meta.concrete_fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    model._base_manager.bulk_create(objs, batch_size=500)
    if stamped:  # bulk_create stamps auto_now(_add) fields with the current time; put the snapshot's back
        for obj, snap in zip(objs, snapshots, strict=True):
            for name in stamped:
                attname = _attname(model, name)
                setattr(obj, attname, _python(model, attname, snap[attname]))
        model._base_manager.bulk_update(objs, stamped, batch_size=500)
    rec.created(model, [o.pk for o in objs])
