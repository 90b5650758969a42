"""Import throughput of the Maven CRM data set on SQLite and on PostgreSQL.

Run plainly (``.venv/bin/python bench/import_maven.py``) it benchmarks a fresh SQLite database in a temp
dir, then a throwaway PostgreSQL server (through scripts/with_postgres.py), each in a child process
started with ``--worker``. A worker migrates its (clean) database and times three imports of the data:
the first import (every row created), a re-run (every row unchanged) and a dry run. Wall-clock times are
reported, never asserted: the exit status is non-zero only when an import does not succeed (or a worker
cannot run at all).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = str(Path(__file__).resolve().parent)
if BENCH not in sys.path:  # run as a file from anywhere: the shared harness is in bench/
    sys.path.insert(0, BENCH)

import harness  # noqa: E402
from harness import DATA, MAPPING, ROOT  # noqa: E402

TARGET_SECONDS = 10.0


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
    if not harness.setup_django("import_maven"):
        return 2
    from revcast.dataio.mapping import load
    from revcast.dataio.models import ImportRun
    from revcast.dataio.runner import run_import
    from revcast.pipeline.models import Opportunity

    migrate_s = harness.migrate_clean_database(label)
    if migrate_s is None:
        return 2
    print(f"[{label}] {harness.server_version()}; migrate {migrate_s:.2f} s; data {DATA.relative_to(ROOT)}",
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
    harness.save_results(result_file, timings)
    return 0 if all(t.status == ImportRun.Status.SUCCEEDED for t in timings) else 1


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


def print_summary(results: harness.Results[Timing]) -> None:
    print()
    print(f"Summary: Maven CRM import ({DATA.relative_to(ROOT)}), "
          f"target: each run under {TARGET_SECONDS:.0f} s")
    for database, t in harness.summary_timings(results):
        verdict = "met" if t.seconds < TARGET_SECONDS else "MISSED"
        print(f"{database:<11} {t.run:<12}  {t.read:>6,} rows  {t.seconds:6.2f} s"
              f"  {t.rows_per_s:>7,.0f} rows/s  {t.status:<9}"
              f"  (target: under {TARGET_SECONDS:.0f} s: {verdict})")


def main(argv: list[str]) -> int:
    parser = harness.argument_parser(__doc__)
    harness.add_worker_arguments(parser)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.label, args.result_file)

    results = harness.run_workers(Path(__file__), Timing)
    print_summary(results)
    return harness.exit_status(
        results,
        lambda rc, timings: rc != 0 or len(timings) != 3 or any(t.status != "succeeded" for t in timings),
        "an import did not succeed or the benchmark could not run",
    )


if __name__ == "__main__":
    harness.run_script(main)
