"""A PostgreSQL server for tests that need databases of their own (a migration's source, a fresh target).

On the PostgreSQL suite run (``DATABASE_URL`` points at PostgreSQL) the databases are created on that server;
on the SQLite run a throwaway server is started with scripts/with_postgres.py's ``throwaway_server``. Either
way a real server: a missing one fails the test, it is never skipped.
"""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _with_postgres() -> Any:
    spec = importlib.util.spec_from_file_location("with_postgres", ROOT / "scripts" / "with_postgres.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _current_server() -> str | None:
    """``postgresql://user:password@host:port`` of the suite's database, when it is PostgreSQL."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    s = connection.settings_dict
    auth = s.get("USER") or "postgres"
    if s.get("PASSWORD"):
        auth += f":{s['PASSWORD']}"
    return f"postgresql://{auth}@{s.get('HOST') or 'localhost'}:{s.get('PORT') or 5432}"


@contextmanager
def server() -> Iterator[str]:
    """The server's URL without a database name: ``postgresql://user[:pw]@host:port``."""
    current = _current_server()
    if current is not None:
        yield current
        return
    with _with_postgres().throwaway_server() as url:
        yield url.rsplit("/", 1)[0].replace("postgres://", "postgresql://", 1)


def _admin(server_url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
        conn.execute(sql)


@contextmanager
def database(server_url: str, prefix: str) -> Iterator[str]:
    """A new, empty database on the server for the block; yields its URL; dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    _admin(server_url, f'CREATE DATABASE "{name}"')
    try:
        yield f"{server_url}/{name}"
    finally:
        _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
