"""Presenting an assessment: a rich table for people, HTML (the web page's body, standalone), offending CSV."""

from __future__ import annotations

import csv
from typing import IO, Any

from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from rich.console import Console
from rich.table import Table

from revcast.dataio.quality.engine import Assessment, Finding
from revcast.dataio.quality.rules import DIMENSIONS
from revcast.dataio.quality.values import is_empty

DIMENSION_LABELS = {
    "completeness": _("Completeness"),
    "validity": _("Validity"),
    "consistency": _("Consistency"),
    "uniqueness": _("Uniqueness"),
    "referential_integrity": _("Referential integrity"),
    "staleness": _("Staleness"),
}
OBJECT_LABELS = {
    "sales_team": pgettext_lazy("data object", "Sales team"),
    "product": pgettext_lazy("data object", "Products"),
    "account": pgettext_lazy("data object", "Accounts"),
    "contact": pgettext_lazy("data object", "Contacts"),
    "opportunity": pgettext_lazy("data object", "Opportunities"),
    "activity": pgettext_lazy("data object", "Activities"),
}
SHORT = {"referential_integrity": "references"}


def percent(tally: dict[str, Any]) -> str:
    return "–" if tally["score"] is None else f"{100 * tally['score']:.1f}%"


def example_text(example: dict[str, Any]) -> str:
    """'accounts.csv:2 Acme Corporation = technolgy' or '#36 Hottechi = Korea'."""
    where = f"{example['file']}:{example['line']}" if "file" in example else f"#{example.get('pk', '')}"
    record = example.get("record") or example.get("external_id") or ""
    text = f"{where} {record}".strip()
    if "value" in example and str(example["value"]) != str(record):
        text += f" = {example['value']}"
    if "reason" in example:
        text += f" ({example['reason']})"
    return text


def print_table(assessment: Assessment, console: Console) -> None:
    scores = assessment.scores()
    title = f"Data quality of {assessment.dataset.description} (as of {assessment.as_of.isoformat()})"
    table = Table(title=title, title_justify="left")
    table.add_column("object")
    table.add_column("records", justify="right")
    for dim in DIMENSIONS:
        table.add_column(SHORT.get(dim, dim), justify="right")
    table.add_column("overall", justify="right")
    records = assessment.records()
    for obj in assessment.objects:
        cells = scores["objects"][obj]
        table.add_row(
            obj,
            f"{records[obj]:,}",
            *(percent(cells["dimensions"][d]) for d in DIMENSIONS),
            percent(cells["overall"]),
        )
    table.add_row(
        "all",
        "",
        *(percent(scores["dimensions"][d]) for d in DIMENSIONS),
        percent(scores["overall"]),
        style="bold",
    )
    console.print(table)
    for note in assessment.dataset.notes:
        console.print(f"  note: {note}")
    if not assessment.findings:
        console.print("No rule fails.")
        return
    findings = Table(title=f"{len(assessment.findings)} finding(s)", title_justify="left")
    for name, justify in (
        ("object", "left"),
        ("field", "left"),
        ("dimension", "left"),
        ("rule", "left"),
        ("count", "right"),
        ("message", "left"),
        ("examples", "left"),
    ):
        findings.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for f in assessment.findings:
        findings.add_row(
            f.object,
            f.field,
            SHORT.get(f.dimension, f.dimension),
            f.rule,
            f"{f.count:,}",
            f.message,
            "; ".join(example_text(e) for e in f.examples),
        )
    console.print(findings)


def context(assessment: Assessment) -> dict[str, Any]:
    """What the page and the HTML export show: score rows per object and the findings."""
    scores = assessment.scores()
    records = assessment.records()
    rows = [
        {
            "object": obj,
            "label": OBJECT_LABELS.get(obj, obj),
            "records": records[obj],
            "cells": [
                (d, percent(scores["objects"][obj]["dimensions"][d]), scores["objects"][obj]["dimensions"][d])
                for d in DIMENSIONS
            ],
            "overall": percent(scores["objects"][obj]["overall"]),
        }
        for obj in assessment.objects
    ]
    return {
        "assessment": assessment,
        "as_of": assessment.as_of,
        "dimensions": [(d, DIMENSION_LABELS[d]) for d in DIMENSIONS],
        "score_rows": rows,
        "dimension_totals": [(d, percent(scores["dimensions"][d])) for d in DIMENSIONS],
        "overall": percent(scores["overall"]),
        "overall_tally": scores["overall"],
        "findings": [
            {
                "finding": f,
                "dimension_label": DIMENSION_LABELS[f.dimension],
                "object_label": OBJECT_LABELS.get(f.object, f.object),
                "examples": [example_text(e) for e in f.examples],
            }
            for f in assessment.findings
        ],
        "notes": assessment.dataset.notes,
    }


def render_html(assessment: Assessment) -> str:
    """A standalone HTML page (the CLI's --format html): the web page's tables without the navigation."""
    return render_to_string("web/data/quality_report.html", context(assessment))


def write_offending(assessment: Assessment, out: IO[str], findings: list[Finding] | None = None) -> int:
    """Every offending record of the findings (all by default), in full; returns the number of rows written."""
    frame = assessment.offending(findings)
    writer = csv.writer(out)
    writer.writerow(list(frame.columns))
    for row in frame.itertuples(index=False):
        writer.writerow(["" if is_empty(v) else v for v in row])
    return len(frame)
