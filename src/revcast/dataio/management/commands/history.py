"""revcast history [--runs|--changes] [--limit N] --format table|json"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandParser
from rich.console import Console
from rich.table import Table

from revcast.dataio import history


def _counts(counts: dict) -> str:
    parts = []
    for label, c in counts.items():
        if "created" in c and "read" not in c:
            bits = [f"{k} {v}" for k, v in c.items() if v]
            if bits:
                parts.append(f"{label.split('.')[-1]}: {', '.join(bits)}")
        elif isinstance(c, dict):
            parts.append(f"{label}: " + ", ".join(f"{k} {c.get(k, 0)}" for k in ("created", "updated", "unchanged")))
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
                r["source"], str(r["changeset"] or "-"), str(r["rolled_back_by"] or "-"), _counts(r["counts"]),
            )
        console.print(table)
        table = Table(title="Change sets")
        for col in ("id", "kind", "when", "by", "state", "summary", "rows"):
            table.add_column(col)
        for c in changes:
            table.add_row(
                str(c["id"]), c["kind"], c["created_at"][:19], c["user"] or "-", c["state"], c["summary"],
                _counts(c["counts"]),
            )
        console.print(table)
