"""Source data before an import, as the quality engine's Dataset: the RAW values, mapped to target fields.

The mapping decides which column feeds which field, and how the import converts it (date formats,
``multiply``, declared null values). The values kept are the raw ones: a value map (``technolgy ->
technology``), a fallback or a default does not hide a defect here; the table records what the mapping does
(``fixes``, ``fills``) so that findings can say so.

The builder takes rows, not files: ``build(mapping, {source name: SourceRecords})``. ``read_files`` makes
those from files with the import's readers; a database source (``table:``/``query:`` through SQLAlchemy)
plugs in by yielding its rows as ``SourceRow(line=row number, values={column: value})``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models

from revcast.dataio.fields import FieldError, clean_text, convert
from revcast.dataio.mapping import FieldSpec, Mapping, SourceSpec
from revcast.dataio.quality import reference
from revcast.dataio.quality.dataset import Dataset, StageInfo, Table
from revcast.dataio.readers import SourceError, SourceRow, read_table, resolve
from revcast.dataio.targets import LOOKUPS, TARGETS, Target


@dataclass
class SourceRecords:
    """The rows of one mapping source. ``origin`` is what examples call it: a file name, or a table."""

    origin: str
    rows: Iterable[SourceRow]


def read_files(path: Path, mapping: Mapping) -> tuple[dict[str, SourceRecords], list[str]]:
    """Each source's file, read as the import reads it. Files that are missing or unreadable become notes."""
    records: dict[str, SourceRecords] = {}
    notes: list[str] = []
    for spec in mapping.sources:
        file = resolve(path, spec.file)
        if file is None:
            if path.is_dir():
                notes.append(f"{spec.name}: file {spec.file!r} not found in {path}; not assessed")
            continue
        try:
            table = read_table(file, encoding=spec.encoding, sheet=spec.sheet, delimiter=spec.delimiter)
        except SourceError as exc:
            notes.append(f"{spec.name}: {exc}; not assessed")
            continue
        missing = [c for c in spec.columns if c not in table.header]
        if missing:
            notes.append(
                f"{spec.name}: column(s) {missing} missing from {file.name}; the import would load nothing"
            )
        records[spec.name] = SourceRecords(origin=file.name, rows=table.rows)
    if not records and path.is_file():
        names = ", ".join(s.file for s in mapping.sources)
        notes.append(f"{path.name} matches no source of the mapping ({names}); nothing assessed")
    return records, notes


def _ref(spec: FieldSpec, target: Target) -> tuple[str, str] | None:
    if spec.ref:
        return spec.ref, spec.by or target.refs.get(spec.target, ("", "name"))[1]
    if spec.target in target.refs:
        obj, by = target.refs[spec.target]
        return obj, spec.by or by
    return None


def _fill(spec: FieldSpec) -> str | None:
    if spec.fallback is not None:
        text = f"from {spec.fallback.source}"
        if spec.fallback.when_column:
            values = spec.fallback.when_in
            listed = ", ".join(values[:-1]) + f" or {values[-1]}" if len(values) > 1 else "".join(values)
            text += f" when {spec.fallback.when_column} is {listed}"
        return text
    if spec.default is not None:
        return f"with the default {spec.default!r}"
    return None


class _TableBuilder:
    """Turns the rows of one source into a Table (raw values for text, references and picklists; typed values
    for dates and numbers, converted as the import converts them)."""

    def __init__(self, spec: SourceSpec, origin: str) -> None:
        self.spec = spec
        self.origin = origin
        self.target = TARGETS[spec.object]
        self.table = Table(object=spec.object, frame=pd.DataFrame())
        self.model_fields: dict[str, models.Field] = {}
        for fs in spec.fields:
            ref = _ref(fs, self.target)
            if ref:
                self.table.refs[fs.target] = ref
            if fs.column:
                self.table.source_columns[fs.target] = fs.column
            if fs.null_values:
                self.table.null_values[fs.target] = list(fs.null_values)
            fill = _fill(fs)
            if fill:
                self.table.fills[fs.target] = fill
            if self.target.model is not None and not ref and not fs.target.startswith("custom."):
                try:
                    model_field = self.target.model._meta.get_field(fs.target)
                except FieldDoesNotExist:
                    continue
                if fs.target not in self.target.picklists and isinstance(model_field, models.Field):
                    self.model_fields[fs.target] = model_field

    def rows(self, rows: Iterable[SourceRow]) -> Table:
        records: list[dict[str, Any]] = []
        for row in rows:
            record: dict[str, Any] = {"_file": self.origin, "_line": row.line, "_error": row.error}
            if row.error is None:
                for fs in self.spec.fields:
                    record[fs.target] = self._value(fs, row, len(records))
            records.append(record)
        columns = ["_file", "_line", "_error", *(fs.target for fs in self.spec.fields)]
        frame = (
            pd.DataFrame.from_records(records, columns=columns) if records else pd.DataFrame(columns=columns)
        )
        frame = frame.astype(object).where(frame.notna(), None)
        key = self.spec.key or self.target.default_key
        if key in frame.columns:
            frame["_label"] = frame[key]
        self.table.frame = frame
        return self.table

    def _value(self, fs: FieldSpec, row: SourceRow, index: int) -> Any:
        raw = fs.value if fs.value is not None else (row.values.get(fs.column) if fs.column else None)
        raw = clean_text(fs, raw)
        if raw is None:
            return None
        if str(raw) in fs.map:
            self.table.fixes.setdefault(fs.target, {})[str(raw)] = fs.map[str(raw)]
        model_field = self.model_fields.get(fs.target)
        if model_field is None:
            return str(raw) if not isinstance(raw, str) else raw
        self.table.type_checked[fs.target] = self.table.type_checked.get(fs.target, 0) + 1
        try:
            return convert(fs, raw, model_field)
        except (FieldError, ValidationError) as exc:
            reason = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            if str(raw) in fs.map:
                reason += f" (the mapping maps it to {fs.map[str(raw)]!r})"
            self.table.type_errors.setdefault(fs.target, {})[index] = reason
            return raw


