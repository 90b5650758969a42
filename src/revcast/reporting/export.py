"""Rendering a report result as a terminal table, CSV, Excel or JSON: one path for CLI, UI and API."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table

from revcast.reporting.result import ReportResult, jsonable


def format_cell(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "money":
        return f"{Decimal(value):,.2f}"
    if kind == "percent":
        return f"{value * 100:.1f}%"
    if kind == "integer":
        return f"{value:,}"
    if kind in ("days", "number"):
        return f"{value:,.2f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
    return str(value)


def to_json(result: ReportResult) -> str:
    return json.dumps(result.as_dict(), ensure_ascii=False, indent=2)


def to_csv(result: ReportResult) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.name for c in result.columns])
    for row in result.rows:
        writer.writerow([_csv_cell(v) for v in row])
    return out.getvalue()


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value.quantize(Decimal("0.01")), "f")
    return jsonable(value)


def to_xlsx(result: ReportResult, headers: list[str] | None = None) -> bytes:
    """An Excel workbook of the result. ``headers`` are the column headers for people (the web page passes
    the ones it shows, in the user's language); by default the columns' (English) labels."""
    import xlsxwriter

    if headers is None:
        headers = [c.label for c in result.columns]
    out = io.BytesIO()
    workbook = xlsxwriter.Workbook(out, {"in_memory": True, "default_date_format": "yyyy-mm-dd"})
    sheet = workbook.add_worksheet(str(result.meta.get("report", "report"))[:31])
    bold = workbook.add_format({"bold": True})
    formats = {
        "money": workbook.add_format({"num_format": "#,##0.00"}),
        "percent": workbook.add_format({"num_format": "0.0%"}),
        "integer": workbook.add_format({"num_format": "#,##0"}),
        "days": workbook.add_format({"num_format": "0.00"}),
    }
    for col, label in enumerate(headers):
        sheet.write(0, col, label, bold)
        sheet.set_column(col, col, max(12, len(label) * (1 if label.isascii() else 2) + 2))  # CJK: wide
    for r, row in enumerate(result.rows, start=1):
        for col, (column, value) in enumerate(zip(result.columns, row, strict=True)):
            if value is None:
                continue
            if isinstance(value, Decimal):
                value = float(value)
            sheet.write(r, col, value, formats.get(column.type))
    workbook.close()
    return out.getvalue()


def print_table(result: ReportResult, console: Console) -> None:
    meta = result.meta
    period = ""
    if meta.get("from") or meta.get("to"):
        period = f" {meta.get('from') or '…'} to {meta.get('to') or '…'} ({meta.get('date_field')})"
    table = Table(title=f"{meta.get('title', '')}{period}", title_justify="left")
    for column in result.columns:
        numeric = column.type in ("money", "percent", "integer", "days", "number")
        table.add_column(column.label, justify="right" if numeric else "left")
    for row in result.rows:
        table.add_row(*(format_cell(v, c.type) for v, c in zip(row, result.columns, strict=True)))
    console.print(table)
    totals = meta.get("totals")
    if totals:
        console.print("totals: " + ", ".join(f"{k}={_total(v)}" for k, v in totals.items()))


def _total(value: Any) -> str:
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_total(v)}" for k, v in value.items()) + "}"
    return f"{value:,}" if isinstance(value, int) else str(value)
