"""What the benchmarks in bench/ share: the driver that runs one worker per database, and the worker's setup.

A benchmark script runs in two roles. Run plainly, it is the *driver*: :func:`run_workers` starts the
script again with ``--worker`` once per database of :data:`DATABASES`, each in a child process: on a new
SQLite file in a temp dir, then on a throwaway PostgreSQL server started by scripts/with_postgres.py.
``DATABASE_URL`` is removed from the child's environment, so the database you work with is never touched.
Each worker writes its timings to a JSON file in the temp dir, which the driver reads back. The temp dir
(and with it the server, which with_postgres stops) is removed when the driver finishes, on Ctrl-C and on
SIGTERM too.

As a *worker*, the script calls :func:`setup_django` and :func:`migrate_clean_database` before it times
anything, and :func:`save_results` at the end.

The scripts are run as files (``.venv/bin/python bench/reports.py``), so this module is imported by its
plain name ``harness`` with bench/ on ``sys.path``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
"""The repository."""
WITH_POSTGRES = ROOT / "scripts" / "with_postgres.py"
DATA = ROOT / "src" / "revcast" / "demo_data" / "maven_crm"
"""The Maven CRM data set the benchmarks import."""
MAPPING = ROOT / "mappings" / "maven_crm.yaml"
DATABASES = ("sqlite", "postgresql")
"""The databases benchmarked, in this order."""

T = TypeVar("T")
Results = dict[str, tuple[int, list[T]]]
"""Per database: the worker's exit status and the timings it wrote (none when it did not get that far)."""


# ---------------------------------------------------------------------------------------------- worker


def setup_django(prog: str) -> bool:
    """Set up Django on the database ``DATABASE_URL`` names, with DEBUG off (no query log growing during
    the runs). False, after a message on stderr, when ``DATABASE_URL`` is not set: a worker must never fall
    back on the default database."""
    if not os.environ.get("DATABASE_URL"):
        print(f"{prog} --worker: DATABASE_URL is not set; refusing to touch the default database",
              file=sys.stderr)
        return False
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "revcast.settings")
    os.environ["REVCAST_DEBUG"] = "false"
    import django

    django.setup()
    return True


def migrate_clean_database(label: str) -> float | None:
    """Migrate the database; the seconds that took. None, after a message on stderr, when the database
    already holds opportunities or import runs: the benchmarks need a clean one."""
    from django.core.management import call_command

    from revcast.dataio.models import ImportRun
    from revcast.pipeline.models import Opportunity

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    seconds = time.perf_counter() - started
    if Opportunity.objects.exists() or ImportRun.objects.exists():
        print(f"{label}: the database is not empty; the benchmark needs a clean one", file=sys.stderr)
        return None
    return seconds


def server_version() -> str:
    """The database server and its version, e.g. ``SQLite 3.40.1`` or ``PostgreSQL 15.18 (Debian ...)``."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("select 'SQLite ' || sqlite_version()")
        else:
            cursor.execute("show server_version")
        row = cursor.fetchone()
    return f"{'PostgreSQL ' if connection.vendor == 'postgresql' else ''}{row[0]}"


def save_results(result_file: Path | None, timings: Iterable[Any]) -> None:
    """Write the worker's timings (dataclass instances) as JSON for the driver, if it asked for a file."""
    if result_file is not None:
        result_file.write_text(json.dumps([asdict(t) for t in timings]))


# ---------------------------------------------------------------------------------------------- driver


def argument_parser(description: str | None) -> argparse.ArgumentParser:
    """A parser for a benchmark script, its docstring as the help text. Add the script's own options, then
    :func:`add_worker_arguments`."""
    return argparse.ArgumentParser(description=description,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def add_worker_arguments(parser: argparse.ArgumentParser) -> None:
    """``--worker`` and the (hidden) ``--label`` and ``--result-file`` that :func:`run_workers` passes."""
    parser.add_argument("--worker", action="store_true", help="internal: benchmark the DATABASE_URL given")
    parser.add_argument("--label", default="database", help=argparse.SUPPRESS)
    parser.add_argument("--result-file", type=Path, default=None, help=argparse.SUPPRESS)


def raise_on_sigterm(signum: int, frame: object) -> None:
    """A SIGTERM handler that unwinds like Ctrl-C does, so that ``finally`` blocks and ``with`` exits run."""
    raise SystemExit(128 + signum)


def run_child(cmd: Sequence[str], env: dict[str, str]) -> int:
    """Run ``cmd`` in the repository; its exit status. On SIGTERM or an error here, stop it and let it
    clean up (with_postgres stops its server and removes its temp dir)."""
    proc = subprocess.Popen(list(cmd), env=env, cwd=ROOT)
    try:
        return proc.wait()
    except BaseException as exc:
        if not isinstance(exc, KeyboardInterrupt):  # Ctrl-C reached the child through the terminal already
            proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        raise


def bench_database(
    script: Path, database: str, tmp: Path, load: Callable[..., T], worker_args: Sequence[str] = ()
) -> tuple[int, list[T]]:
    """Run ``script --worker`` on ``database`` (one of :data:`DATABASES`), with ``worker_args`` added; its
    exit status and its timings, each made by ``load(**fields)`` from the JSON it wrote."""
    result_file = tmp / f"{database}.json"
    worker_cmd = [sys.executable, str(script.resolve()), "--worker", "--label", database,
                  *worker_args, "--result-file", str(result_file)]
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    if database == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
        rc = run_child(worker_cmd, env)
    else:  # no DATABASE_URL: with_postgres starts a fresh throwaway server and removes it afterwards
        rc = run_child([sys.executable, str(WITH_POSTGRES), "--", *worker_cmd], env)
    timings = [load(**t) for t in json.loads(result_file.read_text())] if result_file.exists() else []
    return rc, timings


def run_workers(script: Path, load: Callable[..., T], worker_args: Sequence[str] = ()) -> Results[T]:
    """Benchmark each of :data:`DATABASES` in turn (see :func:`bench_database`), in a temp dir removed
    afterwards, on SIGTERM too."""
    signal.signal(signal.SIGTERM, raise_on_sigterm)
    results: Results[T] = {}
    with tempfile.TemporaryDirectory(prefix="revcast-bench-") as tmp:
        for database in DATABASES:
            print(f"== {database}", flush=True)
            results[database] = bench_database(script, database, Path(tmp), load, worker_args)
    return results


def summary_timings(results: Results[T]) -> Iterator[tuple[str, T]]:
    """Each database's timings in order, for the summary table; a database without any is printed as
    ``not run`` with its worker's exit status."""
    for database in DATABASES:
        rc, timings = results[database]
        if not timings:
            print(f"{database:<11} not run (worker exit status {rc})")
            continue
        for t in timings:
            yield database, t


def exit_status(results: Results[T], failed: Callable[[int, list[T]], bool], reason: str) -> int:
    """1, after a ``FAILED`` line naming the databases for which ``failed(exit status, timings)`` holds and
    ``reason``; 0 when there are none."""
    failed_databases = [db for db, (rc, timings) in results.items() if failed(rc, timings)]
    if failed_databases:
        print(f"FAILED: {', '.join(failed_databases)} ({reason})")
        return 1
    return 0


def run_script(main: Callable[[list[str]], int]) -> None:
    """Exit with ``main(sys.argv[1:])``; 130 on Ctrl-C, without a traceback."""
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
