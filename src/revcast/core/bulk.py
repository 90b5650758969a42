"""Batch upserts shared by the domain services: one query to load, one to insert, one to update."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.db import models


class WriteObserver(Protocol):
    """Told about every row ``upsert`` creates or changes (the change journal implements it)."""

    def created(self, model: type[models.Model], pks: Iterable[Any]) -> None: ...

    def updated(
        self, model: type[models.Model], changes: Sequence[tuple[Any, dict[str, tuple[Any, Any]]]]
    ) -> None: ...


_observer: ContextVar[WriteObserver | None] = ContextVar("revcast_write_observer", default=None)


@contextmanager
def observe_writes(observer: WriteObserver) -> Iterator[WriteObserver]:
    """Within the block, every ``upsert`` reports its creates and updates to ``observer``."""
    token = _observer.set(observer)
    try:
        yield observer
    finally:
        _observer.reset(token)


@dataclass
class UpsertResult:
    created: list[models.Model] = field(default_factory=list)
    updated: list[tuple[models.Model, dict[str, tuple[Any, Any]]]] = field(default_factory=list)
    unchanged: list[models.Model] = field(default_factory=list)

    @property
    def objects(self) -> list[models.Model]:
        return [*self.created, *(o for o, _ in self.updated), *self.unchanged]


def field_value(obj: models.Model, name: str) -> Any:
    """The comparable value of a field: the raw id for foreign keys."""
    f = obj._meta.get_field(name)
    if isinstance(f, models.ForeignKey):
        return getattr(obj, f.attname)
    return getattr(obj, name)


def comparable(obj: models.Model, name: str, value: Any) -> Any:
    f = obj._meta.get_field(name)
    if isinstance(f, models.ForeignKey):
        return value.pk if isinstance(value, models.Model) else value
    return value


def upsert(
    model: type[models.Model],
    key: str,
    rows: Sequence[dict[str, Any]],
    *,
    existing: dict[Any, models.Model] | None = None,
    merge_json: Iterable[str] = ("custom",),
) -> UpsertResult:
    """Create or update ``model`` rows identified by ``key``; rows whose values are all equal stay untouched.

    ``rows`` map field names to values (model instances for foreign keys). JSON fields named in
    ``merge_json`` are merged into the stored dict rather than replaced, so an import that maps a subset
    of custom fields does not erase the others.
    """
    merge_json = set(merge_json)
    if existing is None:
        keys = [r[key] for r in rows]
        existing = {getattr(o, key): o for o in model._default_manager.filter(**{f"{key}__in": keys})}
    result = UpsertResult()
    to_create: list[models.Model] = []
    to_update: list[models.Model] = []
    changed_fields: set[str] = set()
    for row in rows:
        obj = existing.get(row[key])
        if obj is None:
            obj = model(**row)
            to_create.append(obj)
            existing[row[key]] = obj
            continue
        changes: dict[str, tuple[Any, Any]] = {}
        for name, value in row.items():
            if name in merge_json and isinstance(value, dict):
                value = {**(getattr(obj, name) or {}), **value}
            old = field_value(obj, name)
            new = comparable(obj, name, value)
            if old != new:
                changes[name] = (old, new)
                setattr(obj, name, value)
        if changes:
            result.updated.append((obj, changes))
            to_update.append(obj)
            changed_fields.update(changes)
        else:
            result.unchanged.append(obj)
    if to_create:
        model._default_manager.bulk_create(to_create, batch_size=500)
        result.created.extend(to_create)
    if to_update:
        if any(f.name == "updated_at" for f in model._meta.get_fields()):
            changed_fields.add("updated_at")
            from django.utils import timezone

            now = timezone.now()
            for obj, changes in result.updated:
                changes["updated_at"] = (obj.updated_at, now)
                obj.updated_at = now
        model._default_manager.bulk_update(to_update, sorted(changed_fields), batch_size=500)
    observer = _observer.get()
    if observer is not None:
        observer.created(model, [o.pk for o in result.created])
        observer.updated(model, [(o.pk, changes) for o, changes in result.updated])
    return result


def insert_rows(model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert plain value tuples into ``model``'s table with one prepared statement (executemany).

    For append-only tables written in bulk (field history): skips building model instances, which
    dominates the cost of ``bulk_create`` at tens of thousands of rows. Values are adapted the way the
    ORM adapts them (datetimes and decimals per backend); foreign keys are given as ids.
    """
    from django.db import connection

    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    ops = connection.ops
    adapters = []
    for f in columns:
        internal = f.get_internal_type()
        if internal == "DateTimeField":
            adapters.append(ops.adapt_datetimefield_value)
        elif internal == "DateField":
            adapters.append(ops.adapt_datefield_value)
        else:
            adapters.append(None)
    quote = ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(meta.db_table),
        ", ".join(quote(f.column) for f in columns),
        ", ".join(["%s"] * len(columns)),
    )
    prepared = [
        tuple(v if adapt is None or v is None else adapt(v) for v, adapt in zip(row, adapters, strict=True))
        for row in rows
    ]
    if not prepared:
        return 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY is PostgreSQL's bulk path: one round trip instead of one per row.
            copy_sql = "COPY {} ({}) FROM STDIN".format(
                quote(meta.db_table), ", ".join(quote(f.column) for f in columns)
            )
            with cursor.cursor.copy(copy_sql) as copy:
                for row in prepared:
                    copy.write_row(row)
        else:
            for start in range(0, len(prepared), 5000):
                cursor.executemany(sql, prepared[start : start + 5000])
    return len(prepared)


def save_validated(instance: models.Model, *, exclude: Iterable[str] = (), **changes: Any) -> models.Model:
    """Set ``changes`` on ``instance`` (new or stored), validate it with ``full_clean`` and save, atomically."""
    from django.db import transaction

    for name, value in changes.items():
        setattr(instance, name, value)
    with transaction.atomic():
        instance.full_clean(exclude=list(exclude))
        instance.save()
    return instance
