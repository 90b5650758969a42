"""Loading one large migration source in key ranges by forked loader processes (ADR 0024, 0025).

On PostgreSQL a large source is split by its key column into contiguous ranges of about equal row counts, a few
per loader; each loader is handed one range at a time (a loader on a slower core takes fewer) and loads it with
its own connections, batch by batch, exactly as a single loader does:
every batch commits with its rows, its issues and the range's progress (key reached, counts, notes, journal
counts), written into the run's checkpoint under ``sources.<name>.parts.<i>`` with ``jsonb_set`` so the loaders
never overwrite each other. A killed run resumes each unfinished range after its last committed batch; the
ranges themselves are fixed when the source starts, so resuming never re-splits. A loader dies with its parent
(``PR_SET_PDEATHSIG``), and the first loader that fails stops the others; the parent reports its error.

Only sources whose target key is unique in the database are split: a record that two ranges would both create
is then refused by the database in one of them (and reported with the row), never written twice.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from typing import Any

from django.db import connection, connections

from revcast.dataio.readers import SourceError
from revcast.dataio.sqlsource import KeyValue, SqlSource

AUTO_MIN_ROWS = 20_000  # "auto" splits sources from this many rows
MIN_ROWS_PER_WORKER = 10_000  # and gives each loader at least this many
RANGES_PER_LOADER = 3  # ranges handed out one at a time, so loaders on slower cores take fewer
MIN_ROWS_PER_RANGE = 10_000


class WorkerFailed(Exception):
    """A loader process failed; the message is its error."""


def supported() -> bool:
    """Forked loaders need PostgreSQL (concurrent writers), Linux (fork, PDEATHSIG) and no open transaction (the
    loaders could not see what it holds)."""
    return connection.vendor == "postgresql" and sys.platform == "linux" and not connection.in_atomic_block


def worker_count(requested: str | int, rows: int) -> int:
    """How many loaders a source of ``rows`` rows gets: ``auto`` uses the machine's cores from AUTO_MIN_ROWS rows
    on (at least MIN_ROWS_PER_WORKER each); a number is taken as asked (at most one per row)."""
    if requested == "auto":
        if rows < AUTO_MIN_ROWS:
            return 1
        return max(1, min(os.cpu_count() or 1, rows // MIN_ROWS_PER_WORKER))
    return max(1, min(int(requested), rows))


def range_count(loaders: int, rows: int) -> int:
    """How many key ranges ``loaders`` loaders share: RANGES_PER_LOADER each while every range keeps at least
    MIN_ROWS_PER_RANGE rows, and never fewer than one per loader."""
    return max(loaders, min(loaders * RANGES_PER_LOADER, rows // MIN_ROWS_PER_RANGE))


def split(source: SqlSource, table: str | None, query: str | None, key: str, rows: int, parts: int) -> list[dict[str, Any]]:
    """``parts`` key ranges of about ``rows / parts`` rows each: (lo, hi] per range, as checkpoint entries.
    Ranges that would be empty (few rows, repeated bounds) are merged away."""
    wanted = sorted({rows * i // parts for i in range(1, parts)} - {0})
    found = source.key_bounds(table, query, key, wanted)  # the last key of each range but the last
    bounds: list[Any] = []
    offsets: list[int] = []
    for offset, value in zip(wanted, found, strict=False):
        if bounds and value == bounds[-1]:
            continue
        bounds.append(value)
        offsets.append(offset)
    los: list[Any] = [None, *bounds]
    his: list[Any] = [*bounds, None]
    firsts = [0, *offsets]
    return [
        {
            "lo": None if lo is None else KeyValue.dump(lo),
            "hi": None if hi is None else KeyValue.dump(hi),
            "first_line": first + 1,
            "rows": 0,
            "last_key": None,
            "done": False,
            "counts": {},
            "notes": {},
            "journal": {},
        }
        for lo, hi, first in zip(los, his, firsts, strict=True)
    ]


def save_part(run_pk: int, source: str, index: int, part: dict[str, Any]) -> None:
    """Write one range's progress into the run's checkpoint, leaving the other ranges' entries as they are."""
    from revcast.dataio.models import ImportRun

    table = connection.ops.quote_name(ImportRun._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET checkpoint = jsonb_set(checkpoint, %s, %s::jsonb) WHERE id = %s",
            [["sources", source, "parts", str(index)], json.dumps(part), run_pk],
        )


