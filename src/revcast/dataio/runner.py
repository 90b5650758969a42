"""Running an import: read each source through the mapping, validate every row, write in atomic batches.

Rejected rows are reported with file, line, field, value and reason; good rows still load. A dry run
does all of it inside a transaction that is rolled back, so its counts are exactly what a real run does.
Row conversion lives in ``rowparse`` (shared with the reconciliation); migrations from a database
(``dataio.migrate``) reuse this runner with their own source loop.
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
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone

from revcast.core.bulk import observe_writes
from revcast.dataio import bulkload
from revcast.dataio.journal import Recorder
from revcast.dataio.journal import finish as journal_finish
from revcast.dataio.mapping import Mapping, MappingError, SourceSpec
from revcast.dataio.models import ChangeSet, ImportIssue, ImportRun
from revcast.dataio.readers import SourceError, SourceRow, read_table, resolve
from revcast.dataio.rowparse import Issue, RowParser, SourcePlan, plan_source
from revcast.dataio.targets import INVALIDATES, WRITERS, Lookups, WriteCounts
from revcast.pipeline.services import upsert_stages

__all__ = ["ImportRunner", "Issue", "SourcePlan", "plan_source", "run_import", "stage_rows"]

logger = logging.getLogger(__name__)


class _DryRunRollback(Exception):
    pass


@dataclass
class RunState:
    run: ImportRun
    parser: RowParser
    counts: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def issues(self) -> list[Issue]:
        return self.parser.issues

    @property
    def notes(self) -> Counter[str]:
        return self.parser.notes

    @property
    def lookups(self) -> Lookups:
        return self.parser.lookups


def blank_counts(obj: str) -> dict[str, Any]:
    """A source's counts before its first row."""
    return {"object": obj, "read": 0, "created": 0, "updated": 0, "unchanged": 0, "rejected": 0}


