"""Bulk loading into empty tables on PostgreSQL: secondary indexes and foreign keys set aside for the load and
restored after it (ADR 0023).

Loading a large source row by row into a table with a dozen indexes and deferred foreign-key triggers costs the
database far more than the rows themselves: every row updates every index and queues one check per foreign key,
run one by one at commit. When the tables a source writes are empty (a go-live), a migration instead drops their
non-unique indexes and outgoing foreign keys, loads its batches, then rebuilds each index in one sorted pass and
re-adds each foreign key, which PostgreSQL validates in one query over the table. Primary keys and unique
constraints stay, so upserts by key behave exactly as before, and the data ends under the same constraints.

The statements that restore what was set aside are kept in the run's checkpoint in the transaction that drops
them, so a run killed half-way leaves a record of them: resuming the run restores them at the end of the source,
and any later migration, import or rollback restores them first (``restore_pending``). A run that fails with an
error restores them before it reports the failure.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.db import connection, models, transaction

logger = logging.getLogger(__name__)

# Sources with fewer rows load row by row (``auto``): the DDL and rebuilds are not worth it for them.
AUTO_MIN_ROWS = 10_000
MODES = ("auto", "on", "off")

_INDEXES = """
    SELECT i.relname, pg_get_indexdef(ix.indexrelid)
    FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid
    WHERE ix.indrelid = %s::regclass AND NOT ix.indisprimary AND NOT ix.indisunique
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid)
    ORDER BY i.relname
"""
_FOREIGN_KEYS = """
    SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
    WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname
