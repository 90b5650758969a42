"""Writing rows into a PostgreSQL table with COPY, in binary when the values allow it (ADR 0024).

Text COPY makes the client format every value as text and the server parse it back; binary COPY sends each
value in PostgreSQL's own representation, which costs a fraction of both (about a fifth of the client's time
for field-history rows). Binary needs every value to be exactly of the Python type its column's dumper takes,
so the values are checked column by column first (a pass over a column's types, not per value branching);
a column that does not fit (an unexpected type, an integer out of range, a naive datetime) sends the whole
COPY as text, where PostgreSQL parses and reports exactly as before.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from operator import attrgetter
from typing import Any

from psycopg import adapt, postgres, pq

_NONE = type(None)
# PostgreSQL type -> the Python types its binary dumper takes (as psycopg dumps them).
_BINARY: dict[str, frozenset[type]] = {
    "int2": frozenset({int}),
    "int4": frozenset({int}),
    "int8": frozenset({int}),
    "numeric": frozenset({Decimal, int}),
    "text": frozenset({str}),
    "varchar": frozenset({str}),
    "bpchar": frozenset({str}),
    "bool": frozenset({bool}),
    "date": frozenset({dt.date}),
    "timestamptz": frozenset({dt.datetime}),
    "jsonb": frozenset({str}),  # JSON already as text (the field's own encoder made it)
}
_INT_LIMITS = {"int2": 2**15, "int4": 2**31, "int8": 2**63}
_TYPES: dict[tuple[str, str], dict[str, str]] = {}


def column_types(connection: Any, table: str) -> dict[str, str]:
    """The table's columns and their PostgreSQL type names, read once per database and table."""
    key = (connection.alias, table)
    if key not in _TYPES:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
                "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped",
                [connection.ops.quote_name(table)],
            )
            _TYPES[key] = dict(cursor.fetchall())
    return _TYPES[key]


def fits(typname: str, values: Sequence[Any]) -> bool:
    """Whether every value of a column can go in binary to a column of ``typname``."""
    allowed = _BINARY.get(typname)
    if allowed is None:
        return False
    kinds = set(map(type, values))
    nulls = _NONE in kinds
    kinds.discard(_NONE)
    if not kinds <= allowed:
        return False
    limit = _INT_LIMITS.get(typname)
    if limit is None and typname != "timestamptz":
        return True  # the types are all it takes
    present = [v for v in values if v is not None] if nulls else values
    if not present:
        return True
    if limit is not None:
        return -limit <= min(present) and max(present) < limit
    # Aware datetimes: fixed-offset zones (datetime.timezone, what Django and revcast make) always have an
    # offset; any other tzinfo is asked per value.
    if all(type(z) is dt.timezone for z in set(map(_ZONE, present))):
        return True
    return all(v.utcoffset() is not None for v in present)


_ZONE = attrgetter("tzinfo")


def write(
    connection: Any,
    cursor: Any,
    table: str,
    columns: Sequence[str],
    data: Sequence[Sequence[Any]],
    rows: Iterable[Sequence[Any]] | None = None,
) -> None:
    """COPY ``data`` (column-major: one sequence of values per column, values as text COPY takes them) into
    ``table``'s ``columns``: binary when every column fits, else text. ``rows``: the same values row by row,
    when the caller has them (else they are read from ``data``)."""
    quote = connection.ops.quote_name
    names = ", ".join(quote(c) for c in columns)
    known = column_types(connection, table)
    types = [known.get(c, "") for c in columns]
    binary = all(fits(t, col) for t, col in zip(types, data, strict=True))
    sql = f"COPY {quote(table)} ({names}) FROM STDIN" + (" (FORMAT BINARY)" if binary else "")
    with connection.wrap_database_errors, cursor.cursor.copy(sql) as copy:
        if binary:
            if "jsonb" in types:
                # By type oid, for this cursor only: COPY's jsonb columns take the JSON text as it is.
                cursor.cursor.adapters.register_dumper(None, _JsonbText)
            copy.set_types(types)
        write_row = copy.write_row
        for row in zip(*data, strict=True) if rows is None else rows:
            write_row(row)


class _JsonbText(adapt.Dumper):
    """JSON text (a ``str``) to jsonb's binary form: its version byte, then the text as it is. psycopg's own
    jsonb dumper wants each value wrapped, and dumps it again."""

    format = pq.Format.BINARY
    oid = postgres.types["jsonb"].oid

    def dump(self, obj: str) -> bytes:
        return b"\x01" + obj.encode()