def stage_rows(mapping: Mapping) -> list[dict[str, Any]]:
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
    """One import run over files. ``revcast migrate`` subclasses it (dataio.migrate) for database sources:
    the hooks are ``_start_run``, ``_prepare`` (before the first write), ``_run_source`` and ``_after``."""

    kind = ImportRun.Kind.IMPORT

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
        self.run = self._start_run()
        self.state = RunState(run=self.run, parser=RowParser(mapping))
        self.restored: list[str] = []

    def _start_run(self) -> ImportRun:
        return ImportRun.objects.create(
            kind=self.kind,
            started_at=timezone.now(),
            source=str(self.path),
            mapping_name=self.mapping.name,
            mapping_sha256=self.mapping.sha256,
            dry_run=self.dry_run,
            started_by=self.user,
        )

    # -------------------------------------------------------------- the run

    def execute(self) -> ImportRun:
        started = time.monotonic()
        failed = False
        try:
            plans = [plan_source(s, self.mapping) for s in self.mapping.sources]
            stages = stage_rows(self.mapping)
            if not self.dry_run:
                # What a killed bulk load set aside comes back before anything is written (or backed up).
                self.restored = bulkload.restore_pending(exclude=self.run.pk)
            self._prepare(plans)
            # A real run commits batch by batch (each batch atomic); a dry run does the same work inside one
            # transaction that is rolled back at the end.
            with transaction.atomic() if self.dry_run else contextlib.nullcontext(), self._journal():
                if stages:
                    with transaction.atomic():
                        result = upsert_stages(stages)
                    self.state.counts["stages"] = {
                        "object": "stage",
                        "read": len(stages),
                        "created": len(result.created),
                        "updated": len(result.updated),
                        "unchanged": len(result.unchanged),
                        "rejected": 0,
                    }
                    self.state.lookups.invalidate("stage")
                for plan in plans:
                    self._run_source(plan)
                self._journal_history()
                self._after(plans)
                if self.dry_run:
                    raise _DryRunRollback
        except _DryRunRollback:
            pass
        except MappingError as exc:
            failed = True
            self.state.issues.append(Issue("mapping", str(self.mapping.path), None, "", "", str(exc)))
        except SourceError as exc:  # a source that cannot be opened at all (a database source's URL)
            failed = True
            self.state.issues.append(Issue(self.kind, self.run.source, None, "", "", str(exc)))
        except Exception as exc:  # recorded, never left "running"; the failing batch was rolled back
            logger.exception("%s run %s failed", self.kind, self.run.pk)
            failed = True
            self.state.issues.append(
                Issue(
                    self.kind, self.run.source, None, "", "",
                    f"unexpected error; the batch in progress was not written: {exc!r}",
                )
            )
        if not failed:
            failed = self._nothing_ran()
        return self._finish(started, failed)

    def _prepare(self, plans: list[SourcePlan]) -> None:
        """Called once the mapping checks out, before anything is written."""

    def _after(self, plans: list[SourcePlan]) -> None:
        """Called after every source ran, inside the run's (dry-run) transaction."""

    def _nothing_ran(self) -> bool:
        """A single file that matches no source of the mapping fails the run."""
        if self.path.is_file() and not any(n != "stages" for n in self.state.counts):
            names = ", ".join(s.file or s.origin for s in self.mapping.sources)
            self.state.issues.append(
                Issue("import", self.path.name, None, "", "", f"the file matches no source of the mapping ({names})")
            )
            return True
        return False

    @contextlib.contextmanager
    def _journal(self) -> Iterator[None]:
        """Journal every row the run writes (a change set of the run's kind), so the run can be rolled back.
        A resumed run keeps appending to the change set it started."""
        changeset = self.run.changesets.filter(kind=self.run.kind).first() or ChangeSet.objects.create(
            kind=self.run.kind, run=self.run, user=self.user,
            summary=f"{self.run.kind} #{self.run.pk} of {self.run.source}",
        )
        self.recorder = Recorder(changeset)
        try:
            with observe_writes(self.recorder):
                yield
        finally:
            if not self.dry_run:
                journal_finish(self.recorder)

    def _journal_history(self) -> None:
        """History rows are appended in bulk without ids; the run's are those with its source label (those
        of an earlier, interrupted part of the same run included, once)."""
        from revcast.dataio.models import ChangeRecord
        from revcast.pipeline.models import OpportunityFieldHistory

        pks = set(OpportunityFieldHistory.objects.filter(source=self.label).values_list("pk", flat=True))
        if pks:
            label = OpportunityFieldHistory._meta.label_lower
            for rows in ChangeRecord.objects.filter(
                changeset=self.recorder.changeset, model=label, action=ChangeRecord.Action.CREATE
            ).values_list("rows", flat=True):
                pks.difference_update(rows)
        if pks:
            with transaction.atomic():
                self.recorder.created(OpportunityFieldHistory, sorted(pks))

    @property
    def label(self) -> str:
        return f"{self.run.kind}:{self.run.pk}"

    def _finish(self, started: float, failed: bool) -> ImportRun:
        run = self.run
        errors = sum(1 for i in self.state.issues if i.severity == "error") + self._saved_errors()
        sources = [c for name, c in self.state.counts.items() if name != "stages"]
        loaded = sum(c["created"] + c["updated"] + c["unchanged"] for c in sources)
        if failed or (sources and all(c.get("failed") for c in sources)) or (errors and loaded == 0):
            run.status = ImportRun.Status.FAILED
        elif errors:
            run.status = ImportRun.Status.PARTIAL
        else:
            run.status = ImportRun.Status.SUCCEEDED
        run.counts = self.state.counts
        run.notes = self._notes()
        run.finished_at = timezone.now()
        run.duration_ms = self._duration_ms(started)
        run.save()
        self._save_issues()
        return run

    def _notes(self) -> list[str]:
        return self.restored + [
            note if note.startswith("encoding") else f"{note} ({count} row{'s' if count != 1 else ''})"
            for note, count in self.state.notes.items()
        ]

    def _duration_ms(self, started: float) -> int:
        return int((time.monotonic() - started) * 1000)

    def _saved_errors(self) -> int:
        """Errors already stored with the run (a migration stores each batch's issues with the batch)."""
        return 0

    def _save_issues(self) -> None:
        """Store the issues collected so far and forget them."""
        ImportIssue.objects.bulk_create(
            [
                ImportIssue(
                    run=self.run,
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
        self.state.issues.clear()

    # -------------------------------------------------------------- one source

    def _new_counts(self, spec: SourceSpec) -> dict[str, Any]:
        counts = self.state.counts[spec.name] = blank_counts(spec.object)
        return counts

    def _run_source(self, plan: SourcePlan) -> None:
        spec = plan.spec
        counts = self._new_counts(spec)
        if spec.is_database:
            counts["failed"] = True
            self._issue(
                spec, spec.origin, None, "", "",
                "this source reads a database ('table'/'query'); load it with `revcast migrate --source URL`",
            )
            return
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
            values, self_refs, issues = self.state.parser.parse(plan, path.name, row)
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
        size = len(good) if plan.spec.object == "sales_team" else self.batch_size
        for start in range(0, len(good), size):
            self._write_batch(plan, file, good[start : start + size], counts)

    def _write_batch(
        self,
        plan: SourcePlan,
        file: str | None,
        batch: list[tuple[SourceRow, dict[str, Any]]],
        counts: dict[str, Any],
    ) -> None:
        """Write one batch atomically. When the database refuses it, each row is retried in its own savepoint:
        only the refused rows are rejected. ``file=None``: the issue names the row's own origin."""
        writer = WRITERS[plan.spec.object]
        label = self.label
        try:
            with transaction.atomic():
                self._add(counts, writer([v for _, v in batch], plan.key, label))
        except (DatabaseError, ValidationError, ValueError):
            for row, values in batch:
                try:
                    with transaction.atomic():
                        self._add(counts, writer([values], plan.key, label))
                except (DatabaseError, ValidationError, ValueError) as row_exc:
                    counts["rejected"] += 1
                    self._issue(
                        plan.spec, file or self._row_origin(plan, row), row.line, "", "",
                        f"refused by the database: {row_exc}",
                    )

    def _row_origin(self, plan: SourcePlan, row: SourceRow) -> str:
        return plan.spec.file

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


def run_import(
    path: str | Path,
    mapping: Mapping,
    *,
    dry_run: bool = False,
    user: Any = None,
    batch_size: int | None = None,
) -> ImportRun:
    return ImportRunner(mapping, Path(path), dry_run=dry_run, user=user, batch_size=batch_size).execute()
