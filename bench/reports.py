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

import math
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = str(Path(__file__).resolve().parent)
if BENCH not in sys.path:  # run as a file from anywhere: the shared harness is in bench/
    sys.path.insert(0, BENCH)

import harness  # noqa: E402
from harness import DATA, MAPPING  # noqa: E402

TARGET_MS = 100.0
AS_USER = "melvin.marxen"


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
    if not harness.setup_django("reports"):
        return 2
    from revcast.dataio.mapping import load
    from revcast.dataio.models import ImportRun
    from revcast.dataio.runner import run_import
    from revcast.org.models import User
    from revcast.pipeline.models import Opportunity
    from revcast.reporting.registry import REPORTS, run_report

    if harness.migrate_clean_database(label) is None:
        return 2
    started = time.perf_counter()
    run = run_import(DATA, load(MAPPING))
    import_s = time.perf_counter() - started
    print(f"[{label}] {harness.server_version()}; Maven data imported in {import_s:.2f} s ({run.status}, "
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
    harness.save_results(result_file, timings)
    return 0


# ---------------------------------------------------------------------------------------------- driver


def print_summary(results: harness.Results[Timing], runs: int) -> None:
    print()
    print(f"Summary: report latency in ms on the Maven data (min / median / p95 of {runs} runs after "
          f"1 warm-up), target: each under {TARGET_MS:.0f} ms")
    print(f"{'database':<11} {'report':<32} {'min':>7} {'median':>7} {'p95':>7}  target")
    for database, t in harness.summary_timings(results):
        verdict = "met" if t.p95_ms < TARGET_MS else "MISSED"
        print(f"{database:<11} {t.label:<32} {t.min_ms:>7.1f} {t.median_ms:>7.1f} {t.p95_ms:>7.1f}"
              f"  under {TARGET_MS:.0f} ms: {verdict}")


def main(argv: list[str]) -> int:
    parser = harness.argument_parser(__doc__)
    parser.add_argument("--runs", type=int, default=20, help="timed runs per report (default 20)")
    harness.add_worker_arguments(parser)
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.worker:
        return worker(args.label, args.runs, args.result_file)

    results = harness.run_workers(Path(__file__), Timing, ["--runs", str(args.runs)])
    print_summary(results, args.runs)
    return harness.exit_status(
        results, lambda rc, timings: rc != 0 or not timings, "the benchmark could not run"
    )


if __name__ == "__main__":
    harness.run_script(main)
