"""The assessment: run every rule over a Dataset, group failures into findings, and score.

Score (docs/adr/0016): a check is one record (or, for exit criteria, one record and one field) that a rule
examined; it passes or fails. A score is the share of checks that pass, over all the checks in its scope:
an object and a dimension, an object, a dimension, or everything. A rule that examined nothing (an
optional field nobody filled, an object absent from the data) adds no check and cannot lower a score.

Plain pandas: no Django here, so the same engine serves the database, source files and (later) SQL sources.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from revcast.dataio.quality.checks import CHECKS, Context, Outcome, skipped
from revcast.dataio.quality.dataset import Dataset, Table
from revcast.dataio.quality.rules import DIMENSIONS, Rule, RuleSet
from revcast.dataio.quality.values import shown

OBJECT_ORDER = ("sales_team", "product", "account", "contact", "opportunity", "activity")
EXAMPLE_KEYS = {
    "_file": "file",
    "_line": "line",
    "_pk": "pk",
    "external_id": "external_id",
    "_label": "record",
}


@dataclass
class Finding:
    object: str
    field: str
    dimension: str
    rule: str
    kind: str
    message: str
    count: int
    examples: list[dict[str, Any]]
    suggestion: str | None = None
    rows: pd.Index | None = None  # the offending rows of the table (for the full CSV), not serialised

    @property
    def id(self) -> str:
        """Stable across runs on the same data: the web page links a finding's CSV by it."""
        digest = hashlib.sha1(f"{self.object}|{self.rule}|{self.field}|{self.message}".encode()).hexdigest()
        return digest[:12]

    def as_dict(self) -> dict[str, Any]:
        data = {
            "id": self.id,
            "object": self.object,
            "field": self.field,
            "dimension": self.dimension,
            "rule": self.rule,
            "kind": self.kind,
            "message": self.message,
            "count": self.count,
            "examples": self.examples,
        }
        if self.suggestion is not None:
            data["suggestion"] = self.suggestion
        return data


@dataclass
class RuleRun:
    rule: Rule
    checked: int
    failed: int
    skipped: str | None = None


@dataclass
class Tally:
    checked: int = 0
    failed: int = 0

    def add(self, checked: int, failed: int) -> None:
        self.checked += checked
        self.failed += failed

    def as_dict(self) -> dict[str, Any]:
        score = None if not self.checked else round(1 - self.failed / self.checked, 4)
        return {"score": score, "checked": self.checked, "failed": self.failed}


@dataclass
class Assessment:
    dataset: Dataset
    as_of: dt.date
    findings: list[Finding]
    runs: list[RuleRun]
    objects: list[str]
    settings: dict[str, Any] = field(default_factory=dict)

    def tallies(self) -> tuple[Tally, dict[str, dict[str, Tally]], dict[str, Tally], dict[str, Tally]]:
        total = Tally()
        cells: dict[str, dict[str, Tally]] = {o: {d: Tally() for d in DIMENSIONS} for o in self.objects}
        by_object = {o: Tally() for o in self.objects}
        by_dimension = {d: Tally() for d in DIMENSIONS}
        for run in self.runs:
            obj, dim = run.rule.object, run.rule.dimension
            if obj not in cells:
                continue
            for tally in (total, cells[obj][dim], by_object[obj], by_dimension[dim]):
                tally.add(run.checked, run.failed)
        return total, cells, by_object, by_dimension

    def scores(self) -> dict[str, Any]:
        total, cells, by_object, by_dimension = self.tallies()
        return {
            "overall": total.as_dict(),
            "dimensions": {d: t.as_dict() for d, t in by_dimension.items()},
            "objects": {
                o: {
                    "overall": by_object[o].as_dict(),
                    "dimensions": {d: t.as_dict() for d, t in cells[o].items()},
                }
                for o in self.objects
            },
        }

    def records(self) -> dict[str, int]:
        """Records per assessed object."""
        return {o: len(self.dataset.tables[o].frame) for o in self.objects}

    def as_dict(self) -> dict[str, Any]:
        return {
            "scores": self.scores(),
            "findings": [f.as_dict() for f in self.findings],
            "input": {"kind": self.dataset.kind, "description": self.dataset.description},
            "as_of": self.as_of.isoformat(),
            "records": self.records(),
            "rules": [
                {
                    "rule": r.rule.id,
                    "object": r.rule.object,
                    "kind": r.rule.kind,
                    "dimension": r.rule.dimension,
                    "checked": r.checked,
                    "failed": r.failed,
                    **({"skipped": r.skipped} if r.skipped else {}),
                }
                for r in self.runs
            ],
            "notes": list(self.dataset.notes),
        }

    def finding(self, finding_id: str) -> Finding | None:
        return next((f for f in self.findings if f.id == finding_id), None)

    def offending(self, findings: list[Finding] | None = None) -> pd.DataFrame:
        """Every offending record in full, one row per (finding, record): the download behind each finding."""
        parts = []
        for f in self.findings if findings is None else findings:
            table = self.dataset.tables[f.object]
            if f.rows is None or not len(f.rows):
                continue
            records = table.frame.loc[f.rows].copy()
            records = records.rename(columns=EXAMPLE_KEYS)
            records = records.drop(columns=[c for c in records.columns if str(c).startswith("_")])
            head = pd.DataFrame(
                {
                    "finding": f.id,
                    "object": f.object,
                    "rule": f.rule,
                    "dimension": f.dimension,
                    "field": f.field,
                    "message": f.message,
                },
                index=records.index,
            )
            parts.append(pd.concat([head, records], axis=1).map(shown))
        if not parts:
            return pd.DataFrame(columns=["finding", "object", "rule", "dimension", "field", "message"])
        return pd.concat(parts, ignore_index=True)