"""


class RestoreError(Exception):
    """What was set aside could not be restored (the loaded rows break a foreign key); the message names it."""


def supported() -> bool:
    return connection.vendor == "postgresql"


def tables_empty(tables: Sequence[type[models.Model]]) -> bool:
    return not any(model._default_manager.exists() for model in tables)


def _flush_pending_checks() -> None:
    # ALTER TABLE and CREATE INDEX refuse a table with deferred checks pending in the transaction.
    if supported():
        with connection.cursor() as cur:
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")


def set_aside(tables: Sequence[type[models.Model]]) -> list[dict[str, str]]:
    """Drop the tables' non-unique indexes and outgoing foreign keys; the statements that restore them.
    Inside the caller's transaction, which should store them with the run (see the module's docstring)."""
    if not supported():
        raise NotImplementedError(f"bulk loads set indexes aside on PostgreSQL only, not {connection.vendor}")
    qn = connection.ops.quote_name
    statements: list[dict[str, str]] = []
    _flush_pending_checks()
    with connection.cursor() as cur:
        for model in tables:
            table = model._meta.db_table
            cur.execute(_FOREIGN_KEYS, [table])
            for name, definition in cur.fetchall():
                statements.append({"table": table, "kind": "foreign key", "name": name,
                                   "sql": f"ALTER TABLE {qn(table)} ADD CONSTRAINT {qn(name)} {definition}"})
            cur.execute(_INDEXES, [table])
            for name, definition in cur.fetchall():
                statements.append({"table": table, "kind": "index", "name": name, "sql": definition})
        for s in statements:
            if s["kind"] == "foreign key":
                cur.execute(f"ALTER TABLE {qn(s['table'])} DROP CONSTRAINT {qn(s['name'])}")
            else:
                cur.execute(f"DROP INDEX {qn(s['name'])}")
    logger.info("bulk load: set aside %s", ", ".join(s["name"] for s in statements))
    return statements


def restore(statements: Sequence[dict[str, str]], builders: int = 1) -> None:
    """Rebuild the indexes, then re-add (and so validate) the foreign keys; raises RestoreError.

    What already exists is skipped, so a restore that was cut short can simply run again. With ``builders`` > 1
    and a transaction that has not touched the tables, the indexes are built that many at a time on connections
    of their own (each commits its index; the keys are added in the caller's transaction)."""
    _flush_pending_checks()
    made = _existing(statements)
    todo = [s for s in statements if (s["kind"], s["name"]) not in made]
    indexes = [s for s in todo if s["kind"] == "index"]
    if builders > 1 and len(indexes) > 1 and supported() and not _locked({s["table"] for s in indexes}):
        _build_concurrently(_largest_first(indexes), builders)
        todo = [s for s in todo if s["kind"] != "index"]
    with connection.cursor() as cur:
        if supported():
            cur.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for s in sorted(todo, key=lambda s: s["kind"] != "index"):
            try:
                with transaction.atomic():
                    cur.execute(s["sql"])
            except Exception as exc:  # the database's own words name the row that breaks it
                raise _failed(s, exc) from exc


def _failed(statement: dict[str, str], exc: Exception) -> RestoreError:
    return RestoreError(f"the {statement['kind']} {statement['name']} of {statement['table']} cannot be "
                        f"restored: {str(exc).strip()}")


def _existing(statements: Sequence[dict[str, str]]) -> set[tuple[str, str]]:
    """(kind, name) of the statements whose index or foreign key already exists (two catalogue queries)."""
    if not supported() or not statements:
        return set()
    names = {kind: [s["name"] for s in statements if s["kind"] == kind] for kind in ("index", "foreign key")}
    with connection.cursor() as cur:
        cur.execute("SELECT relname FROM pg_class WHERE relkind = 'i' AND relname = ANY(%s)", [names["index"]])
        found = {("index", name) for (name,) in cur.fetchall()}
        cur.execute("SELECT conname, conrelid::regclass::text FROM pg_constraint WHERE contype = 'f' AND conname = ANY(%s)",
                    [names["foreign key"]])
        keys = set(cur.fetchall())
    found |= {("foreign key", s["name"]) for s in statements
              if s["kind"] == "foreign key" and (s["name"], s["table"]) in keys}
    return found


def _locked(tables: set[str]) -> bool:
    """Whether this connection's transaction holds a lock on any of ``tables`` (other connections would wait)."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = pg_backend_pid() AND relation = ANY(%s::regclass[]))",
            [[connection.ops.quote_name(t) for t in tables]],
        )
        return bool(cur.fetchone()[0])


def _largest_first(indexes: Sequence[dict[str, str]]) -> list[dict[str, str]]:
    """The indexes of the largest tables first: the builders end together rather than one of them finishing a
    large table's index alone."""
    tables = sorted({s["table"] for s in indexes})
    with connection.cursor() as cur:
        cur.execute("SELECT t, pg_relation_size(quote_ident(t)::regclass) FROM unnest(%s::text[]) AS t", [tables])
        size = dict(cur.fetchall())
    return sorted(indexes, key=lambda s: -size.get(s["table"], 0))


def _build_concurrently(indexes: Sequence[dict[str, str]], builders: int) -> None:
    """Each index built on one of ``builders`` connections of its own (each takes the next index when done);
    the first failure is raised once every builder stopped."""
    import queue
    import threading

    work: queue.Queue[dict[str, str]] = queue.Queue()
    for s in indexes:
        work.put(s)
    errors: list[RestoreError] = []
    params = connection.get_connection_params()

    def build() -> None:
        conn = connection.get_new_connection(params)
        try:
            conn.autocommit = True
            conn.execute("SET maintenance_work_mem = '256MB'")
            # The builders already keep the cores busy: parallel workers of each build would only compete with
            # the other builders (and split each sort into runs merged again).
            conn.execute("SET max_parallel_maintenance_workers = 0")
            while not errors:
                try:
                    s = work.get_nowait()
                except queue.Empty:
                    return
                try:
                    conn.execute(s["sql"])
                except Exception as exc:
                    errors.append(_failed(s, exc))
        finally:
            conn.close()

    threads = [threading.Thread(target=build, name=f"revcast-index-{i}") for i in range(min(builders, len(indexes)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def describe(statements: Sequence[dict[str, Any]]) -> str:
    kinds = [s["kind"] for s in statements]
    tables = sorted({s["table"] for s in statements})
    return (f"{kinds.count('index')} indexes and {kinds.count('foreign key')} foreign keys of "
            f"{', '.join(tables)}")


def restore_pending(exclude: Any = None) -> list[str]:
    """Restore what killed runs (but ``exclude``, a run being resumed) set aside and left in their checkpoints;
    a note per run restored."""
    from revcast.dataio.models import ImportRun

    notes = []
    for run in ImportRun.objects.filter(checkpoint__has_key="set_aside").exclude(pk=exclude).order_by("pk"):
        pending = run.checkpoint.get("set_aside") or {}
        with transaction.atomic():
            restore(pending.get("statements", []))
            del run.checkpoint["set_aside"]
            run.save(update_fields=["checkpoint"])
        notes.append(f"restored the {describe(pending.get('statements', []))} that run #{run.pk} set aside "
                     "for a bulk load and left when it stopped")
    return notes
