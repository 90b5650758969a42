"""Presenting a migration run and its reconciliation: rich tables for people, JSON for automation."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from revcast.dataio.models import ImportRun
from revcast.dataio.report import COUNT_COLUMNS, as_dict


def migration_dict(run: ImportRun, issue_limit: int | None = None) -> dict[str, Any]:
    out = as_dict(run, issue_limit)
    out["kind"] = run.kind
    out["checkpoint"] = {
        name: {"rows": p.get("rows", 0), "done": p.get("done", False)}
        for name, p in (run.checkpoint or {}).get("sources", {}).items()
    }
    out["reconciliation"] = run.reconciliation or None
    return out


def print_migration(run: ImportRun, console: Console, issue_limit: int = 50) -> None:
    title = f"Migration #{run.pk} ({run.mapping_name}) from {run.source}"
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
    total = run.issues.count()
    if total:
        it = Table(
            title=f"{total:,} issue(s)" + (f", first {issue_limit} shown" if total > issue_limit else ""),
            title_justify="left",
        )
        for col in ("severity", "source row", "#", "field", "value", "reason"):
            it.add_column(col, overflow="fold")
        for i in run.issues.all()[:issue_limit]:
            it.add_row(i.severity, i.file, "" if i.row is None else str(i.row), i.field, i.value, i.reason)
        console.print(it)
    if run.reconciliation:
        print_reconciliation(run.reconciliation, console)
    console.print(f"status: [bold]{run.get_status_display()}[/bold] in {run.duration_ms or 0:,} ms")


def print_reconciliation(rec: dict[str, Any], console: Console) -> None:
    verdict = "source and target agree" if rec["ok"] else "MISMATCHES"
    table = Table(
        title=f"Reconciliation of run #{rec['run']} ({rec['mapping']}): {verdict}", title_justify="left"
    )
    for col in ("source", "object", "rows", "rejected", "source count", "target count", "missing", "extra",
                "amount diffs", "sample equal", "ok"):
        table.add_column(col, justify="left" if col in ("source", "object") else "right")
    for o in rec["objects"]:
        table.add_row(
            o["source"], o["object"], f"{o['source_rows']:,}", f"{o['source_rejected']:,}",
            f"{o['source_count']:,}", f"{o['target_count']:,}", f"{o['missing']['count']:,}",
            f"{o['extra']['count']:,}", f"{o['amount_differences']['count']:,}",
            f"{o['sample_equal']}/{len(o['sample'])}", "yes" if o["ok"] else "NO",
        )
    console.print(table)
    sums = Table(title="Sums of amounts (after the mapping's transformations)", title_justify="left")
    for col in ("source", "field", "source sum", "target sum", "difference"):
        sums.add_column(col, justify="left" if col in ("source", "field") else "right")
    for o in rec["objects"]:
        for name, s in o["sums"].items():
            sums.add_row(o["source"], name, s["source"], s["target"], s["difference"])
    if sums.row_count:
        console.print(sums)
    for o in rec["objects"]:
        for what in ("missing", "extra"):
            if o[what]["count"]:
                console.print(f"  {o['source']}: {o[what]['count']:,} {what} key(s), e.g. {', '.join(o[what]['examples'])}")
        for d in o["amount_differences"]["examples"]:
            console.print(f"  {o['source']}: {d['key']} {d['field']}: source {d['source']}, target {d['target']}")
        for s in o["sample"]:
            if not s["equal"]:
                diffs = [f"{f['field']}: {f['source']!r} ≠ {f['target']!r}" for f in s["fields"] if not f["equal"]]
                console.print(f"  {o['source']}: sample {s['key']}: " + ("; ".join(diffs) or "not found"))
    console.print(f"  sample: {rec['sample_size']} per object, seed {rec['seed']}")
