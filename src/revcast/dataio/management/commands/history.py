"""revcast history [--limit N] --format table|json"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandParser
from rich.console import Console
from rich.table import Table

from revcast.dataio import history


def _run_counts(counts: dict) -> str:
    """A run's counts per source: created, updated, unchanged."""
    return "; ".join(
        f"{name}: " + ", ".join(f"{k} {c.get(k, 0)}" for k in ("created", "updated", "unchanged"))
        for name, c in counts.items()
        if isinstance(c, dict)
    )


def _changeset_counts(counts: dict) -> str:
    """A change set's counts per model, the non-zero ones."""
    parts = []
    for label, c in counts.items():
        bits = [f"{k} {v}" for k, v in c.items() if v]
        if bits:
            parts.append(f"{label.split('.')[-1]}: {', '.join(bits)}")
    return "; ".join(parts)


class Command(BaseCommand):
    help = "List import and migration runs and the journal of change sets (standardise, merge, rollback, undo)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=20)
        parser.add_argument("--format", choices=["table", "json"], default="table")

    def handle(self, *args, **options) -> None:
        limit = options["limit"]
        runs = [history.run_dict(r) for r in history.runs()[:limit]]
        changes = [history.changeset_dict(c) for c in history.changesets()[:limit]]
        if options["format"] == "json":
            self.stdout.write(json.dumps({"runs": runs, "changesets": changes}, ensure_ascii=False, indent=2))
            return
        console = Console(file=self.stdout, width=180)
        table = Table(title="Import and migration runs")
        for col in ("run", "kind", "status", "started", "source", "change set", "rolled back by", "counts"):
            table.add_column(col)
        for r in runs:
            table.add_row(
                str(r["id"]), r["kind"], r["status"] + (" (dry run)" if r["dry_run"] else ""), r["started_at"][:19],
                r["source"], str(r["changeset"] or "-"), str(r["rolled_back_by"] or "-"), _run_counts(r["counts"]),
            )
        console.print(table)
        table = Table(title="Change sets")
        for col in ("id", "kind", "when", "by", "state", "summary", "rows"):
            table.add_column(col)
        for c in changes:
            table.add_row(
                str(c["id"]), c["kind"], c["created_at"][:19], c["user"] or "-", c["state"], c["summary"],
                _changeset_counts(c["counts"]),
            )
        console.print(table)