def stored_parts(run_pk: int, source: str) -> list[dict[str, Any]]:
    """The ranges' progress as the loaders committed it."""
    from revcast.dataio.models import ImportRun

    checkpoint = ImportRun.objects.values_list("checkpoint", flat=True).get(pk=run_pk)
    parts: list[dict[str, Any]] = checkpoint["sources"][source]["parts"]
    return parts


def run(
    indexes: list[int], load: Callable[[int], None], loaders: int | None = None, before: Callable[[], None] | None = None
) -> None:
    """Load each range of ``indexes`` (``load(index)``) in ``loaders`` forked processes (one per range when not
    given), and wait for all of them. Each loader is handed the next range when it finishes one, so a loader on a
    slower core simply loads fewer ranges; ``before()`` runs once in each loader, before its first range.

    The parent's database connections are closed first, so no process shares one. The first loader that fails
    stops the others, and its error is raised here: a ``SourceError`` as such, anything else as
    ``WorkerFailed``. An interrupted parent (Ctrl-C) stops its loaders before it re-raises."""
    connections.close_all()
    context = multiprocessing.get_context("fork")
    parent = os.getpid()
    todo = list(indexes)
    count = max(1, min(loaders or len(todo), len(todo)))
    running: list[_Loader] = []
    try:
        for n in range(count if todo else 0):
            ours, theirs = context.Pipe(duplex=True)
            proc = context.Process(
                target=_child, args=(parent, load, before, theirs), name=f"revcast-loader-{n + 1}", daemon=False
            )
            proc.start()
            theirs.close()
            loader = _Loader(proc, ours)
            running.append(loader)
            loader.hand(todo.pop(0))
        while any(loader.current is not None for loader in running):
            busy = [loader for loader in running if loader.current is not None]
            ready = wait([loader.conn for loader in busy] + [loader.proc.sentinel for loader in busy])
            for loader in busy:
                if loader.conn not in ready and loader.proc.sentinel not in ready:
                    continue
                outcome = loader.outcome()
                if outcome[0] != "ok":
                    _, kind, message = outcome
                    error = f"loader of range {loader.current + 1} failed: {message}"
                    raise SourceError(error) if kind == "SourceError" else WorkerFailed(error)
                loader.hand(todo.pop(0) if todo else None)
    finally:
        for loader in running:
            if loader.proc.is_alive() and loader.current is not None:
                loader.proc.terminate()
            loader.proc.join()
            loader.conn.close()


class _Loader:
    """One loader process, as the parent sees it: the range it is loading (None: none, told to stop)."""

    def __init__(self, proc: Any, conn: Connection) -> None:
        self.proc, self.conn = proc, conn
        self.current: int | None = None

    def hand(self, index: int | None) -> None:
        """Give the loader its next range, or None to stop it."""
        self.current = index
        with contextlib.suppress(OSError):  # it died meanwhile: its exit status is read as its outcome
            self.conn.send(index)

    def outcome(self) -> tuple[Any, ...]:
        """What the loader said of its range; a loader that died without a word (killed, os._exit), by its exit
        status."""
        try:
            if self.conn.poll():
                return tuple(self.conn.recv())
        except (EOFError, OSError):
            pass
        self.proc.join()
        return ("error", "WorkerFailed", f"exit status {self.proc.exitcode}")


def _child(parent: int, load: Callable[[int], None], before: Callable[[], None] | None, conn: Connection) -> None:
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the parent
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)
    try:
        index = conn.recv()
        if before is not None and index is not None:
            before()
        while index is not None:
            load(index)
            conn.send(("ok",))
            index = conn.recv()
    except BaseException as exc:  # reported to the parent, which raises it
        with contextlib.suppress(OSError):  # unless the parent is gone
            conn.send(("error", type(exc).__name__, str(exc) or repr(exc)))
        conn.close()
        connections.close_all()
        os._exit(1)
    conn.close()
    connections.close_all()
