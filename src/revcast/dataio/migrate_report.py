"""Presenting a migration run and its reconciliation: rich tables for people, JSON for automation."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from revcast.dataio.models import ImportRun
from revcast.dataio.report import as_dict, print_run


def migration_dict(run: ImportRun, issue_limit: int | None = None) -> dict[str, Any]:
    out = as_dict(run, issue_limit)
    out["kind"] = run.kind
    out["checkpoint"] = {
        name: {"rows": _rows_done(p), "done": p.get("done", False)}
        for name, p in (run.checkpoint or {}).get("sources", {}).items()
    }
    out["reconciliation"] = run.reconciliation or None
    return out


def _rows_done(progress: dict[str, Any]) -> int:
    """Source rows committed: by the one loader, or by all the key ranges' loaders (dataio.parallel)."""
    if "parts" in progress and not progress.get("done"):
        return sum(part.get("rows", 0) for part in progress["parts"])
    return int(progress.get("rows", 0))


def print_migration(run: ImportRun, console: Console, issue_limit: int = 50) -> None:
    reconciliation = run.reconciliation
    print_run(
        run, console, issue_limit,
        title=f"Migration #{run.pk} ({run.mapping_name}) from {run.source}",
        where=("source row", "#"),
        extra=(lambda: print_reconciliation(reconciliation, console)) if reconciliation else None,
    )


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
