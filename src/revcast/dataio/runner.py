"""Running an import: read each source through the mapping, validate every row, write in atomic batches.

Rejected rows are reported with file, line, field, value and reason; good rows still load. A dry run
does all of it inside a transaction that is rolled back, so its counts are exactly what a real run does.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone

from revcast.core.bulk import observe_writes
from revcast.core.customfields import coerce as coerce_custom
from revcast.core.customfields import definitions as custom_definitions
from revcast.core.picklists import match_picklist_value, values_of
from revcast.dataio import known_on
from revcast.dataio.fields import FieldError, clean_text, convert, parse_date
from revcast.dataio.journal import Recorder
from revcast.dataio.journal import finish as journal_finish
from revcast.dataio.mapping import FieldSpec, Mapping, MappingError, SourceSpec
from revcast.dataio.models import ChangeSet, ImportIssue, ImportRun
from revcast.dataio.readers import SourceError, SourceRow, read_table, resolve
from revcast.dataio.targets import INVALIDATES, LOOKUPS, TARGETS, WRITERS, Lookups, Target, WriteCounts
from revcast.pipeline.models import Stage
from revcast.pipeline.services import upsert_stages

logger = logging.getLogger(__name__)


class _DryRunRollback(Exception):
    pass


@dataclass
class Issue:
    object: str
    file: str
    row: int | None
    field: str
    value: str
    reason: str
    severity: str = "error"


@dataclass
class SourcePlan:
    spec: SourceSpec
    target: Target
    key: str
    model_fields: dict[str, Any]
    custom: dict[str, Any]


@dataclass
class RunState:
    run: ImportRun
    issues: list[Issue] = field(default_factory=list)
    notes: Counter[str] = field(default_factory=Counter)
    counts: dict[str, dict[str, Any]] = field(default_factory=dict)
    lookups: Lookups = field(default_factory=Lookups)


def plan_source(spec: SourceSpec, mapping: Mapping) -> SourcePlan:
    """Check a source against the target object before reading any data."""
    where = f"{mapping.path}: sources.{spec.name}"
    target = TARGETS.get(spec.object)
    if target is None:
        raise MappingError(f"{where}: unknown object {spec.object!r}; known: {sorted(TARGETS)}")
    model_fields: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    custom_defs = custom_definitions(spec.object) if spec.object in ("account", "opportunity") else {}
    for fs in spec.fields:
        loc = f"{where}.fields.{fs.target}"
        if fs.target.startswith("custom."):
            key = fs.target.removeprefix("custom.")
            if key not in custom_defs:
                raise MappingError(f"{loc}: no active custom field {key!r} on {spec.object}; define it first")
            custom[fs.target] = custom_defs[key]
            continue
        if target.model is None:
            if fs.target not in target.plain_fields:
                raise MappingError(
                    f"{loc}: {spec.object} has no field {fs.target!r}; fields: {list(target.plain_fields)}"
                )
            continue
        if fs.target in target.excluded:
            raise MappingError(f"{loc}: {fs.target!r} is managed by revcast and cannot be imported")
        try:
            model_fields[fs.target] = target.model._meta.get_field(fs.target)
        except FieldDoesNotExist:
            names = sorted(
                f.name for f in target.model._meta.concrete_fields if f.name not in target.excluded
            )
            raise MappingError(f"{loc}: {spec.object} has no field {fs.target!r}; fields: {names}") from None
        ref = fs.ref or (target.refs.get(fs.target) or (None, None))[0]
        if fs.target in target.refs or fs.ref:
            ref_obj = ref or ""
            by = fs.by or target.refs.get(fs.target, ("", ""))[1]
            if ref_obj not in LOOKUPS or by not in LOOKUPS[ref_obj]:
                raise MappingError(f"{loc}: cannot look up {ref_obj!r} by {by!r}")
            fs.ref, fs.by = ref_obj, by
        if fs.fallback:
            ref_field = fs.fallback.source.split(".", 1)[0]
            if ref_field not in target.refs:
                raise MappingError(f"{loc}.fallback: {ref_field!r} is not a reference field of {spec.object}")
    for stage_name in spec.stage_dates:
        if spec.object != "opportunity":
            raise MappingError(f"{where}.stage_dates: only opportunities have stage dates")
        stages_in_mapping = {s["name"] for s in mapping.stages}
        if stage_name not in stages_in_mapping and not Stage.objects.filter(name=stage_name).exists():
            raise MappingError(f"{where}.stage_dates: no stage named {stage_name!r}")
    if spec.known_on and target.model is not None:
        known_on.check(spec, where, target.refs, target.model)
    key = spec.key or target.default_key or ""
    if key not in {fs.target for fs in spec.fields}:
        raise MappingError(f"{where}: the key field {key!r} is not mapped (set 'key:' or map it)")
    return SourcePlan(spec=spec, target=target, key=key, model_fields=model_fields, custom=custom)


def _stage_rows(mapping: Mapping) -> list[dict[str, Any]]:
    allowed = {
        "name",
        "label_zh",
        "order",
        "type",
        "probability",
        "forecast_category",
        "required_fields",
        "active",
    }
    rows = []
    for i, stage in enumerate(mapping.stages):
        unknown = set(stage) - allowed
        if unknown:
            raise MappingError(f"{mapping.path}: stages[{i}]: unknown key(s) {sorted(unknown)}")
        row = {"order": (i + 1) * 10, "type": "open", **stage}
        if "probability" not in row:
            raise MappingError(f"{mapping.path}: stages[{i}] ({stage['name']}): 'probability' is required")
        rows.append(row)
    return rows


class ImportRunner:
    def __init__(
        self,
        mapping: Mapping,
        path: Path,
        *,
        dry_run: bool = False,
        user: Any = None,
        batch_size: int | None = None,
    ) -> None:
        self.mapping = mapping
        self.path = path
        self.dry_run = dry_run
        self.user = user
        self.batch_size = batch_size or settings.REVCAST_IMPORT_BATCH_SIZE
        self.run = ImportRun.objects.create(
            started_at=timezone.now(),
            source=str(path),
            mapping_name=mapping.name,
            mapping_sha256=mapping.sha256,
            dry_run=dry_run,
            started_by=user,
        )
        self.state = RunState(run=self.run)
        self._picklists: dict[str, list[Any]] = {}  # picklist key -> its values, read once per run

    # -------------------------------------------------------------- the run

    def execute(self) -> ImportRun:
        started = time.monotonic()
        failed = False
        try:
            plans = [plan_source(s, self.mapping) for s in self.mapping.sources]
            stage_rows = _stage_rows(self.mapping)
            # A real run commits batch by batch (each batch atomic); a dry run does the same work inside one
            # transaction that is rolled back at the end.
            with transaction.atomic() if self.dry_run else contextlib.nullcontext(), self._journal():
                if stage_rows:
                    with transaction.atomic():
                        result = upsert_stages(stage_rows)
                    self.state.counts["stages"] = {
                        "object": "stage",
                        "read": len(stage_rows),
                        "created": len(result.created),
                        "updated": len(result.updated),
                        "unchanged": len(result.unchanged),
                        "rejected": 0,
                    }
                    self.state.lookups.invalidate("stage")
                for plan in plans:
                    self._run_source(plan)
                self._journal_history()
                if self.dry_run:
                    raise _DryRunRollback
        except _DryRunRollback:
            pass
        except MappingError as exc:
            failed = True
            self.state.issues.append(Issue("mapping", str(self.mapping.path), None, "", "", str(exc)))
        except Exception as exc:  # recorded, never left "running"; the failing batch was rolled back
            logger.exception("import run %s failed", self.run.pk)
            failed = True
            self.state.issues.append(
                Issue("import", str(self.path), None, "", "", f"unexpected error; the batch in progress was not written: {exc!r}")
            )
        if not failed and self.path.is_file() and not any(n != "stages" for n in self.state.counts):
            failed = True
            names = ", ".join(s.file for s in self.mapping.sources)
            self.state.issues.append(
                Issue(
                    "import",
                    self.path.name,
                    None,
                    "",
                    "",
                    f"the file matches no source of the mapping ({names})",
                )
            )
        return self._finish(started, failed)

    @contextlib.contextmanager
    def _journal(self) -> Iterator[None]:
        """Journal every row the run writes (a change set of kind import), so the run can be rolled back."""
        changeset = ChangeSet.objects.create(
            kind=self.run.kind, run=self.run, user=self.user, summary=f"{self.run.kind} #{self.run.pk} of {self.run.source}"
        )
        self.recorder = Recorder(changeset)
        try:
            with observe_writes(self.recorder):
                yield
        finally:
            if not self.dry_run:
                journal_finish(self.recorder)

    def _journal_history(self) -> None:
        """History rows are appended in bulk without ids; the run's are those with its source label."""
        from revcast.pipeline.models import OpportunityFieldHistory

        pks = list(OpportunityFieldHistory.objects.filter(source=self.label).values_list("pk", flat=True))
        if pks:
            with transaction.atomic():
                self.recorder.created(OpportunityFieldHistory, pks)

    @property
    def label(self) -> str:
        return f"{self.run.kind}:{self.run.pk}"

    def _finish(self, started: float, failed: bool) -> ImportRun:
        run = self.run
        errors = [i for i in self.state.issues if i.severity == "error"]
        sources = [c for name, c in self.state.counts.items() if name != "stages"]
        loaded = sum(c["created"] + c["updated"] + c["unchanged"] for c in sources)
        if failed or (sources and all(c.get("failed") for c in sources)) or (errors and loaded == 0):
            run.status = ImportRun.Status.FAILED
        elif errors:
            run.status = ImportRun.Status.PARTIAL
        else:
            run.status = ImportRun.Status.SUCCEEDED
        run.counts = self.state.counts
        run.notes = [
            note if note.startswith("encoding") else f"{note} ({count} row{'s' if count != 1 else ''})"
            for note, count in self.state.notes.items()
        ]
        run.finished_at = timezone.now()
        run.duration_ms = int((time.monotonic() - started) * 1000)
        run.save()
        ImportIssue.objects.bulk_create(
            [
                ImportIssue(
                    run=run,
                    object=i.object,
                    file=i.file,
                    row=i.row,
                    field=i.field,
                    value=i.value[:2000],
                    reason=i.reason,
                    severity=i.severity,
                )
                for i in self.state.issues
            ],
            batch_size=1000,
        )
        return run

    # -------------------------------------------------------------- one source

    def _run_source(self, plan: SourcePlan) -> None:
        spec = plan.spec
        counts: dict[str, Any] = {
            "object": spec.object,
            "read": 0,
            "created": 0,
            "updated": 0,
            "unchanged": 0,
            "rejected": 0,
        }
        self.state.counts[spec.name] = counts
        path = resolve(self.path, spec.file)
        if path is None:
            if self.path.is_file():  # importing one file: the other sources are simply not part of this run
                del self.state.counts[spec.name]
                return
            counts["failed"] = True
            self._issue(spec, spec.file, None, "", "", f"file {spec.file!r} not found in {self.path}")
            return
        try:
            table = read_table(path, encoding=spec.encoding, sheet=spec.sheet, delimiter=spec.delimiter)
        except SourceError as exc:
            counts["failed"] = True
            self._issue(spec, path.name, None, "", "", str(exc))
            return
        if table.encoding and table.encoding not in ("utf-8",):
            self.state.notes[f"encoding of {path.name}: {table.encoding}"] += 1
        missing = [c for c in spec.columns if c not in table.header]
        if missing:
            counts["failed"] = True
            counts["read"] = len(table.rows)
            counts["rejected"] = len(table.rows)
            self._issue(
                spec,
                path.name,
                1,
                ", ".join(missing),
                "",
                f"column(s) {missing} missing from the header; found {table.header}; nothing loaded from this file",
            )
            return
        counts["read"] = len(table.rows)
        good: list[tuple[SourceRow, dict[str, Any]]] = []
        deferred: list[tuple[SourceRow, dict[str, Any], dict[str, Any]]] = []
        seen: dict[Any, int] = {}
        for row in table.rows:
            if row.error:
                counts["rejected"] += 1
                self._issue(spec, path.name, row.line, "", "", row.error)
                continue
            values, self_refs, issues = self._parse_row(plan, path.name, row)
            key_value = values.get(plan.key)
            if not issues and key_value is not None and key_value in seen:
                issues.append(
                    Issue(
                        spec.object,
                        path.name,
                        row.line,
                        plan.key,
                        str(key_value),
                        f"duplicate key: line {seen[key_value]} has the same {plan.key}",
                    )
                )
            if issues:
                counts["rejected"] += 1
                self.state.issues.extend(issues)
                continue
            seen[key_value] = row.line
            good.append((row, values))
            if self_refs:
                deferred.append((row, values, self_refs))
        self._write(plan, path.name, good, counts)
        if deferred:
            self._link_self_refs(plan, path.name, deferred, counts)
        for obj in INVALIDATES.get(spec.object, (spec.object,)):
            self.state.lookups.invalidate(obj)

    def _write(
        self,
        plan: SourcePlan,
        file: str,
        good: list[tuple[SourceRow, dict[str, Any]]],
        counts: dict[str, Any],
    ) -> None:
        writer = WRITERS[plan.spec.object]
        label = self.label
        size = len(good) if plan.spec.object == "sales_team" else self.batch_size
        for start in range(0, len(good), size):
            batch = good[start : start + size]
            try:
                with transaction.atomic():
                    self._add(counts, writer([v for _, v in batch], plan.key, label))
            except (DatabaseError, ValidationError, ValueError) as exc:
                # Isolate the rows the database refuses; the others of the batch still load.
                for row, values in batch:
                    try:
                        with transaction.atomic():
                            self._add(counts, writer([values], plan.key, label))
                    except (DatabaseError, ValidationError, ValueError) as row_exc:
                        counts["rejected"] += 1
                        self._issue(plan.spec, file, row.line, "", "", f"refused by the database: {row_exc}")
                del exc

    def _add(self, counts: dict[str, Any], written: WriteCounts) -> None:
        counts["created"] += written.created
        counts["updated"] += written.updated
        counts["unchanged"] += written.unchanged
        for name, n in written.notes.items():
            counts[name] = counts.get(name, 0) + n

    def _link_self_refs(
        self,
        plan: SourcePlan,
        file: str,
        deferred: list[tuple[SourceRow, dict[str, Any], dict[str, Any]]],
        counts: dict[str, Any],
    ) -> None:
        self.state.lookups.invalidate(plan.spec.object)
        links = []
        for row, values, refs in deferred:
            link = {plan.key: values[plan.key]}
            for target, (fs, raw) in refs.items():
                found = self.state.lookups.index(fs.ref, fs.by).get(raw, [])
                if len(found) == 1:
                    link[target] = found[0]
                else:
                    why = (
                        f"matches no {fs.ref} by {fs.by}"
                        if not found
                        else f"matches {len(found)} {fs.ref} records"
                    )
                    self._issue(
                        plan.spec,
                        file,
                        row.line,
                        target,
                        str(raw),
                        f"{why}; loaded without {target}",
                        severity="warning",
                    )
            if len(link) > 1:
                links.append(link)
        if links:
            with transaction.atomic():
                written = WRITERS[plan.spec.object](links, plan.key, self.label)
            # The rows were counted when first written; a link that changes an existing row counts it as updated.
            counts["created_links"] = counts.get("created_links", 0) + written.updated

    # -------------------------------------------------------------- one row

    def _parse_row(
        self, plan: SourcePlan, file: str, row: SourceRow
    ) -> tuple[dict[str, Any], dict[str, Any], list[Issue]]:
        spec, target = plan.spec, plan.target
        values: dict[str, Any] = {}
        self_refs: dict[str, Any] = {}
        custom: dict[str, Any] = {}
        issues: list[Issue] = []

        def fail(fs_target: str, raw: Any, reason: str) -> None:
            issues.append(
                Issue(spec.object, file, row.line, fs_target, "" if raw is None else str(raw), reason)
            )

        for fs in spec.fields:
            raw = fs.value if fs.value is not None else (row.values.get(fs.column) if fs.column else None)
            raw = clean_text(fs, raw)
            if raw is not None and str(raw) in fs.map:
                mapped = fs.map[str(raw)]
                self.state.notes[f"{spec.name}: {fs.target} {raw!r} mapped to {mapped!r}"] += 1
                raw = mapped
            if raw is None and fs.default is not None:
                raw = fs.default
            if raw is None:
                if fs.target.startswith("custom."):
                    custom[fs.target.removeprefix("custom.")] = None
                else:
                    values[fs.target] = _empty_value(plan.model_fields.get(fs.target))
                continue
            try:
                if fs.target.startswith("custom."):
                    custom[fs.target.removeprefix("custom.")] = coerce_custom(plan.custom[fs.target], raw)
                elif fs.ref:
                    if fs.ref == spec.object:
                        self_refs[fs.target] = (fs, raw)
                        continue
                    values[fs.target] = self._resolve(fs, raw, spec, file, row)
                elif fs.target in target.picklists:
                    values[fs.target] = self._picklist(target.picklists[fs.target], raw)
                elif target.model is None:
                    values[fs.target] = str(raw)
                else:
                    values[fs.target] = convert(fs, raw, plan.model_fields[fs.target])
            except (FieldError, ValidationError) as exc:
                reason = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
                fail(fs.target, raw, reason)
        for fs in spec.fields:
            if fs.fallback and values.get(fs.target) is None and fs.target not in {i.field for i in issues}:
                self._apply_fallback(fs, values, row, spec)
        for name in {*target.required, plan.key, *(f.target for f in spec.fields if f.required)}:
            if (
                values.get(name) in (None, "")
                and name not in {i.field for i in issues}
                and name not in self_refs
            ):
                column = next((f.column for f in spec.fields if f.target == name), None)
                fail(
                    name,
                    "",
                    f"a value is required (column {column!r} is empty)" if column else "a value is required",
                )
        if custom:
            values["custom"] = {k: v for k, v in custom.items() if v is not None}
        if (
            target.model is not None
            and "currency" in plan.model_fields.keys() | {f.name for f in target.model._meta.concrete_fields}
            and values.get("currency") is None
            and "currency" in {f.name for f in target.model._meta.concrete_fields}
        ):
            values["currency"] = self.mapping.defaults.get("currency", settings.REVCAST_DEFAULT_CURRENCY)
        if spec.stage_dates:
            dates = {}
            for stage_name, column in spec.stage_dates.items():
                raw = clean_text(FieldSpec(target=""), row.values.get(column))
                if raw is None:
                    continue
                try:
                    dates[self.state.lookups.index("stage", "name")[stage_name][0]] = parse_date(
                        raw, spec.date_formats
                    )
                except FieldError as exc:
                    if f"stage_dates.{stage_name}" not in {i.field for i in issues}:
                        fail(f"stage_dates.{stage_name}", raw, str(exc))
            values["__stage_dates"] = dates
        if spec.known_on:
            values["__known_on"] = known_on.resolve(spec, row.values, values, fail)
            for name in values["__known_on"]:
                self.state.notes[known_on.note(spec, name)] += 1
        return values, self_refs, issues

    def _resolve(self, fs: FieldSpec, raw: Any, spec: SourceSpec, file: str, row: SourceRow) -> Any:
        assert fs.ref and fs.by
        found = self.state.lookups.index(fs.ref, fs.by).get(str(raw), [])
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise FieldError(f"{raw!r} matches {len(found)} {fs.ref} records by {fs.by}; it must be unique")
        if fs.on_missing == "null":
            self.state.issues.append(
                Issue(
                    spec.object,
                    file,
                    row.line,
                    fs.target,
                    str(raw),
                    f"matches no {fs.ref} by {fs.by}; loaded without {fs.target}",
                    "warning",
                )
            )
            return None
        raise FieldError(f"{raw!r} matches no {fs.ref} by {fs.by}")

    def _picklist(self, key: str, raw: Any) -> str:
        values = self._picklists
        if key not in values:
            values[key] = values_of(key)
        match = match_picklist_value(values[key], str(raw))
        if match is None:
            allowed = ", ".join(v.value for v in values[key])
            raise FieldError(f"{raw!r} is not a value of picklist '{key}' ({allowed}); map it in the mapping")
        return match

    def _apply_fallback(
        self, fs: FieldSpec, values: dict[str, Any], row: SourceRow, spec: SourceSpec
    ) -> None:
        fb = fs.fallback
        assert fb is not None
        condition = ""
        if fb.when_column:
            actual = str(row.values.get(fb.when_column, "")).strip()
            if actual not in fb.when_in:
                return
            condition = f" when {fb.when_column} is {actual}"
        ref_field, attribute = fb.source.split(".", 1)
        instance = values.get(ref_field)
        derived = getattr(instance, attribute, None) if instance is not None else None
        if derived is None:
            return
        values[fs.target] = derived
        self.state.notes[f"{spec.name}: {fs.target} derived from {fb.source}{condition}"] += 1

    def _issue(
        self,
        spec: SourceSpec,
        file: str,
        line: int | None,
        field_name: str,
        value: str,
        reason: str,
        severity: str = "error",
    ) -> None:
        self.state.issues.append(Issue(spec.object, file, line, field_name, value, reason, severity))


def _empty_value(model_field: Any) -> Any:
    """An empty source cell: None, or "" for text columns that are blank-but-not-null (Django's convention)."""
    if (
        model_field is not None
        and not model_field.null
        and model_field.get_internal_type() in ("CharField", "TextField", "EmailField", "SlugField")
    ):
        return ""
    return None


def run_import(
    path: str | Path,
    mapping: Mapping,
    *,
    dry_run: bool = False,
    user: Any = None,
    batch_size: int | None = None,
) -> ImportRun:
    return ImportRunner(mapping, Path(path), dry_run=dry_run, user=user, batch_size=batch_size).execute()
