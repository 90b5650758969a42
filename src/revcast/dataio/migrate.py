"""Migrating from another database: the mapping's ``table``/``query`` sources, streamed in key order, written in
atomic batches that carry the run's checkpoint, after a backup of the target; resumable and reconciled.

A batch's rows, its issues, the run's counts and the checkpoint (source -> last key and rows done) commit in
one transaction, so a run killed at any instant resumes (``resume=True``) exactly after the last committed
batch: nothing is written twice, nothing is skipped. Records are upserted by key, so a second full run finds
everything ``unchanged``. Every write is journaled in the run's change set (kind ``migration``), so ``revcast
rollback RUN`` undoes it, across resumed sessions too.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from revcast.dataio import bulkload, parallel
from revcast.dataio.backup import BackupError, backup_database
from revcast.dataio.mapping import Mapping, MappingError
from revcast.dataio.models import ImportIssue, ImportRun
from revcast.dataio.readers import SourceError, SourceRow
from revcast.dataio.rowparse import Issue, SourcePlan, key_column
from revcast.dataio.runner import ImportRunner, blank_counts
from revcast.dataio.sqlsource import KeyValue, SqlSource, read_ahead, redact
from revcast.dataio.targets import INVALIDATES, WRITERS

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def _collect_per_batch() -> Iterator[None]:
    """The cyclic garbage collector off while a source loads, and its young generations collected between
    batches instead (``_collect_young``): left on, its full collections rescan every live object (the lookups'
    instances, Django's own) again and again, a quarter of a large load's time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


YOUNG_OBJECTS = 200_000


def _collect_young() -> None:
    """After a batch: the young generations collected once ``YOUNG_OBJECTS`` more objects are alive than at the
    last collection (a batch's objects mostly go with the batch; what stays, cycles included, is collected
    when it adds up, not rescanned after every batch)."""
    if gc.get_count()[0] > YOUNG_OBJECTS:
        gc.collect(1)


class ResumeError(Exception):
    """There is no run to resume, or it cannot be resumed; the message says why."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def resumable_run(mapping: Mapping, source: str) -> ImportRun:
    """The latest migration of this mapping from this source, when it did not finish."""
    latest = (
        ImportRun.objects.filter(
            kind=ImportRun.Kind.MIGRATION, dry_run=False, mapping_name=mapping.name, source=source
        )
        .order_by("-started_at", "-pk")
        .first()
    )
    if latest is None:
        raise ResumeError(f"no migration of mapping {mapping.name!r} from {source} to resume")
    if latest.status in (ImportRun.Status.SUCCEEDED, ImportRun.Status.PARTIAL):
        raise ResumeError(
            f"the latest migration of mapping {mapping.name!r} from {source}, run #{latest.pk}, finished "
            f"({latest.status}); nothing to resume (run without --resume to migrate again)"
        )
    if latest.mapping_sha256 != mapping.sha256:
        raise ResumeError(
            f"run #{latest.pk} ran with another version of the mapping (sha256 {latest.mapping_sha256[:12]}…); "
            "resuming with a changed mapping would mix two mappings. Run without --resume"
        )
    cp = latest.checkpoint or {}
    pid = cp.get("pid")
    if (
        latest.status == ImportRun.Status.RUNNING
        and cp.get("host") == socket.gethostname()
        and isinstance(pid, int)
        and pid != os.getpid()
        and _alive(pid)
    ):
        raise ResumeError(f"run #{latest.pk} is still running (process {pid}); wait for it or stop it first")
    return latest


class MigrationRunner(ImportRunner):
    kind = ImportRun.Kind.MIGRATION

    def __init__(
        self,
        mapping: Mapping,
        url: str,
        *,
        dry_run: bool = False,
        user: Any = None,
        batch_size: int | None = None,
        resume: bool = False,
        throttle_ms: int = 0,
        backup_dir: Path | None = None,
        backup: bool = True,
        sample: int = 20,
        seed: int = 0,
        bulk_load: str = "auto",
        workers: str | int = "auto",
    ) -> None:
        if bulk_load not in bulkload.MODES:
            raise ValueError(f"bulk_load must be one of {bulkload.MODES}, not {bulk_load!r}")
        if workers != "auto" and (not isinstance(workers, int) or workers < 1):
            raise ValueError(f"workers must be 'auto' or a positive number, not {workers!r}")
        self.bulk_load = bulk_load
        self.workers = workers
        self._rows: dict[str, int] = {}
        self.url = url
        self.redacted = redact(url)
        self.resume = resume
        self.throttle = max(0, throttle_ms) / 1000
        self.backup_dir = Path(backup_dir or getattr(settings, "REVCAST_BACKUP_DIR", None) or Path.cwd() / "backups")
        self.backup = backup and not dry_run
        self.sample, self.seed = sample, seed
        self.plain_notes: list[str] = []
        self.source: SqlSource | None = None
        self.elapsed_before = 0
        super().__init__(mapping, Path(mapping.path), dry_run=dry_run, user=user, batch_size=batch_size)
        cp = self.run.checkpoint
        if resume:
            self.state.counts.update({k: dict(v) for k, v in (self.run.counts or {}).items() if k != "stages"})
            self.state.notes.update(Counter(cp.get("notes", {})))
            self.plain_notes = list(cp.get("plain_notes", []))
            self.elapsed_before = int(cp.get("elapsed_ms", 0))
            self.plain_notes.append(f"resumed at {timezone.now():%Y-%m-%d %H:%M:%S} UTC (session {cp.get('sessions', 1) + 1})")
        cp["sessions"] = cp.get("sessions", 0) + 1
        cp.update(pid=os.getpid(), host=socket.gethostname())
        self._session_started = time.monotonic()

    def _start_run(self) -> ImportRun:
        if self.resume:
            run = resumable_run(self.mapping, self.redacted)
            run.status = ImportRun.Status.RUNNING
            run.finished_at = None
            run.save(update_fields=["status", "finished_at"])
            return run
        return ImportRun.objects.create(
            kind=self.kind,
            started_at=timezone.now(),
            source=self.redacted,
            mapping_name=self.mapping.name,
            mapping_sha256=self.mapping.sha256,
            mapping_path=str(Path(self.mapping.path).resolve()),
            dry_run=self.dry_run,
            started_by=self.user,
            checkpoint={"sources": {}, "notes": {}},
        )

    # ------------------------------------------------------------------ hooks of the import runner

    def _prepare(self, plans: list[SourcePlan]) -> None:
        """Check every source against the database before anything is written, then back up the target."""
        for plan in plans:
            if not plan.spec.is_database:
                raise MappingError(
                    f"{self.mapping.path}: sources.{plan.spec.name} reads a file ({plan.spec.file}); "
                    "`revcast migrate` reads 'table' and 'query' sources (use `revcast import` for files)"
                )
        self.source = SqlSource(self.url)
        self.source.check()
        for plan in plans:
            spec = plan.spec
            header = self.source.header(spec.table, spec.query)
            missing = [c for c in [*spec.columns, key_column(plan)] if c not in header]
            if missing:
                raise SourceError(
                    f"{spec.origin}: column(s) {sorted(set(missing))} missing; found {header}; nothing was written"
                )
        if self.backup:
            try:
                made = backup_database(self.backup_dir, f"migration-{self.run.pk}")
            except BackupError as exc:
                raise SourceError(f"no backup of the target, so nothing was written: {exc}") from exc
            self.plain_notes.append(made.note())
        elif not self.dry_run:
            self.plain_notes.append("no backup taken before writing (--no-backup)")

    def _nothing_ran(self) -> bool:
        return False

    def _row_origin(self, plan: SourcePlan, row: SourceRow) -> str:
        column = key_column(plan)
        return f"{plan.spec.origin} ({column}={row.values.get(column)})"

    def _run_source(self, plan: SourcePlan) -> None:
        assert self.source is not None
        spec = plan.spec
        counts = self.state.counts.get(spec.name) or self._new_counts(spec)
        progress = self.run.checkpoint.setdefault("sources", {}).setdefault(
            spec.name, {"rows": 0, "last_key": None, "done": False}
        )
        source_started = time.monotonic()
        if not progress["done"]:
            self._set_aside(plan)
            try:
                with _collect_per_batch():
                    self._load_source(plan, counts, progress)
            except BaseException:
                self._restore_after_failure(spec.name)
                raise
            with transaction.atomic():
                self._restore(spec.name)
                progress["done"] = True
                counts["ms"] = counts.get("ms", 0) + int((time.monotonic() - source_started) * 1000)
                self._save_progress()
        for obj in INVALIDATES.get(spec.object, (spec.object,)):
            self.state.lookups.invalidate(obj)

    def _load_source(self, plan: SourcePlan, counts: dict[str, Any], progress: dict[str, Any]) -> None:
        """The source's batches, each committed with its checkpoint (by one process, or by loaders of key
        ranges), then its self references."""
        if "parts" not in progress:
            self._split(plan, progress)
        if "parts" in progress:
            self._load_parts(plan, counts, progress)
        else:
            self._load_batches(plan, counts, progress, self._save_progress)
        if any(fs.ref == plan.spec.object for fs in plan.spec.fields):
            self._link_pass(plan, counts)

    def _source_rows(self, plan: SourcePlan) -> int:
        assert self.source is not None
        if plan.spec.name not in self._rows:
            self._rows[plan.spec.name] = self.source.count(plan.spec.table, plan.spec.query)
        return self._rows[plan.spec.name]

    def _load_batches(
        self, plan: SourcePlan, counts: dict[str, Any], progress: dict[str, Any], save: Callable[[], None]
    ) -> None:
        """The batches of the source (or of one key range of it: ``lo``/``hi`` in ``progress``) from where
        ``progress`` says, each committed with ``save`` (which stores ``progress`` and the batch's issues)."""
        assert self.source is not None
        spec = plan.spec
        column = key_column(plan)
        start = progress["last_key"] or progress.get("lo")
        after = KeyValue.load(start) if start else None
        upto = KeyValue.load(progress["hi"]) if progress.get("hi") else None
        seen: dict[Any, int] = {}
        batches = read_ahead(self.source.stream(
            spec.table, spec.query, column, self.batch_size, after,
            first_line=progress.get("first_line", 1) + progress["rows"], upto=upto,
        ))
        # A sales team is written whole: who manages whom is only known once every person is read.
        whole = spec.object == "sales_team"
        pending: list[tuple[SourceRow, dict[str, Any]]] = []
        for batch in batches:
            good = self._parse_batch(plan, batch, seen, counts)
            if whole:
                pending += good
                counts["read"] += len(batch)
                continue
            with transaction.atomic():
                if good:
                    self._write_batch(plan, None, good, counts)
                counts["read"] += len(batch)
                progress["rows"] += len(batch)
                progress["last_key"] = KeyValue.dump(batch[-1].values[column])
                save()
            _collect_young()
            if self.throttle:
                time.sleep(self.throttle)
        if whole:
            with transaction.atomic():
                if pending:
                    self._write_batch(plan, None, pending, counts)
                progress["rows"] = counts["read"]
                save()

    # ------------------------------------------------------------------ key ranges in parallel (dataio.parallel)

    def _split(self, plan: SourcePlan, progress: dict[str, Any]) -> None:
        """A large source starting afresh on PostgreSQL is split into key ranges for several loader processes,
        when its target key is unique in the database (a record two ranges both create is then refused in one)."""
        spec, model = plan.spec, plan.target.model
        if (
            self.dry_run or self.workers == 1 or progress["rows"] or progress["last_key"]
            or spec.object == "sales_team" or model is None or not model._meta.get_field(plan.key).unique
        ):
            return
        if not parallel.supported():
            if self.workers != "auto":
                self.plain_notes.append(
                    f"{spec.name}: loaded by one process (several loaders need a PostgreSQL target, Linux and no "
                    "open transaction)"
                )
            return
        assert self.source is not None
        rows = self._source_rows(plan)
        workers = parallel.worker_count(self.workers, rows)
        if workers < 2:
            return
        ranges = parallel.range_count(workers, rows)
        parts = parallel.split(self.source, spec.table, spec.query, key_column(plan), rows, ranges)
        if len(parts) < 2:
            return
        progress["parts"] = parts
        with transaction.atomic():
            self._save_progress()

    def _load_parts(self, plan: SourcePlan, counts: dict[str, Any], progress: dict[str, Any]) -> None:
        """The unfinished key ranges, handed out one at a time to the loader processes; then the ranges' counts,
        notes and journal counts become the source's."""
        spec = plan.spec
        parts: list[dict[str, Any]] = progress["parts"]
        todo = [i for i, part in enumerate(parts) if not part["done"]]
        loaders = min(len(todo), parallel.worker_count(self.workers, self._source_rows(plan))) if todo else 0
        if todo:
            with transaction.atomic():
                self._save_progress()  # the issues so far, and the ranges as they stand
            source = self.source
            assert source is not None
            after = self.recorder.last_seq  # each range numbers its journal records from here (interleave)

            def before() -> None:  # once in each loader process
                source.engine.dispose(close=False)  # the parent's pooled connections stay the parent's

            def load(index: int) -> None:  # in a loader process, once per range it is handed
                part = parts[index]
                part_counts = part["counts"] = part["counts"] or blank_counts(spec.object)
                self.state.issues.clear()
                self.state.notes.clear()
                self.state.notes.update(part["notes"])
                self.recorder.interleave(index, len(parts), part["journal"], after=after)

                def save() -> None:
                    part["notes"] = dict(self.state.notes)
                    parallel.save_part(self.run.pk, spec.name, index, part)
                    self._save_issues()

                self._load_batches(plan, part_counts, part, save)
                part["done"] = True
                with transaction.atomic():
                    save()

            self.state.parser.warm(plan)  # read once here, shared by the forked loaders
            try:
                parallel.run(todo, load, loaders=loaders, before=before)
            finally:  # what the loaders committed is the checkpoint now, whatever happened
                progress["parts"] = parts = parallel.stored_parts(self.run.pk, spec.name)
                self.recorder.resync()
        progress["rows"] = sum(part["rows"] for part in parts)
        totals: Counter[str] = Counter()
        for part in parts:
            totals.update({k: v for k, v in part["counts"].items() if isinstance(v, int)})
            self.state.notes.update(part["notes"])
            self.recorder.add_counts(part["journal"])
        counts.update(totals)
        processes = loaders or len(parts)
        self.plain_notes.append(
            f"{spec.name}: loaded in {len(parts)} key ranges by {processes} loader "
            f"process{'es' if processes > 1 else ''}"
        )

    # ------------------------------------------------------------------ bulk loads (dataio.bulkload)

    def _set_aside(self, plan: SourcePlan) -> None:
        """Into empty tables on PostgreSQL, a large source loads with their secondary indexes and foreign keys
        set aside; the statements that restore them commit with the run's checkpoint. A resumed run goes on
        with what it set aside."""
        assert self.source is not None
        spec, cp = plan.spec, self.run.checkpoint
        if self.dry_run or self.bulk_load == "off" or not plan.target.tables or "set_aside" in cp:
            return
        if not bulkload.supported():
            if self.bulk_load == "on":
                self.plain_notes.append(f"bulk load of {spec.name}: PostgreSQL targets only; loaded row by row")
            return
        if not bulkload.tables_empty(plan.target.tables):
            if self.bulk_load == "on":
                self.plain_notes.append(f"bulk load of {spec.name}: its tables are not empty; loaded row by row")
            return
        if self.bulk_load == "auto" and self._source_rows(plan) < bulkload.AUTO_MIN_ROWS:
            return
        with transaction.atomic():
            statements = bulkload.set_aside(plan.target.tables)
            cp["set_aside"] = {"source": spec.name, "statements": statements}
            self._save_progress()

    def _restore(self, source: str) -> None:
        """Inside the transaction that marks the source done: what its bulk load set aside comes back."""
        pending = self.run.checkpoint.get("set_aside")
        if not pending or pending.get("source") != source:
            return
        started = time.monotonic()
        bulkload.restore(pending["statements"], builders=min(4, os.cpu_count() or 1))
        del self.run.checkpoint["set_aside"]
        self.plain_notes.append(
            f"bulk load of {source}: its {bulkload.describe(pending['statements'])} were set aside for the load "
            f"and rebuilt after it ({int((time.monotonic() - started) * 1000)} ms)"
        )

    def _restore_after_failure(self, source: str) -> None:
        """A source that stops with an error (or Ctrl-C) restores what it set aside before the error is told:
        the committed batches stay, with their indexes and keys."""
        if self.dry_run or "set_aside" not in self.run.checkpoint:
            return
        try:
            with transaction.atomic():
                self._restore(source)
                self._save_progress()
        except Exception:  # the run's own error is the one to report; resuming or any later run restores
            logger.exception("run %s: restoring what the bulk load set aside failed", self.run.pk)

    def _parse_batch(
        self, plan: SourcePlan, batch: list[SourceRow], seen: dict[Any, int], counts: dict[str, Any]
    ) -> list[tuple[SourceRow, dict[str, Any]]]:
        good: list[tuple[SourceRow, dict[str, Any]]] = []
        parse = self.state.parser.parse
        for row in batch:
            origin = self._row_origin(plan, row)
            values, _self_refs, issues = parse(plan, origin, row)
            key_value = values.get(plan.key)
            if not issues and key_value is not None and key_value in seen:
                issues.append(
                    Issue(
                        plan.spec.object, origin, row.line, plan.key, str(key_value),
                        f"duplicate key: row {seen[key_value]} has the same {plan.key}",
                    )
                )
            if issues:
                counts["rejected"] += 1
                self.state.issues.extend(issues)
                continue
            seen[key_value] = row.line
            good.append((row, values))
        return good

    def _link_pass(self, plan: SourcePlan, counts: dict[str, Any]) -> None:
        """Self references (an account's parent) once every row of the source is in: a second read of the
        source, linking in batches (a resumed run links everything again; unchanged links write nothing)."""
        assert self.source is not None
        spec, parser = plan.spec, self.state.parser
        self.state.lookups.invalidate(spec.object)
        column = key_column(plan)
        model = plan.target.model
        assert model is not None  # only objects with a model have self references
        for batch in self.source.stream(spec.table, spec.query, column, self.batch_size):
            keys = [parser.key_of(plan, row) for row in batch]
            stored = set(
                model._default_manager.filter(**{f"{plan.key}__in": [k for k in keys if k is not None]})
                .values_list(plan.key, flat=True)
            )
            links = []
            for row in batch:
                refs = parser.self_refs_of(plan, row)
                key_value = parser.key_of(plan, row)
                if not refs or key_value is None:
                    continue
                link: dict[str, Any] = {plan.key: key_value}
                for target, (fs, raw) in refs.items():
                    found = self.state.lookups.index(fs.ref, fs.by).get(raw, [])
                    if len(found) == 1:
                        link[target] = found[0]
                    else:
                        why = f"matches no {fs.ref} by {fs.by}" if not found else f"matches {len(found)} {fs.ref} records"
                        self.state.issues.append(
                            Issue(spec.object, self._row_origin(plan, row), row.line, target, str(raw),
                                  f"{why}; loaded without {target}", "warning")
                        )
                if len(link) > 1 and key_value in stored:  # rejected rows are not linked (nor created)
                    links.append(link)
            with transaction.atomic():
                if links:
                    written = WRITERS[spec.object](links, plan.key, self.label)
                    counts["created_links"] = counts.get("created_links", 0) + written.updated
                self._save_progress()

    def _save_progress(self) -> None:
        """Inside the batch's transaction: the run's counts, notes, checkpoint and the batch's issues."""
        if self.dry_run:
            return
        self._note_checkpoint()
        self.run.checkpoint["elapsed_ms"] = self.elapsed_before + int((time.monotonic() - self._session_started) * 1000)
        ImportRun.objects.filter(pk=self.run.pk).update(checkpoint=self.run.checkpoint, counts=self.state.counts)
        self._save_issues()

    def _note_checkpoint(self) -> None:
        """The run's notes in its checkpoint, so a resumed run reports them all."""
        self.run.checkpoint["notes"] = dict(self.state.notes)
        self.run.checkpoint["plain_notes"] = self.plain_notes

    def _saved_errors(self) -> int:
        return ImportIssue.objects.filter(run=self.run, severity="error").count()

    def _after(self, plans: list[SourcePlan]) -> None:
        """Reconcile source and target (inside a dry run's transaction: what the target would hold)."""
        from revcast.dataio.reconcile import reconcile

        assert self.source is not None
        started = time.monotonic()
        try:
            self.run.reconciliation = reconcile(
                self.mapping, self.source, run=self.run, sample=self.sample, seed=self.seed,
                lookups=self.state.lookups,
            )
        except (SourceError, MappingError) as exc:
            self.plain_notes.append(f"reconciliation failed: {exc}")
            return
        self.plain_notes.append(
            f"reconciliation: {'source and target agree' if self.run.reconciliation['ok'] else 'MISMATCHES'} "
            f"(`revcast migrate reconcile --run {self.run.pk}`; {int((time.monotonic() - started) * 1000)} ms)"
        )

    def _notes(self) -> list[str]:
        return [*self.plain_notes, *super()._notes()]

    def _duration_ms(self, started: float) -> int:
        return self.elapsed_before + super()._duration_ms(started)

    def _finish(self, started: float, failed: bool) -> ImportRun:
        if self.source is not None:
            self.source.close()
        if not self.dry_run:
            self._note_checkpoint()
        return super()._finish(started, failed)


def run_migration(url: str, mapping: Mapping, **options: Any) -> ImportRun:
    """Migrate ``url``'s data through ``mapping`` (``options``: those of MigrationRunner); raises ResumeError when
    ``resume`` finds nothing to resume."""
    return MigrationRunner(mapping, url, **options).execute()
