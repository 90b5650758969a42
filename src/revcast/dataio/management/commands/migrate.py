"""``revcast migrate``: Django's schema migrations, and, with ``--source``, a data migration from another database.

``migrate`` is Django's command name (``revcast migrate``, pytest-django and the demo use it), so this command
extends Django's: without ``--source``, and unless the first argument is ``reconcile``, it is exactly Django's
``migrate``. The dataio app comes before no other app that defines ``migrate``, and any app's command wins
over ``django.core``'s, so this one is the ``migrate`` Django runs.

    revcast migrate --source URL --mapping MAPPING.yaml [--dry-run] [--batch-size N] [--resume]
                    [--throttle MS] [--backup-dir DIR | --no-backup] [--bulk-load auto|on|off] [--workers auto|N]
                    [--sample N] [--seed S] [--format table|json]
    revcast migrate reconcile [--run ID] [--source URL] [--mapping MAPPING.yaml] [--sample N] [--seed S]
                    [--format table|json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.core.management.commands.migrate import Command as DjangoMigrate
from rich.console import Console

from revcast.dataio import mapping as mapping_module
from revcast.dataio.models import ImportRun
from revcast.dataio.readers import SourceError
from revcast.dataio.report import EXIT_CODES

DATA_OPTIONS = ("mapping", "dry_run", "resume", "throttle", "backup_dir", "no_backup", "run", "bulk_load", "workers")


def _workers(value: str) -> str | int:
    if value == "auto":
        return value
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not 'auto' or a positive number")
    return number


class Command(DjangoMigrate):
    help = (
        DjangoMigrate.help
        + " With --source URL --mapping FILE: migrate data from another database (PostgreSQL, MySQL, SQL Server, "
        "SQLite) through a mapping; `migrate reconcile` compares a migration's source and target."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        group = parser.add_argument_group("data migration (revcast)")
        group.add_argument("--source", help="Source database URL (SQLAlchemy), e.g. postgresql://user@host/db.")
        group.add_argument("--mapping", help="The mapping YAML file (sources with 'table' or 'query').")
        group.add_argument("--dry-run", action="store_true", help="Migrate inside a transaction that is rolled back.")
        group.add_argument("--batch-size", type=int, default=None, help="Rows per atomic batch (and per fetch).")
        group.add_argument("--resume", action="store_true", help="Continue the latest unfinished run of this mapping and source.")
        group.add_argument("--throttle", type=int, default=0, metavar="MS", help="Pause after each batch (ms).")
        group.add_argument("--backup-dir", type=Path, default=None, help="Where the target's backup goes (default ./backups).")
        group.add_argument("--no-backup", action="store_true", help="Write without backing up the target first.")
        group.add_argument(
            "--bulk-load", choices=["auto", "on", "off"], default=None,
            help="Into empty tables on PostgreSQL, set their secondary indexes and foreign keys aside during the "
                 "load and rebuild them after it (auto: for sources of 10,000 rows or more; the default).",
        )
        group.add_argument(
            "--workers", type=_workers, default=None, metavar="auto|N",
            help="Loader processes per source on PostgreSQL, each loading a key range (auto: one per core for "
                 "sources of 20,000 rows or more, at least 10,000 rows each; the default; 1: one process).",
        )
        group.add_argument("--run", type=int, default=None, help="reconcile: the migration run (default: the latest).")
        group.add_argument("--sample", type=int, default=20, help="Records compared field by field per object.")
        group.add_argument("--seed", type=int, default=0, help="Seed of the random sample.")
        group.add_argument("--format", choices=["table", "json"], default="table")

    def handle(self, *args: Any, **options: Any) -> None:
        if options.get("app_label") == "reconcile":
            return self.reconcile(options)
        if options.get("source"):
            return self.migrate_data(options)
        used = [f"--{name.replace('_', '-')}" for name in DATA_OPTIONS if options.get(name)]
        if used:
            raise CommandError(f"{', '.join(used)} need --source URL (a data migration) or `migrate reconcile`")
        return super().handle(*args, **options)

    # ------------------------------------------------------------------ data migration

    def _load_mapping(self, path: str) -> mapping_module.Mapping:
        try:
            return mapping_module.load(path)
        except mapping_module.MappingError as exc:
            raise CommandError(str(exc)) from exc

    def migrate_data(self, options: dict[str, Any]) -> None:
        from revcast.dataio.migrate import ResumeError, run_migration
        from revcast.dataio.migrate_report import migration_dict, print_migration

        if not options.get("mapping"):
            raise CommandError("--mapping MAPPING.yaml is required with --source")
        if options.get("batch_size") is not None and options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        mapping = self._load_mapping(options["mapping"])
        try:
            run = run_migration(
                options["source"],
                mapping,
                dry_run=options["dry_run"],
                batch_size=options["batch_size"],
                resume=options["resume"],
                throttle_ms=options["throttle"],
                backup_dir=options["backup_dir"],
                backup=not options["no_backup"],
                sample=options["sample"],
                seed=options["seed"],
                bulk_load=options["bulk_load"] or "auto",
                workers=options["workers"] or "auto",
            )
        except (ResumeError, SourceError) as exc:
            raise CommandError(str(exc)) from exc
        if options["format"] == "json":
            self.stdout.write(json.dumps(migration_dict(run), ensure_ascii=False, indent=2))
        else:
            print_migration(run, Console(file=self.stdout, width=180))
        code = EXIT_CODES.get(run.status, 1)
        if code:
            raise SystemExit(code)

    # ------------------------------------------------------------------ reconcile

    def reconcile(self, options: dict[str, Any]) -> None:
        from revcast.dataio.migrate_report import print_reconciliation
        from revcast.dataio.reconcile import reconcile
        from revcast.dataio.sqlsource import SqlSource, redact

        runs = ImportRun.objects.filter(kind=ImportRun.Kind.MIGRATION, dry_run=False)
        run = runs.filter(pk=options["run"]).first() if options["run"] else runs.order_by("-started_at", "-pk").first()
        if run is None:
            raise CommandError(f"no migration run #{options['run']}" if options["run"] else "no migration run yet")
        mapping_path = options.get("mapping") or run.mapping_path
        if not mapping_path:
            raise CommandError(f"run #{run.pk} does not record its mapping file; give --mapping")
        mapping = self._load_mapping(mapping_path)
        if not options.get("mapping") and mapping.sha256 != run.mapping_sha256:
            raise CommandError(
                f"{mapping_path} changed since run #{run.pk}; give --mapping explicitly to reconcile with it anyway"
            )
        url = options.get("source") or run.source
        if options.get("source") and redact(url) != run.source:
            raise CommandError(f"run #{run.pk} migrated from {run.source}, not {redact(url)}")
        try:
            with SqlSource(url) as source:
                source.check()
                result = reconcile(mapping, source, run=run, sample=options["sample"], seed=options["seed"])
        except SourceError as exc:
            raise CommandError(
                f"{exc} (the run stores its URL without the password: give --source URL, or set PGPASSWORD)"
            ) from exc
        run.reconciliation = result
        run.save(update_fields=["reconciliation"])
        if options["format"] == "json":
            self.stdout.write(json.dumps(result, ensure_ascii=False, indent=2))
        else:
            print_reconciliation(result, Console(file=self.stdout, width=180))
        if not result["ok"]:
            raise SystemExit(3)
