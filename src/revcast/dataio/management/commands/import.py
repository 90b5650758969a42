"""revcast import PATH --mapping MAPPING.yaml [--dry-run]"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console

from revcast.dataio import mapping as mapping_module
from revcast.dataio.report import EXIT_CODES, as_dict, print_run, write_issues_csv
from revcast.dataio.runner import run_import


class Command(BaseCommand):
    help = "Import a file or a folder of files through a declarative mapping (upsert by key; idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="A source file, or a folder holding the files the mapping names.")
        parser.add_argument("--mapping", required=True, help="The mapping YAML file.")
        parser.add_argument("--dry-run", action="store_true", help="Validate and count; write nothing.")
        parser.add_argument("--batch-size", type=int, default=None, help="Rows per atomic batch.")
        parser.add_argument("--format", choices=["table", "json"], default="table")
        parser.add_argument("--issues-csv", type=Path, help="Write every issue to this CSV file.")

    def handle(self, *args, **options) -> None:
        path = Path(options["path"])
        if not path.exists():
            raise CommandError(f"{path}: no such file or folder")
        try:
            mapping = mapping_module.load(options["mapping"])
        except mapping_module.MappingError as exc:
            raise CommandError(str(exc)) from exc
        run = run_import(path, mapping, dry_run=options["dry_run"], batch_size=options["batch_size"])
        if options["issues_csv"]:
            write_issues_csv(run, options["issues_csv"])
        if options["format"] == "json":
            self.stdout.write(json.dumps(as_dict(run), ensure_ascii=False, indent=2))
        else:
            print_run(run, Console(file=self.stdout, width=160))
        code = EXIT_CODES.get(run.status, 1)
        if code:
            raise SystemExit(code)
