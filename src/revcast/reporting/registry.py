"""The reports revcast knows, by name, and the one entry point that runs them."""

from __future__ import annotations

from typing import Any

from revcast.reporting.params import ReportError, ReportParams
from revcast.reporting.result import ReportResult
from revcast.reporting.runners.base import ReportRunner
from revcast.reporting.runners.bookings import BookingsReport
from revcast.reporting.runners.forecast_calls import AccuracyReport, RollupReport, SubmissionsReport
from revcast.reporting.runners.funnel import FunnelReport
from revcast.reporting.runners.pipeline import PipelineReport
from revcast.reporting.runners.pipeline_changes import PipelineChangesDealsReport, PipelineChangesReport
from revcast.reporting.runners.sales_cycle import SalesCycleReport
from revcast.reporting.runners.slipped import SlippedDealsReport
from revcast.reporting.runners.win_rate import WinRateReport

REPORTS: dict[str, type[ReportRunner]] = {
    r.name: r
    for r in (
        PipelineReport, FunnelReport, WinRateReport, BookingsReport, SalesCycleReport,
        PipelineChangesReport, PipelineChangesDealsReport, SlippedDealsReport,
        SubmissionsReport, RollupReport, AccuracyReport,
    )
}


def run_report(name: str, params: ReportParams | None = None, **kwargs: Any) -> ReportResult:
    """Run report ``name``; ``kwargs`` are ReportParams.parse arguments when no params are given."""
    runner = REPORTS.get(name)
    if runner is None:
        raise ReportError(f"unknown report {name!r}; reports: {', '.join(REPORTS)}")
    return runner(params or ReportParams.parse(**kwargs)).run()
