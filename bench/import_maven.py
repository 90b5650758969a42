"""Import throughput of the Maven CRM data set on SQLite and on PostgreSQL.

Run plainly (``.venv/bin/python bench/import_maven.py``) it benchmarks a fresh SQLite database in a temp
dir, then a throwaway PostgreSQL server (through scripts/with_postgres.py), each in a child process
started with ``--worker``. A worker migrates its (clean) database and times three imports of the data:
the first import (every row created), a re-run (every row unchanged) and a dry run. Wall-clock times are
reported, never asserted: the exit status is non-zero only when an import does not succeed (or a worker
cannot run at all).
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
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WITH_POSTGRES = ROOT / "scripts" / "with_postgres.py"
DATA = ROOT / "src" / "revcast" / "demo_data" / "maven_crm"
MAPPING = ROOT / "mappings" / "maven_crm.yaml"
TARGET_SECONDS = 10.0
DATABASES = ("sqlite", "postgresql")


@dataclass
class Timing:
    database: str
    run: str
    seconds: float
    status: str
    read: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    issues: int

    @property
    def rows_per_s(self) -> float:
        return self.read / self.seconds if self.seconds else 0.0


def _sum(counts: dict[str, dict[str, Any]], key: str) -> int:
    return sum(int(c.get(key, 0) or 0) for c in counts.values())


# ---------------------------------------------------------------------------------------------- worker


def worker(label: str, result_file: Path | None) -> int:
    """Migrate the clean database DATABASE_URL names, then time the three imports."""
    if not os.environ.get("DATABASE_URL"):
        print("import_maven --worker: DATABASE_URL is not set; refusing to touch the default database",
              file=sys.stderr)
        return 2
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "revcast.settings")
    os.environ["REVCAST_DEBUG"] = "false"  # no query log growing during the runs
    import django

    django.setup()
    from django.core.management import call_command

    from revcast.dataio.mapping import load
    from revcast.dataio.models import ImportRun
    from revcast.dataio.runner import run_import
    from revcast.pipeline.models import Opportunity

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    migrate_s = time.perf_counter() - started
    if Opportunity.objects.exists() or ImportRun.objects.exists():
        print(f"{label}: the database is not empty; the benchmark needs a clean one", file=sys.stderr)
        return 2
    print(f"[{label}] {server_version()}; migrate {migrate_s:.2f} s; data {DATA.relative_to(ROOT)}",
          flush=True)

    mapping = load(MAPPING)
    timings: list[Timing] = []
    for run_name, dry_run in (("first import", False), ("re-run", False), ("dry run", True)):
        started = time.perf_counter()
        run = run_import(DATA, mapping, dry_run=dry_run)
        seconds = time.perf_counter() - started
        counts: dict[str, dict[str, Any]] = run.counts
        t = Timing(
            database=label, run=run_name, seconds=seconds, status=run.status,
            read=_sum(counts, "read"), created=_sum(counts, "created"), updated=_sum(counts, "updated"),
            unchanged=_sum(counts, "unchanged"), rejected=_sum(counts, "rejected"), issues=run.issues.count(),
        )
        timings.append(t)
        print(f"[{label}] {run_name:<12}  {t.seconds:6.2f} s  {t.read:>6,} rows read"
              f"  {t.rows_per_s:>7,.0f} rows/s  status {t.status}", flush=True)
        per_source = ", ".join(
            f"{name} {c.get('read', 0)}/{c.get('created', 0)}/{c.get('updated', 0)}/{c.get('unchanged', 0)}"
            f"/{c.get('rejected', 0)}" for name, c in counts.items()
        )
        print(f"[{label}]   read/created/updated/unchanged/rejected per source: {per_source}", flush=True)
        print(f"[{label}]   check: {sanity(run_name, t)}", flush=True)
    print(f"[{label}] database afterwards: {Opportunity.objects.count():,} opportunities", flush=True)
    if result_file is not None:
        result_file.write_text(json.dumps([asdict(t) for t in timings]))
    return 0 if all(t.status == ImportRun.Status.SUCCEEDED for t in timings) else 1


def server_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("select 'SQLite ' || sqlite_version()")
        else:
            cursor.execute("show server_version")
        row = cursor.fetchone()
    return f"{'PostgreSQL ' if connection.vendor == 'postgresql' else ''}{row[0]}"


def sanity(run_name: str, t: Timing) -> str:
    """What the totals say about the run, against what it should be; printed, never asserted."""
    totals = (f"created {t.created:,}, updated {t.updated:,}, unchanged {t.unchanged:,}, "
              f"rejected {t.rejected:,}, issues {t.issues:,}")
    if run_name == "first import":
        ok = t.updated == 0 and t.unchanged == 0 and t.rejected == 0 and t.created > 0
        expect = "everything created"
    else:  # the re-run, and the dry run after it, find every row as it is
        ok = t.created == 0 and t.updated == 0 and t.rejected == 0 and t.unchanged > 0
        expect = "everything unchanged"
    return f"{totals} -> {'as expected' if ok else 'NOT as expected'} ({expect})"


# ---------------------------------------------------------------------------------------------- driver


def raise_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def run_child(cmd: Sequence[str], env: dict[str, str]) -> int:
    """Run ``cmd``; on SIGTERM or an error here, stop it and let it clean up (with_postgres stops its
    server and removes its temp dir)."""
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


def bench_database(database: str, tmp: Path) -> tuple[int, list[Timing]]:
    result_file = tmp / f"{database}.json"
    worker_cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--label", database,
                  "--result-file", str(result_file)]
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    if database == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
        rc = run_child(worker_cmd, env)
    else:  # no DATABASE_URL: with_postgres starts a fresh throwaway server and removes it afterwards
        rc = run_child([sys.executable, str(WITH_POSTGRES), "--", *worker_cmd], env)
    timings = [Timing(**t) for t in json.loads(result_file.read_text())] if result_file.exists() else []
    return rc, timings


def print_summary(results: dict[str, tuple[int, list[Timing]]]) -> None:
    print()
    print(f"Summary: Maven CRM import ({DATA.relative_to(ROOT)}), "
          f"target: each run under {TARGET_SECONDS:.0f} s")
    for database in DATABASES:
        rc, timings = results[database]
        if not timings:
            print(f"{database:<11} not run (worker exit status {rc})")
            continue
        for t in timings:
            verdict = "met" if t.seconds < TARGET_SECONDS else "MISSED"
            print(f"{database:<11} {t.run:<12}  {t.read:>6,} rows  {t.seconds:6.2f} s"
                  f"  {t.rows_per_s:>7,.0f} rows/s  {t.status:<9}"
                  f"  (target: under {TARGET_SECONDS:.0f} s: {verdict})")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", action="store_true", help="internal: benchmark the DATABASE_URL given")
    parser.add_argument("--label", default="database", help=argparse.SUPPRESS)
    parser.add_argument("--result-file", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.label, args.result_file)

    signal.signal(signal.SIGTERM, raise_on_sigterm)  # so that the temp dir is removed on SIGTERM too
    results: dict[str, tuple[int, list[Timing]]] = {}
    with tempfile.TemporaryDirectory(prefix="revcast-bench-") as tmp:
        for database in DATABASES:
            print(f"== {database}", flush=True)
            results[database] = bench_database(database, Path(tmp))
    print_summary(results)
    failed = [db for db, (rc, timings) in results.items()
              if rc != 0 or len(timings) != 3 or any(t.status != "succeeded" for t in timings)]
    if failed:
        print(f"FAILED: {', '.join(failed)} (an import did not succeed or the benchmark could not run)")
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