def _examples(table: Table, failures: pd.DataFrame, limit: int, kind: str) -> list[dict[str, Any]]:
    ids = [c for c in EXAMPLE_KEYS if c in table.frame.columns]
    result = []
    for idx, failure in failures.head(limit).iterrows():
        row = table.frame.loc[idx]
        example = {EXAMPLE_KEYS[c]: shown(row[c]) for c in ids}
        example = {k: v for k, v in example.items() if v is not None}
        value = shown(failure["value"])
        if value is not None:
            example["value"] = value
        if kind == "type":
            example["reason"] = table.type_errors[str(failure["field"])][idx]
        result.append(example)
    return result


def _source_checks(table: Table) -> list[tuple[Rule, Outcome]]:
    """Built into every source assessment: lines the reader could not split, values the import cannot read."""
    runs = []
    frame = table.frame
    if "_error" in frame.columns:
        bad = frame[frame["_error"].notna()]
        rule = Rule(id=f"{table.object}.readable", object=table.object, kind="readable", dimension="validity")
        failures = pd.DataFrame(
            {
                "field": "",
                "message": bad["_error"].map(lambda e: f"line cannot be read: {e}"),
                "value": None,
                "suggestion": None,
            },
            index=bad.index,
        )
        runs.append((rule, Outcome(len(frame), failures)))
    for field_name, errors in table.type_errors.items():
        rule = Rule(
            id=f"{table.object}.{field_name}.type",
            object=table.object,
            kind="type",
            dimension="validity",
            field=field_name,
        )
        index = pd.Index(list(errors))
        column = table.source_columns.get(field_name, field_name)
        values = table.frame.loc[index, field_name] if field_name in frame.columns else None
        failures = pd.DataFrame(
            {
                "field": field_name,
                "message": [
                    f"{field_name}: the import cannot read column {column!r}: {_general(r)}"
                    for r in errors.values()
                ],
                "value": values,
                "suggestion": None,
            },
            index=index,
        )
        runs.append((rule, Outcome(table.type_checked.get(field_name, len(frame)), failures)))
    return runs


def _general(reason: str) -> str:
    """A conversion error without its value ('x' is not a date in format %Y-%m-%d -> is not a date...)."""
    if reason.startswith("'") and "' " in reason[1:]:
        return "value " + reason[reason.index("' ", 1) + 2 :]
    return reason


def assess(
    dataset: Dataset,
    ruleset: RuleSet,
    *,
    object_name: str | None = None,
    examples: int = 5,
    phone_region: str = "CN",
) -> Assessment:
    as_of = dataset.as_of or dataset.last_date() or dt.date.today()
    ctx = Context(dataset=dataset, settings=ruleset.settings, as_of=as_of, phone_region=phone_region)
    objects = [o for o in OBJECT_ORDER if o in dataset.tables] + sorted(
        set(dataset.tables) - set(OBJECT_ORDER)
    )
    if object_name is not None:
        objects = [o for o in objects if o == object_name]
    results: list[tuple[Rule, Outcome]] = []
    for obj in objects:
        table = dataset.tables[obj]
        if dataset.kind == "source":
            results += _source_checks(table)
        for rule in ruleset.for_object(obj):
            try:
                outcome = CHECKS[rule.kind](rule, table, ctx)
            except KeyError as exc:  # a field the rule names is not a field of this object
                outcome = skipped(f"{obj} has no field {exc}", table)
            results.append((rule, outcome))
    findings: list[Finding] = []
    runs: list[RuleRun] = []
    for rule, outcome in results:
        failures = outcome.failures
        runs.append(RuleRun(rule, outcome.checked, len(failures), outcome.skipped))
        if failures.empty:
            continue
        table = dataset.tables[rule.object]
        for (field_name, message), group in failures.groupby(["field", "message"], sort=False, dropna=False):
            suggestions = group["suggestion"].dropna()
            findings.append(
                Finding(
                    object=rule.object,
                    field=str(field_name),
                    dimension=rule.dimension,
                    rule=rule.id,
                    kind=rule.kind,
                    message=str(message),
                    count=len(group),
                    examples=_examples(table, group, examples, rule.kind),
                    suggestion=str(suggestions.iloc[0])
                    if len(suggestions) and rule.kind != "duplicate"
                    else None,
                    rows=group.index,
                )
            )
    order = {o: i for i, o in enumerate(objects)}
    dims = {d: i for i, d in enumerate(DIMENSIONS)}
    findings.sort(key=lambda f: (order[f.object], dims[f.dimension], -f.count, f.rule, f.message))
    return Assessment(dataset, as_of, findings, runs, objects, dict(ruleset.settings))
