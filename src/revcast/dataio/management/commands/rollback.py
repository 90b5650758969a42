"""revcast rollback RUN_ID [--force] --format table|json"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from revcast.dataio import history
from revcast.dataio.models import ImportRun


class Command(BaseCommand):
    help = (
        "Roll back one import or migration run: delete what it created, restore what it changed. "
        "Refused when later work depends on it, unless --force (which journals that work too)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("run", type=int, help="The run id (see `revcast history`).")
        parser.add_argument("--force", action="store_true", help="Also remove rows made later that depend on the run.")
        parser.add_argument("--format", choices=["table", "json"], default="table")

    def handle(self, *args, **options) -> None:
        run = ImportRun.objects.filter(pk=options["run"]).first()
        if run is None:
            raise CommandError(f"no import or migration run #{options['run']}")
        try:
            cs = history.rollback_run(run, force=options["force"])
        except (history.RollbackError, history.UndoConflict) as exc:
            raise CommandError(f"run #{run.pk} was not rolled back: {exc}") from exc
        out = history.changeset_dict(cs)
        if options["format"] == "json":
            self.stdout.write(json.dumps(out, ensure_ascii=False, indent=2))
            return
        self.stdout.write(f"run #{run.pk} rolled back as change set #{cs.pk} (undo it with `revcast undo {cs.pk}`)")
        for line in history.counts_lines(cs):
            self.stdout.write(line)
