"""The ``revcast`` command: a thin wrapper over Django management commands."""

from __future__ import annotations

import os
import re
import sys

# How SQLite and PostgreSQL say that a table is not there.
_MISSING_TABLE = re.compile(r'no such table: (\S+)|relation "([^"]+)" does not exist')


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "revcast.settings")
    from django.core.management import execute_from_command_line
    from django.db import DatabaseError

    args = list(sys.argv[1:] if argv is None else argv)
    if args in (["--version"], ["version"]):
        from importlib.metadata import version

        print(f"revcast {version('revcast')}")
        return
    try:
        execute_from_command_line(["revcast", *args])
    except DatabaseError as exc:
        found = _MISSING_TABLE.search(str(exc))
        if found is None or (args and args[0] == "migrate"):
            raise
        table = found.group(1) or found.group(2)
        sys.stderr.write(
            f"revcast: the database has no table {table}: its schema is not set up yet. "
            "Run `revcast migrate` first (`make demo` does it for the demo database).\n"
        )
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
