"""Helpers for the dataio tests: the raw Maven CSV files read with the csv module, copies to damage, snapshots.

Expectations are computed here from the raw files, never from revcast's tables or code.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

MAVEN_DIR = Path(__file__).resolve().parents[2] / "src" / "revcast" / "demo_data" / "maven_crm"
MAVEN_FILES = ("sales_teams.csv", "products.csv", "accounts.csv", "sales_pipeline.csv")


@cache
def _raw(name: str) -> tuple[tuple[str, ...], tuple[dict[str, str], ...]]:
    with (MAVEN_DIR / name).open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return tuple(reader.fieldnames or ()), tuple(dict(r) for r in reader)


def raw_rows(name: str) -> list[dict[str, str]]:
    """The data rows of one raw Maven file, as dicts of strings (fresh copies)."""
    return [dict(r) for r in _raw(name)[1]]


def raw_header(name: str) -> list[str]:
    return list(_raw(name)[0])


def write_csv(
    path: Path, header: list[str], rows: list[dict[str, str]] | list[list[str]], encoding: str = "utf-8"
) -> None:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf)  # "\r\n" line ends, as the Maven files
    writer.writerow(header)
    for row in rows:
        writer.writerow([row[h] for h in header] if isinstance(row, dict) else row)
    path.write_bytes(buf.getvalue().encode(encoding))


def pipeline_row(**values: str) -> dict[str, str]:
    """A new sales_pipeline.csv row: ``values``, every other column empty."""
    row = dict.fromkeys(raw_header("sales_pipeline.csv"), "")
    row.update(values)
    return row


def write_pipeline(
    folder: Path,
    change: Callable[[list[dict[str, str]]], object] | None = None,
    extra: Iterable[dict[str, str]] = (),
) -> list[dict[str, str]]:
    """Write sales_pipeline.csv into ``folder``: the raw rows after ``change(rows)``, then ``extra``; returns
    the rows written."""
    rows = raw_rows("sales_pipeline.csv")
    if change:
        change(rows)
    rows.extend(extra)
    write_csv(folder / "sales_pipeline.csv", raw_header("sales_pipeline.csv"), rows)
    return rows


def username(full_name: str) -> str:
    """'Darcel Schlecht' -> 'darcel.schlecht' (first.last, lower case)."""
    parts = full_name.split()
    return f"{parts[0]}.{parts[-1]}".lower()


def write_mapping_copy(tmp_path: Path, mapping_path: Path, change) -> Path:
    """A copy of the mapping YAML after ``change(data)`` edited the parsed document."""
    data = yaml.safe_load(mapping_path.read_text(encoding="utf-8"))
    change(data)
    out = tmp_path / "mapping_copy.yaml"
    out.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return out


def source_of(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in data["sources"] if s["name"] == name)


def db_snapshot() -> dict[str, Any]:
    """Everything an import can write, to prove a run changed nothing."""
    from revcast.customers.models import Account
    from revcast.org.models import Region, Team, User
    from revcast.pipeline.models import Opportunity, OpportunityFieldHistory, Product, Stage

    def rows(model) -> dict[Any, tuple]:
        names = [f.attname for f in model._meta.concrete_fields]
        return {r[0]: r for r in model.objects.order_by("pk").values_list(*names)}

    return {
        "opportunity": rows(Opportunity),
        "account": rows(Account),
        "product": rows(Product),
        "stage": rows(Stage),
        "user": rows(User),
        "team": rows(Team),
        "region": rows(Region),
        "history": OpportunityFieldHistory.objects.count(),
    }


def import_with_pipeline(
    folder: Path,
    mapping: Any,
    change: Callable[[list[dict[str, str]]], object] | None = None,
    extra: Iterable[dict[str, str]] = (),
) -> tuple[dict[str, Any], Any]:
    """Write the pipeline file (see write_pipeline), then import ``folder`` with ``mapping``; the database
    snapshot taken just before the import, and the run."""
    from revcast.dataio.runner import run_import

    write_pipeline(folder, change, extra)
    before = db_snapshot()
    return before, run_import(folder, mapping)


def source_counts(counts: dict[str, Any], name: str) -> tuple[int, int, int, int, int]:
    """Rows read, created, updated, unchanged and rejected of one source in a run's counts."""
    c = counts[name]
    return c["read"], c["created"], c["updated"], c["unchanged"], c["rejected"]


def stored_by(model: Any, key: str, *fields: str) -> dict[Any, tuple[Any, ...]]:
    """Every stored row of ``model`` as ``{key: (fields...)}`` (field names as for ``values_list``)."""
    return {row[0]: row[1:] for row in model.objects.values_list(key, *fields)}


def issues_of(run) -> list[dict[str, Any]]:
    return list(run.issues.values("severity", "object", "file", "row", "field", "value", "reason"))


def _migrate(url: str, mapping: Path, *extra: str, code: int = 3) -> dict:
    """`revcast migrate` from ``url`` with ``mapping`` (JSON report, no backup), in process: its report, after
    checking its exit code (3: partial, as the legacy CRM has three bad status codes)."""
    from django.core.management import call_command

    out = io.StringIO()
    with pytest.raises(SystemExit) as exc:
        call_command("migrate", "--source", url, "--mapping", str(mapping), "--no-backup", "--format", "json",
                     *extra, stdout=out)
    assert exc.value.code == code, out.getvalue()[-2000:]
    return json.loads(out.getvalue())
