"""Report latency on the Maven CRM data set, on SQLite and on PostgreSQL.

Run plainly (``.venv/bin/python bench/reports.py``) it benchmarks a fresh SQLite database in a temp dir,
then a throwaway PostgreSQL server (through scripts/with_postgres.py), each in a child process started
with ``--worker``. A worker migrates its clean database, imports the Maven data, then runs every report
of the registry with its defaults, a few realistic variants, and each report as the manager
``melvin.marxen``: one warm-up run, then N timed runs (20 by default), printing min / median / p95 in
milliseconds. The target is each report under 100 ms on this data; it is reported, never asserted.
The exit status is non-zero only when a worker cannot run (a database cannot be set up, the import
fails, or a report raises).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WITH_POSTGRES = ROOT / "scripts" / "with_postgres.py"
DATA = ROOT / "src" / "revcast" / "demo_data" / "maven_crm"
MAPPING = ROOT / "mappings" / "maven_crm.yaml"
TARGET_MS = 100.0
AS_USER = "melvin.marxen"
DATABASES = ("sqlite", "postgresql")


@dataclass
class Case:
    label: str
    report: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    as_user: bool = False


@dataclass
class Timing:
    label: str
    rows: int
    runs_ms: list[float]

    @property
    def min_ms(self) -> float:
        return min(self.runs_ms)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.runs_ms)

    @property
    def p95_ms(self) -> float:
        """Nearest-rank 95th percentile: of 20 runs, the 19th fastest."""
        ordered = sorted(self.runs_ms)
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def cases(report_names: Sequence[str]) -> list[Case]:
    variants = [
        Case("bookings --by quarter, 2017", "bookings",
             {"by": ["quarter"], "date_from": "2017-01-01", "date_to": "2017-12-31"}),
        Case("win-rate --by owner", "win-rate", {"by": ["owner"]}),
        Case("pipeline --by owner,stage", "pipeline", {"by": ["owner", "stage"]}),
        Case("funnel --by region", "funnel", {"by": ["region"]}),
        Case("sales-cycle --by region", "sales-cycle", {"by": ["region"]}),
    ]
    return [
        *(Case(f"{name} (defaults)", name) for name in report_names),
        *variants,
        *(Case(f"{name} as {AS_USER}", name, as_user=True) for name in report_names),
    ]


# ---------------------------------------------------------------------------------------------- worker


def worker(label: str, runs: int, result_file: Path | None) -> int:
    """Migrate the clean database DATABASE_URL names, import the Maven data, then time the reports."""
    if not os.environ.get("DATABASE_URL"):
        print("reports --worker: DATABASE_URL is not set; refusing to touch the default database",
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
    from revcast.org.models import User
    from revcast.pipeline.models import Opportunity
    from revcast.reporting.registry import REPORTS, run_report

    call_command("migrate", verbosity=0)
    if Opportunity.objects.exists() or ImportRun.objects.exists():
        print(f"{label}: the database is not empty; the benchmark needs a clean one", file=sys.stderr)
        return 2
    started = time.perf_counter()
    run = run_import(DATA, load(MAPPING))
    import_s = time.perf_counter() - started
    print(f"[{label}] {server_version()}; Maven data imported in {import_s:.2f} s ({run.status}, "
          f"{Opportunity.objects.count():,} opportunities)", flush=True)
    if run.status != ImportRun.Status.SUCCEEDED:
        print(f"[{label}] the import did not succeed; no reports timed", file=sys.stderr)
        return 1
    user = User.objects.filter(username=AS_USER).first()
    if user is None:
        print(f"[{label}] no user {AS_USER!r} after the import", file=sys.stderr)
        return 1

    print(f"[{label}] 1 warm-up + {runs} timed runs per report; target: each under {TARGET_MS:.0f} ms",
          flush=True)
    print(f"[{label}] {'report':<32} {'rows':>5} {'min ms':>8} {'median':>8} {'p95':>8}", flush=True)
    timings: list[Timing] = []
    for case in cases(list(REPORTS)):
        kwargs = {**case.kwargs, **({"user": user} if case.as_user else {})}
        result = run_report(case.report, **kwargs)  # warm-up
        runs_ms = []
        for _ in range(runs):
            started = time.perf_counter()
            run_report(case.report, **kwargs)
            runs_ms.append((time.perf_counter() - started) * 1000)
        t = Timing(case.label, len(result.rows), runs_ms)
        timings.append(t)
        print(f"[{label}] {t.label:<32} {t.rows:>5} {t.min_ms:>8.1f} {t.median_ms:>8.1f} {t.p95_ms:>8.1f}"
              f"{'' if t.p95_ms < TARGET_MS else '  (p95 over target)'}", flush=True)
    if result_file is not None:
        result_file.write_text(json.dumps([asdict(t) for t in timings]))
    return 0


def server_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("select 'SQLite ' || sqlite_version()")
        else:
            cursor.execute("show server_version")
        row = cursor.fetchone()
    return f"{'PostgreSQL ' if connection.vendor == 'postgresql' else ''}{row[0]}"


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


def bench_database(database: str, runs: int, tmp: Path) -> tuple[int, list[Timing]]:
    result_file = tmp / f"{database}.json"
    worker_cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--label", database,
                  "--runs", str(runs), "--result-file", str(result_file)]
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    if database == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
        rc = run_child(worker_cmd, env)
    else:  # no DATABASE_URL: with_postgres starts a fresh throwaway server and removes it afterwards
        rc = run_child([sys.executable, str(WITH_POSTGRES), "--", *worker_cmd], env)
    timings = [Timing(**t) for t in json.loads(result_file.read_text())] if result_file.exists() else []
    return rc, timings


def print_summary(results: dict[str, tuple[int, list[Timing]]], runs: int) -> None:
    print()
    print(f"Summary: report latency in ms on the Maven data (min / median / p95 of {runs} runs after "
          f"1 warm-up), target: each under {TARGET_MS:.0f} ms")
    print(f"{'database':<11} {'report':<32} {'min':>7} {'median':>7} {'p95':>7}  target")
    for database in DATABASES:
        rc, timings = results[database]
        if not timings:
            print(f"{database:<11} not run (worker exit status {rc})")
            continue
        for t in timings:
            verdict = "met" if t.p95_ms < TARGET_MS else "MISSED"
            print(f"{database:<11} {t.label:<32} {t.min_ms:>7.1f} {t.median_ms:>7.1f} {t.p95_ms:>7.1f}"
                  f"  under {TARGET_MS:.0f} ms: {verdict}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20, help="timed runs per report (default 20)")
    parser.add_argument("--worker", action="store_true", help="internal: benchmark the DATABASE_URL given")
    parser.add_argument("--label", default="database", help=argparse.SUPPRESS)
    parser.add_argument("--result-file", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.worker:
        return worker(args.label, args.runs, args.result_file)

    signal.signal(signal.SIGTERM, raise_on_sigterm)  # so that the temp dir is removed on SIGTERM too
    results: dict[str, tuple[int, list[Timing]]] = {}
    with tempfile.TemporaryDirectory(prefix="revcast-bench-") as tmp:
        for database in DATABASES:
            print(f"== {database}", flush=True)
            results[database] = bench_database(database, args.runs, Path(tmp))
    print_summary(results, args.runs)
    failed = [db for db, (rc, timings) in results.items() if rc != 0 or not timings]
    if failed:
        print(f"FAILED: {', '.join(failed)} (the benchmark could not run)")
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
