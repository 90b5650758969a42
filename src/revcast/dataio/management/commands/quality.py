"""revcast quality assess: data quality of the database, or of source data before it is imported.

    revcast quality assess [--object NAME] [--source PATH --mapping MAPPING.yaml] [--rules FILE]
                           [--as-of data|today|DATE] [--format table|json|html] [--output FILE]
                           [--examples N] [--offending FILE.csv]

Without ``--source`` it reads the revcast database as the system (everything). Exit code 0 whatever the
findings: an assessment reports, it does not fail; 1 on bad input.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console

from revcast.dataio.quality import present
from revcast.dataio.quality.engine import OBJECT_ORDER
from revcast.dataio.quality.service import QualityError, run_assessment


class Command(BaseCommand):
    help = "Assess data quality (scores per object and dimension, every failing rule with its records)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{assess}")
        assess = sub.add_parser("assess", help="Assess the database, or source files through a mapping.")
        assess.add_argument("--object", choices=OBJECT_ORDER, help="Only this object's rules.")
        assess.add_argument(
            "--source", metavar="PATH", help="A source file or folder, assessed before import."
        )
        assess.add_argument("--mapping", metavar="MAPPING.yaml", help="The mapping that reads --source.")
        assess.add_argument("--rules", metavar="FILE", help="More rules (same id: replaces a shipped rule).")
        assess.add_argument(
            "--as-of",
            dest="as_of",
            default="data",
            metavar="data|today|DATE",
            help="Date staleness is measured at (default: the data's last date).",
        )
        assess.add_argument("--format", choices=["table", "json", "html"], default="table")
        assess.add_argument(
            "--output", type=Path, metavar="FILE", help="Write the report here, not to stdout."
        )
        assess.add_argument("--examples", type=int, default=5, metavar="N", help="Examples per finding (5).")
        assess.add_argument(
            "--offending",
            type=Path,
            metavar="FILE.csv",
            help="Write every offending record of every finding, in full, to this CSV.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["examples"] < 0:
            raise CommandError("--examples must be 0 or more")
        try:
            assessment = run_assessment(
                source=options["source"],
                mapping=options["mapping"],
                rules_file=options["rules"],
                object_name=options["object"],
                as_of=options["as_of"],
                examples=options["examples"],
            )
        except QualityError as exc:
            raise CommandError(str(exc)) from exc
        if options["offending"]:
            with options["offending"].open("w", newline="", encoding="utf-8-sig") as fh:
                rows = present.write_offending(assessment, fh)
            sys.stderr.write(f"{rows:,} offending record(s) written to {options['offending']}\n")
        output = options["output"]
        handle = output.open("w", encoding="utf-8") if output else None
        out = handle or self.stdout
        try:
            if options["format"] == "json":
                out.write(json.dumps(assessment.as_dict(), ensure_ascii=False, indent=2) + "\n")
            elif options["format"] == "html":
                out.write(present.render_html(assessment))
            else:
                present.print_table(assessment, Console(file=out, width=200 if handle else 160))
        finally:
            if handle:
                handle.close()
