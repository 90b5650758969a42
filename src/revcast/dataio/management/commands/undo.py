"""revcast undo CHANGESET_ID [--force] --format table|json"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from revcast.dataio import history
from revcast.dataio.models import ChangeSet


class Command(BaseCommand):
    help = "Undo one journaled change set (an import, migration, standardisation, merge, rollback or undo)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("changeset", type=int, help="The change set id (see `revcast history`).")
        parser.add_argument("--force", action="store_true", help="Also remove rows made later that depend on it.")
        parser.add_argument("--format", choices=["table", "json"], default="table")

    def handle(self, *args, **options) -> None:
        cs = ChangeSet.objects.filter(pk=options["changeset"]).first()
        if cs is None:
            raise CommandError(f"no change set #{options['changeset']}")
        try:
            done = history.undo(cs, force=options["force"])
        except history.UndoConflict as exc:
            raise CommandError(f"change set #{cs.pk} was not undone: {exc}") from exc
        out = history.changeset_dict(done)
        if options["format"] == "json":
            self.stdout.write(json.dumps(out, ensure_ascii=False, indent=2))
            return
        self.stdout.write(f"change set #{cs.pk} undone as change set #{done.pk}")
        for line in history.counts_lines(done):
            self.stdout.write(line)
