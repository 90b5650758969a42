"""Batch upserts shared by the domain services: one query to load, one to insert, one to update."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from operator import attrgetter, itemgetter
from typing import Any, Protocol

from django.db import models

from revcast.core import pgcopy


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


def by_keys(queryset: models.QuerySet[Any], key: str, keys: Sequence[Any]) -> dict[Any, Any]:
    """The rows of ``queryset`` whose ``key`` is one of ``keys``, by key.

    On PostgreSQL the keys go as one array parameter to find the matching ids, and rows are fetched only when
    there are any: a batch of a first load (none) costs one small query instead of compiling thousands of
    ``IN`` parameters. Text keys go as one JSON text (the client quotes one string, not each key)."""
    from django.db import connections

    if not keys:
        return {}
    connection = connections[queryset.db]
    if connection.vendor == "postgresql":
        meta = queryset.model._meta
        quote = connection.ops.quote_name
        column = quote(meta.get_field(key).column)
        param: Any
        if set(map(type, keys)) == {str}:
            where, param = f"{column} = ANY(ARRAY(SELECT jsonb_array_elements_text(%s::jsonb)))", json.dumps(list(keys))
        else:
            where, param = f"{column} = ANY(%s)", list(keys)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {quote(meta.pk.column)} FROM {quote(meta.db_table)} WHERE {where}", [param])
            ids = [r[0] for r in cursor.fetchall()]
        if not ids:
            return {}
        queryset = queryset.filter(pk__in=ids)
    else:
        queryset = queryset.filter(**{f"{key}__in": list(keys)})
    return {getattr(o, key): o for o in queryset}


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
        existing = by_keys(model._default_manager.all(), key, [r[key] for r in rows])
    result = UpsertResult()
    to_create: list[dict[str, Any]] = []
    new_keys: set[Any] = set()
    to_update: list[models.Model] = []
    changed_fields: set[str] = set()
    for row in rows:
        obj = existing.get(row[key])
        if obj is None:
            if row[key] in new_keys:
                raise ValueError(f"{model.__name__} {key} {row[key]!r} appears twice in one batch")
            new_keys.add(row[key])
            to_create.append(row)
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
        result.created.extend(create_rows(model, to_create))
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


def create_rows(model: type[models.Model], rows: Sequence[dict[str, Any]]) -> list[models.Model]:
    """Insert ``rows`` (field name -> value, instances for foreign keys) as new ``model`` rows; the instances.

    Field defaults, ``auto_now``/``auto_now_add`` and foreign keys are applied as ``Model(**row)`` and
    ``save`` apply them. On PostgreSQL the rows get their ids from the table's sequence in one query and are
    written with COPY, and the instances are built without ``Model.__init__``: at tens of thousands of rows
    per batch, instance construction and the ORM's per-value compilation cost several times the database's
    own work (ADR 0020). Elsewhere ``bulk_create`` writes them.
    """
    from django.db import connections, router

    alias = router.db_for_write(model)
    connection = connections[alias]
    if connection.vendor != "postgresql" or not _copyable(model):
        made = [model(**row) for row in rows]
        model._default_manager.bulk_create(made, batch_size=500)
        return made
    plan = _create_plan(model)
    from django.utils import timezone

    now = timezone.now()
    today = timezone.localdate(now) if now.tzinfo is not None else now.date()
    meta = model._meta
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [_sequence(cursor, meta), len(rows)]
        )
        ids = [r[0] for r in cursor.fetchall()]
        columns = [c.column for c in plan]
        # Column by column (rows with the same fields together): one pass per column instead of a branch
        # per column per row.
        known = _names(model)
        groups: dict[frozenset[str], list[int]] = {}
        for i, row in enumerate(rows):
            groups.setdefault(frozenset(row), []).append(i)
        objs: list[Any] = [None] * len(rows)  # every index is filled below
        attnames = [c.attname for c in plan]
        for keys, where in groups.items():
            if keys - known:
                raise TypeError(f"{model.__name__} got unexpected field(s): {', '.join(sorted(keys - known))}")
            group = [rows[i] for i in where]
            n = len(group)
            values: list[list[Any]] = []
            caches: list[tuple[str, list[Any]]] = []
            out: list[list[Any]] = []
            for c in plan:
                if c.primary:
                    col = [ids[i] for i in where]
                elif c.auto is not None:
                    col = [now if c.auto == "datetime" else today] * n
                elif c.name in keys:
                    col = list(map(itemgetter(c.name), group))
                    if c.relation:
                        caches.append((c.name, col))
                        col = _ids(col, c.target)
                elif c.attname in keys:
                    col = list(map(itemgetter(c.attname), group))
                elif callable(getattr(c.field, "default", None)):
                    col = [c.field.get_default() for _ in group]  # a fresh dict or list per row
                else:
                    col = [c.field.get_default()] * n
                values.append(col)
                out.append(col if c.prep is None else [None if v is None else c.prep(v, connection) for v in col])
            pgcopy.write(connection, cursor, meta.db_table, columns, out)
            for j, (i, attrs) in enumerate(zip(where, zip(*values, strict=True), strict=True)):
                obj = object.__new__(model)
                state = models.base.ModelState()
                state.adding, state.db = False, alias
                if caches:
                    state.fields_cache = {name: col[j] for name, col in caches}
                obj.__dict__.update(zip(attnames, attrs, strict=True))
                obj.__dict__["_state"] = state
                objs[i] = obj
    return objs


_SEQUENCES: dict[tuple[str, str], str] = {}


def _sequence(cursor: Any, meta: Any) -> str:
    """The sequence of a table's primary key, asked once per database and table: inside the id query,
    ``pg_get_serial_sequence`` would look it up again in the catalogue for every id (about 4 µs each)."""
    key = (cursor.db.alias, meta.db_table)
    if key not in _SEQUENCES:
        cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [meta.db_table, meta.pk.column])
        _SEQUENCES[key] = cursor.fetchone()[0]
    return _SEQUENCES[key]


@dataclass(frozen=True)
class _Column:
    field: models.Field
    name: str
    attname: str
    column: str
    primary: bool
    relation: bool
    auto: str | None  # "datetime" / "date" for auto_now(_add) fields
    prep: Any  # field.get_db_prep_save for values COPY cannot write as they are, else None
    target: Any = None  # a relation's: the attribute of the related instance it stores (attrgetter)


def _ids(instances: list[Any], target: Any) -> list[Any]:
    """The stored values of related instances (None stays None), without the ``pk`` property per value."""
    try:
        return list(map(target, instances))
    except AttributeError:  # a None among them
        return [None if v is None else target(v) for v in instances]


_PLANS: dict[type[models.Model], list[_Column]] = {}
_PLAIN = {
    "AutoField", "BigAutoField", "SmallAutoField", "CharField", "TextField", "EmailField", "SlugField",
    "URLField", "IntegerField", "BigIntegerField", "SmallIntegerField", "PositiveIntegerField",
    "PositiveSmallIntegerField", "PositiveBigIntegerField", "BooleanField", "DateField", "DateTimeField",
    "DecimalField", "ForeignKey", "OneToOneField",
}


def _copyable(model: type[models.Model]) -> bool:
    pk = model._meta.pk
    return pk is not None and pk.get_internal_type() in ("AutoField", "BigAutoField", "SmallAutoField")


def _names(model: type[models.Model]) -> frozenset[str]:
    return frozenset(n for c in _create_plan(model) for n in (c.name, c.attname))


def _create_plan(model: type[models.Model]) -> list[_Column]:
    if model not in _PLANS:
        plan = []
        for f in model._meta.concrete_fields:
            internal = f.get_internal_type()
            auto = None
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                auto = "datetime" if internal == "DateTimeField" else "date"
            plan.append(
                _Column(
                    field=f, name=f.name, attname=f.attname, column=f.column, primary=f.primary_key,
                    relation=f.is_relation, auto=auto,
                    target=attrgetter(f.target_field.attname) if f.is_relation else None,
                    prep=(
                        None if internal in _PLAIN
                        else _json_text(f) if internal == "JSONField"
                        else (lambda v, conn, f=f: f.get_db_prep_save(v, conn))
                    ),
                )
            )
        _PLANS[model] = plan
    return _PLANS[model]


def _json_text(f: models.Field) -> Any:
    """A JSON field's values as COPY text, as the field's own adapter dumps them; the common empty dict at once."""
    encoder = getattr(f, "encoder", None)

    def prep(value: Any, connection: Any) -> str:
        if value.__class__ is dict and not value:
            return "{}"
        return json.dumps(value, cls=encoder)

    return prep


def insert_rows(model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert plain value tuples into ``model``'s table with one prepared statement (executemany).

    For append-only tables written in bulk (field history): skips building model instances, which
    dominates the cost of ``bulk_create`` at tens of thousands of rows. Values are adapted the way the
    ORM adapts them (datetimes and decimals per backend); foreign keys are given as ids.
    """
    from django.db import connection

    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    rows = list(rows)
    if not rows:
        return 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY is PostgreSQL's bulk path: one round trip instead of one per row, in binary when the values
            # allow (core.pgcopy). psycopg writes dates and aware datetimes as they are.
            columns_data = list(zip(*rows, strict=True))
            pgcopy.write(connection, cursor, meta.db_table, [f.column for f in columns], columns_data, rows)
            return len(rows)
        ops = connection.ops
        adapters = [
            ops.adapt_datetimefield_value if f.get_internal_type() == "DateTimeField"
            else ops.adapt_datefield_value if f.get_internal_type() == "DateField"
            else None
            for f in columns
        ]
        quote = ops.quote_name
        sql = "INSERT INTO {} ({}) VALUES ({})".format(
            quote(meta.db_table), ", ".join(quote(f.column) for f in columns), ", ".join(["%s"] * len(columns))
        )
        prepared = [
            tuple(v if adapt is None or v is None else adapt(v) for v, adapt in zip(row, adapters, strict=True))
            for row in rows
        ]
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