def _merge(first: Table, second: Table) -> Table:
    """Two sources of the same object (two account files): one table, rows of both."""
    offset = len(first.frame)
    second.frame.index = second.frame.index + offset
    first.frame = pd.concat([first.frame, second.frame])
    for name in ("refs", "fixes", "fills", "source_columns", "null_values"):
        getattr(first, name).update(getattr(second, name))
    for field_name, errors in second.type_errors.items():
        first.type_errors.setdefault(field_name, {}).update({i + offset: r for i, r in errors.items()})
    for field_name, n in second.type_checked.items():
        first.type_checked[field_name] = first.type_checked.get(field_name, 0) + n
    return first


def _derive(tables: dict[str, Table], stages: list[StageInfo]) -> None:
    """Columns the rules read that the source does not hold as such."""
    opportunities = tables.get("opportunity")
    if opportunities is not None and "stage" in opportunities.frame.columns:
        by_name = {s.name: s for s in stages}
        names = opportunities.mapped("stage")
        opportunities.frame["stage_type"] = names.map(lambda n: by_name[n].type if n in by_name else None)
        opportunities.frame["stage_order"] = names.map(lambda n: by_name[n].order if n in by_name else None)
    team = tables.get("sales_team")
    if team is not None and "name" in team.frame.columns:
        from revcast.org.services import username_for

        team.frame["full_name"] = team.frame["name"]
        team.frame["username"] = team.frame["name"].map(lambda n: _safe(username_for, n))


def _safe(function: Any, value: Any) -> Any:
    try:
        return function(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _lookups(tables: dict[str, Table], stages: list[StageInfo], user: Any) -> dict[tuple[str, str], set[str]]:
    """What a reference can resolve to once the source is loaded: the source's own records (as the import
    would store them) plus what the database already holds."""
    found: dict[tuple[str, str], set[str]] = {}

    def add(obj: str, by: str, values: Iterable[Any]) -> None:
        found.setdefault((obj, by), set()).update(
            str(v) for v in values if v is not None and v == v and v != ""
        )

    for table in tables.values():
        readable = table.readable
        obj = "user" if table.object == "sales_team" else table.object
        for by in LOOKUPS.get(obj, {}):
            if by in readable.columns:
                add(obj, by, table.mapped(by)[readable.index])
        if table.object == "sales_team":
            for column in ("manager",):
                if column in readable.columns:  # managers become users too
                    managers = readable[column].dropna()
                    add("user", "full_name", managers)
                    add("user", "username", managers.map(lambda n: _safe(_username, n)))
    add("stage", "name", [s.name for s in stages])
    wanted = {ref for table in tables.values() for ref in table.refs.values()}
    for obj, by in wanted:
        existing = reference.lookup_values(obj, by, user)
        if existing is not None:
            add(obj, by, existing)
    return found


def _username(name: str) -> str:
    from revcast.org.services import username_for

    return username_for(name)


def build(
    mapping: Mapping,
    records: dict[str, SourceRecords],
    *,
    as_of: dt.date | None = None,
    user: Any = None,
    description: str = "",
    notes: list[str] | None = None,
) -> Dataset:
    stages = reference.mapping_stages(mapping.stages, reference.stages())
    tables: dict[str, Table] = {}
    for spec in mapping.sources:
        if spec.name not in records or spec.object not in TARGETS:
            continue
        table = _TableBuilder(spec, records[spec.name].origin).rows(records[spec.name].rows)
        tables[spec.object] = _merge(tables[spec.object], table) if spec.object in tables else table
    _derive(tables, stages)
    return Dataset(
        kind="source",
        tables=tables,
        stages=stages,
        governed=reference.governed(),
        lookups=_lookups(tables, stages, user),
        as_of=as_of,
        notes=list(notes or []),
        description=description or f"source data through mapping {mapping.name}",
    )


def from_path(path: Path, mapping: Mapping, *, as_of: dt.date | None = None, user: Any = None) -> Dataset:
    records, notes = read_files(path, mapping)
    return build(
        mapping,
        records,
        as_of=as_of,
        user=user,
        notes=notes,
        description=f"{path} through mapping {mapping.path.name}",
    )
