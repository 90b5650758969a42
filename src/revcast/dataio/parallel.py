"""Loading one large migration source in key ranges, one loader process per range (ADR 0024).

On PostgreSQL a large source is split by its key column into contiguous ranges of about equal row counts; each
range is loaded by a forked process with its own connections, batch by batch, exactly as a single loader does:
every batch commits with its rows, its issues and the range's progress (key reached, counts, notes, journal
counts), written into the run's checkpoint under ``sources.<name>.parts.<i>`` with ``jsonb_set`` so the loaders
never overwrite each other. A killed run resumes each unfinished range after its last committed batch; the
ranges themselves are fixed when the source starts, so resuming never re-splits. A loader dies with its parent
(``PR_SET_PDEATHSIG``), and the first loader that fails stops the others; the parent reports its error.

Only sources whose target key is unique in the database are split: a record that two ranges would both create
is then refused by the database in one of them (and reported with the row), never written twice.
"""

from __future__ import annotations

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


def split(source: SqlSource, table: str | None, query: str | None, key: str, rows: int, parts: int) -> list[dict[str, Any]]:
    """``parts`` key ranges of about ``rows / parts`` rows each: (lo, hi] per range, as checkpoint entries.
    Ranges that would be empty (few rows, repeated bounds) are merged away."""
    bounds: list[Any] = []
    offsets: list[int] = []
    for i in range(1, parts):
        offset = rows * i // parts
        if offset <= (offsets[-1] if offsets else 0):
            continue
        value = source.key_at(table, query, key, offset - 1)  # the last key of the range before
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


def run(indexes: list[int], load: Callable[[int], None], before: Callable[[], None] | None = None) -> None:
    """Load each range of ``indexes`` in its own forked process (``load(index)``) and wait for all of them.

    The parent's database connections are closed first, so no process shares one. The first loader that fails
    stops the others, and its error is raised here: a ``SourceError`` as such, anything else as
    ``WorkerFailed``. An interrupted parent (Ctrl-C) stops its loaders before it re-raises."""
    connections.close_all()
    context = multiprocessing.get_context("fork")
    parent = os.getpid()
    procs: dict[int, tuple[Any, Connection]] = {}
    try:
        for index in indexes:
            receive, send = context.Pipe(duplex=False)
            proc = context.Process(
                target=_child, args=(parent, index, load, before, send), name=f"revcast-loader-{index}", daemon=False
            )
            proc.start()
            send.close()
            procs[index] = (proc, receive)
        waiting: dict[Any, int] = {proc.sentinel: index for index, (proc, _) in procs.items()}
        while waiting:
            for sentinel in wait(list(waiting)):
                index = waiting.pop(sentinel)
                proc, receive = procs[index]
                proc.join()
                outcome = _outcome(receive, proc.exitcode)
                if outcome[0] != "ok":
                    _, kind, message = outcome
                    error = f"loader of range {index + 1} failed: {message}"
                    raise SourceError(error) if kind == "SourceError" else WorkerFailed(error)
    finally:
        for proc, receive in procs.values():
            if proc.is_alive():
                proc.terminate()
            proc.join()
            receive.close()


def _outcome(receive: Connection, exitcode: int | None) -> tuple[Any, ...]:
    """What a finished loader said; a loader that died without a word (killed, os._exit) by its exit status."""
    try:
        if receive.poll():
            return tuple(receive.recv())
    except EOFError:
        pass
    return ("error", "WorkerFailed", f"exit status {exitcode}")


def _child(
    parent: int, index: int, load: Callable[[int], None], before: Callable[[], None] | None, send: Connection
) -> None:
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the parent
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)
    try:
        if before is not None:
            before()
        load(index)
    except BaseException as exc:  # reported to the parent, which raises it
        send.send(("error", type(exc).__name__, str(exc) or repr(exc)))
        send.close()
        connections.close_all()
        os._exit(1)
    send.send(("ok",))
    send.close()
    connections.close_all()
