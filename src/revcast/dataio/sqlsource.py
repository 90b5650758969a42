"""Reading mapping sources from another database through SQLAlchemy: PostgreSQL, MySQL, SQL Server, SQLite.

A source is a ``table`` or a ``query`` (joins happen there). Rows are streamed in batches ordered by the
source's key column, through a server-side cursor where the driver has one (PostgreSQL named cursors,
MySQL's unbuffered cursor), so a table is never loaded whole. Resuming passes the last key done: the
query continues with ``WHERE key > :after``. The key column must therefore be unique and never NULL.
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from revcast.dataio.readers import SourceError, SourceRow

# SQLAlchemy URL prefixes that need a driver named: ``postgresql://`` would pick psycopg2, which is not
# installed; revcast ships psycopg 3.
DRIVER_DEFAULTS = {
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mssql": "mssql+pyodbc",
}


def normalise_url(url: str) -> str:
    """The URL with a driver SQLAlchemy can load: ``postgresql://`` -> ``postgresql+psycopg://``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise SourceError(f"{url!r} is not a database URL (e.g. postgresql://user@host/db, sqlite:///file.db)")
    return f"{DRIVER_DEFAULTS.get(scheme.lower(), scheme)}://{rest}"


def redact(url: str) -> str:
    """The URL without its password (what a run records and prints)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(normalise_url(url))
    except ArgumentError:
        return url.split("@", 1)[-1] if "@" in url else url
    return parsed._replace(password=None).render_as_string(hide_password=False)  # .set() ignores None


@dataclass
class KeyValue:
    """A key value as the checkpoint stores it (JSON), and back."""

    @staticmethod
    def dump(value: Any) -> dict[str, Any]:
        if isinstance(value, bool) or value is None:
            raise SourceError(f"key value {value!r} cannot order a source; use an integer or text key column")
        if isinstance(value, int):
            return {"type": "int", "value": value}
        if isinstance(value, Decimal):
            return {"type": "decimal", "value": str(value)}
        if isinstance(value, dt.datetime):
            return {"type": "datetime", "value": value.isoformat()}
        if isinstance(value, dt.date):
            return {"type": "date", "value": value.isoformat()}
        return {"type": "str", "value": str(value)}

    @staticmethod
    def load(stored: dict[str, Any]) -> Any:
        kind, value = stored["type"], stored["value"]
        readers: dict[str, Callable[[Any], Any]] = {
            "int": int,
            "decimal": Decimal,
            "datetime": dt.datetime.fromisoformat,
            "date": dt.date.fromisoformat,
            "str": str,
        }
        return readers[kind](value)


class SqlSource:
    """One source database. Open it with ``SqlSource(url)``; close it when done."""

    def __init__(self, url: str) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError

        self.url = redact(url)
        try:
            self.engine = create_engine(normalise_url(url), pool_pre_ping=True)
        except (ArgumentError, NoSuchModuleError, ImportError) as exc:
            raise SourceError(f"{self.url}: cannot open the database: {exc}") from exc

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> SqlSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def check(self) -> None:
        """Connect once, so a wrong URL or password fails before anything is written."""
        from sqlalchemy.exc import SQLAlchemyError

        try:
            with self.engine.connect():
                pass
        except SQLAlchemyError as exc:
            raise SourceError(f"{self.url}: cannot connect: {_reason(exc)}") from exc

    # ------------------------------------------------------------------ SQL

    def _relation(self, table: str | None, query: str | None) -> str:
        quote = self.engine.dialect.identifier_preparer.quote
        if table is not None:
            return f"(SELECT * FROM {'.'.join(quote(part) for part in table.split('.'))}) src"
        assert query is not None
        return f"({query.strip().rstrip(';')}) src"

    def select_sql(self, table: str | None, query: str | None, key: str, after: bool, upto: bool = False) -> str:
        quote = self.engine.dialect.identifier_preparer.quote
        conditions = [f"src.{quote(key)} > :after"] if after else []
        if upto:
            conditions.append(f"src.{quote(key)} <= :upto")
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        return f"SELECT * FROM {self._relation(table, query)}{where} ORDER BY src.{quote(key)}"

    def key_bounds(self, table: str | None, query: str | None, key: str, positions: list[int]) -> list[Any]:
        """The key values of the rows at ``positions`` (1-based, in key order), in one pass over the source:
        where its partitions end."""
        from sqlalchemy import text
        from sqlalchemy.exc import SQLAlchemyError

        if not positions:
            return []
        quote = self.engine.dialect.identifier_preparer.quote
        wanted = ", ".join(str(int(p)) for p in positions)
        sql = (
            f"SELECT k FROM (SELECT src.{quote(key)} AS k, ROW_NUMBER() OVER (ORDER BY src.{quote(key)}) AS rn "
            f"FROM {self._relation(table, query)}) numbered WHERE rn IN ({wanted}) ORDER BY rn"
        )
        try:
            with self.engine.connect() as conn:
                return [row[0] for row in conn.execute(text(sql))]
        except SQLAlchemyError as exc:
            raise SourceError(f"{_what(table)}: cannot be partitioned: {_reason(exc)}") from exc

    def header(self, table: str | None, query: str | None) -> list[str]:
        """The source's column names (no rows are read)."""
        from sqlalchemy import text
        from sqlalchemy.exc import SQLAlchemyError

        try:
            with self.engine.connect() as conn:
                result = conn.execute(text(f"SELECT * FROM {self._relation(table, query)} WHERE 1 = 0"))
                return list(result.keys())
        except SQLAlchemyError as exc:
            raise SourceError(f"{_what(table)}: cannot be read: {_reason(exc)}") from exc

    def count(self, table: str | None, query: str | None) -> int:
        from sqlalchemy import text
        from sqlalchemy.exc import SQLAlchemyError

        try:
            with self.engine.connect() as conn:
                return int(conn.execute(text(f"SELECT COUNT(*) FROM {self._relation(table, query)}")).scalar_one())
        except SQLAlchemyError as exc:
            raise SourceError(f"{_what(table)}: cannot be counted: {_reason(exc)}") from exc

    def stream(
        self,
        table: str | None,
        query: str | None,
        key: str,
        batch_size: int,
        after: Any = None,
        first_line: int = 1,
        upto: Any = None,
    ) -> Iterator[list[SourceRow]]:
        """Batches of rows ordered by ``key``, from after the key value ``after`` (None: from the start) up to
        and including ``upto`` (None: to the end).

        ``SourceRow.line`` is the row's position in key order (1-based, counted over the whole source when
        ``first_line`` says where this stream starts), the closest a table has to a line number.
        """
        from sqlalchemy import text
        from sqlalchemy.exc import SQLAlchemyError

        sql = text(self.select_sql(table, query, key, after is not None, upto is not None))
        params = {name: value for name, value in (("after", after), ("upto", upto)) if value is not None}
        line = first_line
        try:
            with self.engine.connect() as conn:
                result = conn.execution_options(stream_results=True, yield_per=batch_size).execute(sql, params)
                names = list(result.keys())
                dupes = sorted({n for n in names if names.count(n) > 1})
                if dupes:
                    raise SourceError(f"{_what(table)}: duplicate column name(s) {dupes}; alias them in the query")
                for partition in result.partitions(batch_size):
                    # A row has as many values as the result has names: zip needs no strict check per row.
                    batch = [SourceRow(n, dict(zip(names, row, strict=False))) for n, row in enumerate(partition, line)]
                    line += len(batch)
                    yield batch
        except SQLAlchemyError as exc:
            raise SourceError(f"{_what(table)}: reading failed: {_reason(exc)}") from exc


T = TypeVar("T")


def read_ahead(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """``items`` produced by a thread up to ``depth`` ahead of the consumer: the source database's work and the
    driver's waits overlap the consumer's (a migration's parsing and writing). Errors reach the consumer in
    order; a consumer that stops early stops the thread (after the item it is reading) and closes ``items``."""
    ahead: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(kind: str, value: Any) -> bool:
        while not stop.is_set():
            try:
                ahead.put((kind, value), timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put("item", item):
                    return
            put("done", None)
        except BaseException as exc:  # handed to the consumer, which raises it
            put("error", exc)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="revcast-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = ahead.get()
            if kind == "item":
                yield value
            elif kind == "error":
                raise value
            else:
                return
    finally:
        stop.set()
        thread.join()


def _what(table: str | None) -> str:
    return f"table {table}" if table else "query"


def _reason(exc: Exception) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
