"""A backup of the revcast database before a migration writes to it, and how to restore it.

SQLite is copied with SQLite's online backup API (a consistent copy while revcast runs). PostgreSQL is
dumped with ``pg_dump`` in its custom format, restorable with ``pg_restore``; ``pg_dump`` is taken from
PATH, else from Debian's ``/usr/lib/postgresql/*/bin`` (the newest). Other backends get no backup, and a
migration refuses to write unless told ``--no-backup``.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from django.db import connection
from django.utils import timezone


class BackupError(RuntimeError):
    """No backup could be made; nothing was written."""


@dataclass
class Backup:
    path: Path
    restore: str  # how to restore it, as a command a person can run

    def note(self) -> str:
        return f"backup of the target before writing: {self.path}; to restore: {self.restore}"


def find_pg_tool(name: str) -> str | None:
    """``pg_dump``/``pg_restore``: on PATH, else the newest Debian server's bin dir."""
    found = shutil.which(name)
    if found:
        return found

    def version(p: Path) -> tuple[int, ...]:
        return tuple(int(x) for x in re.findall(r"\d+", p.parent.parent.name))

    candidates = list(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(max(candidates, key=version)) if candidates else None


def backup_database(directory: Path, label: str) -> Backup:
    """Back up the default database into ``directory`` (created when missing); the file is named for
    ``label`` (e.g. ``migration-12``) and the time."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        if connection.in_atomic_block:  # SQLite's backup would wait forever for our own open write transaction
            raise BackupError("cannot copy an SQLite database from inside a transaction")
        target = directory / f"revcast-{label}-{stamp}.sqlite3"
        connection.ensure_connection()
        dest = sqlite3.connect(target)
        try:
            connection.connection.backup(dest)
        finally:
            dest.close()
        db_file = settings["NAME"]
        return Backup(target, f"stop revcast, then copy {target} over {db_file} (and delete {db_file}-wal, -shm)")
    if connection.vendor == "postgresql":
        pg_dump = find_pg_tool("pg_dump")
        if pg_dump is None:
            raise BackupError(
                "pg_dump was not found (install Debian's postgresql-client); not writing without a backup "
                "(use --no-backup if you have your own)"
            )
        target = directory / f"revcast-{label}-{stamp}.dump"
        env = {**os.environ}
        if settings.get("PASSWORD"):
            env["PGPASSWORD"] = str(settings["PASSWORD"])
        cmd = [pg_dump, "--format=custom", "--no-owner", f"--file={target}", f"--dbname={settings['NAME']}"]
        if settings.get("HOST"):
            cmd.append(f"--host={settings['HOST']}")
        if settings.get("PORT"):
            cmd.append(f"--port={settings['PORT']}")
        if settings.get("USER"):
            cmd.append(f"--username={settings['USER']}")
        result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            target.unlink(missing_ok=True)
            raise BackupError(f"pg_dump failed: {result.stderr.strip() or result.returncode}")
        where = " ".join(
            f"--{opt}={settings[key]}" for opt, key in (("host", "HOST"), ("port", "PORT"), ("username", "USER"))
            if settings.get(key)
        )
        return Backup(
            target,
            f"pg_restore --clean --if-exists --no-owner {where} --dbname={settings['NAME']} {target}".replace("  ", " "),
        )
    raise BackupError(
        f"no backup method for the {connection.vendor} backend; use --no-backup if you have your own"
    )
