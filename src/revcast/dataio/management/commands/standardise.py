"""revcast standardise preview|apply|undo [--object O] [--fix KIND] [--region CN] [--map F:V=CODE]
[--changeset ID] --format table|json"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.table import Table

from revcast.dataio import standardise
from revcast.dataio.standardise import DEFAULT_KINDS, KINDS, OBJECTS, Preview


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


class Command(BaseCommand):
    help = (
        "Standardise stored values with preview and undo: picklist values, phones (E.164), e-mail addresses, "
        "currency codes, custom dates, unified social credit codes, and (asked for by name) record names."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["preview", "apply", "undo"])
        parser.add_argument("--object", action="append", choices=OBJECTS, dest="objects",
                            help="Limit to this object (repeatable; default all).")
        parser.add_argument("--fix", action="append", choices=[*KINDS, "all"], dest="fixes",
                            help="Kind of fix (repeatable). 'all' (the default) is every kind but 'names'.")
        parser.add_argument("--region", help="Country for phone numbers without a country code "
                            "(default REVCAST_PHONE_REGION).")
        parser.add_argument("--map", action="append", default=[], dest="maps", metavar="[OBJECT.]FIELD:VALUE=CODE",
                            help="Confirm a picklist value, e.g. industry:technolgy=technology; an empty CODE "
                            "leaves the value alone (repeatable).")
        parser.add_argument("--changeset", type=int, help="undo: the standardisation change set to undo.")
        parser.add_argument("--limit", type=int, default=20, help="table: rows shown per kind (default 20).")
        parser.add_argument("--format", choices=["table", "json"], default="table")

    def handle(self, *args: Any, **options: Any) -> None:
        self.console = Console(file=self.stdout, width=160)
        self.options = options
        try:
            getattr(self, f"do_{options['action']}")()
        except (ValueError, standardise.StandardiseError) as exc:
            raise CommandError(str(exc)) from exc

    def _arguments(self) -> dict[str, Any]:
        o = self.options
        fixes = o["fixes"] or ["all"]
        kinds = [*DEFAULT_KINDS, *(k for k in fixes if k != "all")] if "all" in fixes else fixes
        objects = o["objects"] or list(OBJECTS)
        return {
            "kinds": kinds,
            "objects": objects,
            "region": o["region"],
            "confirmations": standardise.parse_map(o["maps"], objects),
        }

    def emit_json(self, data: Any) -> None:
        self.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str))

    # ------------------------------------------------------------------------------------ preview

    def do_preview(self) -> None:
        preview = standardise.build_preview(**self._arguments())
        if self.options["format"] == "json":
            self.emit_json(preview.as_dict())
            return
        self.print_preview(preview)

    def print_preview(self, preview: Preview) -> None:
        limit = max(self.options["limit"], 0)
        counts = Table(title=f"Standardisation preview (phone region {preview.region})")
        for name in ("fix", "changes", "records", "problems"):
            counts.add_column(name, justify="left" if name == "fix" else "right")
        for kind, c in preview.counts().items():
            counts.add_row(kind, str(c["changes"]), str(c["records"]), str(c["problems"]))
        self.console.print(counts)
        for kind, group in preview.by_kind().items():
            for title, rows in ((f"{kind}: changes", group["fixes"]), (f"{kind}: problems (not changed)",
                                                                        group["problems"])):
                if not rows:
                    continue
                table = Table(title=f"{title} ({len(rows)}{', first ' + str(limit) if len(rows) > limit else ''})")
                for name in ("object", "id", "record", "field", "old", "new", "reason"):
                    table.add_column(name)
                for f in rows[:limit]:
                    table.add_row(f.object, str(f.record_id), f.record, f.field, _cell(f.old), _cell(f.new), f.reason)
                self.console.print(table)
        if preview.suggestions:
            table = Table(title="Picklist values outside their list (confirm with --map KEY=CODE)")
            for name in ("key", "records", "confirmed", "candidates"):
                table.add_column(name, justify="right" if name == "records" else "left")
            for s in preview.suggestions:
                candidates = ", ".join(f"{c.code} ({c.score:g})" for c in s.candidates) or "-"
                table.add_row(s.key, str(s.count), s.confirmed or "-", candidates)
            self.console.print(table)
        for note in preview.notes:
            self.console.print(f"note: {note}")

    # ------------------------------------------------------------------------------------ apply

    def do_apply(self) -> None:
        result = standardise.apply_fixes(**self._arguments())
        if self.options["format"] == "json":
            self.emit_json(result.as_dict())
            return
        if result.changeset is None:
            self.stdout.write("nothing to change")
            return
        applied = ", ".join(f"{kind} {n}" for kind, n in result.applied.items()) or "nothing"
        self.stdout.write(f"change set #{result.changeset.pk}: {applied} (undo: revcast standardise undo "
                          f"--changeset {result.changeset.pk})")
        if result.preview.problems:
            self.stdout.write(f"{len(result.preview.problems)} problems reported and left as they are "
                              "(see `revcast standardise preview`)")
        for line in result.skipped:
            self.stdout.write(f"skipped: {line}")

    # ------------------------------------------------------------------------------------ undo

    def do_undo(self) -> None:
        if self.options["changeset"] is None:
            raise CommandError("undo needs --changeset ID (the change set `standardise apply` printed)")
        done = standardise.undo(self.options["changeset"])
        if self.options["format"] == "json":
            self.emit_json({"changeset": done.pk, "undo_of": self.options["changeset"], "counts": done.counts})
            return
        self.stdout.write(f"change set #{self.options['changeset']} undone as change set #{done.pk}")
        for label, c in done.counts.items():
            self.stdout.write(f"  {label}: restored {c['updated']}")
