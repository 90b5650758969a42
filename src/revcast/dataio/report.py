"""Presenting an import run: as rich tables for people, as JSON for automation."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from revcast.dataio.models import ImportRun

COUNT_COLUMNS = ("read", "created", "updated", "unchanged", "rejected")
# Exit code of `revcast import` and `revcast migrate` per run status.
EXIT_CODES = {ImportRun.Status.SUCCEEDED: 0, ImportRun.Status.FAILED: 1, ImportRun.Status.PARTIAL: 3}


def as_dict(run: ImportRun, issue_limit: int | None = None) -> dict[str, Any]:
    issues = run.issues.all()
    total = issues.count()
    shown = issues[:issue_limit] if issue_limit else issues
    return {
        "run": run.pk,
        "status": run.status,
        "dry_run": run.dry_run,
        "source": run.source,
        "mapping": run.mapping_name,
        "duration_ms": run.duration_ms,
        "counts": run.counts,
        "notes": run.notes,
        "issue_count": total,
        "issues": [
            {
                "severity": i.severity,
                "object": i.object,
                "file": i.file,
                "row": i.row,
                "field": i.field,
                "value": i.value,
                "reason": i.reason,
            }
            for i in shown
        ],
    }


def print_run(
    run: ImportRun,
    console: Console,
    issue_limit: int = 50,
    *,
    title: str | None = None,
    where: tuple[str, str] = ("file", "row"),
    extra: Callable[[], None] | None = None,
) -> None:
    """The run's counts per source, its notes and issues, ``extra`` (e.g. a migration's reconciliation),
    then its status. ``where`` names the columns that locate an issue (file and line, or source and row)."""
    if title is None:
        title = f"Import #{run.pk} ({run.mapping_name})"
    if run.dry_run:
        title += " — DRY RUN, nothing was written"
    table = Table(title=title, title_justify="left")
    table.add_column("source")
    table.add_column("object")
    for name in COUNT_COLUMNS:
        table.add_column(name, justify="right")
    for source, counts in run.counts.items():
        table.add_row(source, counts.get("object", ""), *(f"{counts.get(n, 0):,}" for n in COUNT_COLUMNS))
    console.print(table)
    for note in run.notes:
        console.print(f"  note: {note}")
    issues = list(run.issues.all()[: issue_limit + 1])
    total = run.issues.count()
    if issues:
        it = Table(
            title=f"{total:,} issue(s)" + (f", first {issue_limit} shown" if total > issue_limit else ""),
            title_justify="left",
        )
        for col in ("severity", *where, "field", "value", "reason"):
            it.add_column(col, overflow="fold")
        for i in issues[:issue_limit]:
            it.add_row(i.severity, i.file, "" if i.row is None else str(i.row), i.field, i.value, i.reason)
        console.print(it)
    if extra is not None:
        extra()
    console.print(f"status: [bold]{run.get_status_display()}[/bold] in {run.duration_ms or 0:,} ms")


def write_issues_csv(run: ImportRun, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh)
        writer.writerow(["severity", "object", "file", "row", "field", "value", "reason"])
        for i in run.issues.all():
            writer.writerow([i.severity, i.object, i.file, i.row, i.field, i.value, i.reason])
